using System.Reflection;
using Folio.Cpu;
using Folio.Cuda.Runner;
using Folio.Cuda.Tests.Reference;
using Folio.Engine.Execution;
using Folio.Models;
using Folio.Models.Loading;
using Folio.ModelTools;
using Xunit.Abstractions;

namespace Folio.Cuda.Tests.Emulation;

/// <summary>
/// Top-2 of 8 experts on the emulated CUDA runner against the CPU runner, with the routing shown
/// to lie beyond what bf16 can change rather than assumed to. CUDA feeds the router bf16 inputs built
/// over a bf16 KV cache, the CPU f32 ones, so a token whose k-th and (k+1)-th router logits are
/// closer than that difference may pick another expert on each backend (a difference of precision,
/// not of kernels, which RunnerOnEmulationTests sidesteps by routing to every expert).
///
/// Here the prompt is chosen, on the CPU alone, so that every routing of the run (prefill and the
/// greedy decode steps) has a margin between the CPU's k-th and (k+1)-th router logit of at least
/// <see cref="MarginBound"/>; then the CUDA run must show router logits whose deviation from the
/// CPU's, taken as the spread of (cuda - cpu) over a token's experts (what can reorder two of them),
/// stays below that bound, so no routing could differ; the chosen experts are then compared
/// exactly, and the logits at the usual tolerance. Both bounds are asserted, so the test cannot pass
/// on a routing that merely happened to agree.
///
/// The CPU's router logits are read from its scratch (CpuModelRunner._router, the experts'
/// exponentials after routing) by reflection: the model's only sparse layer is layer 0
/// (mlp_only_layers = [1]), so after a forward pass that scratch holds every token's routing of it.
/// The CUDA side's come from the emulated device after folio_moe_route (the same exponentials).
/// </summary>
public sealed class MoeRoutingAgreementTests(ITestOutputHelper output) : IDisposable
{
    /// <summary>
    /// In router-logit units (a token's router logits span up to 4.6 here). With it, the 4th prompt of
    /// the generator qualifies: smallest CPU margin 0.068, largest CUDA-CPU spread 0.018, so the spread
    /// has room to grow 2.7 times before the test fails instead of passing by luck.
    /// </summary>
    private const double MarginBound = 0.05;

    private const int Experts = 8, TopK = 2, DecodeSteps = 6, BlockSize = 16;

    private readonly string _dir = Path.Combine(Path.GetTempPath(), "folio-cuda-moe-route-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(_dir))
        {
            Directory.Delete(_dir, recursive: true);
        }
    }

    [Fact]
    public void Top2_of_8_routing_matches_the_cpu_runner_with_every_margin_above_the_bf16_error()
    {
        Directory.CreateDirectory(_dir);
        string path = Path.Combine(_dir, "hf");
        TestModelWriter.Write(path, TestModelFormat.HuggingFace, new TestModelOptions
        {
            Arch = TestArchitecture.Qwen3Moe, Dim = 64, Layers = 2, Heads = 4, KvHeads = 2, Ffn = 96, Vocab = 300, DType = DType.BF16,
            Experts = Experts, ExpertsPerToken = TopK, NormTopK = true, DenseLayers = [1], Seed = 11,
        });
        using var model = ModelLoader.Load(path);
        var c = model.Config;
        Assert.True(c.IsSparseLayer(0) && !c.IsSparseLayer(1));
        int[] table = [0, 1, 2];
        using var cpu = new CpuModelRunner(model, new CpuRunnerOptions { NumBlocks = 4, BlockSize = BlockSize, Threads = 1 });

        // Prompts from a seeded generator until one routes every token with a CPU margin of at least the bound.
        var rng = new Random(1);
        int[]? prompt = null;
        int tried = 0;
        while (prompt is null && tried++ < 200)
        {
            var candidate = Enumerable.Range(0, 12).Select(_ => rng.Next(c.VocabSize)).ToArray();
            var run = Run(cpu, null, candidate, table);
            if (run.Min(r => r.CpuMargin) >= MarginBound)
            {
                prompt = candidate;
            }
        }

        Assert.True(prompt is not null, $"no prompt in {tried - 1} routes every token with a CPU margin >= {MarginBound}");
        var api = new EmuDeviceApi();
        using var gpu = new CudaModelRunner(model, new CudaRunnerOptions { NumBlocksOverride = 4, MaxNumBatchedTokens = 32, MaxNumSeqs = 2, MaxModelLen = 48, GraphBatchSizes = [] }, api);
        var routings = Run(cpu, (gpu, api), prompt!, table);

        double minMargin = routings.Min(r => r.CpuMargin), maxSpread = routings.Max(r => r.Spread);
        double range = routings.Max(r => r.LogitRange);
        output.WriteLine($"prompt {tried} of the generator; {routings.Count} routings; smallest CPU margin {minMargin:G4}, largest CUDA-CPU spread {maxSpread:G4}, widest router logit range {range:G4}");
        Assert.True(minMargin >= MarginBound, $"smallest CPU router margin {minMargin} is below the bound {MarginBound}");
        Assert.True(maxSpread < MarginBound, $"CUDA's router logits moved {maxSpread} against the CPU's: more than the bound {MarginBound} the margins were chosen by");
        Assert.All(routings, r => Assert.Equal(r.CpuExperts, r.CudaExperts));
        Assert.Equal(12 + DecodeSteps, routings.Count);
    }

