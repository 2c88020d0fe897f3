using System.Globalization;
using System.Text.Json;
using Folio.Contracts;
using StreamEntry = Folio.Client.StreamEntry;

namespace Folio.Gateway.OpenAi;

/// <summary>usage from a done entry: prompt_tokens, completion_tokens, total_tokens and the cached part of the prompt.</summary>
public readonly record struct Usage(int PromptTokens, int CompletionTokens, int CachedTokens)
{
    public static Usage From(StreamEntry done)
    {
        static int Int(StreamEntry e, string f) => int.TryParse(e.Get(f), NumberStyles.Integer, CultureInfo.InvariantCulture, out int v) ? v : 0;
        return new Usage(Int(done, StreamFields.PromptTokens), Int(done, StreamFields.CompletionTokens), Int(done, StreamFields.CachedTokens));
    }

    public void Write(Utf8JsonWriter w)
    {
        w.WriteStartObject("usage");
        w.WriteNumber("prompt_tokens", PromptTokens);
        w.WriteNumber("completion_tokens", CompletionTokens);
        w.WriteNumber("total_tokens", PromptTokens + CompletionTokens);
        w.WriteStartObject("prompt_tokens_details");
        w.WriteNumber("cached_tokens", CachedTokens);
        w.WriteEndObject();
        w.WriteEndObject();
    }

    /// <summary>OpenAI's finish_reason for the contract's: stop and length as they are; abort (cancelled elsewhere) reads as stop, since OpenAI's clients know no other value.</summary>
    public static string FinishReason(StreamEntry done) => done.FinishReason == FinishReasons.Length ? "length" : "stop";
}
