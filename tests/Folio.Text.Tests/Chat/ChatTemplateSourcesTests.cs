using System.Text.Json.Nodes;
using Folio.Models.Loading;
using Folio.ModelTools;
using Folio.Testing;
using Folio.Text.Chat;
using Folio.Text.Tests.Support;
using Folio.Text.Tokenization;

namespace Folio.Text.Tests.Chat;

/// <summary>Where a model's chat template and special-token strings come from, and which wins.</summary>
public sealed class ChatTemplateSourcesTests
{
    private static void SetConfigTemplate(string folder, JsonNode? template, string? bos = "<s>", string? eos = "</s>")
    {
        var path = Path.Combine(folder, ChatTemplateSources.TokenizerConfigFile);
        var config = File.Exists(path) ? JsonNode.Parse(File.ReadAllText(path))!.AsObject() : [];
        config["chat_template"] = template;
        config["bos_token"] = bos;
        config["eos_token"] = eos;
        File.WriteAllText(path, config.ToJsonString());
    }

    [Fact]
    public void Tokenizer_config_chat_template_as_a_string_is_the_default()
    {
        using var dir = new TempDir();
        SetConfigTemplate(dir.Path, "from config");
        var template = ChatTemplateSources.FromHuggingFaceFolder(dir.Path)!;
        Assert.Equal("from config", template.Templates[ChatTemplate.DefaultName]);
        Assert.Contains("tokenizer_config.json", template.Origin, StringComparison.Ordinal);
    }

    [Fact]
    public void Tokenizer_config_chat_template_as_a_list_gives_named_templates()
    {
        using var dir = new TempDir();
        SetConfigTemplate(dir.Path, JsonNode.Parse("""[{"name": "default", "template": "d"}, {"name": "tool_use", "template": "t"}, {"name": "rag", "template": "r"}]"""));
        var template = ChatTemplateSources.FromHuggingFaceFolder(dir.Path)!;
        Assert.Equal(["default", "rag", "tool_use"], template.Templates.Keys.Order(StringComparer.Ordinal));
        Assert.Equal("tool_use", template.SelectName(hasTools: true));
        Assert.Equal("default", template.SelectName(hasTools: false));
    }

    [Fact]
    public void Chat_template_jinja_wins_over_chat_template_json_which_wins_over_the_config()
    {
        using var dir = new TempDir();
        SetConfigTemplate(dir.Path, "from config");
        File.WriteAllText(dir.File(ChatTemplateSources.JsonFile), """{"chat_template": "from json"}""");
        Assert.Equal("from json", ChatTemplateSources.FromHuggingFaceFolder(dir.Path)!.Templates["default"]);
        File.WriteAllText(dir.File(ChatTemplateSources.JinjaFile), "from jinja");
        Assert.Equal("from jinja", ChatTemplateSources.FromHuggingFaceFolder(dir.Path)!.Templates["default"]);
    }

    [Fact]
    public void Additional_chat_templates_are_named_by_their_file()
    {
        using var dir = new TempDir();
        File.WriteAllText(dir.File(ChatTemplateSources.JinjaFile), "base");
        Directory.CreateDirectory(dir.File(ChatTemplateSources.AdditionalTemplatesFolder));
        File.WriteAllText(Path.Combine(dir.File(ChatTemplateSources.AdditionalTemplatesFolder), "tool_use.jinja"), "with tools");
        var template = ChatTemplateSources.FromHuggingFaceFolder(dir.Path)!;
        Assert.Equal("base", template.Templates["default"]);
        Assert.Equal("with tools", template.Templates["tool_use"]);
    }

    [Fact]
    public void A_folder_without_a_template_has_none()
    {
        using var dir = new TempDir();
        SetConfigTemplate(dir.Path, null);
        Assert.Null(ChatTemplateSources.FromHuggingFaceFolder(dir.Path));
    }

