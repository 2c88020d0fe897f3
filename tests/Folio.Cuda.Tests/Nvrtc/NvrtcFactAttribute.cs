using Folio.Cuda.Interop;

namespace Folio.Cuda.Tests.Nvrtc;

/// <summary>
/// A test that needs libnvrtc. Without it the test is skipped with the install hint on a
/// developer machine, but under CI=true it runs and fails, since CI installs NVRTC
/// (native-kernels/install-nvrtc.sh, called by test.sh) and a missing compiler is a broken CI.
/// </summary>
public sealed class NvrtcFactAttribute : FactAttribute
{
    public NvrtcFactAttribute()
    {
        bool ci = string.Equals(Environment.GetEnvironmentVariable("CI"), "true", StringComparison.OrdinalIgnoreCase);
        if (!ci && !NativeLibraries.IsAvailable(NativeLibraries.Nvrtc, out string? problem))
        {
            Skip = "libnvrtc is not installed (CI=true makes this a failure): " + problem;
        }
    }
}