    private sealed record Routing(int[] CpuExperts, int[] CudaExperts, double CpuMargin, double Spread, double LogitRange);

    /// <summary>
    /// A 12-token prefill and greedy decode steps (the CPU's tokens); with a CUDA runner beside the CPU,
    /// each step's logits are compared and each token's routing recorded on both sides.
    /// </summary>
    private static List<Routing> Run(CpuModelRunner cpu, (CudaModelRunner Runner, EmuDeviceApi Api)? gpu, int[] prompt, int[] table)
    {
        var c = cpu.Config;
        var routings = new List<Routing>();
        var cudaRouter = new List<double[]>();
        if (gpu is { } g)
        {
            g.Api.AfterLaunch = (name, slots) =>
            {
                if (name == "folio_moe_route")
                {
                    cudaRouter.AddRange(ReadRoute(slots));
                }
            };
        }

        var batch = new ForwardBatch(32, 2, table.Length);
        var cpuLogits = new float[c.VocabSize];
        var gpuLogits = new float[c.VocabSize];
        int[] tokens = prompt;
        int position = 0;
        for (int step = 0; step <= DecodeSteps; step++)
        {
            batch.Clear();
            batch.AddSequence(tokens, position, table, BlockSize, wantLogits: true);
            cpu.Forward(batch, cpuLogits);
            var cpuRouter = CpuRouter(cpu, tokens.Length);
            cudaRouter.Clear();
            if (gpu is { } h)
            {
                h.Runner.Forward(batch, gpuLogits);
                Assert.Equal(tokens.Length, cudaRouter.Count);
                AssertLogitsClose(cpuLogits, gpuLogits, step);
            }

            for (int t = 0; t < tokens.Length; t++)
            {
                var cpuLog = cpuRouter[t];
                var cpuTop = Best(cpuLog);
                double margin = cpuTop.Min(e => cpuLog[e]) - cpuLog.Where((_, e) => !cpuTop.Contains(e)).Max();
                if (gpu is null)
                {
                    routings.Add(new Routing(cpuTop, cpuTop, margin, 0, -cpuLog.Min()));
                    continue;
                }

                var d = cudaRouter[t].Zip(cpuLog, (a, b) => a - b).ToArray();
                routings.Add(new Routing(cpuTop, Best(cudaRouter[t]), margin, d.Max() - d.Min(), -cpuLog.Min()));
            }

            position += tokens.Length;
            tokens = [SamplingReference.Argmax(cpuLogits)];
        }

        return routings;
    }

    /// <summary>The CPU's router scratch after a forward pass: per token, ln of the experts' exponentials (the router logits less their maximum).</summary>
    private static unsafe double[][] CpuRouter(CpuModelRunner cpu, int tokens)
    {
        var field = typeof(CpuModelRunner).GetField("_router", BindingFlags.NonPublic | BindingFlags.Instance)
            ?? throw new InvalidOperationException("CpuModelRunner._router is gone: this test reads the CPU's router scratch there");
        var buffer = field.GetValue(cpu)!;
        var pointer = (float*)Pointer.Unbox(buffer.GetType().GetProperty("Pointer")!.GetValue(buffer)!);
        return [.. Enumerable.Range(0, tokens).Select(t => Enumerable.Range(0, Experts).Select(e => Math.Log(pointer[(t * Experts) + e])).ToArray())];
    }

    /// <summary>folio_moe_route's logits after the launch (slot 2, rows slot 5 apart): ln of the exponentials it left there.</summary>
    private static unsafe double[][] ReadRoute(nint[] slots)
    {
        float* logits = *(float**)slots[2];
        int tokens = *(int*)slots[3], experts = *(int*)slots[4], stride = *(int*)slots[5];
        return [.. Enumerable.Range(0, tokens).Select(t => Enumerable.Range(0, experts).Select(e => Math.Log(logits[(t * stride) + e])).ToArray())];
    }

    /// <summary>The k best experts, ties to the lower id (the order does not matter here, the set does).</summary>
    private static int[] Best(double[] logits) => [.. Enumerable.Range(0, logits.Length).OrderByDescending(e => logits[e]).ThenBy(e => e).Take(TopK).Order()];

    private static void AssertLogitsClose(float[] expected, float[] actual, int step)
    {
        float lo = expected.Min(), hi = expected.Max(), worst = 0;
        for (int i = 0; i < expected.Length; i++)
        {
            worst = Math.Max(worst, Math.Abs(expected[i] - actual[i]));
        }

        Assert.True(worst <= 0.03f * (hi - lo), $"step {step}: max logit difference {worst} over a range of {hi - lo}");
    }
}
