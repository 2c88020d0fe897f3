using System.CommandLine;
using Folio.Cli.CommandLine;
using Folio.Cli.Cuda;
using Folio.Cli.Options;
using Folio.Cuda;
using Folio.Cuda.Runner;
using Folio.Models.Loading;

namespace Folio.Cli.Commands;

/// <summary>On a GPU host: every kernel on the device against the CPU backend, then a whole model and a small model of each newer architecture; here: says there is no GPU.</summary>
public sealed class CudaCheckCommand : FolioCommand
{
    private readonly FolioOption<string?> _model = SharedOptions.Model("PATH|demo", "model for the whole-forward and generation checks", defaultValue: "demo");
    private readonly FolioOption<bool> _skipModel = CliOptions.Flag("--skip-model", "kernels only");
    private readonly FolioOption<int> _device = CliOptions.Int("--device", "N", "CUDA device ordinal", 0, min: 0);

    public CudaCheckCommand()
        : base("cuda check", "run every CUDA kernel and a whole model on the GPU against the CPU backend (pass/fail table)")
    {
        Add(_model, _skipModel, _device);
    }

    public override IReadOnlyList<ExitCode> OwnExitCodes => [new(1, "a check failed"), new(3, "no CUDA device on this machine: nothing was checked")];

    public override Task<int> RunAsync(ParseResult parse, CliContext context, CancellationToken cancellationToken)
    {
        string modelPath = parse.GetValue(_model)!;
        bool skipModel = parse.GetValue(_skipModel);
        int device = parse.GetValue(_device);
        var output = context.Out;

        var probe = CudaContext.Probe();
        if (!probe.Available)
        {
            output.WriteLine("folio cuda check: NO GPU PRESENT - nothing was checked on a device.");
            output.WriteLine("  " + probe.Message);
            output.WriteLine("  Without a GPU, CI checks the kernels through the host emulation (tests/Folio.Cuda.Tests) and NVRTC (folio cuda compile).");
            return Task.FromResult(3);
        }

        output.WriteLine($"device: {probe.Message}");
        int failed = context.WithProgress("cuda check", progress =>
        {
            var results = new List<CheckResult>();
            using (var ctx = CudaContext.Create(device))
            using (var kernels = new DeviceKernelChecks(ctx))
            {
                progress.WriteLine($"kernels compiled for compute_{kernels.Arch}");
                var task = progress.AddTask("kernel checks", total: 0);
                foreach (var r in kernels.RunAll())
                {
                    cancellationToken.ThrowIfCancellationRequested();
                    progress.WriteLine(Line(r));
                    results.Add(r);
                    task.Advance(description: r.Name);
                }

                task.Complete();
            }

            if (!skipModel)
            {
                using var model = ModelLoader.Load(modelPath);
                progress.WriteLine($"model: {model.Source} ({model.Config.NumLayers} layers, hidden {model.Config.HiddenSize}, vocab {model.Config.VocabSize})");
                var task = progress.AddTask("model checks", total: 0);
                foreach (var r in ModelChecks.Run(model, new CudaRunnerOptions { DeviceOrdinal = device }))
                {
                    progress.WriteLine(Line(r));
                    results.Add(r);
                    task.Advance(description: r.Name);
                }

                task.Complete();

                // Qwen3, Gemma 2/3 and mixtures of experts: a small synthetic model of each, same checks.
                var arch = progress.AddTask("architecture checks", total: 0);
                foreach (var r in ArchitectureChecks.Run(device))
                {
                    cancellationToken.ThrowIfCancellationRequested();
                    progress.WriteLine(Line(r));
                    results.Add(r);
                    arch.Advance(description: r.Name);
                }

                arch.Complete();
            }

            int failures = results.Count(r => !r.Passed);
            progress.WriteLine(failures == 0 ? $"ALL {results.Count} CHECKS PASSED" : $"{failures} of {results.Count} CHECKS FAILED");
            return failures;
        });
        return Task.FromResult(failed == 0 ? ExitCodes.Success : ExitCodes.Failure);
    }

    private static string Line(CheckResult r) =>
        $"  {(r.Passed ? "PASS" : "FAIL")}  {r.Name,-58} max err {r.MaxError,10:G3} (tol {r.Tolerance:G3}) {r.Detail}";
}
