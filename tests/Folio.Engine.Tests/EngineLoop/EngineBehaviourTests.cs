using Folio.Engine.Scheduling;
using System.Text;
using Folio.Engine.Sampling;
using Folio.Engine;

using Folio.Testing;

namespace Folio.Engine.Tests.EngineLoop;

public sealed class EngineBehaviourTests
{
    private static readonly SamplingParams Greedy = new() { Temperature = 0, MaxTokens = 8, IgnoreEos = true };

    [Fact]
    public void Prompt_longer_than_the_model_context_finishes_with_prompt_too_long()
    {
        var r = EngineHarness.Run([EngineHarness.Request("long", [.. Enumerable.Repeat(5, 64)], Greedy), EngineHarness.Request("ok", [5, 6], Greedy)], maxPositions: 64);
        Assert.Equal(FinishReason.PromptTooLong, r[EngineHarness.Key("long")].Reason);
        Assert.Empty(r[EngineHarness.Key("long")].Tokens);
        Assert.Equal(FinishReason.Length, r[EngineHarness.Key("ok")].Reason);
    }

    [Fact]
    public void Prompt_larger_than_the_whole_cache_finishes_with_prompt_too_long_instead_of_waiting_forever()
    {
        // 4 blocks of 4 tokens = 16 tokens: a 16-token prompt plus one generated token cannot fit.
        var r = EngineHarness.Run([EngineHarness.Request("big", [.. Enumerable.Repeat(5, 16)], Greedy), EngineHarness.Request("fits", [.. Enumerable.Repeat(5, 15)], Greedy with { MaxTokens = 1 })], numBlocks: 4, blockSize: 4);
        Assert.Equal(FinishReason.PromptTooLong, r[EngineHarness.Key("big")].Reason);
        Assert.Equal(FinishReason.Length, r[EngineHarness.Key("fits")].Reason);
        Assert.Single(r[EngineHarness.Key("fits")].Tokens);
    }

    [Fact]
    public void Sequence_that_outgrows_the_whole_cache_ends_with_length()
    {
        var r = EngineHarness.Run([EngineHarness.Request("grow", [5, 6, 7], Greedy with { MaxTokens = 100 })], numBlocks: 4, blockSize: 4);
        Assert.Equal(FinishReason.Length, r[EngineHarness.Key("grow")].Reason);
        Assert.Equal(16 - 3 + 1, r[EngineHarness.Key("grow")].Tokens.Length);
    }

    [Fact]
    public void Max_tokens_ends_with_length_and_counts_usage()
    {
        var r = EngineHarness.Run([EngineHarness.Request("a", [5, 6, 7], Greedy with { MaxTokens = 5 })])[EngineHarness.Key("a")];
        Assert.Equal(FinishReason.Length, r.Reason);
        Assert.Equal(5, r.Tokens.Length);
        Assert.Equal(new RequestUsage(3, 5, 0), r.Usage);
    }

    [Fact]
    public void Abort_finishes_waiting_and_running_requests_with_abort()
    {
        using var runner = new FakeModelRunner(EngineHarness.Vocab, 64, 4);
        var sink = new CollectingOutputSink();
        using var engine = new LlmEngine(runner, new FakeTokenizer(EngineHarness.Vocab), new EngineConfig { MaxNumSeqs = 1 }, sink);
        engine.AddRequest(EngineHarness.Request("run", [5, 6], Greedy with { MaxTokens = 50 }));
        engine.AddRequest(EngineHarness.Request("wait", [5, 6], Greedy with { MaxTokens = 50 }));
        engine.Step();
        engine.Step();
        engine.Abort(EngineHarness.Key("run"));
        engine.Abort(EngineHarness.Key("wait"));
        engine.Abort(EngineHarness.Key("unknown"));
        engine.Step();
        Assert.False(engine.HasWork);
        var r = EngineHarness.Collect(sink.Snapshot());
        Assert.Equal(FinishReason.Abort, r[EngineHarness.Key("run")].Reason);
        Assert.Equal(2, r[EngineHarness.Key("run")].Tokens.Length);
        Assert.Equal(FinishReason.Abort, r[EngineHarness.Key("wait")].Reason);
        Assert.Empty(r[EngineHarness.Key("wait")].Tokens);
        engine.Kv.Pool.CheckConsistency(expectAllFree: true);
    }

