using Folio.Engine.Tokenization;

namespace Folio.Engine.Loading;

/// <summary>
/// The loaders' single door to the tokenizer subsystem (Folio.Engine.Tokenization), so that the
/// loaders depend on four calls only: a tokenizer from a GGUF-style spec, from a Hugging Face
/// folder, GPT-2 for the demo model, and the synthetic vocabulary of test models.
/// PLACEHOLDER until the tokenizer factory lands: minimal stand-ins, replaced by forwarding calls.
/// </summary>
internal static class LoaderTokenizers
{
    public static ITokenizer FromSpec(TokenizerSpec spec) => TokenizerFactory.FromSpec(spec);

    public static ITokenizer FromHuggingFaceFolder(string folder) => TokenizerFactory.FromHuggingFaceFolder(folder);

    public static ITokenizer Gpt2() => TokenizerFactory.Gpt2();

    public static TokenizerSpec SyntheticByteLevelBpe(int vocabSize)
    {
        var tokens = new List<string>();
        for (int b = 0; b < 256; b++)
        {
            tokens.Add(ByteLevelAlphabet.ByteToChar((byte)b).ToString());
        }

        var merges = new List<string>();
        for (int a = 33; tokens.Count < vocabSize - 1; a++)
        {
            for (int b = 33; b < 127 && tokens.Count < vocabSize - 1; b++)
            {
                merges.Add($"{(char)a} {(char)b}");
                tokens.Add($"{(char)a}{(char)b}");
            }
        }

        tokens.Add("<|endoftext|>");
        var types = Enumerable.Repeat(1, tokens.Count).ToArray();
        types[^1] = 3;
        return new TokenizerSpec("gpt2", tokens, null, types, merges, vocabSize - 1, [vocabSize - 1], false, "gpt-2");
    }

    public static string TokenizerJson(TokenizerSpec spec) => throw new NotSupportedException("tokenizer json writer not wired yet");
}
