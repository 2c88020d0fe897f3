using System.Globalization;
using System.Text;
using Folio.Models.Loading;
using Folio.Models;
using Folio.Text.Tokenization;

namespace Folio.ModelTools;

/// <summary>
/// Deterministic tokenizers of any size for test models (<c>folio make-test-model</c>), learned
/// from a fixed built-in English text. Both load in llama.cpp as GGUF vocabularies.
/// </summary>
public static class SyntheticTokenizers
{
    public const string EndOfText = "<|endoftext|>";

    /// <summary>
    /// Byte-level BPE with exactly <paramref name="vocabSize"/> tokens: the 256 bytes (ids 0-255,
    /// in GPT-2's byte alphabet), learned merges, and "&lt;|endoftext|&gt;" as the last id (control;
    /// BOS and EOS, no BOS added). Pre-tokenizer "gpt-2": llama.cpp's name for GPT-2's split, which
    /// is also what a tokenizer.json ByteLevel pre-tokenizer does (llama.cpp's "default" is not).
    /// </summary>
    public static TokenizerSpec ByteLevelBpe(int vocabSize)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(vocabSize, 260);
        var vocab = new List<string>(vocabSize);
        for (var b = 0; b < 256; b++)
        {
            vocab.Add(ByteLevelAlphabet.ByteToChar((byte)b).ToString());
        }

        var splitter = new RegexSplitter([PreTokenizerPatterns.Gpt2]);
        var text = NormalizedCorpus();
        var spans = new List<(int Start, int Length)>();
        splitter.Split(text, spans, []);
        var words = CountWords(spans.Select(s => ByteLevelAlphabet.Encode(Encoding.UTF8.GetBytes(text.Substring(s.Start, s.Length)))),
            word => word.Select(c => c.ToString()).ToList());

        var merges = new List<string>();
        BpeLearner.Learn(words, vocab, merges, vocabSize - 1 - vocab.Count);
        vocab.Add(EndOfText);

        var types = Enumerable.Repeat(GgufTokenType.Normal, vocabSize).ToArray();
        types[vocabSize - 1] = GgufTokenType.Control;
        return new TokenizerSpec("gpt2", vocab, null, types, merges, vocabSize - 1, [vocabSize - 1], false, "gpt-2");
    }

    /// <summary>
    /// SentencePiece-style BPE with exactly <paramref name="vocabSize"/> tokens: &lt;unk&gt; 0,
    /// &lt;s&gt; 1 (BOS, added), &lt;/s&gt; 2 (EOS), the 256 byte tokens &lt;0x00&gt;..&lt;0xFF&gt; (3-258), the
    /// text's characters, then learned pieces with scores in merge order (no merge list, as
    /// llama GGUF files have none).
    /// </summary>
    public static TokenizerSpec SentencePieceBpe(int vocabSize)
    {
        var vocab = new List<string> { "<unk>", "<s>", "</s>" };
        var types = new List<int> { GgufTokenType.Unknown, GgufTokenType.Control, GgufTokenType.Control };
        for (var b = 0; b < 256; b++)
        {
            vocab.Add(string.Create(CultureInfo.InvariantCulture, $"<0x{b:X2}>"));
            types.Add(GgufTokenType.Byte);
        }

        var firstPiece = vocab.Count;
        var wordTexts = NormalizedCorpus()
            .Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries)
            .Select(w => SentencePieceBpeTokenizer.SpaceMark + w)
            .ToList();
        var chars = wordTexts.SelectMany(TextElements).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToList();
        vocab.AddRange(chars);
        var minimum = vocab.Count + 1;
        if (vocabSize < minimum)
        {
            throw new ArgumentOutOfRangeException(nameof(vocabSize), vocabSize, $"A synthetic SentencePiece vocabulary needs at least {minimum} tokens (specials, 256 bytes, the text's characters, one merge).");
        }

        var firstMerged = vocab.Count;
        var words = CountWords(wordTexts, w => TextElements(w).ToList());
        var merges = new List<string>();
        // Like SentencePiece's own training, no piece has a '▁' after another character, so words
        // can be merged (and cached) separately.
        BpeLearner.Learn(words, vocab, merges, vocabSize - vocab.Count, piece => !SentencePieceBpeTokenizer.HasMarkAfterOtherChar(piece));

        // SentencePiece's scores: merged pieces in merge order (earlier = higher), then the single
        // characters below all of them. Specials and bytes score 0.
        var scores = new float[vocab.Count];
        for (var id = firstMerged; id < vocab.Count; id++)
        {
            scores[id] = -(id - firstMerged);
        }

        for (var id = firstPiece; id < firstMerged; id++)
        {
            scores[id] = -(vocab.Count - firstMerged) - (id - firstPiece);
        }

        types.AddRange(Enumerable.Repeat(GgufTokenType.Normal, vocab.Count - types.Count));
        return new TokenizerSpec("llama", vocab, scores, types, [], 1, [2], true, null);
    }

    /// <summary>The corpus with the source indentation removed and line breaks kept.</summary>
    private static string NormalizedCorpus() => SyntheticCorpus.Text.ReplaceLineEndings("\n");

    private static IEnumerable<string> TextElements(string text)
    {
        for (var i = 0; i < text.Length; i++)
        {
            if (char.IsHighSurrogate(text[i]) && i + 1 < text.Length)
            {
                yield return text.Substring(i++, 2);
            }
            else
            {
                yield return text[i].ToString();
            }
        }
    }

    private static List<(List<string> Symbols, int Count)> CountWords(IEnumerable<string> words, Func<string, List<string>> symbolsOf)
    {
        return words
            .GroupBy(w => w, StringComparer.Ordinal)
            .OrderBy(g => g.Key, StringComparer.Ordinal)
            .Select(g => (symbolsOf(g.Key), g.Count()))
            .ToList();
    }
}
