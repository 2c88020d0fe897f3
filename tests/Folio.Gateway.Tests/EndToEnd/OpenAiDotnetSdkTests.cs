using System.ClientModel;
using System.Text.Json;
using Folio.Gateway.Tests.Support;
using OpenAI;
using OpenAI.Chat;
using System.ClientModel.Primitives;
using OpenAI.Models;

namespace Folio.Gateway.Tests.EndToEnd;

/// <summary>
/// The official OpenAI .NET SDK (2.15.0) against a real gateway, worker, RabbitMQ and Redis: a
/// client no one here wrote, parsing the gateway's replies, streams and errors its own way.
/// </summary>
[Collection(SharedStackCollection.Name)]
public sealed class OpenAiDotnetSdkTests(SharedStack shared)
{
    private GatewayStack Stack => shared.Stack;

    private OpenAIClientOptions Options(int retries = 0) => new() { Endpoint = new Uri(Stack.BaseUrl, "/v1"), RetryPolicy = new System.ClientModel.Primitives.ClientRetryPolicy(retries) };

    private OpenAIClient Client(string key = GatewayStack.Key) => new(new ApiKeyCredential(key), Options());

    [Fact]
    public async Task The_model_list_names_the_model_the_live_worker_registered()
    {
        OpenAIModelClient models = Client().GetOpenAIModelClient();
        var list = (await models.GetModelsAsync()).Value;
        Assert.Contains(list, m => m.Id == Stack.Model && m.OwnedBy == "folio");
        var one = (await models.GetModelAsync(Stack.Model)).Value;
        Assert.Equal(Stack.Model, one.Id);
    }

    /// <summary>
    /// POST /v1/completions through the SDK's own pipeline (its key policy, its error handling: a
    /// failure status becomes ClientResultException); SDK 2.15 has no typed client for the legacy endpoint.
    /// </summary>
    private async Task<JsonElement> CompleteAsync(string body, string key = GatewayStack.Key)
    {
        ClientPipeline pipeline = Client(key).Pipeline;
        using PipelineMessage message = pipeline.CreateMessage();
        message.ResponseClassifier = PipelineMessageClassifier.Create([200]);
        message.Request.Method = "POST";
        message.Request.Uri = new Uri(Stack.BaseUrl, "/v1/completions");
        message.Request.Headers.Set("Content-Type", "application/json");
        message.Request.Content = BinaryContent.Create(BinaryData.FromString(body));
        await pipeline.SendAsync(message);
        if (message.Response!.IsError)
        {
            throw new ClientResultException(message.Response);
        }

        return JsonDocument.Parse(message.Response.Content.ToString()).RootElement.Clone();
    }

    [Fact]
    public async Task Completions_carry_usage_and_the_same_seed_gives_the_same_text()
    {
        string body = $$"""{"model":"{{Stack.Model}}","prompt":"Once upon a time","max_tokens":12,"temperature":0.9,"seed":1234,"ignore_eos":true}""";
        var a = await CompleteAsync(body);
        var b = await CompleteAsync(body);
        string textA = a.GetProperty("choices")[0].GetProperty("text").GetString()!;
        Assert.Equal(textA, b.GetProperty("choices")[0].GetProperty("text").GetString());
        Assert.Equal("text_completion", a.GetProperty("object").GetString());
        Assert.Equal("length", a.GetProperty("choices")[0].GetProperty("finish_reason").GetString());
        var usage = a.GetProperty("usage");
        Assert.Equal(12, usage.GetProperty("completion_tokens").GetInt32());
        Assert.True(usage.GetProperty("prompt_tokens").GetInt32() > 0);
        Assert.Equal(usage.GetProperty("prompt_tokens").GetInt32() + 12, usage.GetProperty("total_tokens").GetInt32());
        var other = await CompleteAsync(body.Replace("1234", "99", StringComparison.Ordinal));
        Assert.NotEqual(textA, other.GetProperty("choices")[0].GetProperty("text").GetString());
    }

    [Fact]
    public async Task Completion_logprobs_list_each_token_with_its_alternatives()
    {
        var r = await CompleteAsync($$"""{"model":"{{Stack.Model}}","prompt":"Hello","max_tokens":6,"temperature":0,"logprobs":3,"ignore_eos":true}""");
        var lp = r.GetProperty("choices")[0].GetProperty("logprobs");
        Assert.Equal(6, lp.GetProperty("tokens").GetArrayLength());
        Assert.Equal(6, lp.GetProperty("token_logprobs").GetArrayLength());
        string text = r.GetProperty("choices")[0].GetProperty("text").GetString()!;
        Assert.Equal(text, string.Concat(lp.GetProperty("tokens").EnumerateArray().Select(t => t.GetString())));
        for (int i = 0; i < 6; i++)
        {
            var top = lp.GetProperty("top_logprobs")[i].EnumerateObject().ToList();
            Assert.InRange(top.Count, 1, 3);
            double sampled = lp.GetProperty("token_logprobs")[i].GetDouble();
            Assert.True(sampled <= 0);
            // Greedy: the sampled token is the most likely one, so nothing listed beats it.
            Assert.True(top.Max(t => t.Value.GetDouble()) <= sampled + 1e-6);
        }
    }

