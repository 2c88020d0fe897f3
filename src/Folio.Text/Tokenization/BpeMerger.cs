namespace Folio.Text.Tokenization;

/// <summary>
/// Decides whether two adjacent symbols merge, and with what priority (lower merges first).
/// The concatenated text of the pair is always a contiguous slice of the word, so a policy can
/// look it up without building a string.
/// </summary>
internal interface IMergePolicy
{
    bool TryMerge(int leftId, int rightId, ReadOnlySpan<char> merged, out int priority, out int mergedId);
}

/// <summary>Merges by an explicit merge list: (left id, right id) -> rank (GGUF gpt2, tokenizer.json BPE).</summary>
internal readonly struct RankedMergePolicy(Dictionary<long, (int Rank, int MergedId)> merges) : IMergePolicy
{
    public static long Key(int left, int right) => ((long)left << 32) | (uint)right;

    public bool TryMerge(int leftId, int rightId, ReadOnlySpan<char> merged, out int priority, out int mergedId)
    {
        if (leftId >= 0 && rightId >= 0 && merges.TryGetValue(Key(leftId, rightId), out var m))
        {
            priority = m.Rank;
            mergedId = m.MergedId;
            return true;
        }

        priority = 0;
        mergedId = -1;
        return false;
    }
}

/// <summary>
/// Merges any pair whose concatenation is a token, lowest id first: tiktoken's rule, exact for
/// vocabularies whose ids are their merge order (GPT-2's own files).
/// </summary>
internal readonly struct ConcatRankPolicy(Dictionary<string, int>.AlternateLookup<ReadOnlySpan<char>> vocab) : IMergePolicy
{
    public bool TryMerge(int leftId, int rightId, ReadOnlySpan<char> merged, out int priority, out int mergedId)
    {
        if (vocab.TryGetValue(merged, out mergedId))
        {
            priority = mergedId;
            return true;
        }

        priority = 0;
        return false;
    }
}

/// <summary>
/// Merges any pair whose concatenation is a token, highest score first: SentencePiece BPE as
/// llama.cpp's llm_tokenizer_spm runs it.
/// </summary>
internal readonly struct ConcatScorePolicy(Dictionary<string, int>.AlternateLookup<ReadOnlySpan<char>> vocab, float[] scores) : IMergePolicy
{
    public bool TryMerge(int leftId, int rightId, ReadOnlySpan<char> merged, out int priority, out int mergedId)
    {
        if (vocab.TryGetValue(merged, out mergedId))
        {
            priority = SortableDescending(scores[mergedId]);
            return true;
        }

        priority = 0;
        return false;
    }

    /// <summary>An int that orders like -score: a higher score gives a lower priority value.</summary>
    private static int SortableDescending(float score)
    {
        var bits = BitConverter.SingleToInt32Bits(-score);
        return bits >= 0 ? bits : bits ^ 0x7FFFFFFF;
    }
}

/// <summary>
/// Byte-pair merging over one word: symbols in a linked list and candidate pairs in a priority
/// queue ordered by (priority, leftmost position); a popped pair whose symbols changed since it
/// was queued is skipped. This is the merge order of llama.cpp and Hugging Face tokenizers.
/// Reused per thread so that encoding does not allocate per word.
/// </summary>
internal sealed class BpeMerger
{
    [ThreadStatic]
    private static BpeMerger? _perThread;

    private readonly PriorityQueue<(int Left, int Right, int LeftLength, int RightLength, int MergedId), long> _queue = new();
    private int[] _start = new int[64];
    private int[] _length = new int[64];
    private int[] _id = new int[64];
    private int[] _prev = new int[64];
    private int[] _next = new int[64];

    public static BpeMerger ForThisThread() => _perThread ??= new BpeMerger();

    /// <summary>The final symbols of the last <see cref="Merge"/>, in order: (start, length, id or -1 when not a token).</summary>
    public List<(int Start, int Length, int Id)> Result { get; } = [];

    /// <summary>
    /// Merges <paramref name="word"/>, whose initial symbols are given by <paramref name="symbolLengths"/>
    /// with ids <paramref name="symbolIds"/> (-1: not a token), leaving the final symbols in <see cref="Result"/>.
    /// </summary>
    public void Merge<TPolicy>(ReadOnlySpan<char> word, ReadOnlySpan<int> symbolLengths, ReadOnlySpan<int> symbolIds, TPolicy policy)
        where TPolicy : struct, IMergePolicy
    {
        var n = symbolLengths.Length;
        EnsureCapacity(n);
        var pos = 0;
        for (var i = 0; i < n; i++)
        {
            _start[i] = pos;
            _length[i] = symbolLengths[i];
            _id[i] = symbolIds[i];
            _prev[i] = i - 1;
            _next[i] = i + 1 < n ? i + 1 : -1;
            pos += symbolLengths[i];
        }

        _queue.Clear();
        for (var i = 0; i + 1 < n; i++)
        {
            TryQueue(word, i, i + 1, policy);
        }

        while (_queue.TryDequeue(out var pair, out _))
        {
            var (left, right) = (pair.Left, pair.Right);
            if (_length[left] != pair.LeftLength || _length[right] != pair.RightLength || _next[left] != right)
            {
                continue; // stale: one side has merged with something else since this pair was queued
            }

            _length[left] += _length[right];
            _id[left] = pair.MergedId;
            _length[right] = 0;
            _next[left] = _next[right];
            if (_next[right] >= 0)
            {
                _prev[_next[right]] = left;
            }

            if (_prev[left] >= 0)
            {
                TryQueue(word, _prev[left], left, policy);
            }

            if (_next[left] >= 0)
            {
                TryQueue(word, left, _next[left], policy);
            }
        }

        Result.Clear();
        for (var i = 0; i >= 0 && n > 0; i = _next[i])
        {
            Result.Add((_start[i], _length[i], _id[i]));
        }
    }

    private void TryQueue<TPolicy>(ReadOnlySpan<char> word, int left, int right, TPolicy policy)
        where TPolicy : struct, IMergePolicy
    {
        var merged = word.Slice(_start[left], _length[left] + _length[right]);
        if (policy.TryMerge(_id[left], _id[right], merged, out var priority, out var mergedId))
        {
            _queue.Enqueue((left, right, _length[left], _length[right], mergedId), ((long)priority << 32) | (uint)left);
        }
    }

    private void EnsureCapacity(int n)
    {
        if (_start.Length >= n)
        {
            return;
        }

        var size = Math.Max(n, _start.Length * 2);
        _start = new int[size];
        _length = new int[size];
        _id = new int[size];
        _prev = new int[size];
        _next = new int[size];
    }
}
