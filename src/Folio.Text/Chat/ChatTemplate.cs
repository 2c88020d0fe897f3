using System.Collections.Concurrent;
using Folio.Text.Chat.Jinja;

namespace Folio.Text.Chat;

/// <summary>
/// A model's chat template: one template, or several by name (Hugging Face's list form, GGUF's
/// tokenizer.chat_template.NAME), with the special-token strings the model's files name and where
/// it all came from. A template is parsed on first use and kept; one that does not parse is refused
/// per request (<c>unsupported</c>), so the model still serves plain prompts.
/// </summary>
public sealed class ChatTemplate
{
    /// <summary>The name a single template has, and the one chosen when no tools are given.</summary>
    public const string DefaultName = "default";

    /// <summary>The name transformers chooses when the request carries tools and the model has it.</summary>
    public const string ToolUseName = "tool_use";

    private readonly ConcurrentDictionary<string, Lazy<JinjaTemplate>> _parsed = new(StringComparer.Ordinal);

    public ChatTemplate(IReadOnlyDictionary<string, string> templates, string origin, SpecialTokenStrings? specialTokens = null)
    {
        ArgumentNullException.ThrowIfNull(templates);
        ArgumentNullException.ThrowIfNull(origin);
        if (templates.Count == 0)
        {
            throw new ArgumentException("A chat template needs at least one template text.", nameof(templates));
        }

        Templates = templates;
        Origin = origin;
        SpecialTokens = specialTokens ?? SpecialTokenStrings.None;
    }

    /// <summary>A single template (named <see cref="DefaultName"/>).</summary>
    public static ChatTemplate Single(string source, string origin, SpecialTokenStrings? specialTokens = null) =>
        new(new Dictionary<string, string>(StringComparer.Ordinal) { [DefaultName] = source }, origin, specialTokens);

    /// <summary>Template texts by name; a single template is named <see cref="DefaultName"/>.</summary>
    public IReadOnlyDictionary<string, string> Templates { get; }

    /// <summary>Where the template came from (a file and key), for messages and logs.</summary>
    public string Origin { get; }

    public SpecialTokenStrings SpecialTokens { get; }

    /// <summary>The same template with other special-token strings.</summary>
    public ChatTemplate WithSpecialTokens(SpecialTokenStrings specialTokens) => new(Templates, Origin, specialTokens);

    /// <summary>
    /// The template's name for a request, as transformers chooses among named templates:
    /// <see cref="ToolUseName"/> when tools are given and it exists, else <see cref="DefaultName"/>.
    /// </summary>
    public string SelectName(bool hasTools)
    {
        if (hasTools && Templates.ContainsKey(ToolUseName))
        {
            return ToolUseName;
        }

        if (Templates.ContainsKey(DefaultName))
        {
            return DefaultName;
        }

        if (Templates.Count == 1)
        {
            return Templates.Keys.First();
        }

        throw new ChatTemplateUnsupportedException(
            "chat template selection",
            $"The model's chat templates ({Origin}) are named {string.Join(", ", Templates.Keys.Order(StringComparer.Ordinal))} with none named \"default\"; set Folio:Model:ChatTemplate to the template file to use.");
    }

    /// <summary>The parsed template for a request (see <see cref="SelectName"/>); a template that does not parse throws <see cref="ChatTemplateUnsupportedException"/>.</summary>
    public JinjaTemplate Select(bool hasTools)
    {
        var name = SelectName(hasTools);
        return _parsed.GetOrAdd(name, n => new Lazy<JinjaTemplate>(() => JinjaTemplate.Parse(Templates[n]))).Value;
    }
}
