using System.Text.Json;
using System.Text.Json.Nodes;
using Folio.Text.Chat.Jinja;
using Folio.Text.Tests.Support;

namespace Folio.Text.Tests.Chat;

/// <summary>Each Jinja feature of issue 11 renders as expected in Folio, and the expectations are @huggingface/jinja's output (except the listed departures, where Folio follows Jinja).</summary>
public sealed class JinjaFeatureTests
{
    public static TheoryData<string> Features => new(JinjaFeatureCases.All.Select(c => c.Feature));

    private static JinjaFeatureCases.FeatureCase Find(string feature) => JinjaFeatureCases.All.Single(c => c.Feature == feature);

    private static Dictionary<string, object?> Variables(string json) =>
        JsonNode.Parse(json)!.AsObject().ToDictionary(p => p.Key, p => (object?)p.Value?.DeepClone(), StringComparer.Ordinal);

    [Theory]
    [MemberData(nameof(Features))]
    public void Feature_renders_as_jinja_renders_it(string feature)
    {
        var c = Find(feature);
        Assert.Equal(c.Expected, JinjaTemplate.Parse(c.Template).Render(Variables(c.Variables)));
    }

    [NodeFact]
    public void Huggingface_jinja_gives_every_expected_output_of_the_feature_table()
    {
        var cases = new JsonArray(JinjaFeatureCases.All.Select(c => (JsonNode?)new JsonObject { ["template"] = c.Template, ["context"] = JsonNode.Parse(c.Variables) }).ToArray());
        var results = NodeOracle.Run("render.mjs", new JsonObject { ["cases"] = cases })["results"]!.AsArray();
        var departs = JinjaFeatureCases.All.Zip(results).Where(p => JinjaFeatureCases.HuggingFaceJinjaDeparts.Contains(p.First.Feature)).ToList();
        Assert.All(departs, p => Assert.True((string?)p.Second!["output"] != p.First.Expected, $"{p.First.Feature}: @huggingface/jinja now agrees; remove it from HuggingFaceJinjaDeparts"));
        var wrong = JinjaFeatureCases.All.Zip(results)
            .Where(p => !JinjaFeatureCases.HuggingFaceJinjaDeparts.Contains(p.First.Feature) && (string?)p.Second!["output"] != p.First.Expected)
            .Select(p => $"{p.First.Feature}: expected {JsonSerializer.Serialize(p.First.Expected)}, @huggingface/jinja {p.Second!.ToJsonString()}")
            .ToList();
        Assert.True(wrong.Count == 0, string.Join("\n", wrong));
    }

    [Fact]
    public void Strftime_now_formats_the_injected_clock()
    {
        var clock = new DateTimeOffset(2024, 7, 26, 14, 5, 0, TimeSpan.Zero);
        var output = JinjaTemplate.Parse("{{ strftime_now('%d %b %Y') }}|{{ strftime_now('%Y-%m-%d %H:%M') }}|{{ strftime_now('%B') }}").Render(new Dictionary<string, object?>(), clock: () => clock);
        Assert.Equal("26 Jul 2024|2024-07-26 14:05|July", output);
    }

    [Fact]
    public void Raise_exception_stops_the_render_with_the_templates_own_message()
    {
        var e = Assert.Throws<Folio.Text.Chat.Jinja.ChatTemplateRaisedException>(() =>
            JinjaTemplate.Parse("{% if messages[0].role != 'user' %}{{ raise_exception('Conversation roles must alternate user/assistant') }}{% endif %}")
                .Render(new Dictionary<string, object?> { ["messages"] = JsonNode.Parse("""[{"role": "assistant", "content": "x"}]""") }));
        Assert.Equal("Conversation roles must alternate user/assistant", e.TemplateMessage);
    }
}
