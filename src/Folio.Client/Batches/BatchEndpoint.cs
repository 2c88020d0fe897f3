namespace Folio.Client.Batches;

/// <summary>Which OpenAI endpoint a batch line addresses: it decides the body's shape and the reply's.</summary>
public enum BatchEndpoint
{
    /// <summary><c>/v1/completions</c>: a prompt; replies are <c>text_completion</c> objects.</summary>
    Completions,

    /// <summary><c>/v1/chat/completions</c>: messages; replies are <c>chat.completion</c> objects.</summary>
    ChatCompletions,
}

/// <summary>The URLs of the OpenAI batch input format.</summary>
public static class BatchEndpoints
{
    public const string CompletionsUrl = "/v1/completions";
    public const string ChatCompletionsUrl = "/v1/chat/completions";

    public static BatchEndpoint? FromUrl(string? url) => url switch
    {
        CompletionsUrl => BatchEndpoint.Completions,
        ChatCompletionsUrl => BatchEndpoint.ChatCompletions,
        _ => null,
    };

    public static string Url(BatchEndpoint endpoint) => endpoint == BatchEndpoint.ChatCompletions ? ChatCompletionsUrl : CompletionsUrl;
}
