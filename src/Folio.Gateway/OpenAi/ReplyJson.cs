using System.Text.Json;
using StreamEntry = Folio.Client.StreamEntry;

namespace Folio.Gateway.OpenAi;

/// <summary>
/// OpenAI's reply objects for one request: chat.completion / chat.completion.chunk and
/// text_completion (whole and streamed), written straight into a Utf8JsonWriter.
/// </summary>
public sealed class ReplyJson(TranslatedRequest request, long created)
{
    private bool Chat => request.Kind == CompletionKind.Chat;

    public bool IsChat => Chat;

    private void Header(Utf8JsonWriter w, bool chunk)
    {
        w.WriteString("id", request.RequestId);
        w.WriteString("object", Chat ? (chunk ? "chat.completion.chunk" : "chat.completion") : "text_completion");
        w.WriteNumber("created", created);
        w.WriteString("model", request.Model);
        w.WriteString("system_fingerprint", "folio");
    }

    /// <summary>The first chunk of a chat stream: the assistant role, no content yet.</summary>
    public void RoleChunk(Utf8JsonWriter w)
    {
        w.WriteStartObject();
        Header(w, chunk: true);
        w.WriteStartArray("choices");
        w.WriteStartObject();
        w.WriteNumber("index", 0);
        w.WriteStartObject("delta");
        w.WriteString("role", "assistant");
        w.WriteString("content", string.Empty);
        w.WriteEndObject();
        w.WriteNull("logprobs");
        w.WriteNull("finish_reason");
        w.WriteEndObject();
        w.WriteEndArray();
        NullUsage(w);
        w.WriteEndObject();
    }

    /// <summary>A chunk carrying one token's text (and its logprobs when asked for).</summary>
    /// <param name="textOffset">Characters of completion text before this token (completions' text_offset).</param>
    public void TokenChunk(Utf8JsonWriter w, StreamEntry token, int textOffset)
    {
        w.WriteStartObject();
        Header(w, chunk: true);
        w.WriteStartArray("choices");
        w.WriteStartObject();
        w.WriteNumber("index", 0);
        string text = token.Text ?? string.Empty;
        if (Chat)
        {
            w.WriteStartObject("delta");
            w.WriteString("content", text);
            w.WriteEndObject();
        }
        else
        {
            w.WriteString("text", text);
        }

        if (request.Logprobs && TokenLogprobs.From(token) is { } lp)
        {
            if (Chat)
            {
                w.WriteStartObject("logprobs");
                w.WriteStartArray("content");
                lp.WriteChat(w, request.TopLogprobs);
                w.WriteEndArray();
                w.WriteEndObject();
            }
            else
            {
                w.WritePropertyName("logprobs");
                TokenLogprobs.WriteCompletion(w, [lp], request.TopLogprobs, textOffset);
            }
        }
        else
        {
            w.WriteNull("logprobs");
        }

        w.WriteNull("finish_reason");
        w.WriteEndObject();
        w.WriteEndArray();
        NullUsage(w);
        w.WriteEndObject();
    }

    /// <summary>The chunk that closes the choice: empty delta (or text) and the finish reason.</summary>
    public void FinishChunk(Utf8JsonWriter w, StreamEntry done)
    {
        w.WriteStartObject();
        Header(w, chunk: true);
        w.WriteStartArray("choices");
        w.WriteStartObject();
        w.WriteNumber("index", 0);
        if (Chat)
        {
            w.WriteStartObject("delta");
            w.WriteEndObject();
        }
        else
        {
            w.WriteString("text", string.Empty);
        }

        w.WriteNull("logprobs");
        w.WriteString("finish_reason", Usage.FinishReason(done));
        w.WriteEndObject();
        w.WriteEndArray();
        NullUsage(w);
        w.WriteEndObject();
    }

    /// <summary>stream_options.include_usage: the last chunk, with no choices and the usage.</summary>
    public void UsageChunk(Utf8JsonWriter w, StreamEntry done)
    {
        w.WriteStartObject();
        Header(w, chunk: true);
        w.WriteStartArray("choices");
        w.WriteEndArray();
        Usage.From(done).Write(w);
        w.WriteEndObject();
    }

    private void NullUsage(Utf8JsonWriter w)
    {
        if (request.IncludeUsage)
        {
            w.WriteNull("usage");
        }
    }

    /// <summary>A whole (non-streamed) reply.</summary>
    public void Complete(Utf8JsonWriter w, StreamEntry done, string text, IReadOnlyList<TokenLogprobs> logprobs)
    {
        w.WriteStartObject();
        Header(w, chunk: false);
        w.WriteStartArray("choices");
        w.WriteStartObject();
        w.WriteNumber("index", 0);
        if (Chat)
        {
            w.WriteStartObject("message");
            w.WriteString("role", "assistant");
            w.WriteString("content", text);
            w.WriteNull("refusal");
            w.WriteEndObject();
        }
        else
        {
            w.WriteString("text", text);
        }

        if (request.Logprobs)
        {
            if (Chat)
            {
                w.WriteStartObject("logprobs");
                w.WriteStartArray("content");
                foreach (var lp in logprobs)
                {
                    lp.WriteChat(w, request.TopLogprobs);
                }

                w.WriteEndArray();
                w.WriteNull("refusal");
                w.WriteEndObject();
            }
            else
            {
                w.WritePropertyName("logprobs");
                TokenLogprobs.WriteCompletion(w, logprobs, request.TopLogprobs, 0);
            }
        }
        else
        {
            w.WriteNull("logprobs");
        }

        w.WriteString("finish_reason", Usage.FinishReason(done));
        w.WriteEndObject();
        w.WriteEndArray();
        Usage.From(done).Write(w);
        w.WriteEndObject();
    }
}
