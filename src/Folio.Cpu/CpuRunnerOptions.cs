namespace Folio.Cpu;

/// <summary>Sizing of a <see cref="CpuModelRunner"/>: its KV pool and its thread team.</summary>
public sealed record CpuRunnerOptions
{
    /// <summary>Physical KV blocks in the pool (per layer, K and V each).</summary>
    public int NumBlocks { get; init; } = 256;

    /// <summary>Tokens per block.</summary>
    public int BlockSize { get; init; } = 16;

    /// <summary>Threads of the compute team, the calling thread included.</summary>
    public int Threads { get; init; } = Environment.ProcessorCount;

    /// <summary>
    /// Keep q8_0 linear weights quantized (about 1.1 bytes per weight instead of 4), dequantizing one
    /// panel at a time into per-thread scratch. Results are bitwise those of converting at load.
    /// </summary>
    public bool KeepQuantized { get; init; } = true;

    public void Validate()
    {
        if (NumBlocks < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(NumBlocks), NumBlocks, "the KV pool needs at least one block");
        }

        if (BlockSize < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(BlockSize), BlockSize, "the block size must be at least 1");
        }

        if (Threads < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(Threads), Threads, "the thread count must be at least 1");
        }
    }
}
