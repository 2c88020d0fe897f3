using System.Text.Json;
using System.Text.Json.Nodes;

namespace Folio.Text.Chat.Jinja;

/// <summary>Turns C# and JSON values into the renderer's value model.</summary>
public static class TemplateValues
{
    /// <summary>
    /// null, bool, integers, floating point numbers, strings, JsonNode, JsonElement, string-keyed
    /// dictionaries and sequences of these; anything else is refused (the sandbox exposes no .NET objects).
    /// </summary>
    public static object? From(object? value) => value switch
    {
        null => null,
        Undefined or JinjaCallable or JinjaNamespace => value,
        string or bool or long or double => value,
        int i => (long)i,
        float f => (double)f,
        decimal m => (double)m,
        JsonElement e => FromElement(e),
        JsonNode n => FromElement(JsonSerializer.SerializeToElement(n)),
        Dictionary<string, object?> d when d.Values.All(IsModel) => d,
        IEnumerable<KeyValuePair<string, object?>> pairs => pairs.ToDictionary(p => p.Key, p => From(p.Value), StringComparer.Ordinal),
        List<object?> l when l.All(IsModel) => l,
        System.Collections.IEnumerable items => items.Cast<object?>().Select(From).ToList(),
        _ => throw new ArgumentException($"A template variable of type {value.GetType().Name} cannot be passed to a chat template; use JSON-like values.", nameof(value)),
    };

    private static bool IsModel(object? value) => value is null or string or bool or long or double or Undefined
        || (value is List<object?> l && l.All(IsModel)) || (value is Dictionary<string, object?> d && d.Values.All(IsModel));

    /// <summary>An integer literal stays an integer (boxed long), as in Python and @huggingface/jinja; anything else is a float.</summary>
    private static object Number(JsonElement e)
    {
        var raw = e.GetRawText();
        if (e.TryGetInt64(out var l) && !raw.Contains('.', StringComparison.Ordinal) && !raw.Contains('e', StringComparison.OrdinalIgnoreCase))
        {
            return l;
        }

        return e.GetDouble();
    }

    private static object? FromElement(JsonElement e) => e.ValueKind switch
    {
        JsonValueKind.Null or JsonValueKind.Undefined => null,
        JsonValueKind.True => true,
        JsonValueKind.False => false,
        JsonValueKind.String => e.GetString(),
        JsonValueKind.Number => Number(e),
        JsonValueKind.Array => e.EnumerateArray().Select(FromElement).ToList(),
        JsonValueKind.Object => e.EnumerateObject().Aggregate(new Dictionary<string, object?>(StringComparer.Ordinal), (d, p) =>
        {
            d[p.Name] = FromElement(p.Value);
            return d;
        }),
        _ => null,
    };
}
