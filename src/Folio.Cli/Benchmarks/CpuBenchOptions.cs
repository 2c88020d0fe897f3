namespace Folio.Cli.Benchmarks;

/// <summary>Options of <c>folio bench cpu</c>.</summary>
public sealed record CpuBenchOptions
{
    /// <summary>GGUF files to measure, each a row group (its file name is its label, e.g. Q4_K_M.gguf).</summary>
    public IReadOnlyList<string> Models { get; init; } = [];

    /// <summary>Compute threads for both engines.</summary>
    public int Threads { get; init; } = Environment.ProcessorCount;

    /// <summary>Batch sizes measured besides single-sequence decode.</summary>
    public IReadOnlyList<int> Batches { get; init; } = [8, 32, 64];

    /// <summary>Tokens prefilled per sequence before decode is timed.</summary>
    public int PromptTokens { get; init; } = 32;

    /// <summary>Timed decode steps for one sequence (a quarter of that for batches).</summary>
    public int DecodeSteps { get; init; } = 128;

    /// <summary>Length of the prompt whose prefill is timed; 0 skips the prefill rows.</summary>
    public int PrefillTokens { get; init; } = 512;

    /// <summary>Measurements per case and engine, alternating; the best is reported.</summary>
    public int Rounds { get; init; } = 3;

    public bool SkipLlama { get; init; }

    /// <summary>Also print, per decode case, where Folio's timed steps spent their time (<see cref="Folio.Cpu.StepProfile"/>).</summary>
    public bool OpTimes { get; init; }

    /// <summary>
    /// Also measure a mixture's experts read from the mapped file (<see cref="Folio.Cpu.CpuRunnerOptions.MapExperts"/>),
    /// one runner per entry of <see cref="ExpertCaches"/>, in the same rounds as the packed experts.
    /// </summary>
    public bool MapExperts { get; init; }

    /// <summary>With <see cref="MapExperts"/>: the packed-panel cache sizes to measure, in bytes; null is the runner's default (<see cref="Folio.Cpu.CpuRunnerOptions.ExpertCacheBytes"/>).</summary>
    public IReadOnlyList<long?> ExpertCaches { get; init; } = [null];

    /// <summary>The machine's limits; null measures them first (see <see cref="MachineLimits"/>).</summary>
    public MachineLimits? Limits { get; init; }

    /// <summary>Where to write the plot of tokens/s against batch size (PNG), or null.</summary>
    public string? PlotPath { get; init; }
}

/// <summary>One measured case: an engine pair on one model at one batch size (or a prefill).</summary>
/// <param name="RoundReadGBps">The read bandwidth measured just before Folio's best round (<see cref="BandwidthProbe"/>).</param>
public sealed record CpuBenchRow(string Weights, string Case, int Batch, bool Prefill, double Folio, double? Llama, long BytesPerStep, long MacsPerToken, bool Int8, double RoundReadGBps)
{
    /// <summary>Weight bytes Folio reads per generated token (a step reads them once for the whole batch).</summary>
    public double BytesPerToken => (double)BytesPerStep / (Prefill ? 1 : Batch);

    public double FolioGBps => Prefill ? 0 : Folio * BytesPerStep / Batch / 1e9;

    public double FolioGflops => Folio * MacsPerToken * 2 / 1e9;
}
