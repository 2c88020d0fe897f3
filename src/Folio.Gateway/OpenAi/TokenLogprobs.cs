using System.Globalization;
using System.Text;
using System.Text.Json;
using Folio.Contracts;
using StreamEntry = Folio.Client.StreamEntry;

namespace Folio.Gateway.OpenAi;

/// <summary>One token's logprobs as the stream carries them: the sampled token's, and the top alternatives in rank order.</summary>
public sealed record TokenLogprobs(string Token, double Logprob, IReadOnlyList<(string Token, double Logprob)> Top)
{
    /// <summary>From a token entry's <c>logprob</c> and <c>top_logprobs</c> fields; null when it has none.</summary>
    public static TokenLogprobs? From(StreamEntry token)
    {
        if (token.Get(StreamFields.Logprob) is not { Length: > 0 } lp || !double.TryParse(lp, NumberStyles.Float, CultureInfo.InvariantCulture, out double logprob))
        {
            return null;
        }

        var top = new List<(string, double)>();
        if (token.Get(StreamFields.TopLogprobs) is { Length: > 0 } json)
        {
            using var doc = JsonDocument.Parse(json);
            foreach (var p in doc.RootElement.EnumerateObject())
            {
                top.Add((p.Name, p.Value.GetDouble()));
            }
        }

        return new TokenLogprobs(token.Text ?? string.Empty, logprob, top);
    }

    /// <summary>Chat's per-token object: {token, logprob, bytes, top_logprobs: [{token, logprob, bytes}]}.</summary>
    public void WriteChat(Utf8JsonWriter w, int topCount)
    {
        w.WriteStartObject();
        WriteTokenFields(w, Token, Logprob);
        w.WriteStartArray("top_logprobs");
        foreach (var (t, l) in Top.Take(topCount))
        {
            w.WriteStartObject();
            WriteTokenFields(w, t, l);
            w.WriteEndObject();
        }

        w.WriteEndArray();
        w.WriteEndObject();
    }

    private static void WriteTokenFields(Utf8JsonWriter w, string token, double logprob)
    {
        w.WriteString("token", token);
        w.WriteNumber("logprob", logprob);
        w.WriteStartArray("bytes");
        foreach (byte b in Encoding.UTF8.GetBytes(token))
        {
            w.WriteNumberValue(b);
        }

        w.WriteEndArray();
    }

    /// <summary>Completions' legacy shape for a run of tokens: {tokens, token_logprobs, top_logprobs: [{text: logprob}], text_offset}.</summary>
    public static void WriteCompletion(Utf8JsonWriter w, IReadOnlyList<TokenLogprobs> tokens, int topCount, int firstOffset)
    {
        w.WriteStartObject();
        w.WriteStartArray("tokens");
        foreach (var t in tokens)
        {
            w.WriteStringValue(t.Token);
        }

        w.WriteEndArray();
        w.WriteStartArray("token_logprobs");
        foreach (var t in tokens)
        {
            w.WriteNumberValue(t.Logprob);
        }

        w.WriteEndArray();
        w.WriteStartArray("top_logprobs");
        foreach (var t in tokens)
        {
            w.WriteStartObject();
            foreach (var (text, l) in t.Top.Take(topCount))
            {
                w.WriteNumber(text, l);
            }

            w.WriteEndObject();
        }

        w.WriteEndArray();
        w.WriteStartArray("text_offset");
        int offset = firstOffset;
        foreach (var t in tokens)
        {
            w.WriteNumberValue(offset);
            offset += t.Token.Length;
        }

        w.WriteEndArray();
        w.WriteEndObject();
    }
}
