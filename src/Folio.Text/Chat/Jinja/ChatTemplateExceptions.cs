namespace Folio.Text.Chat.Jinja;

/// <summary>A chat template could not be rendered. The worker maps the subclasses to contract error codes.</summary>
public abstract class ChatTemplateException : Exception
{
    protected ChatTemplateException(string message, Exception? inner = null)
        : base(message, inner)
    {
    }
}

/// <summary>
/// The template uses a construct the renderer lacks, is not valid Jinja, fails while rendering
/// (a type error, an unknown filter), or exceeds a sandbox limit: the contract's <c>unsupported</c>.
/// </summary>
public sealed class ChatTemplateUnsupportedException : ChatTemplateException
{
    public ChatTemplateUnsupportedException(string construct, string message, Exception? inner = null)
        : base(message, inner)
    {
        Construct = construct;
    }

    /// <summary>The construct, filter, test, method or limit at fault (e.g. "filter 'wordwrap'", "limit: loop iterations").</summary>
    public string Construct { get; }
}

/// <summary>The template called raise_exception(message): the request is at fault, the contract's <c>invalid_request</c>.</summary>
public sealed class ChatTemplateRaisedException : ChatTemplateException
{
    public ChatTemplateRaisedException(string templateMessage)
        : base(templateMessage)
    {
        TemplateMessage = templateMessage;
    }

    /// <summary>The template's own message, as it passed it to raise_exception.</summary>
    public string TemplateMessage { get; }
}
