using System.Globalization;
using System.Text.Json;
using System.Threading.Channels;
using Folio.Contracts;
using Folio.Engine;
using Folio.Engine.Execution;
using Folio.Models;
using Folio.Text.Tokenization;

namespace Folio.Worker.Engine;

/// <summary>
/// The real engine (<see cref="LlmEngine"/> on its own thread) behind the worker's
/// <see cref="IInferenceEngine"/>. Engine request ids are the worker's tickets as decimal text, so a
/// request id handed back and taken again never collides with its earlier submission.
/// </summary>
internal sealed class LlmEngineAdapter : IInferenceEngine, IEngineOutputSink
{
    private readonly LoadedModel _model;
    private readonly IModelRunner _runner;
    private readonly LlmEngine _engine;
    private readonly ITokenizer _tokenizer;
    private readonly Channel<EngineStep> _steps = Channel.CreateUnbounded<EngineStep>(new UnboundedChannelOptions { SingleReader = true });

    public LlmEngineAdapter(LoadedModel model, IModelRunner runner, Folio.Engine.EngineOptions options)
    {
        _model = model;
        _runner = runner;
        _tokenizer = model.Tokenizer;
        _engine = new LlmEngine(runner, model.Tokenizer, options, this);
        int context = Math.Min(_engine.MaxModelLen, _engine.CapacityTokens);
        Info = new EngineInfo(model.Source, model.Config.VocabSize, context, options.MaxNumSeqs);
        _engine.Start();
    }

    public EngineInfo Info { get; }

    public ChannelReader<EngineStep> Steps => _steps.Reader;

    public EngineLoad Load
    {
        get
        {
            var m = _engine.Metrics;
            return new EngineLoad(m.Running, m.Waiting, m.KvUsage, m.Preemptions, m.PrefixQueryTokens, m.PrefixHitTokens, m.KvBlocksTotal - m.KvBlocksUsed, m.KvBlocksTotal);
        }
    }

    public int[] Tokenize(string prompt) => _tokenizer.Encode(prompt, addSpecialTokens: true);

    public void Submit(EngineRequest request)
    {
        var r = request.Request;
        try
        {
            // No seed given: derive one from the request id, so that a resumed request continues
            // exactly as its first attempt would have (and a resubmission repeats it).
            var sampling = r.ToSamplingParams() with { Seed = r.Seed ?? StableSeed(r.RequestId) };
            _engine.AddRequest(new Folio.Engine.EngineRequest(Id(request.Ticket), request.PromptTokenIds, sampling)
            {
                Priority = r.Priority,
                ResumeTokenIds = request.ResumeTokenIds,
            });
        }
        catch (ArgumentException e)
        {
            // Whatever the engine refuses is the request's fault (the parser let it through): answer it.
            var finish = new SequenceFinish(FinishReasons.Stop, string.Empty, request.PromptTokenIds.Length, 0, ErrorCodes.InvalidRequest, e.Message);
            _steps.Writer.TryWrite(new EngineStep([new SequenceOutput(request.Ticket, request.ResumeTokenIds.Length, [], finish)]));
        }
    }

    public void Abort(long ticket) => _engine.Abort(Id(ticket));

    /// <summary>Called on the engine thread once per step: convert and hand over, no I/O here.</summary>
    public void OnStep(IReadOnlyList<RequestOutput> outputs)
    {
        if (outputs.Count == 0)
        {
            return;
        }

        var converted = new SequenceOutput[outputs.Count];
        for (int i = 0; i < outputs.Count; i++)
        {
            var o = outputs[i];
            long ticket = long.Parse(o.RequestId, NumberStyles.None, CultureInfo.InvariantCulture);
            TokenOutput[] tokens = o.TokenId is { } id
                ? [new TokenOutput(id, o.TextDelta, o.Logprobs?.Logprob, o.Logprobs is { Top.Length: > 0 } lp ? TopJson(lp) : null)]
                : [];
            converted[i] = new SequenceOutput(ticket, o.Index, tokens, o.FinishReason is { } f ? Finish(o, f) : null);
        }

        _steps.Writer.TryWrite(new EngineStep(converted));
    }

    private static SequenceFinish Finish(RequestOutput o, FinishReason f) => f switch
    {
        FinishReason.PromptTooLong => new SequenceFinish(FinishReasons.Stop, string.Empty, o.Usage.PromptTokens, o.Usage.CachedTokens, ErrorCodes.PromptTooLong, o.ErrorMessage ?? "the prompt does not fit in this worker's context or KV cache"),
        FinishReason.Error => new SequenceFinish(FinishReasons.Stop, string.Empty, o.Usage.PromptTokens, o.Usage.CachedTokens, ErrorCodes.Internal, o.ErrorMessage ?? "the engine failed on this request"),
        _ => new SequenceFinish(f.ToContractString(), o.StopReason ?? string.Empty, o.Usage.PromptTokens, o.Usage.CachedTokens),
    };

    /// <summary>top_logprobs as the contract wants it: a JSON object of token text to logprob.</summary>
    private string TopJson(Folio.Engine.Sampling.SampledLogprobs lp)
    {
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            var seen = new HashSet<string>(StringComparer.Ordinal);
            foreach (var t in lp.Top)
            {
                string text = _tokenizer.TokenText(t.TokenId);
                if (seen.Add(text))
                {
                    w.WriteNumber(text, t.Logprob);
                }
            }

            w.WriteEndObject();
        }

        return System.Text.Encoding.UTF8.GetString(buffer.ToArray());
    }

    /// <summary>FNV-1a over the request id's characters: stable across processes and runs (string.GetHashCode is not).</summary>
    internal static long StableSeed(string requestId)
    {
        ulong h = 14695981039346656037UL;
        foreach (char c in requestId)
        {
            h = (h ^ c) * 1099511628211UL;
        }

        return (long)h;
    }

    private static string Id(long ticket) => ticket.ToString(CultureInfo.InvariantCulture);

    public ValueTask DisposeAsync()
    {
        _engine.Dispose();
        _steps.Writer.TryComplete();
        _runner.Dispose();
        _model.Dispose();
        return ValueTask.CompletedTask;
    }
}
