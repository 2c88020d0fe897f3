using System.Text.Json;
using Folio.Contracts;
using Folio.Gateway.OpenAi;

namespace Folio.Gateway.Tests.Unit;

/// <summary>OpenAI bodies to contract requests, read back with the contract's own parser.</summary>
public sealed class RequestTranslatorTests
{
    private static TranslatedRequest Translate(string json, CompletionKind kind = CompletionKind.Text, long? deadline = null)
    {
        using var doc = JsonDocument.Parse(json);
        return RequestTranslator.Translate(doc.RootElement, kind, "req-1", deadline, 512);
    }

    private static GenerationRequest Contract(TranslatedRequest t) => RequestParser.Parse(t.ContractJson).Request ?? throw new InvalidOperationException("the translated request does not parse");

    private static OpenAiException Refused(string json, CompletionKind kind = CompletionKind.Text) =>
        Assert.Throws<OpenAiException>(() => Translate(json, kind));

    [Fact]
    public void Completion_parameters_map_onto_the_contract_fields()
    {
        var t = Translate("""{"model":"m","prompt":"hello","max_tokens":7,"temperature":0.5,"top_p":0.9,"presence_penalty":0.5,"frequency_penalty":-0.5,"seed":42,"stop":["a","b"],"logprobs":3,"top_k":5,"min_p":0.1,"ignore_eos":true,"user":"ignored","metadata":{"x":1}}""", deadline: 123456);
        var r = Contract(t);
        Assert.Equal("req-1", r.RequestId);
        Assert.Equal("hello", r.Prompt);
        Assert.Equal(7, r.MaxTokens);
        Assert.Equal(0.5, r.Temperature);
        Assert.Equal(0.9, r.TopP);
        Assert.Equal(0.5, r.PresencePenalty);
        Assert.Equal(-0.5, r.FrequencyPenalty);
        Assert.Equal(42, r.Seed);
        Assert.Equal(["a", "b"], r.Stop);
        Assert.Equal(3, r.Logprobs);
        Assert.Equal(5, r.TopK);
        Assert.Equal(0.1, r.MinP);
        Assert.True(r.IgnoreEos);
        Assert.Equal("m", r.Model);
        Assert.Equal(123456, r.DeadlineMs);
        Assert.True(t.Logprobs);
        Assert.Equal(3, t.TopLogprobs);
    }

    [Fact]
    public void Completions_default_to_sixteen_tokens_and_chat_to_the_configured_default()
    {
        Assert.Equal(16, Contract(Translate("""{"model":"m","prompt":"x"}""")).MaxTokens);
        Assert.Equal(512, Contract(Translate("""{"model":"m","messages":[{"role":"user","content":"x"}]}""", CompletionKind.Chat)).MaxTokens);
    }

    [Fact]
    public void Token_id_prompts_become_prompt_token_ids_in_both_array_forms()
    {
        Assert.Equal([1, 2, 3], Contract(Translate("""{"model":"m","prompt":[1,2,3]}""")).PromptTokenIds);
        Assert.Equal([4, 5], Contract(Translate("""{"model":"m","prompt":[[4,5]]}""")).PromptTokenIds);
        Assert.Equal("solo", Contract(Translate("""{"model":"m","prompt":["solo"]}""")).Prompt);
    }

    [Fact]
    public void Chat_maps_max_completion_tokens_logprobs_tools_and_the_developer_role()
    {
        var t = Translate("""{"model":"m","messages":[{"role":"developer","content":"be brief"},{"role":"user","content":"hi"}],"max_completion_tokens":9,"max_tokens":3,"logprobs":true,"top_logprobs":4,"tools":[{"type":"function","function":{"name":"f","parameters":{}}}],"tool_choice":"auto","stream":true,"stream_options":{"include_usage":true}}""", CompletionKind.Chat);
        var r = Contract(t);
        Assert.Equal(9, r.MaxTokens);
        Assert.Equal(4, r.Logprobs);
        Assert.NotNull(r.Chat);
        Assert.Contains("\"system\"", r.Chat!.MessagesJson, StringComparison.Ordinal);
        Assert.DoesNotContain("developer", r.Chat.MessagesJson, StringComparison.Ordinal);
        Assert.NotNull(r.Chat.ToolsJson);
        Assert.True(t.Stream);
        Assert.True(t.IncludeUsage);
        Assert.True(t.Logprobs);
    }

    [Fact]
    public void Tool_choice_none_leaves_the_tools_out()
    {
        var r = Contract(Translate("""{"model":"m","messages":[{"role":"user","content":"hi"}],"tools":[{"type":"function","function":{"name":"f"}}],"tool_choice":"none"}""", CompletionKind.Chat));
        Assert.Null(r.Chat!.ToolsJson);
    }

