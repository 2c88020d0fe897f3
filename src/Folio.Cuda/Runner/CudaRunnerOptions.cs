namespace Folio.Cuda.Runner;

/// <summary>Sizing of a <see cref="CudaModelRunner"/> (configuration section Folio:Engine).</summary>
public sealed record CudaRunnerOptions
{
    public int DeviceOrdinal { get; init; }

    /// <summary>Tokens per KV block (the scheduler's block size).</summary>
    public int BlockSize { get; init; } = 16;

    /// <summary>Folio:Engine:GpuMemoryUtilization: share of device memory the runner may use, weights, activations and KV pool together.</summary>
    public double GpuMemoryUtilization { get; init; } = 0.9;

    /// <summary>Most tokens in one step (prefill chunks and decode tokens together); sizes the activations and the profiling pass.</summary>
    public int MaxNumBatchedTokens { get; init; } = 2048;

    /// <summary>Most sequences in one step.</summary>
    public int MaxNumSeqs { get; init; } = 256;

    /// <summary>Longest context; 0 = the model's max_position_embeddings.</summary>
    public int MaxModelLen { get; init; }

    /// <summary>Fixed pool size instead of sizing from free memory (tests, sharing a device); 0 = size from memory.</summary>
    public int NumBlocksOverride { get; init; }

    /// <summary>Decode batch sizes captured as CUDA graphs (a step pads up to the next one); empty = no graphs.</summary>
    public IReadOnlyList<int> GraphBatchSizes { get; init; } = [1, 2, 4, 8, 16, 32, 64, 128, 256];

    /// <summary>Longest context decoded in one pass per (sequence, head); longer contexts use split-K.</summary>
    public int SinglePassMaxContext { get; init; } = Kernels.KernelShapes.SinglePassMaxContext;

    /// <summary>Context tokens per split-K partition of the decode kernel.</summary>
    public int PartitionSize { get; init; } = Kernels.KernelShapes.DefaultPartitionSize;

    /// <summary>Where compiled PTX is cached; null = NvrtcCompiler.DefaultCacheDirectory().</summary>
    public string? KernelCacheDirectory { get; init; }

    public void Validate()
    {
        void Require(bool ok, string key, string what)
        {
            if (!ok)
            {
                throw new ArgumentException($"Folio:Engine:{key} {what}");
            }
        }

        Require(BlockSize is 8 or 16 or 32, "BlockSize", $"must be 8, 16 or 32 on CUDA (got {BlockSize})");
        Require(GpuMemoryUtilization is > 0 and <= 1, "GpuMemoryUtilization", $"must be in (0, 1] (got {GpuMemoryUtilization})");
        Require(MaxNumBatchedTokens >= 1, "MaxNumBatchedTokens", $"must be >= 1 (got {MaxNumBatchedTokens})");
        Require(MaxNumSeqs >= 1 && MaxNumSeqs <= MaxNumBatchedTokens, "MaxNumSeqs", $"must be in [1, MaxNumBatchedTokens] (got {MaxNumSeqs})");
        Require(MaxModelLen >= 0, "MaxModelLen", $"must be >= 0 (got {MaxModelLen})");
        Require(SinglePassMaxContext is >= 1 and <= 8192, "SinglePassMaxContext", $"must be in [1, 8192] (got {SinglePassMaxContext})");
        Require(PartitionSize is >= 1 and <= 4096, "PartitionSize", $"must be in [1, 4096] (got {PartitionSize})");
        Require(NumBlocksOverride >= 0, "NumBlocks", $"must be >= 0 (got {NumBlocksOverride})");
    }
}
