using System.Text.Json.Nodes;
using Folio.Cli.Tests.Support;

namespace Folio.Cli.Tests;

/// <summary>`folio chat` on the demo model (its built-in ChatML template): the exact rendered prompt, its ids, generation, and bad input.</summary>
public sealed class ChatCommandTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("folio-chat-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string File(string name, string text)
    {
        var path = Path.Combine(_dir, name);
        System.IO.File.WriteAllText(path, text);
        return path;
    }

    [Fact]
    public async Task Render_only_prints_exactly_the_prompt_with_no_newline_added()
    {
        var messages = File("m.json", """[{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"}]""");
        var run = await CliHarness.RunAsync("chat", "--model", "demo", "--messages", messages, "--render-only");
        Assert.Equal(0, run.ExitCode);
        Assert.Equal("<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n", run.Out);
    }

    [Fact]
    public async Task Render_only_json_gives_the_prompt_and_its_token_ids_and_the_flags_apply()
    {
        var messages = File("m.json", """{"messages": [{"role": "user", "content": "Hi"}]}""");
        var template = File("t.jinja", "{{ bos_token }}{{ messages[0].content }}|{{ add_generation_prompt }}|{{ flavour }}");
        var run = await CliHarness.RunAsync("chat", "--model", "demo", "--messages", messages, "--template", template, "--kwargs", """{"flavour": "mint"}""", "--no-generation-prompt", "--render-only", "--json");
        Assert.Equal(0, run.ExitCode);
        var json = JsonNode.Parse(run.Out)!;
        Assert.Equal("<|endoftext|>Hi|false|mint", (string?)json["prompt"]);
        var ids = json["token_ids"]!.AsArray().Select(n => (int)n!).ToArray();
        Assert.Equal(50256, ids[0]); // GPT-2's <|endoftext|>, written by the template, not added twice
        Assert.Single(ids, 50256);
    }

    [Fact]
    public async Task Chat_generates_from_the_rendered_prompt()
    {
        var messages = File("m.json", """[{"role": "user", "content": "Hi"}]""");
        var run = await CliHarness.RunAsync("chat", "--model", "demo", "--messages", messages, "--max-tokens", "3", "--temperature", "0", "--json", "--threads", "1", "--backend", "cpu");
        Assert.Equal(0, run.ExitCode);
        var json = JsonNode.Parse(run.Out)!;
        Assert.Equal(3, json["token_ids"]!.AsArray().Count);
        Assert.Equal("length", (string?)json["finish_reason"]);
        var rendered = await CliHarness.RunAsync("chat", "--model", "demo", "--messages", messages, "--render-only", "--json");
        Assert.Equal(JsonNode.Parse(rendered.Out)!["token_ids"]!.AsArray().Count, (int)json["prompt_tokens"]!);
    }

    [Fact]
    public async Task A_message_with_an_unknown_role_is_a_usage_error_naming_the_field()
    {
        var messages = File("m.json", """[{"role": "wizard", "content": "x"}]""");
        var run = await CliHarness.RunAsync("chat", "--model", "demo", "--messages", messages, "--render-only");
        Assert.Equal(2, run.ExitCode);
        Assert.Contains("messages[0].role", run.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_template_that_raises_fails_with_the_contract_code_and_its_message()
    {
        var messages = File("m.json", """[{"role": "user", "content": "x"}]""");
        var template = File("t.jinja", "{{ raise_exception('System messages are required') }}");
        var run = await CliHarness.RunAsync("chat", "--model", "demo", "--messages", messages, "--template", template, "--render-only");
        Assert.Equal(1, run.ExitCode);
        Assert.Contains("invalid_request", run.Error, StringComparison.Ordinal);
        Assert.Contains("System messages are required", run.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Plain_content_special_tokens_keep_typed_markers_ordinary()
    {
        var messages = File("m.json", """[{"role": "user", "content": "a<|endoftext|>b"}]""");
        var template = File("t.jinja", "{{ messages[0].content }}{{ eos_token }}");
        var parsed = JsonNode.Parse((await CliHarness.RunAsync("chat", "--model", "demo", "--messages", messages, "--template", template, "--render-only", "--json")).Out)!;
        var plain = JsonNode.Parse((await CliHarness.RunAsync("chat", "--model", "demo", "--messages", messages, "--template", template, "--content-special-tokens", "plain", "--render-only", "--json")).Out)!;
        Assert.Equal(2, parsed["token_ids"]!.AsArray().Count(n => (int)n! == 50256));
        Assert.Equal(1, plain["token_ids"]!.AsArray().Count(n => (int)n! == 50256));
    }
}
