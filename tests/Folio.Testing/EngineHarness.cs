using System.Text;
using Folio.Engine.Core;
using Folio.Engine.Execution;
using Folio.Engine.Sampling;
using Folio.Engine;
using Folio.Text.Tokenization;
using Microsoft.Extensions.Logging;

namespace Folio.Testing;

/// <summary>Everything a request produced, gathered from its stream of outputs.</summary>
public sealed record RunResult(
    RequestKey Key,
    int[] Tokens,
    int[] Indices,
    float[] Logprobs,
    TokenLogprob[][] TopLogprobs,
    string ConcatenatedDeltas,
    string FinalText,
    FinishReason Reason,
    string? StopReason,
    RequestUsage Usage,
    long Seed,
    int FinishedOutputs)
{
    /// <summary>Bitwise comparison of the token ids, logprobs and alternatives.</summary>
    public void AssertSameGeneration(RunResult other, int skip = 0)
    {
        Assert.Equal(Tokens.Skip(skip), other.Tokens);
        Assert.Equal(Logprobs.Skip(skip).Select(BitConverter.SingleToInt32Bits), other.Logprobs.Select(BitConverter.SingleToInt32Bits));
        Assert.Equal(
            TopLogprobs.Skip(skip).Select(a => string.Join(",", a.Select(t => $"{t.TokenId}:{BitConverter.SingleToInt32Bits(t.Logprob)}"))),
            other.TopLogprobs.Select(a => string.Join(",", a.Select(t => $"{t.TokenId}:{BitConverter.SingleToInt32Bits(t.Logprob)}"))));
    }
}

/// <summary>Builds engines over the fake runner and runs workloads to completion.</summary>
public static class EngineHarness
{
    public const int Vocab = 300;

    /// <summary>A stable key for a readable request name in a test.</summary>
    public static RequestKey Key(string name)
    {
        ulong h = 14695981039346656037UL;
        foreach (char c in name)
        {
            h = (h ^ c) * 1099511628211UL;
        }

        return new RequestKey((long)(h >> 1));
    }

    public static EngineRequest Request(string name, int[] prompt, SamplingParams p, int priority = 0, int[]? resume = null) =>
        Request(Key(name).Value, prompt, p, priority, resume);

    public static EngineRequest Request(long key, int[] prompt, SamplingParams p, int priority = 0, int[]? resume = null) =>
        new(new RequestKey(key), prompt, p) { Priority = priority, ResumeTokenIds = resume ?? [] };

    public static Dictionary<RequestKey, RunResult> Run(
        IEnumerable<EngineRequest> requests,
        EngineConfig? options = null,
        int numBlocks = 512,
        int blockSize = 16,
        Action<LlmEngine, FakeModelRunner>? afterStep = null,
        ITokenizer? tokenizer = null,
        int maxPositions = 4096,
        Func<int, int, IModelRunner>? runnerFactory = null,
        Action<LlmEngine>? configure = null,
        ILogger? log = null)
    {
        using var runner = runnerFactory?.Invoke(numBlocks, blockSize) ?? new FakeModelRunner(Vocab, numBlocks, blockSize, maxPositions);
        var sink = new CollectingOutputSink();
        using var engine = new LlmEngine(runner, tokenizer ?? new FakeTokenizer(Vocab), options ?? new EngineConfig(), sink, log);
        configure?.Invoke(engine);
        var list = requests.ToList();
        foreach (var r in list)
        {
            engine.AddRequest(r);
        }

        while (engine.HasWork)
        {
            engine.Step();
            engine.Kv.Pool.CheckConsistency(expectAllFree: false);
            afterStep?.Invoke(engine, runner as FakeModelRunner ?? FakeModelRunner.None);
        }

        engine.Kv.Pool.CheckConsistency(expectAllFree: true);
        return Collect(sink.Snapshot());
    }

    public static Dictionary<RequestKey, RunResult> Collect(IReadOnlyList<RequestOutput> outputs)
    {
        var result = new Dictionary<RequestKey, RunResult>();
        foreach (var g in outputs.GroupBy(o => o.Key))
        {
            var withToken = g.Where(o => o.TokenId is not null).ToList();
            var last = g.Last();
            Assert.True(last.Finished, $"{g.Key}: the last output is not a finished one");
            result[g.Key] = new RunResult(
                g.Key,
                [.. withToken.Select(o => o.TokenId!.Value)],
                [.. withToken.Select(o => o.Index)],
                [.. withToken.Select(o => o.Logprobs?.Logprob ?? float.NaN)],
                [.. withToken.Select(o => o.Logprobs?.Top ?? [])],
                string.Concat(g.Select(o => o.TextDelta)),
                last.Text ?? string.Empty,
                last.FinishReason!.Value,
                last.StopReason,
                last.Usage,
                last.Seed,
                g.Count(o => o.Finished));
        }

        return result;
    }

    /// <summary>A reproducible mixed workload: greedy and seeded sampling, prompts of many lengths, some sharing prefixes.</summary>
    public static List<EngineRequest> MixedWorkload(int count, int seed, int maxPrompt = 90, int maxTokens = 30)
    {
        var rng = new Random(seed);
        int[] shared = [.. Enumerable.Range(0, 40).Select(_ => rng.Next(2, Vocab))];
        var list = new List<EngineRequest>();
        for (int i = 0; i < count; i++)
        {
            int len = rng.Next(1, maxPrompt + 1);
            var prompt = Enumerable.Range(0, len).Select(_ => rng.Next(2, Vocab)).ToArray();
            if (i % 3 == 0)
            {
                prompt = [.. shared, .. prompt];
            }

            var p = (i % 4) switch
            {
                0 => new SamplingParams { Temperature = 0, MaxTokens = rng.Next(1, maxTokens + 1), Logprobs = 3 },
                1 => new SamplingParams { Temperature = 0.8, TopP = 0.9, TopK = 40, Seed = rng.Next(), MaxTokens = rng.Next(1, maxTokens + 1), Logprobs = 2 },
                2 => new SamplingParams { Temperature = 1.1, MinP = 0.05, RepetitionPenalty = 1.2, PresencePenalty = 0.5, FrequencyPenalty = 0.3, Seed = rng.Next(), MaxTokens = rng.Next(1, maxTokens + 1), Logprobs = 0, Stop = ["qq"] },
                _ => new SamplingParams { Temperature = 0.7, Seed = rng.Next(), MaxTokens = rng.Next(1, maxTokens + 1), IgnoreEos = true, MinTokens = 2, Logprobs = 1 },
            };
            list.Add(Request(i, prompt, p));
        }

        return list;
    }

    public static string Describe(RunResult r)
    {
        var sb = new StringBuilder();
        sb.Append(r.Key).Append(": ").AppendJoin(',', r.Tokens).Append(" / ").Append(r.Reason);
        return sb.ToString();
    }
}
