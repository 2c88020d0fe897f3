using Folio.Cuda.Interop;
using System.CommandLine;
using Folio.Cli.CommandLine;
using Folio.Cuda;
using Folio.Cuda.Kernels;

namespace Folio.Cli.Commands;

/// <summary>Compiles every kernel in native-kernels/ with NVRTC and reports each: runs without a GPU.</summary>
public sealed class CudaCompileCommand : FolioCommand
{
    private readonly FolioOption<string?> _arch = CliOptions.String("--arch", "LIST", "comma-separated targets; PTX for compute_XY, which the driver JIT-compiles for the device (so compute_80 PTX also runs on Hopper)", defaultValue: "sm_80,sm_90");
    private readonly FolioOption<string?> _cache = CliOptions.String("--cache", "DIR", "also write the PTX into DIR (the on-disk cache a GPU host reads at start-up)");

    public CudaCompileCommand()
        : base("cuda compile", "compile every CUDA kernel with NVRTC (no GPU needed) and report each")
    {
        Add(_arch, _cache);
    }

    public override IReadOnlyList<string> Notes => ["Exit code 0 only when every kernel compiles with no error and no warning; 1 when NVRTC is missing or a kernel has a problem."];

    public override Task<int> RunAsync(ParseResult parse, CliContext context, CancellationToken cancellationToken)
    {
        string archText = parse.GetValue(_arch)!;
        string? cache = parse.GetValue(_cache);
        int[] archs;
        try
        {
            archs = [.. archText.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(NvrtcCompiler.ParseArch)];
        }
        catch (ArgumentException e)
        {
            throw Usage("--arch: " + e.Message);
        }

        (int Major, int Minor) version;
        IReadOnlyList<int> supported;
        try
        {
            version = NvrtcCompiler.Version();
            supported = NvrtcCompiler.SupportedArchs();
        }
        catch (CudaUnavailableException e)
        {
            context.Error.WriteLine($"folio cuda compile: {e.Message}");
            return Task.FromResult(ExitCodes.Failure);
        }

        var output = context.Out;
        output.WriteLine($"NVRTC {version.Major}.{version.Minor}; supports compute_{string.Join(", compute_", supported)}");
        int failures = 0;
        foreach (int arch in archs)
        {
            if (!supported.Contains(arch))
            {
                int fallback = supported.Where(a => a <= arch).DefaultIfEmpty(0).Max();
                output.WriteLine($"sm_{arch}: NOT SUPPORTED by NVRTC {version.Major}.{version.Minor}" +
                    (fallback > 0 ? $"; compute_{fallback} PTX runs there through the driver's JIT (folio cuda compile --arch sm_{fallback})" : ""));
                failures++;
                continue;
            }

            foreach (var source in KernelSources.Files)
            {
                cancellationToken.ThrowIfCancellationRequested();
                var r = NvrtcCompiler.Compile(source, arch, cache);
                string status = r.Clean ? "ok" : r.Success ? "WARNING" : "ERROR";
                output.WriteLine($"  compute_{arch}  {source.FileName,-16} {status,-8} {r.Ptx.Length,8} B PTX  {r.Entries.Count,2} kernels  {r.Elapsed.TotalMilliseconds,6:F0} ms{(r.FromCache ? " (cached)" : "")}");
                if (!r.Clean)
                {
                    failures++;
                    foreach (var line in r.Log.Split('\n'))
                    {
                        output.WriteLine("      " + line);
                    }
                }
            }
        }

        output.WriteLine(failures == 0 ? "all kernels compiled cleanly" : $"{failures} problem(s)");
        return Task.FromResult(failures == 0 ? ExitCodes.Success : ExitCodes.Failure);
    }
}
