namespace Folio.Text.Chat.Jinja;

/// <summary>The tests of "x is name": Jinja's built-in tests that chat templates use.</summary>
internal static class JinjaTests
{
    public static bool Apply(string name, object? value, IReadOnlyList<object?> args)
    {
        object? Arg() => args.Count > 0 ? args[0] : throw JinjaValues.TypeError($"test '{name}' needs an argument");
        return name switch
        {
            "defined" => value is not Undefined,
            "undefined" => value is Undefined,
            "none" => value is null,
            "boolean" => value is bool,
            "true" => value is true,
            "false" => value is false,
            "number" => value is long or double,
            "integer" => value is long,
            "float" => value is double,
            "string" => value is string,
            "mapping" => value is Dictionary<string, object?>,
            "iterable" => value is string or List<object?> or Dictionary<string, object?>,
            "sequence" => value is string or List<object?> or Dictionary<string, object?>,
            "callable" => value is JinjaCallable,
            "odd" => value is long l && l % 2 != 0,
            "even" => value is long l && l % 2 == 0,
            "divisibleby" => value is long l && Arg() is long d && d != 0 && l % d == 0,
            "eq" or "equalto" or "==" => JinjaValues.AreEqual(value, Arg()),
            "ne" or "!=" => !JinjaValues.AreEqual(value, Arg()),
            "lt" or "lessthan" => JinjaValues.Compare(value, Arg()) < 0,
            "le" => JinjaValues.Compare(value, Arg()) <= 0,
            "gt" or "greaterthan" => JinjaValues.Compare(value, Arg()) > 0,
            "ge" => JinjaValues.Compare(value, Arg()) >= 0,
            "in" => JinjaMethods.Contains(Arg(), value),
            "lower" => value is string s && string.Equals(s, s.ToLowerInvariant(), StringComparison.Ordinal),
            "upper" => value is string s && string.Equals(s, s.ToUpperInvariant(), StringComparison.Ordinal),
            "sameas" => ReferenceEquals(value, Arg()) || (value is null && Arg() is null) || (value is bool a && Arg() is bool b && a == b),
            _ => throw new ChatTemplateUnsupportedException($"test '{name}'", $"The chat template uses the test 'is {name}', which Folio's template renderer does not support."),
        };
    }
}