    [Fact]
    public void A_chat_template_of_the_wrong_type_is_refused_naming_the_file()
    {
        using var dir = new TempDir();
        SetConfigTemplate(dir.Path, 42);
        var e = Assert.Throws<TokenizerFormatException>(() => ChatTemplateSources.FromHuggingFaceFolder(dir.Path));
        Assert.Contains("tokenizer_config.json", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Special_tokens_come_from_the_config_as_strings_or_added_token_objects_and_the_map_overrides()
    {
        using var dir = new TempDir();
        File.WriteAllText(dir.File("tokenizer_config.json"), """
            {"bos_token": {"__type": "AddedToken", "content": "<｜begin▁of▁sentence｜>"}, "eos_token": "<eos>", "pad_token": null,
             "additional_special_tokens": ["<a>", {"content": "<b>"}]}
            """);
        var tokens = ChatTemplateSources.ReadHuggingFaceSpecialTokens(dir.Path);
        Assert.Equal("<｜begin▁of▁sentence｜>", tokens.BosToken);
        Assert.Equal("<eos>", tokens.EosToken);
        Assert.Null(tokens.PadToken);
        Assert.Equal(["<a>", "<b>"], tokens.AdditionalSpecialTokens);
        File.WriteAllText(dir.File("special_tokens_map.json"), """{"eos_token": {"content": "<|end|>"}, "unk_token": "<unk>"}""");
        tokens = ChatTemplateSources.ReadHuggingFaceSpecialTokens(dir.Path);
        Assert.Equal("<|end|>", tokens.EosToken);
        Assert.Equal("<unk>", tokens.UnkToken);
        Assert.Equal("<｜begin▁of▁sentence｜>", tokens.BosToken);
    }

    [Fact]
    public void An_override_file_replaces_the_template_and_keeps_the_special_tokens()
    {
        using var dir = new TempDir();
        File.WriteAllText(dir.File("mine.jinja"), "{{ bos_token }}mine");
        File.WriteAllText(dir.File("mine.json"), """{"chat_template": [{"name": "default", "template": "json default"}]}""");
        var tokens = new SpecialTokenStrings { BosToken = "<s>" };
        var fromJinja = ChatTemplateSources.FromFile(dir.File("mine.jinja"), tokens);
        Assert.Equal("{{ bos_token }}mine", fromJinja.Templates["default"]);
        Assert.Same(tokens, fromJinja.SpecialTokens);
        Assert.Equal(dir.File("mine.jinja"), fromJinja.Origin);
        Assert.Equal("json default", ChatTemplateSources.FromFile(dir.File("mine.json"), tokens).Templates["default"]);
        var missing = Assert.Throws<FileNotFoundException>(() => ChatTemplateSources.FromFile(dir.File("absent.jinja"), tokens));
        Assert.Contains("absent.jinja", missing.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Hugging_face_loader_fills_the_chat_template_and_special_tokens()
    {
        using var dir = new TempDir();
        var folder = dir.File("model");
        TestModelWriter.Write(folder, TestModelFormat.HuggingFace, new TestModelOptions { Tokenizer = TestTokenizerKind.SentencePiece });
        using (var plain = ModelLoader.Load(folder))
        {
            Assert.Null(plain.ChatTemplate);
            Assert.NotNull(plain.SpecialTokens.BosToken);
        }

        File.WriteAllText(Path.Combine(folder, ChatTemplateSources.JinjaFile), BuiltInChatTemplates.ChatMl);
        using var model = ModelLoader.Load(folder);
        Assert.Equal(BuiltInChatTemplates.ChatMl, model.ChatTemplate!.Templates["default"]);
        Assert.Equal(model.Tokenizer.TokenText(model.Tokenizer.BosTokenId!.Value), model.ChatTemplate.SpecialTokens.BosToken);
    }

    [Fact]
    public void Gguf_loader_reads_the_default_and_named_templates_and_token_strings()
    {
        using var dir = new TempDir();
        var o = new TestModelOptions { Seed = 4 };
        var path = dir.File("m.gguf");
        WriteGguf(path, o, w =>
        {
            w.AddString("tokenizer.chat_template", "default {{ bos_token }}");
            w.AddString("tokenizer.chat_template.tool_use", "tools {{ eos_token }}");
        });
        using var model = ModelLoader.Load(path);
        var spec = TestModelWriter.Tokenizer(o);
        Assert.Equal("default {{ bos_token }}", model.ChatTemplate!.Templates["default"]);
        Assert.Equal("tools {{ eos_token }}", model.ChatTemplate.Templates["tool_use"]);
        Assert.Equal(spec.BosTokenId is int b ? spec.Tokens[b] : null, model.SpecialTokens.BosToken);
        Assert.Equal(spec.Tokens[spec.EosTokenIds[0]], model.SpecialTokens.EosToken);
        Assert.Same(model.SpecialTokens, model.ChatTemplate.SpecialTokens);

        var bare = dir.File("bare.gguf");
        WriteGguf(bare, o, _ => { });
        using var without = ModelLoader.Load(bare);
        Assert.Null(without.ChatTemplate);
    }

    [FixtureFact]
    public void A_real_gguf_from_llama_cpp_carries_its_template_and_folio_renders_it()
    {
        // Phi-3's vocabulary file, converted by llama.cpp, embeds the model's chat template.
        var path = RepositoryPaths.Fixture("gguf-vocab", "ggml-vocab-phi-3.gguf");
        using var file = GgufFile.Open(path);
        var spec = GgufTokenizerMetadata.Read(path, file.Metadata);
        var tokens = GgufTokenizerMetadata.ReadSpecialTokens(path, file.Metadata, spec);
        var template = GgufTokenizerMetadata.ReadChatTemplate(path, file.Metadata, tokens)!;
        Assert.Equal("<s>", tokens.BosToken);
        var prompt = new ChatPromptBuilder(template, TokenizerFactory.FromSpec(spec)).Build(new ChatPromptRequest { Messages = [new ChatMessage(ChatRoles.User, "Hi")] });
        Assert.Contains("<|user|>", prompt.Text, StringComparison.Ordinal);
        Assert.Contains("<|assistant|>", prompt.Text, StringComparison.Ordinal);
        // The template's markers are whole tokens, not spelled out piece by piece.
        Assert.Contains(spec.Tokens.ToList().IndexOf("<|user|>"), prompt.TokenIds);
    }

    [Fact]
    public void The_demo_model_has_a_chatml_template_with_gpt2s_token()
    {
        using var demo = DemoModel.Load();
        var prompt = new ChatPromptBuilder(demo.ChatTemplate, demo.Tokenizer).Build(new ChatPromptRequest { Messages = [new ChatMessage(ChatRoles.User, "Hello")] });
        Assert.Equal("<|im_start|>user\nHello<|im_end|>\n<|im_start|>assistant\n", prompt.Text);
        Assert.Equal(demo.Tokenizer.Encode(prompt.Text, addSpecialTokens: false), prompt.TokenIds);
        Assert.Equal("<|endoftext|>", demo.SpecialTokens.EosToken);
    }

    private static void WriteGguf(string path, TestModelOptions o, Action<GgufWriter> extra)
    {
        var c = TestModelWriter.Config(o);
        var weights = TestModelWriter.Weights(o);
        var w = new GgufWriter();
        w.AddString("general.architecture", "llama");
        w.AddUInt32("llama.context_length", (uint)c.MaxPositionEmbeddings);
        w.AddUInt32("llama.embedding_length", (uint)c.HiddenSize);
        w.AddUInt32("llama.block_count", (uint)c.NumLayers);
        w.AddUInt32("llama.feed_forward_length", (uint)c.IntermediateSize);
        w.AddUInt32("llama.attention.head_count", (uint)c.NumHeads);
        w.AddUInt32("llama.attention.head_count_kv", (uint)c.NumKvHeads);
        w.AddFloat32("llama.attention.layer_norm_rms_epsilon", c.RmsNormEps);
        GgufTokenizerMetadataWriter.Write(w, TestModelWriter.Tokenizer(o));
        extra(w);
        foreach (var e in Folio.Models.Loading.ModelTensorChecker.Expected(c))
        {
            w.AddTensor(GgufTensorNames.ToGguf(e.Name)!, GgmlType.F32, e.Shape.Reverse().ToArray(), Folio.Models.DTypeConversion.Encode(weights[e.Name], Folio.Models.DType.F32));
        }

        w.Write(path);
    }
}
