using System.Text.Json;

namespace Folio.Contracts;

/// <summary>Writes a request as the JSON of docs/contract.md section 1 (fields at their defaults are left out).</summary>
public static class RequestSerializer
{
    public static byte[] ToUtf8Json(GenerationRequest r)
    {
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            w.WriteString("request_id", r.RequestId);
            if (r.Prompt is not null)
            {
                w.WriteString("prompt", r.Prompt);
            }

            if (r.PromptTokenIds is not null)
            {
                w.WriteStartArray("prompt_token_ids");
                foreach (int t in r.PromptTokenIds)
                {
                    w.WriteNumberValue(t);
                }

                w.WriteEndArray();
            }

            w.WriteNumber("max_tokens", r.MaxTokens);
            if (r.MinTokens != RequestDefaults.MinTokens) w.WriteNumber("min_tokens", r.MinTokens);
            if (r.Temperature != RequestDefaults.Temperature) w.WriteNumber("temperature", r.Temperature);
            if (r.TopP != RequestDefaults.TopP) w.WriteNumber("top_p", r.TopP);
            if (r.TopK != RequestDefaults.TopK) w.WriteNumber("top_k", r.TopK);
            if (r.MinP != RequestDefaults.MinP) w.WriteNumber("min_p", r.MinP);
            if (r.RepetitionPenalty != RequestDefaults.RepetitionPenalty) w.WriteNumber("repetition_penalty", r.RepetitionPenalty);
            if (r.PresencePenalty != RequestDefaults.PresencePenalty) w.WriteNumber("presence_penalty", r.PresencePenalty);
            if (r.FrequencyPenalty != RequestDefaults.FrequencyPenalty) w.WriteNumber("frequency_penalty", r.FrequencyPenalty);
            if (r.Seed is { } seed) w.WriteNumber("seed", seed);
            if (r.Stop.Count > 0)
            {
                w.WriteStartArray("stop");
                foreach (var s in r.Stop)
                {
                    w.WriteStringValue(s);
                }

                w.WriteEndArray();
            }

            if (r.StopTokenIds.Count > 0)
            {
                w.WriteStartArray("stop_token_ids");
                foreach (int t in r.StopTokenIds)
                {
                    w.WriteNumberValue(t);
                }

                w.WriteEndArray();
            }

            if (r.IgnoreEos) w.WriteBoolean("ignore_eos", true);
            if (r.IncludeStopStrInOutput) w.WriteBoolean("include_stop_str_in_output", true);
            if (r.Logprobs is { } lp) w.WriteNumber("logprobs", lp);
            if (r.Priority != RequestDefaults.Priority) w.WriteNumber("priority", r.Priority);
            w.WriteEndObject();
        }

        return buffer.ToArray();
    }
}
