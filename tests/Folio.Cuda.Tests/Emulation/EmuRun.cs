using Folio.Cuda.Runner;

namespace Folio.Cuda.Tests.Emulation;

/// <summary>Launches one emulated kernel by name with arguments packed as the runner packs them (host pointers as device addresses).</summary>
internal static class EmuRun
{
    public static void Launch(string kernel, (int X, int Y, int Z) grid, int threads, long sharedBytes, KernelArgs args)
    {
        using var api = new EmuDeviceApi();
        api.Launch(api.Kernel(kernel), grid, threads, sharedBytes, args);
    }

    public static unsafe ulong P(void* p) => (ulong)p;
}
