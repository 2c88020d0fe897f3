
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

    /// <summary>llama.cpp's "falcon": punctuation runs (with ` this time), GPT-2's pattern, groups of three ASCII digits.</summary>
    public static readonly IReadOnlyList<string> Falcon =
    [
        @"[\p{P}\$\+<=>\^~\|`]+",
        @"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)",
        @"[0-9][0-9][0-9]",
    ];

    /// <summary>CJK runs as DeepSeek's tokenizers cut them (the ranges are theirs, as llama.cpp carries them).</summary>
    private const string DeepSeekCjk = "[\u4E00-\u9FA5\u0800-\u4E00\uAC00-\uD7FF]+";

    /// <summary>DeepSeek Coder: line breaks alone, letter runs, punctuation runs, CJK runs, single digits.</summary>
    public static readonly IReadOnlyList<string> DeepSeekCoder =
        ["[\r\n]", @"\s?\p{L}+", @"\s?\p{P}+", DeepSeekCjk, @"\p{N}"];

    /// <summary>
    /// DeepSeek LLM: its letter class is an explicit list of cased-letter ranges (from its
    /// tokenizer.json), its punctuation class ASCII and full-width punctuation. "$" is written \z:
    /// .NET's $ also matches before a final \n, ECMAScript's (llama.cpp's std::regex) does not.
    /// </summary>
    public static readonly IReadOnlyList<string> DeepSeekLlm =
    [
        "[\r\n]",
        "\\s?[A-Za-z\u00B5\u00C0-\u00D6\u00D8-\u00F6\u00F8-\u01BA\u01BC-\u01BF\u01C4-\u0293\u0295-\u02AF\u0370-\u0373\u0376\u0377\u037B-\u037D\u037F\u0386\u0388-\u038A\u038C\u038E-\u03A1\u03A3-\u03F5\u03F7-\u0481\u048A-\u052F\u0531-\u0556\u10A0-\u10C5\u13A0-\u13F5\u13F8-\u13FD\u1C90-\u1CBA\u1CBD-\u1CBF\u1D00-\u1D2B\u1D6B-\u1D77\u1D79-\u1D9A\u1E00-\u1F15\u1F18-\u1F1D\u1F20-\u1F45\u1F48-\u1F4D\u1F50-\u1F57\u1F59\u1F5B\u1F5D\u1F5F-\u1F7D\u1F80-\u1FB4\u1FB6-\u1FBC\u1FBE\u1FC2-\u1FC4\u1FC6-\u1FCC\u1FD0-\u1FD3\u1FD6-\u1FDB\u1FE0-\u1FEC\u1FF2-\u1FF4\u1FF6-\u1FFC\u2102\u2107\u210A-\u2113\u2115\u2119-\u211D\u2124\u2126\u2128\u212A-\u212D\u212F-\u2134\u2139\u213C-\u213F\u2145-\u2149\u214E\u2183\u2184\u2C00-\u2C7B\u2C7E-\u2CE4\u2CEB-\u2CEE\u2CF2\u2CF3\uA640-\uA66D\uA680-\uA69B\uA722-\uA76F\uA771-\uA787\uA78B-\uA78E\uAB70-\uABBF\uFB00-\uFB06\uFB13-\uFB17\uFF21-\uFF3A\uFF41-\uFF5A\uD801\uDC00-\uD801\uDC4F\uD801\uDCB0-\uD801\uDCD3\uD801\uDCD8-\uD801\uDCFB\uD803\uDC80-\uD803\uDCB2\uD803\uDCC0-\uD803\uDCF2\uD806\uDCA0-\uD806\uDCDF\uD83A\uDD00-\uD83A\uDD43]+",
        "\\s?[!-/:-~\uFF01-\uFF0F\uFF1A-\uFF5E\u2018-\u201F\u3000-\u3002]+",
        @"\s+\z",
        DeepSeekCjk,
        @"\p{N}+",
    ];

    /// <summary>DeepSeek V3: digit groups of up to three, CJK and kana runs, then a Llama 3-like pattern over letters, marks, punctuation and symbols.</summary>
    public static readonly IReadOnlyList<string> DeepSeekV3 =
    [
        @"\p{N}{1,3}",
        "[\u4E00-\u9FA5\u3040-\u309F\u30A0-\u30FF]+",
        @"[!""#$%&'()*+,\-./:;<=>?@\[\\\]^_`{|}~][A-Za-z]+|[^\r\n\p{L}\p{P}\p{S}]?[\p{L}\p{M}]+| ?[\p{P}\p{S}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+",
    ];

    /// <summary>The names accepted for tokenizer.ggml.pre, for error messages.</summary>
    public static readonly IReadOnlyList<string> KnownNames =
    [
        "default", "gpt-2", "gpt2", "phi-2", "roberta-bpe", "olmo", "mpt", "jais", "llama-bpe", "llama3", "llama-v3", "falcon3", "dbrx", "smaug-bpe",
        "qwen2", "megrez", "stablelm2", "deepseek-r1-qwen", "smollm", "starcoder", "refact", "command-r", "codeshell", "exaone", "minerva-7b",
        "falcon", "deepseek-coder", "deepseek-llm", "deepseek-v3",
    ];

    /// <summary>The expressions for a pre-tokenizer name; null or empty means llama.cpp's default.</summary>
    public static IReadOnlyList<string> ForName(string? pre)
    {
        switch (pre)
        {
            case null or "" or "default":
                return LlamaCppDefault;
            case "gpt-2" or "gpt2" or "phi-2" or "roberta-bpe" or "olmo" or "mpt" or "jais":
                return [Gpt2];
            case "llama-bpe" or "llama3" or "llama-v3" or "falcon3" or "dbrx" or "smaug-bpe":
                return [Llama3];
            case "qwen2" or "megrez" or "stablelm2" or "deepseek-r1-qwen":
                return [Qwen2];
            case "smollm" or "starcoder" or "refact" or "command-r" or "codeshell" or "exaone" or "minerva-7b":
                return SmolLm;
            case "falcon":
                return Falcon;
            case "deepseek-coder":
                return DeepSeekCoder;
            case "deepseek-llm":
                return DeepSeekLlm;
            case "deepseek-v3":
                return DeepSeekV3;
            default:
                throw new TokenizerFormatException(
                    $"tokenizer.ggml.pre '{pre}' is not a pre-tokenizer Folio knows; supported: {string.Join(", ", KnownNames)}.");
        }
    }

    /// <summary>Whether a whole word found in the vocabulary is taken as one token without merging (llama.cpp does this for Llama 3).</summary>
    public static bool IgnoresMerges(string? pre) => pre is "llama-bpe" or "llama3" or "llama-v3" or "falcon3";
}
