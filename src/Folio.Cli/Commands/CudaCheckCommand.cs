using Folio.Cli.Cuda;
using Folio.Cuda.Runner;
using Folio.Cuda;
using Folio.Models.Loading;

namespace Folio.Cli.Commands;

/// <summary>On a GPU host: every kernel on the device against the CPU backend, then a whole model; here: says there is no GPU.</summary>
public sealed class CudaCheckCommand : ICliCommand
{
    public string Name => "cuda check";

    public string Summary => "run every CUDA kernel and a whole model on the GPU against the CPU backend (pass/fail table)";

    public string Usage => """
        usage: folio cuda check [--model PATH|demo] [--skip-model] [--device N]
          --model PATH|demo   model for the whole-forward and generation checks (default demo)
          --skip-model        kernels only
          --device N          CUDA device ordinal (default 0)
        exit status: 0 all passed, 1 a check failed, 3 no CUDA device on this machine.
        """;

    public Task<int> RunAsync(CliArgs args, CancellationToken cancellationToken)
    {
        string modelPath = args.String("model") ?? "demo";
        bool skipModel = args.Flag("skip-model");
        int device = args.Int("device", 0);
        args.RejectUnknown();

        var probe = CudaContext.Probe();
        if (!probe.Available)
        {
            Console.WriteLine("folio cuda check: NO GPU PRESENT - nothing was checked on a device.");
            Console.WriteLine("  " + probe.Message);
            Console.WriteLine("  Without a GPU, CI checks the kernels through the host emulation (tests/Folio.Cuda.Tests) and NVRTC (folio cuda compile).");
            return Task.FromResult(3);
        }

        Console.WriteLine($"device: {probe.Message}");
        var results = new List<CheckResult>();
        using (var ctx = CudaContext.Create(device))
        using (var kernels = new DeviceKernelChecks(ctx))
        {
            Console.WriteLine($"kernels compiled for compute_{kernels.Arch}");
            foreach (var r in kernels.RunAll())
            {
                cancellationToken.ThrowIfCancellationRequested();
                Print(r);
                results.Add(r);
            }
        }

        if (!skipModel)
        {
            using var model = ModelLoader.Load(modelPath);
            Console.WriteLine($"model: {model.Source} ({model.Config.NumLayers} layers, hidden {model.Config.HiddenSize}, vocab {model.Config.VocabSize})");
            foreach (var r in ModelChecks.Run(model, new CudaRunnerOptions { DeviceOrdinal = device }))
            {
                Print(r);
                results.Add(r);
            }
        }

        int failed = results.Count(r => !r.Passed);
        Console.WriteLine(failed == 0 ? $"ALL {results.Count} CHECKS PASSED" : $"{failed} of {results.Count} CHECKS FAILED");
        return Task.FromResult(failed == 0 ? 0 : 1);
    }

    private static void Print(CheckResult r) =>
        Console.WriteLine($"  {(r.Passed ? "PASS" : "FAIL")}  {r.Name,-58} max err {r.MaxError,10:G3} (tol {r.Tolerance:G3}) {r.Detail}");
}
