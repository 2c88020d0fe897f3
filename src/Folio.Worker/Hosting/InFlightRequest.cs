using System.Diagnostics;
using System.Globalization;
using System.Text;
using Folio.Contracts;
using Folio.Worker.Engine;
using Folio.Worker.Output;

namespace Folio.Worker.Hosting;

/// <summary>
/// A request this worker holds: its delivery (acknowledged only after the terminal entry), its
/// ownership token in Redis, and the output not yet written. Mutated by the output pump only,
/// except for the cancel flag.
/// </summary>
internal sealed class InFlightRequest
{
    private readonly List<TokenOutput> _pending = [];
    private readonly StringBuilder _writtenText = new();
    private int _pendingFirst;

    public InFlightRequest(long ticket, GenerationRequest request, StreamKeys keys, string owner, DeliveryHandle delivery, int attempt, int promptTokens)
    {
        Ticket = ticket;
        Request = request;
        Keys = keys;
        Owner = owner;
        Delivery = delivery;
        Attempt = attempt;
        PromptTokens = promptTokens;
        ReceivedAt = Stopwatch.GetTimestamp();
    }

    public long Ticket { get; }

    public GenerationRequest Request { get; }

    public string RequestId => Request.RequestId;

    public StreamKeys Keys { get; }

    public string Owner { get; }

    public DeliveryHandle Delivery { get; }

    public int Attempt { get; }

    public int PromptTokens { get; }

    public long ReceivedAt { get; }

    /// <summary>The next token index already in Redis.</summary>
    public int WrittenNext { get; private set; }

    /// <summary>Set by intake once the take script has run and the engine has the request.</summary>
    public bool Started { get; set; }

    public volatile bool CancelRequested;

    public long FirstTokenAt { get; private set; }

    public long LastTokenAt { get; private set; }

    public int TokensThisAttempt { get; private set; }

    public SequenceFinish? Finish { get; private set; }

    public bool HasPending => _pending.Count > 0 || Finish is not null;

    private SemaphoreSlim? _probationGate;
    private int _probationTokens;

    /// <summary>This request holds the worker's suspect slot until it has produced this many tokens or ended.</summary>
    public void HoldProbation(SemaphoreSlim gate, int tokens)
    {
        _probationGate = gate;
        _probationTokens = tokens;
    }

    /// <summary>Releases the suspect slot (once).</summary>
    public void EndProbation() => Interlocked.Exchange(ref _probationGate, null)?.Release();

    public void InitResume(int nextIndex, string priorText)
    {
        WrittenNext = nextIndex;
        _pendingFirst = nextIndex;
        _writtenText.Append(priorText);
    }

    /// <summary>Adds one step's output. Tokens arrive in index order; an overlap (never expected) is dropped.</summary>
    public void Merge(SequenceOutput output, long now)
    {
        int expected = _pendingFirst + _pending.Count;
        for (int i = 0; i < output.Tokens.Count; i++)
        {
            int index = output.FirstIndex + i;
            if (index < expected)
            {
                continue;
            }

            if (index > expected)
            {
                throw new InvalidOperationException($"engine skipped token index {expected} of request {RequestId} (got {index})");
            }

            _pending.Add(output.Tokens[i]);
            expected++;
            TokensThisAttempt++;
            if (TokensThisAttempt >= _probationTokens)
            {
                EndProbation();
            }

            if (FirstTokenAt == 0)
            {
                FirstTokenAt = now;
            }

            LastTokenAt = now;
        }

        if (output.Finish is not null)
        {
            Finish ??= output.Finish;
        }
    }

    /// <summary>A finish decided by the worker itself (cancelled before start, nothing left to generate).</summary>
    public void FinishWithoutEngine(SequenceFinish finish) => Finish ??= finish;

    /// <summary>The append for the next flush; the terminal entry too once the request has finished.</summary>
    public AppendCommand BuildAppend(bool includeTerminal)
    {
        var tokens = _pending.ToArray();
        IReadOnlyList<KeyValuePair<string, string>>? terminal = null;
        if (includeTerminal && Finish is { } f)
        {
            terminal = f.ErrorCode is not null ? ErrorEntry(f) : DoneEntry(f, tokens);
        }

        return new AppendCommand(Keys, Owner, _pendingFirst, tokens, terminal);
    }

    /// <summary>Records a successful write up to <paramref name="next"/>.</summary>
    public void Committed(AppendCommand written, long next)
    {
        foreach (var t in written.Tokens)
        {
            _writtenText.Append(t.Text);
        }

        _pending.RemoveRange(0, Math.Min(written.Tokens.Count, _pending.Count));
        WrittenNext = (int)next;
        _pendingFirst = WrittenNext;
    }

    private static KeyValuePair<string, string>[] ErrorEntry(SequenceFinish f) =>
    [
        new(StreamFields.Type, EntryTypes.Error),
        new(StreamFields.Code, f.ErrorCode!),
        new(StreamFields.Message, f.ErrorMessage ?? f.ErrorCode!),
    ];

    private KeyValuePair<string, string>[] DoneEntry(SequenceFinish f, TokenOutput[] pending)
    {
        var text = new StringBuilder(_writtenText.Length + (pending.Length * 4));
        text.Append(_writtenText);
        foreach (var t in pending)
        {
            text.Append(t.Text);
        }

        long end = Stopwatch.GetTimestamp();
        double ttft = FirstTokenAt == 0 ? 0 : Stopwatch.GetElapsedTime(ReceivedAt, FirstTokenAt).TotalMilliseconds;
        double total = Stopwatch.GetElapsedTime(ReceivedAt, end).TotalMilliseconds;
        return
        [
            new(StreamFields.Type, EntryTypes.Done),
            new(StreamFields.FinishReason, f.FinishReason),
            new(StreamFields.StopReason, f.StopReason),
            new(StreamFields.PromptTokens, Num(PromptTokens)),
            new(StreamFields.CompletionTokens, Num(_pendingFirst + pending.Length)),
            new(StreamFields.CachedTokens, Num(f.CachedTokens)),
            new(StreamFields.Text, text.ToString()),
            new(StreamFields.TtftMs, ttft.ToString("0.###", CultureInfo.InvariantCulture)),
            new(StreamFields.TotalMs, total.ToString("0.###", CultureInfo.InvariantCulture)),
        ];
    }

    private static string Num(int v) => v.ToString(CultureInfo.InvariantCulture);
}
