using System.CommandLine;
using Folio.Cli.CommandLine;
using Folio.Cli.Cuda;
using Folio.Cli.Options;
using Folio.Cuda;
using Folio.Cuda.Runner;
using Folio.Models.Loading;

namespace Folio.Cli.Commands;

/// <summary>GPU benchmarks: copy roofline, attention bandwidth, decode tokens/s by batch, weight-read bandwidth at batch 1.</summary>
public sealed class CudaBenchCommand : FolioCommand
{
    private readonly FolioOption<string?> _model = SharedOptions.Model("PATH|demo|llama3-8b-shape", "a Hugging Face folder or GGUF, demo, or llama3-8b-shape: Llama-3-8B's shape with random bf16 weights generated on the host (16 GB)", defaultValue: "llama3-8b-shape");
    private readonly FolioOption<int[]?> _batches = CliOptions.IntList("--batches", "LIST", "decode batch sizes to measure", [1, 32, 128, 256], min: 1);
    private readonly FolioOption<int> _decodeSteps = CliOptions.Int("--decode-steps", "N", "timed decode steps per batch size", 32, min: 1, oldSpellings: "--steps");
    private readonly FolioOption<int> _promptTokens = CliOptions.Int("--prompt-tokens", "N", "tokens prefilled per sequence before timing", 128, min: 1, oldSpellings: "--prompt");

    public CudaBenchCommand()
        : base("cuda bench", "benchmark the CUDA backend on a GPU host (decode tokens/s, bandwidth against the copy roofline)")
    {
        Add(_model, _batches, _decodeSteps, _promptTokens);
    }

    public override IReadOnlyList<ExitCode> OwnExitCodes => [new(3, "no CUDA device on this machine: nothing was measured")];

    public override Task<int> RunAsync(ParseResult parse, CliContext context, CancellationToken cancellationToken)
    {
        string modelPath = parse.GetValue(_model)!;
        int[] batches = parse.GetValue(_batches)!;
        int steps = parse.GetValue(_decodeSteps);
        int prompt = parse.GetValue(_promptTokens);
        var output = context.Out;

        var probe = CudaContext.Probe();
        if (!probe.Available)
        {
            output.WriteLine("folio cuda bench: NO GPU PRESENT - nothing was measured.");
            output.WriteLine("  " + probe.Message);
            return Task.FromResult(3);
        }

        output.WriteLine($"device: {probe.Message}");
        double copy, attention;
        using (var ctx = CudaContext.Create())
        {
            copy = CudaBench.CopyBandwidth(ctx);
            attention = CudaBench.AttentionBandwidth(ctx);
        }

        output.WriteLine($"  device-to-device copy          {copy / 1e9,10:F1} GB/s (read + write)");
        output.WriteLine($"  paged attention (64 x 4096)    {attention / 1e9,10:F1} GB/s of K/V  = {attention / copy * 100,5:F1}% of the copy");

        using var model = modelPath == "llama3-8b-shape" ? SyntheticModel.Create(SyntheticModel.Llama3_8B) : ModelLoader.Load(modelPath);
        using var runner = new CudaModelRunner(model, new CudaRunnerOptions { MaxNumSeqs = Math.Max(256, batches.Max()), MaxModelLen = Math.Max(1024, prompt + steps + 16) });
        output.WriteLine($"model: {model.Source}, {model.Config.NumLayers} layers, hidden {model.Config.HiddenSize}; KV pool {runner.NumBlocks} blocks; graphs for {string.Join(",", runner.GraphBatchSizes)}; kernels compute_{runner.CompiledArch}");
        long weights = CudaBench.WeightBytes(model.Config);
        context.WithProgress("cuda bench", progress =>
        {
            var task = progress.AddTask("decode batches", batches.Length);
            foreach (int b in batches)
            {
                cancellationToken.ThrowIfCancellationRequested();
                var (tps, step) = CudaBench.Decode(runner, b, prompt, steps);
                string extra = b == 1 ? $"  weight reads {weights / step / 1e9:F1} GB/s = {weights / step / copy * 100:F1}% of the copy roofline" : "";
                progress.WriteLine($"  decode batch {b,4}: {tps,10:F1} tokens/s  ({step * 1000:F2} ms/step){extra}");
                task.Advance();
            }

            task.Complete();
            return 0;
        });
        return Task.FromResult(ExitCodes.Success);
    }
}
