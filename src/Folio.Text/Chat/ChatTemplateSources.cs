using System.Text.Json;
using Folio.Text.Tokenization;

namespace Folio.Text.Chat;

/// <summary>
/// Finds a model's chat template where transformers, vLLM and llama.cpp find it. In a Hugging Face
/// folder, first match wins: chat_template.jinja (with named templates in additional_chat_templates/*.jinja;
/// transformers prefers these files to the config), then chat_template.json (the processors' file),
/// then "chat_template" in tokenizer_config.json (a string, or a list of {name, template}). In a GGUF
/// file: tokenizer.chat_template and tokenizer.chat_template.NAME. An override file replaces any of
/// them (the worker's Folio:Model:ChatTemplate) and keeps the model's special-token strings.
/// </summary>
public static class ChatTemplateSources
{
    public const string TokenizerConfigFile = "tokenizer_config.json";
    public const string SpecialTokensMapFile = "special_tokens_map.json";
    public const string JinjaFile = "chat_template.jinja";
    public const string JsonFile = "chat_template.json";
    public const string AdditionalTemplatesFolder = "additional_chat_templates";
    public const string GgufKey = "tokenizer.chat_template";

    private static readonly string[] SpecialTokenKeys = ["bos_token", "eos_token", "unk_token", "sep_token", "pad_token", "cls_token", "mask_token", "additional_special_tokens"];

    /// <summary>The chat template of a Hugging Face folder, or null when it has none.</summary>
    public static ChatTemplate? FromHuggingFaceFolder(string folder)
    {
        ArgumentNullException.ThrowIfNull(folder);
        var tokens = ReadHuggingFaceSpecialTokens(folder);
        var jinja = Path.Combine(folder, JinjaFile);
        var additional = Path.Combine(folder, AdditionalTemplatesFolder);
        var named = Directory.Exists(additional)
            ? Directory.GetFiles(additional, "*.jinja").Order(StringComparer.Ordinal).ToDictionary(f => Path.GetFileNameWithoutExtension(f), File.ReadAllText, StringComparer.Ordinal)
            : [];
        if (File.Exists(jinja) || named.Count > 0)
        {
            if (File.Exists(jinja))
            {
                named[ChatTemplate.DefaultName] = File.ReadAllText(jinja);
            }

            return new ChatTemplate(named, File.Exists(jinja) ? jinja : additional, tokens);
        }

        var json = Path.Combine(folder, JsonFile);
        using (var doc = HuggingFaceConfigFiles.OpenOptional(json))
        {
            if (doc is not null && ReadTemplateValue(json, doc.RootElement) is { } fromJson)
            {
                return new ChatTemplate(fromJson, json, tokens);
            }
        }

        var config = Path.Combine(folder, TokenizerConfigFile);
        using (var doc = HuggingFaceConfigFiles.OpenOptional(config))
        {
            if (doc is not null && ReadTemplateValue(config, doc.RootElement) is { } fromConfig)
            {
                return new ChatTemplate(fromConfig, config + " chat_template", tokens);
            }
        }

        return null;
    }

    /// <summary>
    /// The special-token strings of a Hugging Face folder: tokenizer_config.json, overridden by
    /// special_tokens_map.json where that names a token (as transformers loads them). Each is a string
    /// or an AddedToken object with "content".
    /// </summary>
    public static SpecialTokenStrings ReadHuggingFaceSpecialTokens(string folder)
    {
        ArgumentNullException.ThrowIfNull(folder);
        var values = new Dictionary<string, JsonElement>(StringComparer.Ordinal);
        foreach (var file in new[] { TokenizerConfigFile, SpecialTokensMapFile })
        {
            using var doc = HuggingFaceConfigFiles.OpenOptional(Path.Combine(folder, file));
            if (doc?.RootElement is { ValueKind: JsonValueKind.Object } root)
            {
                foreach (var key in SpecialTokenKeys)
                {
                    if (root.TryGetProperty(key, out var v) && v.ValueKind != JsonValueKind.Null)
                    {
                        values[key] = v.Clone();
                    }
                }
            }
        }

        string? Token(string key) => values.TryGetValue(key, out var v) ? TokenContent(v) : null;
        return new SpecialTokenStrings
        {
            BosToken = Token("bos_token"),
            EosToken = Token("eos_token"),
            UnkToken = Token("unk_token"),
            SepToken = Token("sep_token"),
            PadToken = Token("pad_token"),
            ClsToken = Token("cls_token"),
            MaskToken = Token("mask_token"),
            AdditionalSpecialTokens = values.TryGetValue("additional_special_tokens", out var list) && list.ValueKind == JsonValueKind.Array
                ? list.EnumerateArray().Select(TokenContent).OfType<string>().ToArray()
                : [],
        };
    }