    [Fact]
    public void Priority_policy_serves_lower_values_first()
    {
        using var runner = new FakeModelRunner(EngineHarness.Vocab, 64, 4);
        var sink = new CollectingOutputSink();
        using var engine = new LlmEngine(runner, new FakeTokenizer(EngineHarness.Vocab), new EngineConfig { MaxNumSeqs = 1, Policy = SchedulingPolicy.Priority }, sink);
        engine.AddRequest(EngineHarness.Request("p5", [5], Greedy with { MaxTokens = 2 }, priority: 5));
        engine.AddRequest(EngineHarness.Request("p1", [5], Greedy with { MaxTokens = 2 }, priority: 1));
        engine.AddRequest(EngineHarness.Request("p1-later", [5], Greedy with { MaxTokens = 2 }, priority: 1));
        engine.AddRequest(EngineHarness.Request("p-3", [5], Greedy with { MaxTokens = 2 }, priority: -3));
        engine.RunUntilIdle();
        var order = sink.Snapshot().Where(o => o.Finished).Select(o => o.Key).ToList();
        Assert.Equal([EngineHarness.Key("p-3"), EngineHarness.Key("p1"), EngineHarness.Key("p1-later"), EngineHarness.Key("p5")], order);
    }

    [Fact]
    public void Fcfs_serves_in_arrival_order_with_one_slot()
    {
        using var runner = new FakeModelRunner(EngineHarness.Vocab, 64, 4);
        var sink = new CollectingOutputSink();
        using var engine = new LlmEngine(runner, new FakeTokenizer(EngineHarness.Vocab), new EngineConfig { MaxNumSeqs = 1 }, sink);
        foreach (var id in new[] { "c", "a", "b" })
        {
            engine.AddRequest(EngineHarness.Request(id, [5], Greedy with { MaxTokens = 2 }, priority: id == "b" ? -1 : 0));
        }

        engine.RunUntilIdle();
        Assert.Equal([EngineHarness.Key("c"), EngineHarness.Key("a"), EngineHarness.Key("b")], sink.Snapshot().Where(o => o.Finished).Select(o => o.Key));
    }

    [Fact]
    public void Decodes_come_first_and_prefill_is_chunked_to_the_budget()
    {
        using var runner = new FakeModelRunner(EngineHarness.Vocab, 256, 4);
        var sink = new CollectingOutputSink();
        using var engine = new LlmEngine(runner, new FakeTokenizer(EngineHarness.Vocab), new EngineConfig { MaxNumBatchedTokens = 10 }, sink);
        engine.AddRequest(EngineHarness.Request("short", [5, 6], Greedy with { MaxTokens = 20 }));
        engine.Step();
        engine.AddRequest(EngineHarness.Request("long", [.. Enumerable.Range(2, 40)], Greedy));
        var plan = new List<int>();
        for (int i = 0; i < 5; i++)
        {
            engine.Step();
            plan.Add(runner.MaxTokensSeen);
        }

        // 1 decode + 9 prefill tokens per step until the 40-token prompt is in.
        Assert.All(plan, n => Assert.True(n <= 10));
        Assert.Equal(0, engine.Metrics.Waiting);
        var shortTokens = sink.Snapshot().Count(o => o.Key == EngineHarness.Key("short") && o.TokenId is not null);
        Assert.Equal(6, shortTokens);
    }

