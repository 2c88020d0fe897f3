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
    private readonly System.Collections.Concurrent.ConcurrentBag<PositionMaskBuilder> _builders = [];
    private readonly Lock _backgroundLock = new();
    private Task? _background;
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

    /// <summary>Time to parse and build the automaton (position masks are built on first use, or ahead by <see cref="PrecomputeInBackground"/>).</summary>
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

    /// <summary>
    /// Builds every position's mask now, on up to <paramref name="threads"/> threads (default: all
    /// cores); returns the time it took. Masks already built are kept.
    /// </summary>
    public TimeSpan PrecomputeAll(int threads = 0)
    {
        var watch = Stopwatch.StartNew();
        int next = -1;
        var order = Automaton.GenerationOrder;
        int workers = Math.Max(1, threads > 0 ? threads : Environment.ProcessorCount);
        Parallel.For(0, workers, new ParallelOptions { MaxDegreeOfParallelism = workers }, _ =>
        {
            int i;
            while ((i = Interlocked.Increment(ref next)) < order.Length)
            {
                MaskFor(order[i]);
            }
        });

        // Every mask is built: the builders' memos (megabytes each) are not needed any more.
        _builders.Clear();
        return watch.Elapsed;
    }

    /// <summary>
    /// Starts building every position mask on the thread pool (once; later calls return the same
    /// task), so that sequences which reach a position later find its mask ready. Sequences running
    /// meanwhile still build what they need on first use.
    /// </summary>
    public Task PrecomputeInBackground(int threads = 0)
    {
        lock (_backgroundLock)
        {
            return _background ??= Task.Run(() => PrecomputeAll(threads));
        }
    }

    /// <summary>
    /// The mask of a position, built on first use. Builders are pooled (one per concurrent caller);
    /// two threads may build the same mask at once, and the first published wins: a mask is a pure
    /// function of the position, so which one does not matter.
    /// </summary>
    internal PositionMask MaskFor(int position)
    {
        var mask = Volatile.Read(ref _masks[position]);
        if (mask is not null)
        {
            return mask;
        }

        if (!_builders.TryTake(out var builder))
        {
            builder = new PositionMaskBuilder(Automaton, Vocabulary);
        }

        try
        {
            mask = builder.Build(position);
        }
        finally
        {
            _builders.Add(builder);
        }

        var published = Interlocked.CompareExchange(ref _masks[position], mask, null);
        if (published is not null)
        {
            return published;
        }

        Interlocked.Add(ref _maskBytes, mask.Bytes);
        Interlocked.Increment(ref _maskCount);
        return mask;
    }
}
