
namespace Folio.Text.Tokenization;

/// <summary>
/// The regular expressions that split text into words before byte-level BPE, by the name GGUF
/// stores in tokenizer.ggml.pre. Several names apply their expressions in sequence, each one
/// splitting the pieces of the previous (matches and the gaps between them both become pieces),
/// which is how llama.cpp applies them.
/// </summary>
public static class PreTokenizerPatterns
{
    /// <summary>GPT-2's pattern, also Hugging Face's ByteLevel pre-tokenizer with use_regex.</summary>
    public const string Gpt2 =
        @"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+";

    // The contractions are spelled out case by case rather than with (?i:...) so that no engine's
    // case folding (for example U+017F matching 's') can make them match more than the ASCII forms.
    private const string Contractions = @"(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])";

    /// <summary>Llama 3's pattern (digits in groups of up to three).</summary>
    public const string Llama3 =
        Contractions + @"|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";

    /// <summary>Qwen2's pattern (single digits).</summary>
    public const string Qwen2 =
        Contractions + @"|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";

    /// <summary>
    /// llama.cpp's "default" pre-tokenizer: punctuation runs first, then GPT-2's pattern, then
    /// digit runs and groups of three ASCII digits. It is not the same split as GPT-2's.
    /// </summary>
    public static readonly IReadOnlyList<string> LlamaCppDefault =
    [
        @"[\p{P}\$\+<=>\^~\|]+",
        @"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)",
        @"\p{N}+",
        @"[0-9][0-9][0-9]",
    ];

    public static readonly IReadOnlyList<string> SmolLm = [@"\p{N}", Gpt2];

    /// <summary>The names accepted for tokenizer.ggml.pre, for error messages.</summary>
    public static readonly IReadOnlyList<string> KnownNames =
        ["default", "gpt-2", "gpt2", "olmo", "llama-bpe", "llama3", "llama-v3", "dbrx", "smaug-bpe", "qwen2", "stablelm2", "deepseek-r1-qwen", "smollm", "starcoder"];

    /// <summary>The expressions for a pre-tokenizer name; null or empty means llama.cpp's default.</summary>
    public static IReadOnlyList<string> ForName(string? pre)
    {
        switch (pre)
        {
            case null or "" or "default":
                return LlamaCppDefault;
            case "gpt-2" or "gpt2" or "olmo":
                return [Gpt2];
            case "llama-bpe" or "llama3" or "llama-v3" or "dbrx" or "smaug-bpe":
                return [Llama3];
            case "qwen2" or "stablelm2" or "deepseek-r1-qwen":
                return [Qwen2];
            case "smollm" or "starcoder":
                return SmolLm;
            default:
                throw new TokenizerFormatException(
                    $"tokenizer.ggml.pre '{pre}' is not a pre-tokenizer Folio knows; supported: {string.Join(", ", KnownNames)}.");
        }
    }

    /// <summary>Whether a whole word found in the vocabulary is taken as one token without merging (llama.cpp does this for Llama 3).</summary>
    public static bool IgnoresMerges(string? pre) => pre is "llama-bpe" or "llama3" or "llama-v3";
}
