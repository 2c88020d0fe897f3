using System.Buffers;
using System.Collections.Concurrent;
using System.Globalization;
using System.Text;

namespace Folio.Text.Tokenization;

/// <summary>When SentencePiece-style text gets a leading '▁' (add_dummy_prefix, Prepend, Metaspace prepend_scheme).</summary>
public enum SpacePrefixMode
{
    /// <summary>Every piece of raw text between special tokens (llama.cpp, Hugging Face Prepend normalizer, Metaspace "always").</summary>
    Always,

    /// <summary>Only the raw text at the very start of the input (Metaspace "first").</summary>
    First,

    Never,
}

/// <param name="Scores">Per-token scores: merge any pair whose concatenation is a token, highest score first (SentencePiece, llama.cpp). Null: use <paramref name="Merges"/>.</param>
/// <param name="Merges">"left right" merges by priority (tokenizer.json BPE with byte_fallback), used when there are no scores.</param>
/// <param name="SplitOnSpace">Split the text into words before each '▁' first (Metaspace split=true).</param>
internal sealed record SentencePieceOptions(
    IReadOnlyList<string> Tokens,
    IReadOnlyList<int> TokenTypes,
    IReadOnlyList<float>? Scores,
    IReadOnlyList<string>? Merges,
    SpacePrefixMode SpacePrefix,
    bool SplitOnSpace,
    int? BosTokenId,
    IReadOnlyList<int> EosTokenIds,
    bool AddBosToken,
    SpecialTokenRules? Specials = null);

/// <summary>
/// SentencePiece-style BPE (Llama 2, Mistral, TinyLlama): spaces are written '▁', a '▁' is
/// prepended, the whole text is merged from single characters, and characters that end up in no
/// token are written as their UTF-8 bytes with the &lt;0xNN&gt; tokens (byte fallback).
/// </summary>
internal sealed class SentencePieceBpeTokenizer : TokenizerBase
{
    public const char SpaceMark = '\u2581';

    private const int CacheLimit = 50_000;
    private const int CacheableWordLength = 64;

    private readonly Dictionary<string, int> _vocab;
    private readonly Dictionary<string, int>.AlternateLookup<ReadOnlySpan<char>> _vocabLookup;
    private readonly float[]? _scores;
    private readonly Dictionary<long, (int Rank, int MergedId)>? _merges;
    private readonly int[] _byteTokens = new int[256];
    private readonly int? _unknownId;
    private readonly bool _wordsNeverSpanSpaces;
    private readonly ConcurrentDictionary<string, int[]> _cache = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, int[]>.AlternateLookup<ReadOnlySpan<char>> _cacheLookup;

    public SentencePieceBpeTokenizer(SentencePieceOptions options)
        : base(options.Tokens, options.TokenTypes, options.BosTokenId, options.EosTokenIds, options.AddBosToken, options.Specials)
    {
        Options = options;
        _vocab = new Dictionary<string, int>(options.Tokens.Count, StringComparer.Ordinal);
        Array.Fill(_byteTokens, -1);
        for (var id = 0; id < options.Tokens.Count; id++)
        {
            var type = options.TokenTypes[id];
            if (type == GgufTokenType.Byte && TryParseByteToken(options.Tokens[id], out var b))
            {
                _byteTokens[b] = id;
            }
            else if (type == GgufTokenType.Unknown)
            {
                _unknownId ??= id;
            }
            else if (type is GgufTokenType.Normal or GgufTokenType.Undefined)
            {
                _vocab.TryAdd(options.Tokens[id], id);
            }
        }

        // A user-defined token can also be a merge result (Gemma 3's "▁▁" is both an added token and
        // in the model's vocabulary; llama.cpp looks every token up by text): after the normal ones.
        for (var id = 0; id < options.Tokens.Count; id++)
        {
            if (options.TokenTypes[id] == GgufTokenType.UserDefined)
            {
                _vocab.TryAdd(options.Tokens[id], id);
            }
        }

        _vocabLookup = _vocab.GetAlternateLookup<ReadOnlySpan<char>>();
        _cacheLookup = _cache.GetAlternateLookup<ReadOnlySpan<char>>();
        _wordsNeverSpanSpaces = _vocab.Keys.All(t => !HasMarkAfterOtherChar(t));
        if (options.Scores is not null)
        {
            _scores = options.Scores.ToArray();
        }
        else
        {
            _merges = MergeTable.Build(options.Merges ?? [], _vocab);
        }

        Bytes = new TokenByteTable(options.Tokens.Count, BytesOf);
    }

    public SentencePieceOptions Options { get; }

    protected override TokenByteTable Bytes { get; }

