using System.Buffers;
using System.IO.Pipelines;
using System.Text.Json;
using Folio.Gateway.OpenAi;

namespace Folio.Gateway.Serving;

/// <summary>
/// Server-sent events straight into the response pipe: <c>id: N</c> (the token index, so a client can
/// resume with Last-Event-ID), <c>data: JSON</c>, a blank line; <c>data: [DONE]</c> at the end, as
/// OpenAI sends it. One JSON writer is reused for every event; nothing is sent until
/// <see cref="FlushAsync"/>, which the caller does only when no further entry is waiting.
/// </summary>
public sealed class SseWriter(PipeWriter pipe) : IDisposable
{
    private readonly Utf8JsonWriter _json = new(pipe, OpenAiJson.WriterOptions);

    /// <summary>Starts an event; write one JSON value to <see cref="Json"/>, then call <see cref="EndEvent"/>.</summary>
    public Utf8JsonWriter BeginEvent(int? id)
    {
        if (id is { } n)
        {
            pipe.Write("id: "u8);
            var span = pipe.GetSpan(11);
            n.TryFormat(span, out int written, default, System.Globalization.CultureInfo.InvariantCulture);
            pipe.Advance(written);
            pipe.Write("\n"u8);
        }

        pipe.Write("data: "u8);
        _json.Reset(pipe);
        return _json;
    }

    public void EndEvent()
    {
        _json.Flush();
        pipe.Write("\n\n"u8);
    }

    public void Done() => pipe.Write("data: [DONE]\n\n"u8);

    public async ValueTask FlushAsync(CancellationToken ct) => await pipe.FlushAsync(ct).ConfigureAwait(false);

    public void Dispose() => _json.Dispose();
}
