namespace Folio.Text.Chat.Jinja;

/// <summary>
/// A parsed Jinja template, rendered the way Hugging Face renders chat templates (trim_blocks and
/// lstrip_blocks on; @huggingface/jinja's output conventions), in a sandbox: no I/O or reflection,
/// and bounded output, loop iterations, macro depth and time (<see cref="TemplateLimits"/>).
/// Parse once and render many times; a template is immutable and safe to share across threads.
/// </summary>
public sealed class JinjaTemplate
{
    private readonly IReadOnlyList<Stmt> _body;

    private JinjaTemplate(string source, IReadOnlyList<Stmt> body)
    {
        Source = source;
        _body = body;
    }

    public string Source { get; }

    /// <summary>Parses a template; a syntax error or an unsupported statement is a <see cref="ChatTemplateUnsupportedException"/>.</summary>
    public static JinjaTemplate Parse(string source)
    {
        ArgumentNullException.ThrowIfNull(source);
        return new JinjaTemplate(source, JinjaParser.Parse(source));
    }

    /// <summary>
    /// Renders with <paramref name="variables"/> (values: null, bool, long, double, string, lists and
    /// string-keyed dictionaries of those, or JSON: see <see cref="TemplateValues"/>). raise_exception,
    /// strftime_now (from <paramref name="clock"/>), namespace and range are always defined.
    /// </summary>
    public string Render(IReadOnlyDictionary<string, object?> variables, TemplateLimits? limits = null, Func<DateTimeOffset>? clock = null)
    {
        ArgumentNullException.ThrowIfNull(variables);
        var sandbox = new JinjaSandbox(limits ?? TemplateLimits.Default);
        var globals = JinjaGlobals.Create(clock ?? (() => DateTimeOffset.Now));
        foreach (var (name, value) in variables)
        {
            globals[name] = TemplateValues.From(value);
        }

        return new JinjaInterpreter(globals, sandbox).Render(_body);
    }
}
