using System.Diagnostics;

namespace Folio.Engine.Constraints;

/// <summary>
/// A constraint compiled for one tokenizer: the byte automaton and, filled on first use, each
/// position's token classes (<see cref="PositionMask"/>). Shared by every request with the same
/// constraint and tokenizer, and thread-safe: the automaton is immutable, and a missing position
/// mask is built under a lock and then published, so a mask never depends on which thread or
/// request built it. <see cref="CreateMatcher()"/> gives each sequence its own state.
/// </summary>
public sealed class CompiledConstraint
{
    private readonly PositionMask?[] _masks;
    private readonly Lock _buildLock = new();
    private PositionMaskBuilder? _builder;
    private long _maskBytes;
    private int _maskCount;

    internal CompiledConstraint(ConstraintSpec spec, ByteAutomaton automaton, VocabularyIndex vocabulary, string cacheKey, TimeSpan compileTime)
    {
        Spec = spec;
        Automaton = automaton;
        Vocabulary = vocabulary;
        CacheKey = cacheKey;
        CompileTime = compileTime;
        _masks = new PositionMask?[automaton.PositionCount];
    }

    public ConstraintSpec Spec { get; }

    /// <summary>Content hash of (vocabulary, canonical constraint).</summary>
    public string CacheKey { get; }

    /// <summary>Time to parse and build the automaton (masks are built on first use or by <see cref="PrecomputeAll"/>).</summary>
    public TimeSpan CompileTime { get; }

    /// <summary>ulong words of a bitmask over the tokenizer's vocabulary: the least a mask span passed to <see cref="ConstraintMatcher.FillAllowed"/> must hold.</summary>
    public int MaskWords => Vocabulary.MaskWords;

    /// <summary>Automaton positions (states over all rules).</summary>
    public int PositionCount => Automaton.PositionCount;

    /// <summary>Position masks built so far.</summary>
    public int PrecomputedPositions => Volatile.Read(ref _maskCount);

    /// <summary>Bytes held by the position masks built so far.</summary>
    public long MaskBytes => Interlocked.Read(ref _maskBytes);

    internal ByteAutomaton Automaton { get; }

    internal VocabularyIndex Vocabulary { get; }

    /// <summary>A matcher at the start of the output.</summary>
    public ConstraintMatcher CreateMatcher() => new(this);

    /// <summary>
    /// A matcher that has consumed <paramref name="generated"/> (the tokens already in the stream,
    /// on a resume or after preemption). Throws if they do not follow the constraint: they were
    /// produced under it, so that means the stream and the constraint disagree.
    /// </summary>
    public ConstraintMatcher CreateMatcher(ReadOnlySpan<int> generated)
    {
        var matcher = new ConstraintMatcher(this);
        if (!matcher.TryReplay(generated, out int failedAt))
        {
            throw new ConstraintException($"token {failedAt} of the {generated.Length} already generated (id {generated[failedAt]}) does not follow the constraint; the stream was not produced under it");
        }

        return matcher;
    }

    /// <summary>Builds every position's mask now (start-up warm-up or benchmarks); returns the time it took.</summary>
    public TimeSpan PrecomputeAll()
    {
        var watch = Stopwatch.StartNew();
        for (int p = 0; p < _masks.Length; p++)
        {
            if (Automaton.HasBytes[p])
            {
                MaskFor(p);
            }
        }

        return watch.Elapsed;
    }

    internal PositionMask MaskFor(int position)
    {
        var mask = Volatile.Read(ref _masks[position]);
        if (mask is not null)
        {
            return mask;
        }

        lock (_buildLock)
        {
            mask = _masks[position];
            if (mask is null)
            {
                _builder ??= new PositionMaskBuilder(Automaton, Vocabulary);
                mask = _builder.Build(position);
                Interlocked.Add(ref _maskBytes, mask.Bytes);
                Interlocked.Increment(ref _maskCount);
                Volatile.Write(ref _masks[position], mask);
            }
        }

        return mask;
    }
}
