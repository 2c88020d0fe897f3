using System.Diagnostics;
using Folio.Contracts;
using Folio.Engine;
using Folio.Engine.Core;
using Folio.Worker.Output;
using Folio.Worker.Telemetry;
using RabbitMQ.Client;

namespace Folio.Worker.Runtime;

/// <summary>
/// A delivery to acknowledge later. The epoch is the consume channel's incarnation: after a
/// connection loss the broker has already requeued the message, and a delivery tag from an older
/// epoch must never be acked on the recovered channel (the broker would close it).
/// </summary>
internal sealed record DeliveryHandle(IChannel Channel, ulong Tag, long Epoch);

/// <summary>How a request ended, in the contract's terms (an error code means an error entry).</summary>
internal sealed record RequestFinish(string FinishReason, string StopReason, int CachedTokens, string? ErrorCode = null, string? ErrorMessage = null)
{
    public static RequestFinish From(RequestOutput o) => o.FinishReason switch
    {
        Folio.Engine.FinishReason.PromptTooLong => new(FinishReasons.Stop, string.Empty, o.Usage.CachedTokens, ErrorCodes.PromptTooLong, o.ErrorMessage ?? "the prompt does not fit in this worker's context or KV cache"),
        Folio.Engine.FinishReason.Error => new(FinishReasons.Stop, string.Empty, o.Usage.CachedTokens, ErrorCodes.Internal, o.ErrorMessage ?? "the engine failed on this request"),
        { } f => new(f.ToContractString(), o.StopReason ?? string.Empty, o.Usage.CachedTokens),
        null => throw new ArgumentException("the output does not finish its request", nameof(o)),
    };
}

/// <summary>
/// A request this worker holds: its delivery (acknowledged only after the terminal entry), its
/// ownership token in Redis, and every token it knows (resumed ones included), so that a stream
/// Redis lost or cut short can be rewritten from memory. Mutated by the output pump only, except
/// for the cancel flag and the start-up fields intake sets before the engine has the request.
/// </summary>
internal sealed class InFlightRequest
{
    private readonly List<StreamToken> _tokens = [];
    private SemaphoreSlim? _probationGate;
    private int _probationTokens;
    private bool _terminalWritten;

    public InFlightRequest(RequestKey key, GenerationRequest request, StreamKeys keys, string owner, DeliveryHandle delivery, int attempt, int promptTokens)
    {
        Key = key;
        Request = request;
        Keys = keys;
        Owner = owner;
        Delivery = delivery;
        Attempt = attempt;
        PromptTokens = promptTokens;
        ReceivedAt = Stopwatch.GetTimestamp();
    }

    public RequestKey Key { get; }

    /// <summary>This delivery's spans; null with tracing off.</summary>
    public RequestTrace? Trace { get; init; }

    /// <summary>What the prefill and decode spans need, read when the request leaves this worker.</summary>
    public GenerationTimes Times => new(Started, FirstTokenAt, LastTokenAt, PromptTokens, WrittenNext);

    public GenerationRequest Request { get; }

    public string RequestId => Request.RequestId;

    public StreamKeys Keys { get; }

    /// <summary>This delivery's ownership token in the state hash (a re-attached delivery gets a new one).</summary>
    public string Owner { get; private set; }

    public DeliveryHandle Delivery { get; private set; }

    public int Attempt { get; private set; }

    public int PromptTokens { get; }

    public long ReceivedAt { get; }

    /// <summary>The next token index already in Redis.</summary>
    public int WrittenNext { get; private set; }

    /// <summary>Set by intake once the take script has run and the engine has the request.</summary>
    public volatile bool Started;

    public volatile bool CancelRequested;

    /// <summary>When the delivery was lost with the consume channel (Stopwatch ticks); 0 while it is held.</summary>
    public long DeliveryLostAt { get; private set; }

    public bool DeliveryLost => DeliveryLostAt != 0;

    /// <summary>Whether this request held the suspect slot and passed its probation (the pump records it in Redis once).</summary>
    public bool ProvedOnProbation { get; private set; }

    public long FirstTokenAt { get; private set; }

    public long LastTokenAt { get; private set; }

