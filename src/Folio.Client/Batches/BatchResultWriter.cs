using System.Globalization;
using System.Text.Json;
using Folio.Contracts;

namespace Folio.Client.Batches;

/// <summary>
/// One line of the OpenAI batch output format per request: <c>{id, custom_id, response: {status_code,
/// request_id, body}, error: null}</c> with the body in the <c>text_completion</c> or
/// <c>chat.completion</c> shape, or <c>{id, custom_id, response: null, error: {code, message}}</c> for
/// an <c>error</c> entry and for a request that ended with abort (cancelled, or its deadline passed).
/// </summary>
public static class BatchResultWriter
{
    /// <summary>The JSON line (without newline) for a request whose stream ended with <paramref name="terminal"/>.</summary>
    public static string Line(BatchMember member, StreamEntry terminal)
    {
        ArgumentNullException.ThrowIfNull(member);
        ArgumentNullException.ThrowIfNull(terminal);
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            w.WriteString("id", "batch_req_" + member.RequestId);
            w.WriteString("custom_id", member.CustomId);
            if (terminal.Type == EntryTypes.Done && terminal.FinishReason != FinishReasons.Abort)
            {
                w.WriteStartObject("response");
                w.WriteNumber("status_code", 200);
                w.WriteString("request_id", member.RequestId);
                w.WritePropertyName("body");
                WriteBody(w, member, terminal);
                w.WriteEndObject();
                w.WriteNull("error");
            }
            else
            {
                w.WriteNull("response");
                w.WriteStartObject("error");
                if (terminal.Type == EntryTypes.Done)
                {
                    bool deadline = terminal.Get(StreamFields.StopReason) == StopReasons.Deadline;
                    w.WriteString("code", deadline ? ErrorCodes.DeadlineExceeded : "cancelled");
                    w.WriteString("message", deadline ? "deadline_ms passed while the request ran; the partial text is in its stream" : "the request was cancelled (folio batch cancel); the partial text is in its stream");
                }
                else
                {
                    w.WriteString("code", terminal.ErrorCode);
                    w.WriteString("message", terminal.ErrorMessage);
                }

                w.WriteEndObject();
            }

            w.WriteEndObject();
        }

        return System.Text.Encoding.UTF8.GetString(buffer.ToArray());
    }

    private static void WriteBody(Utf8JsonWriter w, BatchMember member, StreamEntry done)
    {
        bool chat = member.Endpoint == BatchEndpoint.ChatCompletions;
        int prompt = Int(done, StreamFields.PromptTokens);
        int completion = Int(done, StreamFields.CompletionTokens);
        w.WriteStartObject();
        w.WriteString("id", (chat ? "chatcmpl-" : "cmpl-") + member.RequestId);
        w.WriteString("object", chat ? "chat.completion" : "text_completion");
        w.WriteNumber("created", CreatedSeconds(done.Id));
        w.WriteString("model", member.Model ?? "folio");
        w.WriteStartArray("choices");
        w.WriteStartObject();
        w.WriteNumber("index", 0);
        if (chat)
        {
            w.WriteStartObject("message");
            w.WriteString("role", "assistant");
            w.WriteString("content", done.Text);
            w.WriteEndObject();
        }
        else
        {
            w.WriteString("text", done.Text);
        }

        w.WriteNull("logprobs");
        w.WriteString("finish_reason", done.FinishReason);
        w.WriteEndObject();
        w.WriteEndArray();
        w.WriteStartObject("usage");
        w.WriteNumber("prompt_tokens", prompt);
        w.WriteNumber("completion_tokens", completion);
        w.WriteNumber("total_tokens", prompt + completion);
        w.WriteEndObject();
        w.WriteEndObject();
    }

    /// <summary>The terminal entry's time (its stream id is milliseconds-sequence), so collecting twice writes the same line.</summary>
    private static long CreatedSeconds(string entryId)
    {
        int dash = entryId.IndexOf('-', StringComparison.Ordinal);
        return long.TryParse(dash < 0 ? entryId : entryId[..dash], NumberStyles.Integer, CultureInfo.InvariantCulture, out long ms) ? ms / 1000 : 0;
    }

    private static int Int(StreamEntry e, string field) => int.TryParse(e.Get(field), NumberStyles.Integer, CultureInfo.InvariantCulture, out int v) ? v : 0;
}
