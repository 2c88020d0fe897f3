using System.Globalization;
using System.Runtime.CompilerServices;
using Folio.Contracts;
using Microsoft.Extensions.AI;

namespace Folio.Client;

/// <summary>
/// Microsoft.Extensions.AI's <see cref="IChatClient"/> over the queue: each call publishes one chat
/// request (docs/contract.md section 6.1) and reads its Redis stream. Streaming yields one update
/// per token entry that adds text, then a last update with the finish reason and usage; an error
/// entry becomes a <see cref="FolioRequestException"/> carrying the contract's code. Cancelling the
/// token mid-stream publishes a cancel, so the worker stops too. Tool calls are not parsed out of the
/// model's text: the reply is the text the model wrote.
/// </summary>
public sealed class FolioChatClient : IChatClient
{
    private readonly FolioClient _client;
    private readonly bool _ownsClient;

    public FolioChatClient(FolioClient client, FolioChatClientOptions? options = null, bool ownsClient = false)
    {
        ArgumentNullException.ThrowIfNull(client);
        _client = client;
        _ownsClient = ownsClient;
        Options = options ?? new FolioChatClientOptions();
        Metadata = new ChatClientMetadata("folio", null, Options.DefaultModelId);
    }

    public FolioChatClientOptions Options { get; }

    public ChatClientMetadata Metadata { get; }

    public async Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default)
    {
        var updates = new List<ChatResponseUpdate>();
        await foreach (var update in GetStreamingResponseAsync(messages, options, cancellationToken).ConfigureAwait(false))
        {
            updates.Add(update);
        }

        var done = updates[^1];
        var text = done.AdditionalProperties?.TryGetValue(DoneTextKey, out var t) == true ? t as string : null;
        return new ChatResponse(new ChatMessage(ChatRole.Assistant, text ?? string.Concat(updates.Select(u => u.Text))) { MessageId = done.MessageId })
        {
            ResponseId = done.ResponseId,
            ModelId = done.ModelId,
            FinishReason = done.FinishReason,
            CreatedAt = done.CreatedAt,
            Usage = done.Contents.OfType<UsageContent>().FirstOrDefault()?.Details,
            AdditionalProperties = done.AdditionalProperties,
        };
    }

    public async IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var requestId = Options.RequestIdFactory();
        var body = ChatRequestWriter.Write(requestId, messages, options, Options);
        await _client.SubmitRawAsync(requestId, body, cancellationToken).ConfigureAwait(false);
        var modelId = options?.ModelId ?? Options.DefaultModelId;
        var finished = false;
        try
        {
            await foreach (var entry in _client.StreamAsync(requestId, cancellationToken: cancellationToken).ConfigureAwait(false))
            {
                switch (entry.Type)
                {
                    case EntryTypes.Token when !string.IsNullOrEmpty(entry.Text):
                        yield return new ChatResponseUpdate(ChatRole.Assistant, entry.Text) { ResponseId = requestId, MessageId = requestId, ModelId = modelId };
                        break;
                    case EntryTypes.Done:
                        finished = true;
                        yield return DoneUpdate(requestId, modelId, entry);
                        yield break;
                    case EntryTypes.Error:
                        finished = true;
                        throw new FolioRequestException(requestId, entry.ErrorCode ?? "internal", entry.ErrorMessage ?? string.Empty);
                }
            }
        }
        finally
        {
            if (!finished && Options.CancelOnAbandon)
            {
                // The caller stopped reading (cancelled or broke off): stop the generation too.
                await _client.CancelAsync(requestId, CancellationToken.None).ConfigureAwait(false);
            }
        }
    }

    /// <summary>The key under which the done entry's full text rides on the last update (the deltas concatenate to it).</summary>
    internal const string DoneTextKey = "folio.text";

    private static ChatResponseUpdate DoneUpdate(string requestId, string? modelId, StreamEntry done)
    {
        var usage = new UsageDetails
        {
            InputTokenCount = Long(done, StreamFields.PromptTokens),
            OutputTokenCount = Long(done, StreamFields.CompletionTokens),
            CachedInputTokenCount = Long(done, StreamFields.CachedTokens),
        };
        usage.TotalTokenCount = usage.InputTokenCount + usage.OutputTokenCount;
        return new ChatResponseUpdate(ChatRole.Assistant, [new UsageContent(usage)])
        {
            ResponseId = requestId,
            MessageId = requestId,
            ModelId = modelId,
            CreatedAt = DateTimeOffset.UtcNow,
            FinishReason = done.FinishReason switch
            {
                "stop" => ChatFinishReason.Stop,
                "length" => ChatFinishReason.Length,
                { Length: > 0 } other => new ChatFinishReason(other),
                _ => null,
            },
            AdditionalProperties = new AdditionalPropertiesDictionary
            {
                [DoneTextKey] = done.Text ?? string.Empty,
                ["folio.stop_reason"] = done.Get(StreamFields.StopReason) ?? string.Empty,
            },
        };
    }

    private static long? Long(StreamEntry entry, string field) =>
        entry.Get(field) is { } s && long.TryParse(s, NumberStyles.Integer, CultureInfo.InvariantCulture, out var v) ? v : null;

    public object? GetService(Type serviceType, object? serviceKey = null)
    {
        ArgumentNullException.ThrowIfNull(serviceType);
        if (serviceKey is not null)
        {
            return null;
        }

        if (serviceType == typeof(ChatClientMetadata))
        {
            return Metadata;
        }

        if (serviceType.IsInstanceOfType(this))
        {
            return this;
        }

        return serviceType.IsInstanceOfType(_client) ? _client : null;
    }

    public void Dispose()
    {
        if (_ownsClient)
        {
            _client.DisposeAsync().AsTask().GetAwaiter().GetResult();
        }
    }
}