    public int TokensThisAttempt { get; private set; }

    public RequestFinish? Finish { get; private set; }

    public bool HasPending => WrittenNext < _tokens.Count || (Finish is not null && !_terminalWritten);

    /// <summary>This request holds the worker's suspect slot until it has produced this many tokens or ended.</summary>
    public void HoldProbation(SemaphoreSlim gate, int tokens)
    {
        _probationGate = gate;
        _probationTokens = tokens;
    }

    /// <summary>Releases the suspect slot (once).</summary>
    public void EndProbation() => Interlocked.Exchange(ref _probationGate, null)?.Release();

    /// <summary>The tokens a resumed request already has in its stream.</summary>
    public void InitResume(StreamToken[] resumed)
    {
        _tokens.Clear();
        _tokens.AddRange(resumed);
        WrittenNext = resumed.Length;
    }

    /// <summary>Adds one engine output. Tokens arrive in index order; an index already held is dropped.</summary>
    /// <param name="topLogprobsJson">The output's top_logprobs as the stream writes them, or null.</param>
    public void Merge(in RequestOutput output, string? topLogprobsJson, long now)
    {
        if (output.TokenId is { } id)
        {
            int index = output.Index;
            if (index > _tokens.Count)
            {
                throw new InvalidOperationException($"engine skipped token index {_tokens.Count} of request {RequestId} (got {index})");
            }

            if (index == _tokens.Count)
            {
                _tokens.Add(new StreamToken(id, output.TextDelta, output.Logprobs?.Logprob, topLogprobsJson));
                TokensThisAttempt++;
                if (TokensThisAttempt >= _probationTokens && Interlocked.Exchange(ref _probationGate, null) is { } gate)
                {
                    gate.Release();
                    ProvedOnProbation = true;
                }

                if (FirstTokenAt == 0)
                {
                    FirstTokenAt = now;
                }

                LastTokenAt = now;
            }
        }

        if (output.Finished)
        {
            Finish ??= RequestFinish.From(output);
        }
    }

    /// <summary>A finish decided by the worker itself (cancelled before start, nothing left to generate).</summary>
    public void FinishWithoutEngine(RequestFinish finish) => Finish ??= finish;

    /// <summary>The proof of probation has been recorded (or cannot be): don't record it again.</summary>
    public void ProofRecorded() => ProvedOnProbation = false;

    /// <summary>The append for the next flush: every token not yet in Redis, and the terminal entry once the request has finished.</summary>
    public AppendCommand BuildAppend(int ttlSeconds, bool includeTerminal)
    {
        IReadOnlyList<KeyValuePair<string, string>>? terminal = null;
        if (includeTerminal && Finish is { } f)
        {
            terminal = f.ErrorCode is not null ? StreamEntries.Error(f.ErrorCode, f.ErrorMessage ?? f.ErrorCode) : StreamEntries.Done(f, PromptTokens, _tokens, ReceivedAt, FirstTokenAt);
        }

        return AppendCommand.Build(Keys, Owner, ttlSeconds, _tokens, WrittenNext, WrittenNext, terminal);
    }

    /// <summary>Records a successful write: Redis now holds indices below <paramref name="next"/>.</summary>
    public void Committed(in AppendCommand written, int next)
    {
        WrittenNext = Math.Min(next, _tokens.Count);
        if (written.HasTerminal)
        {
            _terminalWritten = true;
        }
    }

    /// <summary>
    /// Redis holds fewer tokens than this worker wrote (it lost data, or a replica without the last
    /// writes was promoted): write again from <paramref name="next"/>, which this worker still holds.
    /// </summary>
    public void Rewind(int next) => WrittenNext = Math.Clamp(next, 0, _tokens.Count);

    /// <summary>The consume channel that carried this delivery is gone; the engine keeps running it for a while.</summary>
    public void LoseDelivery(long now) => DeliveryLostAt = now;

    /// <summary>The broker redelivered this request to this worker: continue with the new delivery and owner.</summary>
    public void Reattach(DeliveryHandle delivery, string owner, int attempt)
    {
        Delivery = delivery;
        Owner = owner;
        Attempt = attempt;
        DeliveryLostAt = 0;
    }
}
