namespace Folio.Cuda.Tests.Gpu;

/// <summary>
/// A test that needs a CUDA device. Where none answers it is skipped with the reason (no driver,
/// no device), so a run without a GPU shows these as skipped, never as passed.
/// </summary>
public sealed class GpuFactAttribute : FactAttribute
{
    private static readonly Lazy<CudaProbe> Probe = new(CudaContext.Probe);

    public GpuFactAttribute()
    {
        if (!Probe.Value.Available)
        {
            Skip = "no CUDA device answers here (" + Probe.Value.Message + "); run on a GPU host: see docs/cuda.md";
        }
    }
}
