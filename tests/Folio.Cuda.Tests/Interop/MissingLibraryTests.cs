using Folio.Cuda.Interop;

namespace Folio.Cuda.Tests.Interop;

/// <summary>A machine without the NVIDIA driver gets a message that says what to install, never a crash.</summary>
public sealed class MissingLibraryTests
{
    [Fact]
    public void Library_absent_from_every_folder_is_reported_with_the_places_tried()
    {
        nint h = NativeLibraries.TryLoad(["libfolio-no-such-library.so.1"], ["/nonexistent/cuda/lib64"], out var tried);
        Assert.Equal(0, h);
        Assert.Contains("libfolio-no-such-library.so.1", tried);
    }

    [Fact]
    public void Probe_without_a_driver_says_so_and_create_throws_an_actionable_exception()
    {
        var probe = CudaContext.Probe();
        if (probe.Available)
        {
            // A GPU host: the probe found a device, which is the other half of this contract.
            Assert.False(string.IsNullOrEmpty(probe.DeviceName));
            return;
        }

        Assert.False(string.IsNullOrWhiteSpace(probe.Message));
        if (!NativeLibraries.IsAvailable(NativeLibraries.Cuda, out _))
        {
            Assert.Contains("libcuda", probe.Message, StringComparison.Ordinal);
            Assert.Contains("driver", probe.Message, StringComparison.Ordinal);
            var e = Assert.Throws<CudaUnavailableException>(() => CudaContext.Create());
            Assert.Contains("install", e.Message, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void Every_library_has_an_install_hint_and_known_sonames()
    {
        foreach (var lib in new[] { NativeLibraries.Cuda, NativeLibraries.Nvrtc, NativeLibraries.Cublas })
        {
            Assert.NotEmpty(NativeLibraries.Sonames(lib));
            Assert.Contains("install", NativeLibraries.InstallHint(lib), StringComparison.Ordinal);
        }

        Assert.Contains("libnvrtc.so.11.2", NativeLibraries.Sonames(NativeLibraries.Nvrtc));
    }

    [Fact]
    public void Status_codes_are_named_in_exceptions()
    {
        var e = new CudaException("cuMemAlloc(1024 bytes)", 2, CudaDriver.KnownName(2));
        Assert.Equal("cuMemAlloc(1024 bytes) failed: CUDA_ERROR_OUT_OF_MEMORY (2)", e.Message);
        Assert.Equal("NVRTC_ERROR_COMPILATION", Folio.Cuda.Interop.Nvrtc.KnownName(6));
        Assert.Equal("CUBLAS_STATUS_NOT_SUPPORTED", Cublas.StatusName(15));
    }
}
