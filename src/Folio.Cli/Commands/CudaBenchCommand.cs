using Folio.Cli.Cuda;
using Folio.Cuda.Runner;
using Folio.Cuda;
using Folio.Models.Loading;

namespace Folio.Cli.Commands;

/// <summary>GPU benchmarks: copy roofline, attention bandwidth, decode tokens/s by batch, weight-read bandwidth at batch 1.</summary>
public sealed class CudaBenchCommand : ICliCommand
{
    public string Name => "cuda bench";

    public string Summary => "benchmark the CUDA backend on a GPU host (decode tokens/s, bandwidth against the copy roofline)";

    public string Usage => """
        usage: folio cuda bench [--model PATH|demo|llama3-8b-shape] [--batches 1,32,128,256] [--steps 32] [--prompt 128]
          --model   a Hugging Face folder or GGUF, demo, or llama3-8b-shape (default): Llama-3-8B's
                    shape with random bf16 weights generated on the host (16 GB)
        exit status 3 when no CUDA device answers.
        """;

    public Task<int> RunAsync(CliArgs args, CancellationToken cancellationToken)
    {
        string modelPath = args.String("model") ?? "llama3-8b-shape";
        int[] batches = args.IntList("batches") ?? [1, 32, 128, 256];
        int steps = args.Int("steps", 32);
        int prompt = args.Int("prompt", 128);
        args.RejectUnknown();

        var probe = CudaContext.Probe();
        if (!probe.Available)
        {
            Console.WriteLine("folio cuda bench: NO GPU PRESENT - nothing was measured.");
            Console.WriteLine("  " + probe.Message);
            return Task.FromResult(3);
        }

        Console.WriteLine($"device: {probe.Message}");
        double copy, attention;
        using (var ctx = CudaContext.Create())
        {
            copy = CudaBench.CopyBandwidth(ctx);
            attention = CudaBench.AttentionBandwidth(ctx);
        }

        Console.WriteLine($"  device-to-device copy          {copy / 1e9,10:F1} GB/s (read + write)");
        Console.WriteLine($"  paged attention (64 x 4096)    {attention / 1e9,10:F1} GB/s of K/V  = {attention / copy * 100,5:F1}% of the copy");

        using var model = modelPath == "llama3-8b-shape" ? SyntheticModel.Create(SyntheticModel.Llama3_8B) : ModelLoader.Load(modelPath);
        using var runner = new CudaModelRunner(model, new CudaRunnerOptions { MaxNumSeqs = Math.Max(256, batches.Max()), MaxModelLen = Math.Max(1024, prompt + steps + 16) });
        Console.WriteLine($"model: {model.Source}, {model.Config.NumLayers} layers, hidden {model.Config.HiddenSize}; KV pool {runner.NumBlocks} blocks; graphs for {string.Join(",", runner.GraphBatchSizes)}; kernels compute_{runner.CompiledArch}");
        long weights = CudaBench.WeightBytes(model.Config);
        foreach (int b in batches)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var (tps, step) = CudaBench.Decode(runner, b, prompt, steps);
            string extra = b == 1 ? $"  weight reads {weights / step / 1e9:F1} GB/s = {weights / step / copy * 100:F1}% of the copy roofline" : "";
            Console.WriteLine($"  decode batch {b,4}: {tps,10:F1} tokens/s  ({step * 1000:F2} ms/step){extra}");
        }

        return Task.FromResult(0);
    }
}
