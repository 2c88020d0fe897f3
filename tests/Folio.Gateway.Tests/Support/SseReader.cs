using System.Text;
using System.Text.Json;

namespace Folio.Gateway.Tests.Support;

/// <summary>One server-sent event: its id line (if any) and its data.</summary>
public sealed record SseEvent(string? Id, string Data)
{
    public bool IsDone => Data == "[DONE]";

    public JsonElement Json => JsonDocument.Parse(Data).RootElement;
}

/// <summary>Reads SSE events from a response stream as they arrive (a test's own parser, independent of the gateway's writer).</summary>
public sealed class SseReader(Stream stream) : IDisposable
{
    private readonly StreamReader _reader = new(stream, Encoding.UTF8);

    public void Dispose() => _reader.Dispose();

    public async Task<SseEvent?> NextAsync(CancellationToken ct = default)
    {
        string? id = null;
        var data = new StringBuilder();
        while (true)
        {
            string? line = await _reader.ReadLineAsync(ct);
            if (line is null)
            {
                return data.Length > 0 ? new SseEvent(id, data.ToString()) : null;
            }

            if (line.Length == 0)
            {
                if (data.Length > 0)
                {
                    return new SseEvent(id, data.ToString());
                }

                continue;
            }

            if (line.StartsWith("id: ", StringComparison.Ordinal))
            {
                id = line[4..];
            }
            else if (line.StartsWith("data: ", StringComparison.Ordinal))
            {
                data.Append(line[6..]);
            }
        }
    }
}