    /// <summary>Whether a '▁' follows some other character in the token (SentencePiece's own training never makes one).</summary>
    public static bool HasMarkAfterOtherChar(string token)
    {
        for (var i = 1; i < token.Length; i++)
        {
            if (token[i] == SpaceMark && token[i - 1] != SpaceMark)
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>Parses "&lt;0xNN&gt;" byte tokens.</summary>
    public static bool TryParseByteToken(string token, out byte value)
    {
        value = 0;
        return token.Length == 6 && token.StartsWith("<0x", StringComparison.Ordinal) && token[5] == '>'
            && byte.TryParse(token.AsSpan(3, 2), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out value);
    }

    protected override void EncodeRaw(ReadOnlySpan<char> text, bool atTextStart, List<int> output)
    {
        var prefix = Options.SpacePrefix == SpacePrefixMode.Always || (Options.SpacePrefix == SpacePrefixMode.First && atTextStart);
        var length = text.Length + (prefix ? 1 : 0);
        var buffer = ArrayPool<char>.Shared.Rent(length);
        try
        {
            var escaped = buffer.AsSpan(0, length);
            if (prefix)
            {
                escaped[0] = SpaceMark;
            }

            text.Replace(escaped[(prefix ? 1 : 0)..], ' ', SpaceMark);
            if (!Options.SplitOnSpace && !_wordsNeverSpanSpaces)
            {
                EncodeWord(escaped, output);
                return;
            }

            // Cut before each '▁' that follows another character (before every '▁' for Metaspace
            // split=true). Without split, a cut is only taken when no token holds a '▁' after
            // another character: then no merge can cross it and the result is the same as merging
            // the whole text, only faster, and words can be cached.
            var start = 0;
            for (var i = 1; i <= escaped.Length; i++)
            {
                if (i == escaped.Length || (escaped[i] == SpaceMark && (Options.SplitOnSpace || escaped[i - 1] != SpaceMark)))
                {
                    EncodeCachedWord(escaped[start..i], output);
                    start = i;
                }
            }
        }
        finally
        {
            ArrayPool<char>.Shared.Return(buffer);
        }
    }

    private void EncodeCachedWord(ReadOnlySpan<char> word, List<int> output)
    {
        if (_cacheLookup.TryGetValue(word, out var cached))
        {
            output.AddRange(cached);
            return;
        }

        var first = output.Count;
        EncodeWord(word, output);
        if (word.Length <= CacheableWordLength)
        {
            if (_cache.Count >= CacheLimit)
            {
                _cache.Clear(); // crude bound: a long-running worker must not grow without limit
            }

            _cache.TryAdd(word.ToString(), output.GetRange(first, output.Count - first).ToArray());
        }
    }

    private void EncodeWord(ReadOnlySpan<char> word, List<int> output)
    {
        if (word.IsEmpty)
        {
            return;
        }

        var lengths = ArrayPool<int>.Shared.Rent(word.Length);
        var ids = ArrayPool<int>.Shared.Rent(word.Length);
        try
        {
            // Initial symbols are whole code points: a surrogate pair stays together.
            var n = 0;
            for (var i = 0; i < word.Length; n++)
            {
                var len = char.IsHighSurrogate(word[i]) && i + 1 < word.Length && char.IsLowSurrogate(word[i + 1]) ? 2 : 1;
                lengths[n] = len;
                ids[n] = _vocabLookup.TryGetValue(word.Slice(i, len), out var id) ? id : -1;
                i += len;
            }

            var merger = BpeMerger.ForThisThread();
            if (_scores is not null)
            {
                merger.Merge(word, lengths.AsSpan(0, n), ids.AsSpan(0, n), new ConcatScorePolicy(_vocabLookup, _scores));
            }
            else
            {
                merger.Merge(word, lengths.AsSpan(0, n), ids.AsSpan(0, n), new RankedMergePolicy(_merges!));
            }

            foreach (var (start, length, id) in merger.Result)
            {
                if (id >= 0)
                {
                    output.Add(id);
                }
                else
                {
                    AddByteFallback(word.Slice(start, length), output);
                }
            }
        }
        finally
        {
            ArrayPool<int>.Shared.Return(lengths);
            ArrayPool<int>.Shared.Return(ids);
        }
    }

    private void AddByteFallback(ReadOnlySpan<char> symbol, List<int> output)
    {
        // An unmerged symbol is one code point (at most 4 bytes); anything longer is not expected
        // but is still written out rather than cut.
        var utf8 = symbol.Length <= 2 ? stackalloc byte[8] : new byte[Encoding.UTF8.GetByteCount(symbol)];
        var count = Encoding.UTF8.GetBytes(symbol, utf8);
        for (var i = 0; i < count; i++)
        {
            var id = _byteTokens[utf8[i]];
            if (id >= 0)
            {
                output.Add(id);
            }
            else if (_unknownId is int unk)
            {
                output.Add(unk);
            }
        }
    }

    private byte[] BytesOf(int id)
    {
        var type = Options.TokenTypes[id];
        if (GgufTokenType.IsSpecial(type))
        {
            return [];
        }

        var text = Options.Tokens[id];
        if (type == GgufTokenType.Byte && TryParseByteToken(text, out var b))
        {
            return [b];
        }

        return Encoding.UTF8.GetBytes(text.Replace(SpaceMark, ' '));
    }
}