    [Fact]
    public async Task A_stop_string_ends_the_completion_before_it()
    {
        string body = $$"""{"model":"{{Stack.Model}}","prompt":"The river","max_tokens":24,"temperature":0,"ignore_eos":true}""";
        string full = (await CompleteAsync(body)).GetProperty("choices")[0].GetProperty("text").GetString()!;
        // A stop string from the middle of the unstopped text (greedy: the same text up to it).
        string stop = full.Substring(full.Length / 2, 3);
        int at = full.IndexOf(stop, StringComparison.Ordinal);
        var stopped = await CompleteAsync(body.Replace("\"ignore_eos\":true", $"\"ignore_eos\":true,\"stop\":[{JsonSerializer.Serialize(stop)}]", StringComparison.Ordinal));
        var choice = stopped.GetProperty("choices")[0];
        Assert.Equal("stop", choice.GetProperty("finish_reason").GetString());
        Assert.Equal(full[..at], choice.GetProperty("text").GetString());
    }

    [Fact]
    public async Task Errors_reach_the_sdk_as_statuses_with_OpenAIs_error_body()
    {
        var wrongKey = await Assert.ThrowsAsync<ClientResultException>(() => CompleteAsync($$"""{"model":"{{Stack.Model}}","prompt":"x"}""", "sk-wrong"));
        Assert.Equal(401, wrongKey.Status);
        var unknown = await Assert.ThrowsAsync<ClientResultException>(() => CompleteAsync("""{"model":"no-such-model","prompt":"x"}"""));
        Assert.Equal(404, unknown.Status);
        Assert.Contains("model_not_found", unknown.GetRawResponse()!.Content.ToString(), StringComparison.Ordinal);
        var badType = await Assert.ThrowsAsync<ClientResultException>(() => CompleteAsync($$"""{"model":"{{Stack.Model}}","prompt":"x","temperature":"warm"}"""));
        Assert.Equal(400, badType.Status);
        using var doc = JsonDocument.Parse(badType.GetRawResponse()!.Content.ToString());
        Assert.Equal("temperature", doc.RootElement.GetProperty("error").GetProperty("param").GetString());
    }

    [Fact]
    public async Task Chat_streams_and_answers_whole_through_the_sdk_with_the_same_text_and_usage()
    {
        ChatClient chat = Client().GetChatClient(Stack.Model);
        ChatMessage[] messages = [new SystemChatMessage("You are terse."), new UserChatMessage("Name a colour.")];
#pragma warning disable OPENAI001 // Seed is marked experimental in the SDK; the gateway honours it
        var options = new ChatCompletionOptions { MaxOutputTokenCount = 10, Temperature = 0.8f, Seed = 77 };
#pragma warning restore OPENAI001
        ChatCompletion completion = (await chat.CompleteChatAsync(messages, options)).Value;
        Assert.Equal(ChatMessageRole.Assistant, completion.Role);
        Assert.True(completion.Usage.OutputTokenCount is > 0 and <= 10);
        Assert.True(completion.Usage.InputTokenCount > 0);
        string wholeText = completion.Content[0].Text;
        Assert.Equal(wholeText, (await chat.CompleteChatAsync(messages, options)).Value.Content[0].Text);

        var text = new System.Text.StringBuilder();
        ChatTokenUsage? usage = null;
        ChatMessageRole? role = null;
        ChatFinishReason? finish = null;
        await foreach (var update in chat.CompleteChatStreamingAsync(messages, options))
        {
            role ??= update.Role;
            finish ??= update.FinishReason;
            foreach (var part in update.ContentUpdate)
            {
                text.Append(part.Text);
            }

            usage ??= update.Usage;
        }

        Assert.Equal(ChatMessageRole.Assistant, role);
        Assert.Equal(completion.FinishReason, finish);
        Assert.Equal(wholeText, text.ToString());
        Assert.NotNull(usage);
        Assert.Equal(completion.Usage.OutputTokenCount, usage!.OutputTokenCount);
        Assert.Equal(completion.Usage.InputTokenCount, usage.InputTokenCount);
    }

    [Fact]
    public async Task Chat_logprobs_and_a_model_alias_work_through_the_sdk()
    {
        ChatClient chat = Client().GetChatClient(GatewayStack.Alias);
        var options = new ChatCompletionOptions { MaxOutputTokenCount = 5, Temperature = 0, IncludeLogProbabilities = true, TopLogProbabilityCount = 2 };
        ChatCompletion c = (await chat.CompleteChatAsync([new UserChatMessage("Count to three.")], options)).Value;
        Assert.Equal(5, c.ContentTokenLogProbabilities.Count);
        Assert.Equal(c.Content[0].Text, string.Concat(c.ContentTokenLogProbabilities.Select(t => t.Token)));
        Assert.All(c.ContentTokenLogProbabilities, t =>
        {
            Assert.InRange(t.TopLogProbabilities.Count, 1, 2);
            Assert.True(t.TopLogProbabilities.Max(a => a.LogProbability) <= t.LogProbability + 1e-5);
        });
    }
}
