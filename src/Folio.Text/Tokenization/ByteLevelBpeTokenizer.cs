using System.Buffers;
using System.Collections.Concurrent;
using System.Text;

namespace Folio.Text.Tokenization;

/// <summary>How a byte-level BPE tokenizer is put together (from GGUF, tokenizer.json or built-in data).</summary>
/// <param name="Merges">"left right" merges, highest priority first; null merges any pair whose concatenation is a token, lowest id first (tiktoken's rule).</param>
/// <param name="SplitPatterns">Expressions applied in sequence to split text into words.</param>
/// <param name="IgnoreMerges">A word that is itself a token is taken whole (Llama 3).</param>
/// <param name="AddPrefixSpace">Prepend a space to raw text that does not start with one (Hugging Face ByteLevel add_prefix_space).</param>
/// <param name="Dialect">Whose regex semantics the split patterns follow (GGUF: llama.cpp's; tokenizer.json: Hugging Face's).</param>
internal sealed record ByteLevelBpeOptions(
    IReadOnlyList<string> Tokens,
    IReadOnlyList<int> TokenTypes,
    IReadOnlyList<string>? Merges,
    IReadOnlyList<string> SplitPatterns,
    bool IgnoreMerges,
    TextNormalization Normalization,
    bool AddPrefixSpace,
    int? BosTokenId,
    IReadOnlyList<int> EosTokenIds,
    bool AddBosToken,
    RegexDialect Dialect = RegexDialect.HuggingFace,
    SpecialTokenRules? Specials = null);

/// <summary>
/// Byte-level BPE (GPT-2, Llama 3, Qwen2): text is split into words by regular expressions, each
/// word's UTF-8 bytes are written in GPT-2's byte alphabet, and merges run within the word.
/// Words seen before come from a bounded cache.
/// </summary>
internal sealed class ByteLevelBpeTokenizer : TokenizerBase
{
    private const int CacheLimit = 50_000;
    private const int CacheableWordLength = 64;

    private readonly Dictionary<string, int> _vocab;
    private readonly Dictionary<string, int>.AlternateLookup<ReadOnlySpan<char>> _vocabLookup;
    private readonly Dictionary<long, (int Rank, int MergedId)>? _merges;
    private readonly RegexSplitter _splitter;
    private readonly ConcurrentDictionary<string, int[]> _cache = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, int[]>.AlternateLookup<ReadOnlySpan<char>> _cacheLookup;

    public ByteLevelBpeTokenizer(ByteLevelBpeOptions options)
        : base(options.Tokens, options.TokenTypes, options.BosTokenId, options.EosTokenIds, options.AddBosToken, options.Specials)
    {
        Options = options;
        _vocab = new Dictionary<string, int>(options.Tokens.Count, StringComparer.Ordinal);
        for (var id = 0; id < options.Tokens.Count; id++)
        {
            if (!GgufTokenType.IsSpecial(options.TokenTypes[id]) && options.TokenTypes[id] != GgufTokenType.UserDefined)
            {
                _vocab[options.Tokens[id]] = id;
            }
        }

        // A user-defined token can also be a merge result (llama.cpp looks every token up by text): after the normal ones.
        for (var id = 0; id < options.Tokens.Count; id++)
        {
            if (options.TokenTypes[id] == GgufTokenType.UserDefined)
            {
                _vocab.TryAdd(options.Tokens[id], id);
            }
        }

        _vocabLookup = _vocab.GetAlternateLookup<ReadOnlySpan<char>>();
        _cacheLookup = _cache.GetAlternateLookup<ReadOnlySpan<char>>();
        _merges = options.Merges is null ? null : MergeTable.Build(options.Merges, _vocab);
        _splitter = new RegexSplitter(options.SplitPatterns, options.Dialect);
        Bytes = new TokenByteTable(options.Tokens.Count, BytesOf);
    }

