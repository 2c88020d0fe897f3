using Folio.Engine.Tokenization;

namespace Folio.Engine.Loading;

/// <summary>
/// The loaders' single door to the tokenizer subsystem (Folio.Engine.Tokenization), so that the
/// loaders depend on a handful of calls only: a tokenizer from a GGUF-style spec, from a Hugging Face
/// folder, GPT-2 for the demo model, the synthetic vocabularies of test models, and tokenizer.json.
/// </summary>
internal static class LoaderTokenizers
{
    public static ITokenizer FromSpec(TokenizerSpec spec) => TokenizerFactory.FromSpec(spec);

    public static ITokenizer FromHuggingFaceFolder(string folder) => TokenizerFactory.FromHuggingFaceFolder(folder);

    public static ITokenizer Gpt2() => TokenizerFactory.Gpt2();

    public static TokenizerSpec SyntheticByteLevelBpe(int vocabSize) => SyntheticTokenizers.ByteLevelBpe(vocabSize);

    public static TokenizerSpec SyntheticSentencePiece(int vocabSize) => SyntheticTokenizers.SentencePieceBpe(vocabSize);

    /// <summary>Writes tokenizer.json and tokenizer_config.json into a model folder.</summary>
    public static void WriteHuggingFaceFiles(TokenizerSpec spec, string folder) => TokenizerJsonWriter.WriteFolder(spec, folder);
}
