namespace Folio.Client;

/// <summary>A request ended with an <c>error</c> entry (docs/contract.md section 2): <see cref="Code"/> is the contract's code.</summary>
public sealed class FolioRequestException : Exception
{
    public FolioRequestException(string requestId, string code, string message)
        : base($"Folio request {requestId} failed ({code}): {message}")
    {
        RequestId = requestId;
        Code = code;
        WorkerMessage = message;
    }

    public string RequestId { get; }

    /// <summary>invalid_request, prompt_too_long, unsupported, internal, model_not_found, deadline_exceeded, ...</summary>
    public string Code { get; }

    /// <summary>The worker's message, in words a user can act on.</summary>
    public string WorkerMessage { get; }
}