    [Fact]
    public void Add_request_rejects_token_ids_outside_the_vocabulary_and_duplicate_ids()
    {
        using var runner = new FakeModelRunner(EngineHarness.Vocab, 16, 4);
        using var engine = new LlmEngine(runner, new FakeTokenizer(EngineHarness.Vocab), new EngineConfig(), new CollectingOutputSink());
        var e = Assert.Throws<ArgumentException>(() => engine.AddRequest(EngineHarness.Request("x", [5, EngineHarness.Vocab], Greedy)));
        Assert.Contains("vocabulary", e.Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentException>(() => engine.AddRequest(EngineHarness.Request("x", [], Greedy)));
        engine.AddRequest(EngineHarness.Request("x", [5], Greedy));
        Assert.Throws<ArgumentException>(() => engine.AddRequest(EngineHarness.Request("x", [5], Greedy)));
    }

    [Fact]
    public void Stop_token_id_ends_with_its_id_as_stop_reason()
    {
        var free = EngineHarness.Run([EngineHarness.Request("a", [5, 6], Greedy with { MaxTokens = 10 })])[EngineHarness.Key("a")];
        int stopAt = free.Tokens[3];
        int firstIndex = Array.IndexOf(free.Tokens, stopAt);
        var r = EngineHarness.Run([EngineHarness.Request("a", [5, 6], Greedy with { MaxTokens = 10, StopTokenIds = [stopAt] })])[EngineHarness.Key("a")];
        Assert.Equal(FinishReason.Stop, r.Reason);
        Assert.Equal(stopAt.ToString(System.Globalization.CultureInfo.InvariantCulture), r.StopReason);
        Assert.Equal(free.Tokens[..(firstIndex + 1)], r.Tokens);
        var tok = new FakeTokenizer(EngineHarness.Vocab);
        Assert.Equal(tok.DecodeAll(free.Tokens[..firstIndex]), r.FinalText);
    }

    [Fact]
    public void Min_tokens_ignores_stop_token_ids_before_it()
    {
        var free = EngineHarness.Run([EngineHarness.Request("a", [5, 6], Greedy with { MaxTokens = 10 })])[EngineHarness.Key("a")];
        int stopAt = free.Tokens[0];
        var r = EngineHarness.Run([EngineHarness.Request("a", [5, 6], Greedy with { MaxTokens = 10, StopTokenIds = [stopAt], MinTokens = 3 })])[EngineHarness.Key("a")];
        Assert.True(r.Tokens.Length >= 3);
        Assert.DoesNotContain(stopAt, r.Tokens[..2]);
    }

    [Fact]
    public void Stop_string_ends_the_text_and_deltas_add_up_to_it()
    {
        var free = EngineHarness.Run([EngineHarness.Request("a", [5, 6], Greedy with { MaxTokens = 12 })])[EngineHarness.Key("a")];
        string stop = free.FinalText.Substring(7, 3);
        int at = free.FinalText.IndexOf(stop, StringComparison.Ordinal);
        var r = EngineHarness.Run([EngineHarness.Request("a", [5, 6], Greedy with { MaxTokens = 12, Stop = [stop] })])[EngineHarness.Key("a")];
        Assert.Equal(FinishReason.Stop, r.Reason);
        Assert.Equal(stop, r.StopReason);
        Assert.Equal(free.FinalText[..at], r.FinalText);
        Assert.Equal(r.FinalText, r.ConcatenatedDeltas);
        var incl = EngineHarness.Run([EngineHarness.Request("a", [5, 6], Greedy with { MaxTokens = 12, Stop = [stop], IncludeStopStrInOutput = true })])[EngineHarness.Key("a")];
        Assert.Equal(free.FinalText[..(at + stop.Length)], incl.FinalText);
        Assert.Equal(incl.FinalText, incl.ConcatenatedDeltas);
    }

    [Fact]
    public void Eos_ends_with_stop_unless_ignored()
    {
        // A runner whose EOS is the greedy choice after the prompt: find it by running once.
        var free = EngineHarness.Run([EngineHarness.Request("a", [5, 6], Greedy with { MaxTokens = 6 })])[EngineHarness.Key("a")];
        var tok = new EosAtTokenizer(free.Tokens[2]);
        var r = EngineHarness.Run([EngineHarness.Request("a", [5, 6], Greedy with { MaxTokens = 6, IgnoreEos = false })], tokenizer: tok)[EngineHarness.Key("a")];
        Assert.Equal(FinishReason.Stop, r.Reason);
        Assert.Null(r.StopReason);
        Assert.Equal(3, r.Tokens.Length);
        var ignored = EngineHarness.Run([EngineHarness.Request("a", [5, 6], Greedy with { MaxTokens = 6, IgnoreEos = true })], tokenizer: tok)[EngineHarness.Key("a")];
        Assert.Equal(FinishReason.Length, ignored.Reason);
    }

    [Fact]
    public async Task Engine_thread_delivers_outputs_through_the_channel()
    {
        using var runner = new FakeModelRunner(EngineHarness.Vocab, 64, 4);
        var sink = new ChannelOutputSink();
        using var engine = new LlmEngine(runner, new FakeTokenizer(EngineHarness.Vocab), new EngineConfig(), sink);
        engine.Start();
        engine.AddRequest(EngineHarness.Request("t", [5, 6], Greedy with { MaxTokens = 4 }));
        var got = new List<RequestOutput>();
        var sb = new StringBuilder();
        while (got.Count == 0 || !got[^1].Finished)
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            Assert.True(await sink.Reader.WaitToReadAsync(timeout.Token), "no output from the engine thread");
            while (sink.Reader.TryRead(out var step))
            {
                got.AddRange(step);
            }
        }

        Assert.Equal(4, got.Count(o => o.TokenId is not null));
        Assert.Equal(4, engine.Metrics.GeneratedTokens);
    }

    /// <summary>The fake tokenizer with a chosen EOS id.</summary>
    private sealed class EosAtTokenizer(int eos) : Folio.Text.Tokenization.ITokenizer
    {
        private readonly FakeTokenizer _inner = new(EngineHarness.Vocab);

        public int VocabSize => _inner.VocabSize;
        public int? BosTokenId => null;
        public IReadOnlyList<int> EosTokenIds => [eos];
        public bool AddBosToken => false;
        public int[] Encode(string text, bool addSpecialTokens) => _inner.Encode(text, addSpecialTokens);
        public ReadOnlySpan<byte> TokenBytes(int tokenId) => tokenId == eos ? [] : _inner.TokenBytes(tokenId);
        public string TokenText(int tokenId) => _inner.TokenText(tokenId);
        public bool IsSpecial(int tokenId) => tokenId == eos;
    }
}
