namespace Folio.Gateway.OpenAi;

/// <summary>Which OpenAI endpoint a request came to: it decides the input field and every reply shape.</summary>
public enum CompletionKind
{
    /// <summary>POST /v1/chat/completions: messages in, chat.completion(.chunk) out.</summary>
    Chat,

    /// <summary>POST /v1/completions: prompt in, text_completion out.</summary>
    Text,
}

/// <summary>An OpenAI request after translation: the contract request to publish and how to shape the reply.</summary>
public sealed class TranslatedRequest
{
    public required CompletionKind Kind { get; init; }

    /// <summary>The contract request_id; also the reply's id.</summary>
    public required string RequestId { get; init; }

    /// <summary>The contract request (docs/contract.md), UTF-8 JSON, ready to publish.</summary>
    public required byte[] ContractJson { get; init; }

    /// <summary>The model the client named (echoed in replies); empty when it named none.</summary>
    public required string Model { get; init; }

    public bool Stream { get; init; }

    /// <summary>stream_options.include_usage: a last chunk with usage and no choices.</summary>
    public bool IncludeUsage { get; init; }

    /// <summary>Whether replies carry logprobs (chat: logprobs true; completions: logprobs given).</summary>
    public bool Logprobs { get; init; }

    /// <summary>Alternatives per token in logprobs (chat: top_logprobs; completions: logprobs).</summary>
    public int TopLogprobs { get; init; }

    /// <summary>The field that holds the prompt, for errors about it.</summary>
    public string PromptParam => Kind == CompletionKind.Chat ? "messages" : "prompt";
}