    /// <summary>
    /// The chat template of a GGUF file from its tokenizer.chat_template (the default) and
    /// tokenizer.chat_template.NAME values, or null when it has none.
    /// </summary>
    public static ChatTemplate? FromGguf(string path, string? defaultTemplate, IReadOnlyDictionary<string, string> namedTemplates, SpecialTokenStrings specialTokens)
    {
        ArgumentNullException.ThrowIfNull(namedTemplates);
        var templates = new Dictionary<string, string>(namedTemplates, StringComparer.Ordinal);
        if (defaultTemplate is not null)
        {
            templates[ChatTemplate.DefaultName] = defaultTemplate;
        }

        return templates.Count == 0 ? null : new ChatTemplate(templates, $"{path} {GgufKey}", specialTokens);
    }

    /// <summary>
    /// A template from an override file: a .json file holding {"chat_template": ...} (as
    /// chat_template.json or tokenizer_config.json hold it), any other file the template text itself.
    /// </summary>
    public static ChatTemplate FromFile(string path, SpecialTokenStrings specialTokens)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (!File.Exists(path))
        {
            throw new FileNotFoundException($"The chat template file '{path}' does not exist; give the path of a .jinja file (or a .json file with \"chat_template\").", path);
        }

        if (path.EndsWith(".json", StringComparison.OrdinalIgnoreCase))
        {
            using var doc = HuggingFaceConfigFiles.OpenOptional(path)!;
            return new ChatTemplate(
                ReadTemplateValue(path, doc.RootElement) ?? throw new TokenizerFormatException($"'{path}' has no \"chat_template\"; a .json chat template file holds {{\"chat_template\": \"...\"}}."),
                path,
                specialTokens);
        }

        return ChatTemplate.Single(File.ReadAllText(path), path, specialTokens);
    }

    /// <summary>"chat_template" of a JSON object: a string, or a list of {"name", "template"}; null when absent.</summary>
    private static Dictionary<string, string>? ReadTemplateValue(string path, JsonElement root)
    {
        if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("chat_template", out var value) || value.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        if (value.ValueKind == JsonValueKind.String)
        {
            return new Dictionary<string, string>(StringComparer.Ordinal) { [ChatTemplate.DefaultName] = value.GetString()! };
        }

        if (value.ValueKind == JsonValueKind.Array)
        {
            var named = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (var item in value.EnumerateArray())
            {
                if (item.ValueKind != JsonValueKind.Object
                    || !item.TryGetProperty("name", out var name) || name.ValueKind != JsonValueKind.String
                    || !item.TryGetProperty("template", out var template) || template.ValueKind != JsonValueKind.String)
                {
                    throw new TokenizerFormatException($"'{path}': each entry of the \"chat_template\" list must be {{\"name\": \"...\", \"template\": \"...\"}}.");
                }

                named[name.GetString()!] = template.GetString()!;
            }

            return named.Count == 0 ? null : named;
        }

        throw new TokenizerFormatException($"'{path}': \"chat_template\" must be a string or a list of {{\"name\", \"template\"}} objects.");
    }

    private static string? TokenContent(JsonElement value) => value.ValueKind switch
    {
        JsonValueKind.String => value.GetString(),
        JsonValueKind.Object when value.TryGetProperty("content", out var content) && content.ValueKind == JsonValueKind.String => content.GetString(),
        _ => null,
    };
}
