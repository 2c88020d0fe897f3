using Folio.Cuda.Kernels;

namespace Folio.Cuda.Tests.Nvrtc;

/// <summary>Every kernel source compiles with NVRTC, with no error and no warning, for Ampere and Hopper.</summary>
public sealed class KernelCompileTests
{
    private static readonly string[] ExpectedKernels =
    [
        "folio_paged_attention_decode_bf16", "folio_paged_attention_reduce_bf16", "folio_prefill_attention_bf16",
        "folio_paged_attention_decode_f32", "folio_paged_attention_reduce_f32", "folio_prefill_attention_f32",
        "folio_reshape_and_cache_bf16", "folio_rms_norm_bf16", "folio_rotary", "folio_silu_and_mul_bf16", "folio_add_bias_bf16",
        "folio_embedding_bf16", "folio_gather_rows", "folio_argmax", "folio_sample",
        "folio_qk_norm_bf16", "folio_sandwich_norm_bf16", "folio_gelu_tanh_and_mul_bf16", "folio_softcap",
        "folio_moe_route", "folio_moe_group", "folio_moe_gather_bf16", "folio_moe_combine",
    ];

    [NvrtcFact]
    public void Every_kernel_compiles_for_compute_80_without_errors_or_warnings() => CompileAll(80);

    [NvrtcFact]
    public void Every_kernel_compiles_for_compute_90_when_nvrtc_knows_hopper()
    {
        // NVRTC 11.8 (Debian's libnvrtc11.2 package) supports compute_90; an older NVRTC must say so
        // clearly: the runner then uses compute_80 PTX, which the driver JIT-compiles on Hopper.
        if (NvrtcCompiler.SupportedArchs().Contains(90))
        {
            CompileAll(90);
        }
        else
        {
            Assert.Fail($"NVRTC {NvrtcCompiler.Version()} cannot target compute_90; install NVRTC >= 11.8 to check Hopper builds");
        }
    }

    [NvrtcFact]
    public void Compiled_modules_define_every_kernel_the_runner_looks_up()
    {
        var entries = KernelSources.Files.SelectMany(f => NvrtcCompiler.Compile(f, 80).Entries).ToHashSet(StringComparer.Ordinal);
        foreach (var k in ExpectedKernels)
        {
            Assert.Contains(k, entries);
        }
    }

    [NvrtcFact]
    public void A_broken_source_reports_the_error_and_line_instead_of_throwing()
    {
        var bad = new KernelSource("broken.cu", "#include \"folio_cuda.h\"\nextern \"C\" __global__ void k(float* x) { x[0] = undefined_name; }\n");
        var r = NvrtcCompiler.Compile(bad, 80);
        Assert.False(r.Success);
        Assert.Contains("undefined_name", r.Log, StringComparison.Ordinal);
        Assert.Contains("NVRTC_ERROR_COMPILATION", r.Log, StringComparison.Ordinal);
    }

    [NvrtcFact]
    public void Ptx_is_cached_on_disk_by_source_options_and_nvrtc_version()
    {
        string dir = Path.Combine(Path.GetTempPath(), "folio-ptx-" + Guid.NewGuid().ToString("N"));
        try
        {
            var src = KernelSources.Files.First(f => f.FileName == "cache.cu");
            var first = NvrtcCompiler.Compile(src, 80, dir);
            var second = NvrtcCompiler.Compile(src, 80, dir);
            Assert.False(first.FromCache);
            Assert.True(second.FromCache);
            Assert.Equal(first.Ptx, second.Ptx);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    private static void CompileAll(int arch)
    {
        Assert.NotEmpty(KernelSources.Files);
        foreach (var source in KernelSources.Files)
        {
            var r = NvrtcCompiler.Compile(source, arch);
            Assert.True(r.Success, $"{source.FileName} for compute_{arch}: {r.Log}");
            Assert.True(r.Clean, $"{source.FileName} for compute_{arch} compiled with warnings: {r.Log}");
            Assert.NotEmpty(r.Entries);
            Assert.Contains($".target sm_{arch}", System.Text.Encoding.UTF8.GetString(r.Ptx), StringComparison.Ordinal);
        }
    }
}