    [Theory]
    [InlineData("""{"model":"m","prompt":"x","n":2}""", "n", "unsupported")]
    [InlineData("""{"model":"m","prompt":"x","n":0}""", "n", "invalid_value")]
    [InlineData("""{"model":"m","prompt":"x","best_of":3}""", "best_of", "unsupported")]
    [InlineData("""{"model":"m","prompt":"x","echo":true}""", "echo", "unsupported")]
    [InlineData("""{"model":"m","prompt":"x","logit_bias":{"50256":-100}}""", "logit_bias", "unsupported")]
    [InlineData("""{"model":"m","prompt":["a","b"]}""", "prompt", "unsupported")]
    [InlineData("""{"model":"m","prompt":"x","temperature":"hot"}""", "temperature", "invalid_type")]
    [InlineData("""{"model":"m","prompt":"x","max_tokens":1.5}""", "max_tokens", "invalid_type")]
    [InlineData("""{"model":"m","prompt":"x","max_tokens":0}""", "max_tokens", "invalid_value")]
    [InlineData("""{"model":"m","prompt":"x","stream":"yes"}""", "stream", "invalid_type")]
    [InlineData("""{"model":"m","prompt":"x","stream_options":{"include_usage":true}}""", "stream_options", "invalid_value")]
    [InlineData("""{"model":"m","prompt":"x","top_p":7}""", "top_p", "invalid_value")]
    [InlineData("""{"model":"m","prompt":"x","stop":[1]}""", "stop", "invalid_type")]
    [InlineData("""{"model":"m","prompt":"x","logprobs":21}""", "logprobs", "invalid_value")]
    [InlineData("""{"model":"m","prompt":7}""", "prompt", "invalid_type")]
    [InlineData("""{"prompt":"x"}""", "model", "missing_required_parameter")]
    [InlineData("""{"model":"m"}""", "prompt", "missing_required_parameter")]
    public void Invalid_or_unserved_completion_parameters_are_a_400_naming_the_parameter(string json, string param, string code)
    {
        var e = Refused(json);
        Assert.Equal(400, e.Status);
        Assert.Equal(param, e.Param);
        Assert.Equal(code, e.Code);
        Assert.Equal(OpenAiException.InvalidRequestType, e.Type);
    }

    [Theory]
    [InlineData("""{"model":"m","messages":"hi"}""", "messages", "invalid_type")]
    [InlineData("""{"model":"m","messages":[{"role":"user","content":"x"}],"top_logprobs":2}""", "top_logprobs", "invalid_value")]
    [InlineData("""{"model":"m","messages":[{"role":"user","content":"x"}],"tool_choice":"required"}""", "tool_choice", "unsupported")]
    [InlineData("""{"model":"m","messages":[{"role":"wizard","content":"x"}]}""", "messages[0].role", "invalid_value")]
    [InlineData("""{"model":"m","messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"x"}}]}]}""", "messages[0].content[0].type", "unsupported")]
    public void Invalid_chat_parameters_are_a_400_naming_the_parameter(string json, string param, string code)
    {
        var e = Refused(json, CompletionKind.Chat);
        Assert.Equal(400, e.Status);
        Assert.Equal(param, e.Param);
        Assert.Equal(code, e.Code);
    }

    [Fact]
    public void Error_json_has_OpenAIs_shape_with_null_param_and_code_when_absent()
    {
        using var doc = JsonDocument.Parse(new OpenAiException(401, "no key", OpenAiException.InvalidRequestType, null, null).ToUtf8Json());
        var error = doc.RootElement.GetProperty("error");
        Assert.Equal("no key", error.GetProperty("message").GetString());
        Assert.Equal("invalid_request_error", error.GetProperty("type").GetString());
        Assert.Equal(JsonValueKind.Null, error.GetProperty("param").ValueKind);
        Assert.Equal(JsonValueKind.Null, error.GetProperty("code").ValueKind);
    }

    [Theory]
    [InlineData("invalid_request", 400)]
    [InlineData("prompt_too_long", 400)]
    [InlineData("unsupported", 400)]
    [InlineData("model_not_found", 404)]
    [InlineData("deadline_exceeded", 504)]
    [InlineData("queue_full", 429)]
    [InlineData("internal", 500)]
    public void Worker_error_codes_become_OpenAI_statuses(string code, int status) =>
        Assert.Equal(status, OpenAiException.FromWorker(code, "why", "prompt").Status);
}
