using Folio.Cuda.Kernels;
using Folio.Cuda;

namespace Folio.Cli.Commands;

/// <summary>Compiles every kernel in native-kernels/ with NVRTC and reports each: runs without a GPU.</summary>
public sealed class CudaCompileCommand : ICliCommand
{
    public string Name => "cuda compile";

    public string Summary => "compile every CUDA kernel with NVRTC (no GPU needed) and report each";

    public string Usage => """
        usage: folio cuda compile [--arch sm_80,sm_90] [--cache DIR]
          --arch   comma-separated targets (default sm_80,sm_90); PTX for compute_XY, which the
                   driver JIT-compiles for the device (so compute_80 PTX also runs on Hopper)
          --cache  also write the PTX into DIR (the on-disk cache a GPU host reads at start-up)
        exit status 0 only when every kernel compiles with no error and no warning.
        """;

    public Task<int> RunAsync(CliArgs args, CancellationToken cancellationToken)
    {
        string archText = args.String("arch") ?? "sm_80,sm_90";
        string? cache = args.String("cache");
        args.RejectUnknown();
        int[] archs;
        try
        {
            archs = archText.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(NvrtcCompiler.ParseArch).ToArray();
        }
        catch (ArgumentException e)
        {
            throw new CliUsageException("--arch: " + e.Message);
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
            Console.Error.WriteLine($"folio cuda compile: {e.Message}");
            return Task.FromResult(1);
        }

        Console.WriteLine($"NVRTC {version.Major}.{version.Minor}; supports compute_{string.Join(", compute_", supported)}");
        int failures = 0;
        foreach (int arch in archs)
        {
            if (!supported.Contains(arch))
            {
                int fallback = supported.Where(a => a <= arch).DefaultIfEmpty(0).Max();
                Console.WriteLine($"sm_{arch}: NOT SUPPORTED by NVRTC {version.Major}.{version.Minor}" +
                    (fallback > 0 ? $"; compute_{fallback} PTX runs there through the driver's JIT (folio cuda compile --arch sm_{fallback})" : ""));
                failures++;
                continue;
            }

            foreach (var source in KernelSources.Files)
            {
                cancellationToken.ThrowIfCancellationRequested();
                var r = NvrtcCompiler.Compile(source, arch, cache);
                string status = r.Clean ? "ok" : r.Success ? "WARNING" : "ERROR";
                Console.WriteLine($"  compute_{arch}  {source.FileName,-16} {status,-8} {r.Ptx.Length,8} B PTX  {r.Entries.Count,2} kernels  {r.Elapsed.TotalMilliseconds,6:F0} ms{(r.FromCache ? " (cached)" : "")}");
                if (!r.Clean)
                {
                    failures++;
                    foreach (var line in r.Log.Split('\n'))
                    {
                        Console.WriteLine("      " + line);
                    }
                }
            }
        }

        Console.WriteLine(failures == 0 ? "all kernels compiled cleanly" : $"{failures} problem(s)");
        return Task.FromResult(failures == 0 ? 0 : 1);
    }
}
