using System.Text.Json;
using System.Text.Json.Nodes;
using Folio.Contracts;
using Folio.Text.Chat;
using Microsoft.Extensions.AI;
using AiChatMessage = Microsoft.Extensions.AI.ChatMessage;

namespace Folio.Client.Tests;

/// <summary>
/// The JSON FolioChatClient publishes, checked against the contract by the code that reads it on the
/// worker side: Folio.Text's ChatRequestJson for the chat fields (section 6.1), and the contract
/// parser for the sampling fields (section 1).
/// </summary>
public sealed class ChatRequestWriterTests
{
    private static readonly FolioChatClientOptions Defaults = new();

    private static JsonObject Write(IEnumerable<AiChatMessage> messages, ChatOptions? options = null) =>
        JsonNode.Parse(ChatRequestWriter.Write("chat-1", messages, options, Defaults))!.AsObject();

    private static ChatPromptRequest ReadChat(JsonObject json)
    {
        using var doc = JsonDocument.Parse(json.ToJsonString());
        return ChatRequestJson.Read(doc.RootElement);
    }

    /// <summary>The contract parser, with messages swapped for a prompt (it answers messages with unsupported until the worker side lands).</summary>
    private static GenerationRequest ReadSampling(JsonObject json)
    {
        var copy = json.DeepClone().AsObject();
        copy.Remove("messages");
        copy.Remove("tools");
        copy["prompt"] = "x";
        var parsed = RequestParser.Parse(System.Text.Encoding.UTF8.GetBytes(copy.ToJsonString()));
        Assert.True(parsed.Request is not null, parsed.Error?.Message);
        return parsed.Request!;
    }

    [Fact]
    public void A_conversation_with_tool_calls_and_results_is_written_in_the_contracts_shape()
    {
        var messages = new List<AiChatMessage>
        {
            new(ChatRole.System, "Be terse."),
            new(ChatRole.User, [new TextContent("Weather in"), new TextContent("Paris?")]) { AuthorName = "ann" },
            new(ChatRole.Assistant, [new FunctionCallContent("call_1", "get_weather", new Dictionary<string, object?> { ["city"] = "Paris" })]),
            new(ChatRole.Tool, [new FunctionResultContent("call_1", new { temp = 21 })]),
        };
        var json = Write(messages);
        Assert.Equal("chat-1", (string?)json["request_id"]);
        var chat = ReadChat(json);
        Assert.Equal(["system", "user", "assistant", "tool"], chat.Messages.Select(m => m.Role));
        Assert.Equal("Be terse.", chat.Messages[0].Content);
        Assert.Equal(["Weather in", "Paris?"], chat.Messages[1].ContentParts!.Select(p => p.Text));
        Assert.Equal("ann", chat.Messages[1].Name);
        Assert.Equal(new ChatToolCall("call_1", "get_weather", """{"city":"Paris"}"""), chat.Messages[2].ToolCalls![0]);
        Assert.Equal("""{"temp":21}""", chat.Messages[3].Content);
        Assert.Equal("call_1", chat.Messages[3].ToolCallId);
    }

    [Fact]
    public void Options_map_to_the_contracts_sampling_fields()
    {
        var options = new ChatOptions
        {
            Temperature = 0.7f,
            TopP = 0.9f,
            TopK = 40,
            MaxOutputTokens = 64,
            StopSequences = ["\n\n", "END"],
            Seed = 1234,
            PresencePenalty = 0.5f,
            FrequencyPenalty = -0.25f,
            AdditionalProperties = new AdditionalPropertiesDictionary { ["min_p"] = 0.05, ["priority"] = 2 },
        };
        var request = ReadSampling(Write([new(ChatRole.User, "hi")], options));
        Assert.Equal(0.7, request.Temperature);
        Assert.Equal(0.9, request.TopP);
        Assert.Equal(40, request.TopK);
        Assert.Equal(64, request.MaxTokens);
        Assert.Equal(["\n\n", "END"], request.Stop);
        Assert.Equal(1234, request.Seed);
        Assert.Equal(0.5, request.PresencePenalty);
        Assert.Equal(-0.25, request.FrequencyPenalty);
        Assert.Equal(0.05, request.MinP);
        Assert.Equal(2, request.Priority);
    }

    [Fact]
    public void Without_options_the_client_default_max_tokens_is_sent_and_nothing_else()
    {
        var json = Write([new(ChatRole.User, "hi")]);
        Assert.Equal(["request_id", "messages", "max_tokens"], json.Select(p => p.Key));
        Assert.Equal(Defaults.DefaultMaxOutputTokens, (int?)json["max_tokens"]);
    }

    [Fact]
    public void Tools_are_written_as_openai_function_tools_and_chat_fields_pass_through()
    {
        var tool = AIFunctionFactory.Create((string city) => "sunny", "get_weather", "Current weather in a city");
        var options = new ChatOptions
        {
            Tools = [tool],
            Instructions = "Use tools.",
            AdditionalProperties = new AdditionalPropertiesDictionary
            {
                ["chat_template_kwargs"] = new Dictionary<string, object> { ["enable_thinking"] = false },
                ["continue_final_message"] = true,
            },
        };
        var json = Write([new(ChatRole.User, "hi"), new(ChatRole.Assistant, "Let me")], options);
        var chat = ReadChat(json);
        Assert.Equal("system", chat.Messages[0].Role);
        Assert.Equal("Use tools.", chat.Messages[0].Content);
        var function = chat.Tools!.Single()!["function"]!;
        Assert.Equal("get_weather", (string?)function["name"]);
        Assert.Equal("Current weather in a city", (string?)function["description"]);
        Assert.Equal("string", (string?)function["parameters"]!["properties"]!["city"]!["type"]);
        Assert.True(chat.ContinueFinalMessage);
        Assert.False((bool)chat.ChatTemplateKwargs!["enable_thinking"]!);
        Assert.Null(Write([new(ChatRole.User, "hi")], new ChatOptions { Tools = [tool], ToolMode = ChatToolMode.None })["tools"]);
    }

    [Fact]
    public void Json_response_formats_are_refused_until_structured_output_is_wired()
    {
        var e = Assert.Throws<NotSupportedException>(() => Write([new(ChatRole.User, "hi")], new ChatOptions { ResponseFormat = ChatResponseFormat.Json }));
        Assert.Contains("ResponseFormat", e.Message, StringComparison.Ordinal);
        Assert.Throws<NotSupportedException>(() => Write([new(ChatRole.User, "hi")], new ChatOptions { ResponseFormat = ChatResponseFormat.ForJsonSchema(JsonDocument.Parse("""{"type": "object"}""").RootElement) }));
    }

    [Fact]
    public void Media_content_is_refused_naming_its_type()
    {
        var e = Assert.Throws<NotSupportedException>(() => Write([new(ChatRole.User, [new UriContent(new Uri("https://example.org/cat.png"), "image/png")])]));
        Assert.Contains("UriContent", e.Message, StringComparison.Ordinal);
    }
}
