using Folio.Cuda.Interop;
using Folio.Cuda.Kernels;

namespace Folio.Cuda.Runner;

/// <summary>
/// Every kernel the runner launches, compiled by NVRTC for this device (PTX cached on disk) and
/// loaded: bf16 storage for weights, K/V cache and GEMM inputs.
/// </summary>
internal sealed class CudaKernelSet : IDisposable
{
    private readonly List<CudaModule> _modules = [];
    private readonly Dictionary<string, CudaKernel> _kernels = new(StringComparer.Ordinal);

    public CudaKernelSet(CudaContext ctx, string? cacheDirectory)
    {
        Arch = ChooseArch(ctx.Major * 10 + ctx.Minor);
        foreach (var source in KernelSources.Files)
        {
            var r = NvrtcCompiler.Compile(source, Arch, cacheDirectory ?? NvrtcCompiler.DefaultCacheDirectory());
            if (!r.Success)
            {
                throw new InvalidOperationException($"NVRTC could not compile {source.FileName} for compute_{Arch}: {r.Log}");
            }

            CudaModule module;
            try
            {
                module = ctx.LoadModule(r.Ptx, source.FileName);
            }
            catch (CudaException e) when (e.Status == 222)
            {
                // CUDA_ERROR_UNSUPPORTED_PTX_VERSION: this NVRTC writes a newer PTX ISA than the driver reads.
                var (major, minor) = NvrtcCompiler.Version();
                throw new CudaUnavailableException($"the NVIDIA driver cannot load PTX from NVRTC {major}.{minor} ({e.Message}): install an NVRTC no newer than the driver's CUDA version (nvidia-smi shows it), e.g. 'pip install nvidia-cuda-nvrtc-cu12==<that version>', or update the driver");
            }

            _modules.Add(module);
            foreach (var entry in r.Entries)
            {
                _kernels[entry] = module.GetKernel(entry);
            }
        }

        Embedding = Get("folio_embedding_bf16");
        RmsNorm = Get("folio_rms_norm_bf16");
        AddBias = Get("folio_add_bias_bf16");
        Rotary = Get("folio_rotary");
        ReshapeAndCache = Get("folio_reshape_and_cache_bf16");
        Decode = Get("folio_paged_attention_decode_bf16");
        Reduce = Get("folio_paged_attention_reduce_bf16");
        Prefill = Get("folio_prefill_attention_bf16");
        SiluAndMul = Get("folio_silu_and_mul_bf16");
        GatherRows = Get("folio_gather_rows");
        Argmax = Get("folio_argmax");
        Sample = Get("folio_sample");
    }

    /// <summary>The virtual architecture compiled for: the device's, or the newest NVRTC knows below it (the driver JITs PTX forward).</summary>
    public int Arch { get; }

    public CudaKernel Embedding { get; }
    public CudaKernel RmsNorm { get; }
    public CudaKernel AddBias { get; }
    public CudaKernel Rotary { get; }
    public CudaKernel ReshapeAndCache { get; }
    public CudaKernel Decode { get; }
    public CudaKernel Reduce { get; }
    public CudaKernel Prefill { get; }
    public CudaKernel SiluAndMul { get; }
    public CudaKernel GatherRows { get; }
    public CudaKernel Argmax { get; }
    public CudaKernel Sample { get; }

    public CudaKernel Get(string name) =>
        _kernels.TryGetValue(name, out var k) ? k : throw new InvalidOperationException($"kernel {name} is not defined by native-kernels/*.cu");

    public static int ChooseArch(int deviceArch)
    {
        var supported = NvrtcCompiler.SupportedArchs();
        int best = supported.Where(a => a <= deviceArch).DefaultIfEmpty(0).Max();
        return best > 0 ? best : throw new CudaUnavailableException($"this NVRTC supports compute_{string.Join(", compute_", supported)}, none usable on a device of compute capability {deviceArch / 10}.{deviceArch % 10}");
    }

    public void Dispose()
    {
        foreach (var m in _modules)
        {
            m.Dispose();
        }
    }
}