    public ByteLevelBpeOptions Options { get; }

    protected override TokenByteTable Bytes { get; }

    protected override void EncodeRaw(ReadOnlySpan<char> text, bool atTextStart, List<int> output)
    {
        text = Options.Normalization.Apply(text);
        if (Options.AddPrefixSpace && !text.IsEmpty && text[0] != ' ')
        {
            text = string.Concat(" ", text);
        }

        var words = new List<(int Start, int Length)>();
        _splitter.Split(text, words, new List<(int Start, int Length)>());
        foreach (var (start, length) in words)
        {
            var word = text.Slice(start, length);
            if (_cacheLookup.TryGetValue(word, out var cached))
            {
                output.AddRange(cached);
                continue;
            }

            var first = output.Count;
            EncodeWord(word, output);
            if (length <= CacheableWordLength)
            {
                if (_cache.Count >= CacheLimit)
                {
                    _cache.Clear(); // crude bound: a long-running worker must not grow without limit
                }

                _cache.TryAdd(word.ToString(), output.GetRange(first, output.Count - first).ToArray());
            }
        }
    }

    private void EncodeWord(ReadOnlySpan<char> word, List<int> output)
    {
        var byteCount = Encoding.UTF8.GetByteCount(word);
        var bytes = ArrayPool<byte>.Shared.Rent(byteCount);
        var chars = ArrayPool<char>.Shared.Rent(byteCount);
        var lengths = ArrayPool<int>.Shared.Rent(byteCount);
        var ids = ArrayPool<int>.Shared.Rent(byteCount);
        try
        {
            Encoding.UTF8.GetBytes(word, bytes);
            var alpha = chars.AsSpan(0, byteCount);
            ByteLevelAlphabet.Encode(bytes.AsSpan(0, byteCount), alpha);
            if (Options.IgnoreMerges && _vocabLookup.TryGetValue(alpha, out var whole))
            {
                output.Add(whole);
                return;
            }

            for (var i = 0; i < byteCount; i++)
            {
                lengths[i] = 1;
                ids[i] = _vocabLookup.TryGetValue(alpha.Slice(i, 1), out var id) ? id : -1;
            }

            var merger = BpeMerger.ForThisThread();
            if (_merges is not null)
            {
                merger.Merge(alpha, lengths.AsSpan(0, byteCount), ids.AsSpan(0, byteCount), new RankedMergePolicy(_merges));
            }
            else
            {
                merger.Merge(alpha, lengths.AsSpan(0, byteCount), ids.AsSpan(0, byteCount), new ConcatRankPolicy(_vocabLookup));
            }

            foreach (var (start, length, id) in merger.Result)
            {
                if (id >= 0)
                {
                    output.Add(id);
                    continue;
                }

                // A symbol that is not a token (a vocabulary lacking some byte, or a merge whose result
                // is missing) falls back to its single characters, dropping any that are not tokens
                // either, as llama.cpp does; a complete byte-level vocabulary never gets here.
                for (var i = start; i < start + length; i++)
                {
                    if (_vocabLookup.TryGetValue(alpha.Slice(i, 1), out var byteId))
                    {
                        output.Add(byteId);
                    }
                }
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(bytes);
            ArrayPool<char>.Shared.Return(chars);
            ArrayPool<int>.Shared.Return(lengths);
            ArrayPool<int>.Shared.Return(ids);
        }
    }

    private byte[] BytesOf(int id)
    {
        var type = Options.TokenTypes[id];
        if (GgufTokenType.IsSpecial(type))
        {
            return [];
        }

        // Hugging Face's ByteLevel decoder: a token wholly in the byte alphabet is mapped back to
        // bytes; any other (an added token stored as plain text) contributes its own UTF-8.
        var text = Options.Tokens[id];
        return ByteLevelAlphabet.TryDecode(text, out var bytes) ? bytes : Encoding.UTF8.GetBytes(text);
    }
}
