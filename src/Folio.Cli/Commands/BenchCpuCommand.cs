using System.CommandLine;
using Folio.Cli.Benchmarks;
using Folio.Cli.CommandLine;
using Folio.Cli.Options;
using Folio.Engine.Kv;

namespace Folio.Cli.Commands;

/// <summary>
/// `folio bench cpu`: Folio's CPU backend against llama.cpp (LLamaSharp) on the same GGUF files and
/// thread count (the work is <see cref="CpuBench"/>): single decode, batched decode and a long
/// prefill per model, as shares of the machine's limits.
/// </summary>
public sealed class BenchCpuCommand : FolioCommand
{
    private readonly FolioOption<string[]> _models = CliOptions.Repeated("--model", "PATH.gguf", "a GGUF file that llama.cpp can load; give --model again for more (each is a row group labelled by its file name)");
    private readonly FolioOption<string?> _makeModels = CliOptions.String("--make-models", "DIR", "measure the 168M-parameter bench models kept in DIR, writing the missing ones (f32 by Folio's writer, the others by llama.cpp's quantizer)");
    private readonly FolioOption<string?> _weights = CliOptions.String("--weights", "LIST", $"with --make-models: which of {string.Join(", ", CpuBenchModels.Names)}", string.Join(',', CpuBenchModels.Names));
    private readonly FolioOption<int?> _threads = SharedOptions.Threads("compute threads for both engines");
    private readonly FolioOption<int[]?> _batches = CliOptions.IntList("--batches", "LIST", "batch sizes to measure besides single-sequence decode", [8, 32, 64], min: 1);
    private readonly FolioOption<int> _promptTokens = CliOptions.Int("--prompt-tokens", "N", "tokens prefilled per sequence before decode is timed", 32, min: 1);
    private readonly FolioOption<int> _decodeSteps = CliOptions.Int("--decode-steps", "N", "timed decode steps of single-sequence decode; a quarter of that for batches", 128, min: 1);
    private readonly FolioOption<int> _prefillTokens = CliOptions.Int("--prefill-tokens", "N", "length of the prompt whose prefill is timed; 0 skips it", 512, min: 0);
    private readonly FolioOption<int> _repeat = CliOptions.Int("--repeat", "N", "measurements per case and engine after one untimed warm-up round, alternating; the best is reported", 3, min: 1, oldSpellings: "--rounds");
    private readonly FolioOption<bool> _skipLlama = CliOptions.Flag("--skip-llama", "measure Folio only");
    private readonly FolioOption<bool> _opTimes = CliOptions.Flag("--op-times", "also print where Folio's timed decode steps spent their time, phase by phase (projections, attention, norms, ...)");
    private readonly FolioOption<bool> _mapExperts = CliOptions.Flag("--map-experts", "also measure a mixture's experts read from the mapped file (packed panel by panel as routed), in the same rounds as experts packed at load");
    private readonly FolioOption<string?> _expertCache = CliOptions.String("--expert-cache", "LIST", "with --map-experts: sizes of the cache of packed expert panels to measure, one mapped runner each (default, 0 for none, or sizes such as 512MiB)", defaultText: "the runner's default, a quarter of available memory");
    private readonly FolioOption<string?> _plot = CliOptions.String("--plot", "FILE.png", "also draw decode tokens/s against batch size");

    public BenchCpuCommand()
        : base("bench cpu", "tokens/s of Folio's CPU backend and llama.cpp on the same GGUF files, as shares of the machine's limits")
    {
        Add(_models, _makeModels, _weights, _threads, _batches, _promptTokens, _decodeSteps, _prefillTokens, _repeat, _skipLlama, _opTimes, _mapExperts, _expertCache, _plot);
    }

    public override string Synopsis => "(--model PATH.gguf ... | --make-models DIR [--weights LIST]) [options]";

    public override IReadOnlyList<string> Notes =>
    [
        "Both sides get the same prompt and the same fixed input token at every step (no sampling); llama.cpp runs in its best CPU configuration (flash attention on, f16 K/V). Both engines stay loaded and take turns case by case, round by round, so a noisy neighbour hits both alike.",
        "The machine's limits (folio bench machine) are measured first; the result is a Markdown table on stdout.",
    ];

    public override Task<int> RunAsync(ParseResult parse, CliContext context, CancellationToken cancellationToken)
    {
        var models = parse.GetValue(_models) ?? [];
        string? folder = parse.GetValue(_makeModels);
        if ((models.Length > 0) == (folder is not null))
        {
            throw Usage("give --model PATH.gguf (once or more) or --make-models DIR, not both");
        }

        IReadOnlyList<string> paths = models;
        if (folder is not null)
        {
            var names = parse.GetValue(_weights)!.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            var unknown = names.Where(n => !CpuBenchModels.Names.Contains(n, StringComparer.Ordinal)).ToList();
            if (names.Length == 0 || unknown.Count > 0)
            {
                throw Usage($"--weights: {(unknown.Count > 0 ? "unknown " + string.Join(", ", unknown) : "empty")}; use some of {string.Join(", ", CpuBenchModels.Names)}");
            }

            paths = CpuBenchModels.Ensure(folder, names, context.Error);
        }
        else if (paths.FirstOrDefault(p => !File.Exists(p)) is { } missing)
        {
            throw Usage($"--model {missing}: no such file");
        }

        var expertCaches = new List<long?> { null };
        if (parse.GetValue(_expertCache) is { } cacheText)
        {
            if (!parse.GetValue(_mapExperts))
            {
                throw Usage("--expert-cache needs --map-experts (packed experts have no cache)");
            }

            expertCaches.Clear();
            foreach (string item in cacheText.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            {
                expertCaches.Add(item == "default" ? null
                    : item == "0" ? 0
                    : ByteSize.TryParse(item, out long bytes) && bytes > 0 ? bytes
                    : throw Usage($"--expert-cache: '{item}' is not 'default', 0 or a memory size such as 512MiB"));
            }

            if (expertCaches.Count == 0)
            {
                throw Usage("--expert-cache: give at least one size");
            }
        }

        var options = new CpuBenchOptions
        {
            Models = paths,
            Threads = SharedOptions.ThreadsOrAllCores(parse.GetValue(_threads)),
            Batches = parse.GetValue(_batches)!,
            PromptTokens = parse.GetValue(_promptTokens),
            DecodeSteps = parse.GetValue(_decodeSteps),
            PrefillTokens = parse.GetValue(_prefillTokens),
            Rounds = parse.GetValue(_repeat),
            SkipLlama = parse.GetValue(_skipLlama),
            OpTimes = parse.GetValue(_opTimes),
            MapExperts = parse.GetValue(_mapExperts),
            ExpertCaches = expertCaches,
            PlotPath = parse.GetValue(_plot),
        };
        context.WithProgress("bench cpu", progress => CpuBench.Run(options, progress, cancellationToken));
        return Task.FromResult(ExitCodes.Success);
    }
}
