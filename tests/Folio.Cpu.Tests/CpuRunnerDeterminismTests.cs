using Folio.Engine.Core;
using Folio.Cpu;
using Folio.Engine.Execution;
using Folio.Engine;
using Folio.Testing;

namespace Folio.Cpu.Tests;

/// <summary>
/// The determinism guarantees of issue 3 on the real CPU runner (a small GQA Llama with random
/// weights, 2 threads): tokens and logprobs bitwise identical alone and in a batch of 16+, with
/// prefill chunked at several sizes, after preemption and recompute, with prefix-cache hits, and
/// after a restart from prompt + first k tokens.
/// </summary>
public sealed class CpuRunnerDeterminismTests : IDisposable
{
    private readonly TestModel _model = TestModel.Create(TestModel.Shape(hidden: 64, layers: 2, heads: 4, kvHeads: 2, headDim: 16, ffn: 96, vocab: EngineHarness.Vocab), seed: 11);
    private readonly List<EngineRequest> _workload = EngineHarness.MixedWorkload(18, seed: 21, maxPrompt: 70, maxTokens: 14);

    public void Dispose() => _model.Dispose();

    private IModelRunner Runner(int blocks, int blockSize) =>
        new CpuModelRunner(_model.Model, new CpuRunnerOptions { NumBlocks = blocks, BlockSize = blockSize, Threads = 2 });

    private Dictionary<RequestKey, RunResult> Run(IEnumerable<EngineRequest> requests, EngineConfig? options = null, int blocks = 256, int blockSize = 16, Action<LlmEngine, FakeModelRunner>? afterStep = null) =>
        EngineHarness.Run(requests, options, blocks, blockSize, afterStep, runnerFactory: Runner);

    [Fact]
    public void Batch_of_18_mixed_requests_matches_each_request_alone_bitwise()
    {
        var batch = Run(_workload, new EngineConfig { MaxNumSeqs = 32 });
        foreach (var r in _workload.Take(8))
        {
            var alone = Run([r])[r.Key];
            alone.AssertSameGeneration(batch[r.Key]);
        }
    }

    [Theory]
    [InlineData(5)]
    [InlineData(16)]
    [InlineData(61)]
    public void Chunked_prefill_matches_unchunked_bitwise(int budget)
    {
        var reference = Run(_workload);
        var chunked = Run(_workload, new EngineConfig { MaxNumBatchedTokens = budget, MaxNumSeqs = 6 });
        foreach (var (id, r) in reference)
        {
            r.AssertSameGeneration(chunked[id]);
        }
    }

    [Fact]
    public void Preemption_and_recompute_match_bitwise()
    {
        var reference = Run(_workload);
        long preemptions = 0;
        var tight = Run(_workload, new EngineConfig { MaxNumSeqs = 16, MaxNumBatchedTokens = 48 }, blocks: 30, blockSize: 4, afterStep: (e, _) => preemptions = e.Metrics.Preemptions);
        Assert.True(preemptions > 0, "the tiny pool was meant to force preemption");
        foreach (var (id, r) in reference)
        {
            r.AssertSameGeneration(tight[id]);
        }
    }

    [Fact]
    public void Prefix_cache_hits_match_bitwise()
    {
        var doubled = _workload.Concat(_workload.Select(r => r with { Key = new RequestKey(r.Key.Value + 1_000_000) })).ToList();
        long hits = 0;
        var cached = Run(doubled, new EngineConfig { MaxNumSeqs = 4 }, afterStep: (e, _) => hits = e.Metrics.PrefixHitTokens);
        var uncached = Run(doubled, new EngineConfig { MaxNumSeqs = 4, EnablePrefixCaching = false });
        Assert.True(hits > 0);
        foreach (var (id, r) in uncached)
        {
            r.AssertSameGeneration(cached[id]);
        }
    }

    [Fact]
    public void Restart_from_prompt_plus_first_k_tokens_matches_bitwise()
    {
        const int k = 4;
        var full = Run(_workload);
        var resumable = _workload.Where(r => full[r.Key].Tokens.Length > k).ToList();
        Assert.NotEmpty(resumable);
        var resumed = Run(resumable.Select(r => r with { ResumeTokenIds = full[r.Key].Tokens[..k], Params = r.Params with { Seed = full[r.Key].Seed } }));
        foreach (var r in resumable)
        {
            full[r.Key].AssertSameGeneration(resumed[r.Key], skip: k);
        }
    }
}
