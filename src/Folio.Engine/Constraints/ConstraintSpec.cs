using System.Text;
using System.Text.Json;

namespace Folio.Engine.Constraints;

/// <summary>
/// What a request's output must match (docs/contract.md section 6.2). Each kind has a canonical text
/// (<see cref="CanonicalText"/>): two specs with the same canonical text compile to the same
/// constraint, which is what the compiled-constraint cache is keyed by.
/// </summary>
public abstract record ConstraintSpec
{
    private protected ConstraintSpec()
    {
    }

    /// <summary>The kind and content in one string; equal texts mean equal constraints.</summary>
    public abstract string CanonicalText { get; }

    /// <summary>A JSON document valid against <paramref name="Schema"/> (the schema's JSON text).</summary>
    public static ConstraintSpec JsonSchema(string schema, bool strict = true) => new JsonSchemaSpec(schema, strict);

    /// <summary>Any JSON object (OpenAI's <c>json_object</c>).</summary>
    public static ConstraintSpec JsonObject() => new JsonObjectSpec();

    /// <summary>A full match of a regular expression.</summary>
    public static ConstraintSpec Regex(string pattern) => new RegexSpec(pattern);

    /// <summary>Exactly one of the given strings.</summary>
    public static ConstraintSpec Choice(IReadOnlyList<string> choices) => new ChoiceSpec(choices);

    /// <summary>A sentence of a GBNF grammar (llama.cpp's format, start rule <c>root</c>).</summary>
    public static ConstraintSpec Grammar(string gbnf) => new GrammarSpec(gbnf);

    /// <summary>The spec for a request's contract constraint (<c>structured_outputs</c> or <c>response_format</c>).</summary>
    public static ConstraintSpec For(Folio.Contracts.OutputConstraint constraint)
    {
        ArgumentNullException.ThrowIfNull(constraint);
        return constraint.Kind switch
        {
            Folio.Contracts.OutputConstraintKind.JsonSchema => JsonSchema(constraint.Text!, constraint.Strict),
            Folio.Contracts.OutputConstraintKind.JsonObject => JsonObject(),
            Folio.Contracts.OutputConstraintKind.Regex => Regex(constraint.Text!),
            Folio.Contracts.OutputConstraintKind.Choice => Choice(constraint.Choices!),
            _ => Grammar(constraint.Text!),
        };
    }
}

/// <summary>
/// A JSON schema. <paramref name="Strict"/> (the default): a keyword that is not JSON Schema at all is
/// refused, and objects without <c>additionalProperties</c> (arrays with <c>prefixItems</c> and no
/// <c>items</c>) get no extra members, as in XGrammar's strict mode and llama.cpp. Not strict: unknown
/// keywords are ignored (they constrain nothing) and the JSON Schema defaults apply (extra members of
/// any JSON value). Validation keywords the compiler lacks are refused in both modes.
/// </summary>
public sealed record JsonSchemaSpec(string Schema, bool Strict = true) : ConstraintSpec
{
    public override string CanonicalText => $"json_schema:{(Strict ? "strict" : "lax")}:{Canonical(Schema)}";

    /// <summary>The schema re-written compactly (member order kept: it is the generation order); unparsable text is kept as is, the compiler reports it.</summary>
    private static string Canonical(string schema)
    {
        try
        {
            using var doc = JsonDocument.Parse(schema);
            using var buffer = new MemoryStream();
            using (var writer = new Utf8JsonWriter(buffer))
            {
                doc.RootElement.WriteTo(writer);
            }

            return Encoding.UTF8.GetString(buffer.ToArray());
        }
        catch (JsonException)
        {
            return schema;
        }
    }
}

/// <summary>Any JSON object.</summary>
public sealed record JsonObjectSpec : ConstraintSpec
{
    public override string CanonicalText => "json_object";
}

/// <summary>A regular expression that the whole output must match.</summary>
public sealed record RegexSpec(string Pattern) : ConstraintSpec
{
    public override string CanonicalText => $"regex:{Pattern}";
}

/// <summary>One of a list of strings.</summary>
public sealed record ChoiceSpec(IReadOnlyList<string> Choices) : ConstraintSpec
{
    public override string CanonicalText => $"choice:{JsonSerializer.Serialize(Choices)}";
}

/// <summary>A GBNF grammar.</summary>
public sealed record GrammarSpec(string Gbnf) : ConstraintSpec
{
    public override string CanonicalText => $"grammar:{Gbnf}";
}
