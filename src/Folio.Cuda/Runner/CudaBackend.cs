using Folio.Cuda.Interop;
using Folio.Engine.Execution;
using Folio.Models;

namespace Folio.Cuda.Runner;

/// <summary>
/// The entry point for choosing a backend (Folio:Engine:Backend = auto | cpu | cuda): "auto" takes
/// CUDA when <see cref="IsUsable"/> says yes, "cuda" calls <see cref="CreateRunner"/> and lets its
/// exception (what to install) reach the user.
/// </summary>
public static class CudaBackend
{
    /// <summary>True when a device answers and NVRTC and cuBLAS load; otherwise the reason, in words a user can act on.</summary>
    public static bool IsUsable(out string reason)
    {
        var probe = CudaContext.Probe();
        if (!probe.Available)
        {
            reason = probe.Message;
            return false;
        }

        foreach (var lib in new[] { NativeLibraries.Nvrtc, NativeLibraries.Cublas })
        {
            if (!NativeLibraries.IsAvailable(lib, out string? problem))
            {
                reason = $"a CUDA device answers ({probe.DeviceName}) but {problem}";
                return false;
            }
        }

        reason = probe.Message;
        return true;
    }

    public static IModelRunner CreateRunner(LoadedModel model, CudaRunnerOptions options) => new CudaModelRunner(model, options);
}
