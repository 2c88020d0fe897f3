using Folio.Cli.Cuda;
using Folio.Cuda.Runner;
using Folio.Models.Loading;

namespace Folio.Cuda.Tests.Gpu;

/// <summary>The checks of `folio cuda check`, as tests: they run only where a device answers.</summary>
public sealed class DeviceTests
{
    [GpuFact]
    public void Every_kernel_on_the_device_matches_the_cpu_backend()
    {
        using var ctx = CudaContext.Create();
        using var checks = new DeviceKernelChecks(ctx);
        var failed = checks.RunAll().Where(r => !r.Passed).ToList();
        Assert.True(failed.Count == 0, string.Join("\n", failed.Select(f => $"{f.Name}: {f.Detail} (max err {f.MaxError})")));
    }

    [GpuFact]
    public void Whole_demo_model_on_cuda_matches_the_cpu_backend()
    {
        using var model = DemoModel.Load();
        var failed = ModelChecks.Run(model, new CudaRunnerOptions()).Where(r => !r.Passed).ToList();
        Assert.True(failed.Count == 0, string.Join("\n", failed.Select(f => $"{f.Name}: {f.Detail} (max err {f.MaxError})")));
    }

    [GpuFact]
    public void Qwen3_gemma_and_expert_models_on_cuda_match_the_cpu_backend()
    {
        var failed = ArchitectureChecks.Run(0).Where(r => !r.Passed).ToList();
        Assert.True(failed.Count == 0, string.Join("\n", failed.Select(f => $"{f.Name}: {f.Detail} (max err {f.MaxError})")));
    }

    [GpuFact]
    public void Kv_pool_is_sized_within_gpu_memory_utilization()
    {
        using var model = DemoModel.Load();
        long total;
        using (var ctx = CudaContext.Create())
        {
            total = ctx.TotalMemory;
        }

        using var runner = new CudaModelRunner(model, new CudaRunnerOptions { GpuMemoryUtilization = 0.3, GraphBatchSizes = [1] });
        var c = model.Config;
        long poolBytes = 2L * c.NumLayers * runner.NumBlocks * runner.BlockSize * c.KvDim * 2;
        Assert.True(runner.NumBlocks > 0);
        Assert.True(poolBytes <= total * 0.3, $"KV pool of {poolBytes >> 20} MiB exceeds 30% of {total >> 20} MiB");
    }
}
