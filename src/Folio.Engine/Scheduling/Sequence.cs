using Folio.Engine.Constraints;
using Folio.Engine.Core;
using Folio.Text.Detokenization;
using Folio.Engine.Kv;
using Folio.Engine.Sampling;

namespace Folio.Engine.Scheduling;

public enum SequenceStatus
{
    Waiting,
    Running,
    Finished,
}

/// <summary>
/// The engine's state for one request: its tokens (prompt then generated), how many of them have
/// K/V in the cache, its blocks, and its detokenizer. A preempted sequence keeps its tokens and
/// detokenizer and only loses its cache (<see cref="NumComputed"/> back to 0): it is recomputed.
/// </summary>
public sealed class Sequence
{
    private readonly int[] _tokens;

    internal Sequence(SeqId id, RequestKey key, ReadOnlySpan<int> prompt, int maxTotalTokens, int maxBlocks, SamplingParams p, long seed, int priority, long arrivalOrder, long arrivalTimestamp, IncrementalDetokenizer detokenizer)
    {
        Id = id;
        Key = key;
        Params = p;
        Seed = seed;
        Priority = priority;
        ArrivalOrder = arrivalOrder;
        ArrivalTimestamp = arrivalTimestamp;
        Detokenizer = detokenizer;
        MaxTotalTokens = maxTotalTokens;
        _tokens = new int[Math.Max(maxTotalTokens, prompt.Length)];
        prompt.CopyTo(_tokens);
        NumPromptTokens = prompt.Length;
        NumTokens = prompt.Length;
        Table = new KvBlockTable(maxBlocks);
    }

    public SeqId Id { get; }
    /// <summary>The caller's key for the request.</summary>
    public RequestKey Key { get; }
    public SamplingParams Params { get; }
    public long Seed { get; }
    public int Priority { get; }
    public long ArrivalOrder { get; }
    public long ArrivalTimestamp { get; }
    internal IncrementalDetokenizer Detokenizer { get; }
    public KvBlockTable Table { get; }

    /// <summary>Prompt plus max_tokens, capped at the model's context.</summary>
    public int MaxTotalTokens { get; }

    public int NumPromptTokens { get; }
    public int NumTokens { get; private set; }
    public int NumOutputTokens => NumTokens - NumPromptTokens;

    /// <summary>Leading tokens whose K/V are in the cache.</summary>
    public int NumComputed { get; internal set; }

    public SequenceStatus Status { get; internal set; }

    /// <summary>Prefix-cache tokens at first admission; -1 before it.</summary>
    public int CachedTokens { get; internal set; } = -1;

    public long FirstTokenTimestamp { get; internal set; }

    public int Preemptions { get; internal set; }

    /// <summary>Stopwatch ticks after which the request is dropped (abort, "deadline"); null: never.</summary>
    public long? DeadlineTimestamp { get; internal set; }

    /// <summary>The output constraint's state, following every generated token; null for free text.</summary>
    public ConstraintMatcher? Matcher { get; internal set; }

    /// <summary>The allowed-token bitmask of the next sample (constrained sequences only), reused every step.</summary>
    internal ulong[]? AllowedMask { get; set; }

    /// <summary>Tokens <see cref="AllowedMask"/> allows (computed before the step's forward pass).</summary>
    internal int AllowedCount { get; set; }

    public ReadOnlySpan<int> Tokens => _tokens.AsSpan(0, NumTokens);
    public ReadOnlySpan<int> PromptTokens => _tokens.AsSpan(0, NumPromptTokens);
    public ReadOnlySpan<int> OutputTokens => _tokens.AsSpan(NumPromptTokens, NumOutputTokens);

    internal void Append(int token) => _tokens[NumTokens++] = token;
}
