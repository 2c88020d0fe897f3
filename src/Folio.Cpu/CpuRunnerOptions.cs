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
    /// Keep block-quantized linear weights (q8_0, q4_0 ... q6_K, iq4) in their GGML form, repacked,
    /// and multiply them by int8-quantized activations as llama.cpp does (memory and bandwidth about the
    /// file's size). False converts them to f32 at load (exact weights, f32 activations; 4 bytes a
    /// weight), the reference the int8 path is measured against. Either way the choice is per model,
    /// never per batch, so determinism holds within it; the two settings give different logits.
    /// </summary>
    public bool KeepQuantized { get; init; } = true;

    /// <summary>
    /// A mixture of experts' expert weights stay in the model file's mapping and are packed one GEMM
    /// panel at a time, into a thread's scratch, as the kernels reach them (same panels, same kernels,
    /// bitwise the same logits as packing them at load): an expert no token is routed to is never
    /// read, so the resident set grows with the experts used, not the experts present. False packs
    /// every expert at load (the whole expert set resident, in f32 or repacked quantized blocks).
    /// Null (the default) maps them only when packing every expert would take more than half the
    /// memory the runtime reports available. Mapped experts used again are served from a cache of
    /// packed panels (<see cref="ExpertCacheBytes"/>), so the hot ones cost what packed ones cost.
    /// </summary>
    public bool? MapExperts { get; init; }

    /// <summary>
    /// Mapped experts only: bytes of packed expert panels kept between steps, least recently used
    /// expert weight out first. A hit runs the kernels on the packed panels directly; a miss packs
    /// them from the file into the cache as it multiplies. 0 keeps none (every routed expert is
    /// repacked at every step, in the thread's scratch). Null (the default) is a quarter of the memory
    /// the runtime reports available; the cache only takes what it holds. The logits are the same
    /// bitwise whatever the size.
    /// </summary>
    public long? ExpertCacheBytes { get; init; }

    /// <summary>
    /// Tests only: GeGLU's gelu as ggml's CPU backend computes it (input rounded to f16, looked up in
    /// a table of f16 results) instead of in f32. llama.cpp's Gemma logits differ from the f32 math by
    /// a few 1e-4 of their size for this alone; with it on, the oracle tests check everything else to
    /// 1e-4. Never set in production: it is llama.cpp's approximation, not the model's math.
    /// </summary>
    internal bool GgmlF16Gelu { get; init; }

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

        if (ExpertCacheBytes < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(ExpertCacheBytes), ExpertCacheBytes, "the expert cache size must be 0 (no cache) or more bytes");
        }
    }
}
