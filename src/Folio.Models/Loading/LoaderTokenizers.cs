using Folio.Text.Chat;
using Folio.Text.Tokenization;

namespace Folio.Models.Loading;

/// <summary>
/// The loaders' single door to the tokenizer subsystem (Folio.Text): a tokenizer from a GGUF-style
/// spec, from a Hugging Face folder, or GPT-2 for the demo model. A tokenizer that cannot be built
/// becomes a <see cref="ModelFormatException"/> naming the model, like every other load error.
/// </summary>
internal static class LoaderTokenizers
{
    public static ITokenizer FromSpec(string source, TokenizerSpec spec) => Guard(source, () => TokenizerFactory.FromSpec(spec));

    public static ITokenizer FromHuggingFaceFolder(string folder) => Guard(folder, () => TokenizerFactory.FromHuggingFaceFolder(folder));

    public static ITokenizer Gpt2() => TokenizerFactory.Gpt2();

    /// <summary>The folder's chat template (see <see cref="ChatTemplateSources"/>), or null when it has none.</summary>
    public static ChatTemplate? HuggingFaceChatTemplate(string folder) => Guard(folder, () => ChatTemplateSources.FromHuggingFaceFolder(folder));

    public static SpecialTokenStrings HuggingFaceSpecialTokens(string folder) => Guard(folder, () => ChatTemplateSources.ReadHuggingFaceSpecialTokens(folder));

    private static T Guard<T>(string source, Func<T> build)
    {
        try
        {
            return build();
        }
        catch (TokenizerFormatException e)
        {
            throw new ModelFormatException(e.Message.Contains(source, StringComparison.Ordinal) ? e.Message : $"{source}: {e.Message}", e);
        }
    }
}
