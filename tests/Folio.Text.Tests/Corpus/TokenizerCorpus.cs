using System.Text;

namespace Folio.Text.Tests.Corpus;

/// <summary>
/// Strings for tokenizer agreement tests: hand-picked hard cases (whitespace runs, digits, code,
/// contractions, special-token text, emoji, CJK, combining marks, RTL, invisible characters) and
/// seeded random mixtures of the same ingredients. Deterministic: the same list on every run.
/// </summary>
public static class TokenizerCorpus
{
    private static readonly string[] Handpicked =
    [
        "", " ", "  ", "   ", "\t", "\n", "\n\n", "\r\n", " \n ", "\t\t\n  \n\n\n",
        "Hello world", " Hello world", "Hello World!", "hello   world", "Hello\nworld", "Hello\n\nworld\n",
        "don't I'm we'll they've she'd it's DON'T I'M WE'LL 'S 'T 'tis",
        "1", "12", "123", "1234", "12345", "123456789", "3.14159", "1,000,000", "-42", "+7", "0x1F", "1e-10", "2024-06-01T12:30:00Z",
        "$5+3=8 ^~| `tick` 100% #hash @at &amp; *bold* _under_ ~tilde~",
        "def fib(n):\n    return n if n < 2 else fib(n-1) + fib(n-2)\n",
        "for (int i = 0; i < 10; ++i) { sum += a[i] * b[i]; }",
        "if x==1:\n\tprint('tab')\n    \n  # comment\n",
        "<html><body class=\"x\">Hi &nbsp; there</body></html>",
        "{\"key\": [1, 2.5, true, null], \"nested\": {\"a\": \"b\"}}",
        "SELECT * FROM users WHERE id = 42 AND name LIKE '%bob%';",
        "   leading spaces", "trailing spaces   ", "mid   dle", "a\u00A0b\u2003c\u3000d", "\u200Bzero\u200Dwidth\uFEFF",
        "emoji 🎉🚀👍🏽 family 👨‍👩‍👧‍👦 flag 🇫🇷 keycap 1️⃣",
        "你好，世界！这是一个测试。", "日本語のテキストとカタカナ、ひらがな。", "한국어 텍스트입니다.", "中文English混合text123",
        "Ünïcödé façade naïve café résumé", "Ελληνικά κείμενο ΑΒΓ", "Русский текст, ЁЖИК!", "עברית מימין לשמאל", "العربية النص",
        "हिन्दी पाठ", "ภาษาไทย", "Tiếng Việt có dấu", "e\u0301 combining a\u0308 o\u0302",
        "math 𝐀𝐁𝐂 𝑥² ∑∫√ ≤≥≠ ∞", "old 𐐀𐐨 deseret 𞤀 adlam", "ℌ𝔢𝔩𝔩𝔬 ﬁ ﬂ Ⅻ ①②③ ½ ¾",
        "<s>", "</s>", "<unk>", "<|endoftext|>", "<|im_start|>user\nHi<|im_end|>", "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|>",
        "<start_of_turn>user\nHello<end_of_turn>\n", "text <|endoftext|> more </s> and <s> then <unk>",
        "<|user|>\nQuestion?<|end|>\n<|assistant|>\nAnswer.<|end|>", " <|assistant|> spaced <|end|> ",
        "<｜begin▁of▁sentence｜>DeepSeek<｜end▁of▁sentence｜>", "<|im_start|> <|im_end|>\n\n<|im_start|>",
        "▁already▁marked▁", "Ġbyte Ċlevel", "\u0000nul\u0001ctl\u007F",
        "    indented\n        more\n\ttabbed", "a.b,c;d:e!f?g", "...!!!???", "—–-‐ “quotes” ‘single’ «guillemets»",
        "www.example.com/path?q=1&r=2#frag", "user@example.com", "C:\\Windows\\System32", "/usr/local/bin/",
        "ALLCAPS lowercase MiXeD camelCase snake_case kebab-case PascalCase",
        "¡Hola! ¿Qué tal?", "Grüße aus Köln", "Ærøskøbing", "İstanbul ılık", "ǅungla ǈudi",
    ];

    private static readonly string[] Ingredients =
    [
        "the", " cat", "  ", " ", "\n", "\t", "Hello", "WORLD", "'s", "'re", "don't", "123", "4567", "3.5", "!", "?!", ",", ".", "...",
        "(", ")", "[", "]", "{", "}", "<", ">", "=", "==", "+=", "->", "::", "#", "$", "%", "^", "&", "*", "`", "~", "|", "\\", "/", "\"", "'",
        "é", "ß", "Ж", "λ", "中文", "日本", "カタカナ", "한", "🎉", "👍🏽", "𝐀", "\u3000", "\u00A0", "\u2028", "\u0301", "½",
        "<s>", "</s>", "<|endoftext|>", "<|im_start|>", "<|im_end|>", "<|eot_id|>", "<|end|>", "<end_of_turn>",
        "\r\n", "   \n", "\n\n\n", "_", "-", "—", "“", "”", "▁", "Ġ",
    ];

    /// <summary>The hand-picked cases followed by <paramref name="randomCount"/> seeded random mixtures.</summary>
    public static IReadOnlyList<string> Strings(int randomCount = 200, int seed = 1234)
    {
        var list = new List<string>(Handpicked);
        var rng = new Random(seed);
        for (var i = 0; i < randomCount; i++)
        {
            var sb = new StringBuilder();
            var parts = rng.Next(1, 24);
            for (var p = 0; p < parts; p++)
            {
                sb.Append(Ingredients[rng.Next(Ingredients.Length)]);
            }

            list.Add(sb.ToString());
        }

        list.Add(string.Concat(Handpicked));
        return list;
    }
}
