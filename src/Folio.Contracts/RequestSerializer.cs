using System.Text.Json;

namespace Folio.Contracts;

/// <summary>Writes a request as the JSON of docs/contract.md sections 1 and 6 (fields at their defaults are left out).</summary>
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
            if (r.Chat is { } chat)
            {
                WriteChat(w, chat);
            }

            if (r.Constraint is { } constraint)
            {
                WriteConstraint(w, constraint);
            }

            if (r.Model is { } model) w.WriteString("model", model);
            if (r.DeadlineMs is { } deadline) w.WriteNumber("deadline_ms", deadline);
            if (r.BatchId is { } batch) w.WriteString("batch_id", batch);
            if (r.CustomId is { } custom) w.WriteString("custom_id", custom);

            w.WriteEndObject();
        }

        return buffer.ToArray();
    }

    private static void WriteChat(Utf8JsonWriter w, ChatRequest chat)
    {
        w.WritePropertyName("messages");
        w.WriteRawValue(chat.MessagesJson);
        if (chat.ToolsJson is { } tools)
        {
            w.WritePropertyName("tools");
            w.WriteRawValue(tools);
        }

        if (chat.ContinueFinalMessage)
        {
            w.WriteBoolean("continue_final_message", true);
        }

        if (!chat.AddGenerationPrompt && !chat.ContinueFinalMessage)
        {
            w.WriteBoolean("add_generation_prompt", false);
        }

        if (chat.TemplateKwargsJson is { } kwargs)
        {
            w.WritePropertyName("chat_template_kwargs");
            w.WriteRawValue(kwargs);
        }
    }

    /// <summary>Every constraint as structured_outputs, except json_object, which only response_format names.</summary>
    private static void WriteConstraint(Utf8JsonWriter w, OutputConstraint c)
    {
        if (c.Kind == OutputConstraintKind.JsonObject)
        {
            w.WriteStartObject("response_format");
            w.WriteString("type", "json_object");
            w.WriteEndObject();
            return;
        }

        w.WriteStartObject("structured_outputs");
        switch (c.Kind)
        {
            case OutputConstraintKind.JsonSchema:
                w.WritePropertyName("json");
                w.WriteRawValue(c.Text!);
                break;
            case OutputConstraintKind.Choice:
                w.WriteStartArray("choice");
                foreach (var choice in c.Choices!)
                {
                    w.WriteStringValue(choice);
                }

                w.WriteEndArray();
                break;
            case OutputConstraintKind.Regex:
                w.WriteString("regex", c.Text);
                break;
            default:
                w.WriteString("grammar", c.Text);
                break;
        }

        w.WriteEndObject();
    }
}
