using Folio.Text.Chat.Jinja;

namespace Folio.Text.Chat;

/// <summary>Which contract error code a chat failure is (docs/contract.md section 6.1).</summary>
public enum ChatErrorKind
{
    /// <summary><c>invalid_request</c>: the request is at fault and can be fixed by its sender.</summary>
    InvalidRequest,

    /// <summary><c>unsupported</c>: a valid request this worker or its model cannot serve.</summary>
    Unsupported,
}

/// <summary>A chat request's fields are unusable: the message names the field (messages[2].role, tools, ...).</summary>
public sealed class ChatRequestException : Exception
{
    public ChatRequestException(ChatErrorKind kind, string field, string message)
        : base(message)
    {
        Kind = kind;
        Field = field;
    }

    public ChatErrorKind Kind { get; }

    /// <summary>The request field at fault, as a JSON path (messages[2].content[0].type).</summary>
    public string Field { get; }
}

/// <summary>The one mapping from chat failures to contract error codes, so the worker, the CLI and tests agree.</summary>
public static class ChatErrors
{
    public const string InvalidRequestCode = "invalid_request";
    public const string UnsupportedCode = "unsupported";

    /// <summary>The kind of a failure <see cref="ChatPromptBuilder"/> or <see cref="ChatRequestJson"/> threw; null for any other exception (an internal error).</summary>
    public static ChatErrorKind? KindOf(Exception exception) => exception switch
    {
        ChatRequestException e => e.Kind,
        ChatTemplateRaisedException => ChatErrorKind.InvalidRequest,
        ChatTemplateUnsupportedException => ChatErrorKind.Unsupported,
        _ => null,
    };

    /// <summary>The message for the request's error entry: what to change, in the user's terms.</summary>
    public static string UserMessage(Exception exception) => exception switch
    {
        ChatTemplateRaisedException raised => "The model's chat template rejected the conversation: " + raised.TemplateMessage,
        _ => exception.Message,
    };

    /// <summary>The contract's error code string for a kind.</summary>
    public static string Code(ChatErrorKind kind) => kind == ChatErrorKind.InvalidRequest ? InvalidRequestCode : UnsupportedCode;
}
