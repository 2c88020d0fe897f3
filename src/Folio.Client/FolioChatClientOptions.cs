namespace Folio.Client;

/// <summary>How <see cref="FolioChatClient"/> names and sizes the requests it publishes.</summary>
public sealed class FolioChatClientOptions
{
    /// <summary>Makes the request_id of each call (the name of its output stream); a new GUID-based id by default.</summary>
    public Func<string> RequestIdFactory { get; set; } = () => "chat-" + Guid.NewGuid().ToString("N");

    /// <summary>max_tokens when <c>ChatOptions.MaxOutputTokens</c> is not set; null leaves it to the worker (the contract's default, 16).</summary>
    public int? DefaultMaxOutputTokens { get; set; } = 256;

    /// <summary>The model name reported in metadata and responses when a call names none.</summary>
    public string? DefaultModelId { get; set; }

    /// <summary>Publish a cancel for the request when the caller's token is cancelled mid-stream, so the worker stops generating.</summary>
    public bool CancelOnAbandon { get; set; } = true;
}
