using Folio.Text.Chat.Jinja;

namespace Folio.Text.Chat;

/// <summary>What special-token text inside a request's content becomes (the worker's Folio:Model:ContentSpecialTokens).</summary>
public enum ContentSpecialTokens
{
    /// <summary>As Hugging Face and vLLM do: "&lt;|im_start|&gt;" typed in content becomes the control token.</summary>
    Parse,

    /// <summary>
    /// Special-token text from the request (message content, names, tool calls, tools, kwargs) is
    /// encoded as ordinary text and cannot open a turn; the template's own special tokens stay special.
    /// </summary>
    Plain,
}

/// <summary>How <see cref="ChatPromptBuilder"/> renders and tokenizes.</summary>
public sealed record ChatPromptOptions
{
    public ContentSpecialTokens ContentSpecialTokens { get; init; } = ContentSpecialTokens.Parse;

    /// <summary>The sandbox's bounds for one render (output size, loop iterations, call depth, time).</summary>
    public TemplateLimits Limits { get; init; } = TemplateLimits.Default;

    /// <summary>The clock strftime_now reads (tests pin it); null is the local time, as transformers uses.</summary>
    public Func<DateTimeOffset>? Clock { get; init; }
}

/// <summary>A rendered chat prompt: the text the template wrote and its token ids (no BOS added: the template writes it).</summary>
public sealed record ChatPrompt(string Text, int[] TokenIds, string TemplateName);
