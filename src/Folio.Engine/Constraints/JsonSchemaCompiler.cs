using System.Globalization;
using System.Text;
using System.Text.Json;

namespace Folio.Engine.Constraints;

/// <summary>
/// Compiles a JSON schema into a grammar whose sentences are JSON documents valid against it.
/// Supported: type (one or a list), properties (generated in schema order; optional ones may be
/// skipped), required, additionalProperties, enum, const, items, prefixItems (and the draft-7 array
/// form of items with additionalItems), minItems, maxItems, minLength, maxLength, pattern, format
/// (date, time, date-time, uuid, email), integer minimum/maximum/exclusiveMinimum/exclusiveMaximum,
/// anyOf, oneOf (as anyOf: the branches should not overlap), allOf with one subschema, $ref to
/// "#" or any "#/..." pointer (recursion included), $defs/definitions. Annotations are ignored.
/// Anything else is refused with a message naming the keyword and where it is.
/// </summary>
internal sealed class JsonSchemaCompiler
{
    private static readonly HashSet<string> Annotations = new(StringComparer.Ordinal)
    {
        "$schema", "$id", "$comment", "$anchor", "title", "description", "examples", "default", "deprecated",
        "readOnly", "writeOnly", "contentMediaType", "contentEncoding", "contentSchema", "$defs", "definitions", "$vocabulary",
    };

    private static readonly HashSet<string> Supported = new(StringComparer.Ordinal)
    {
        "type", "properties", "required", "additionalProperties", "enum", "const", "items", "prefixItems", "additionalItems",
        "minItems", "maxItems", "minLength", "maxLength", "pattern", "format", "minimum", "maximum", "exclusiveMinimum",
        "exclusiveMaximum", "anyOf", "oneOf", "allOf", "$ref",
    };

    private static readonly HashSet<string> KnownUnsupported = new(StringComparer.Ordinal)
    {
        "not", "if", "then", "else", "dependentSchemas", "dependentRequired", "dependencies", "patternProperties",
        "propertyNames", "unevaluatedProperties", "unevaluatedItems", "contains", "minContains", "maxContains",
        "uniqueItems", "multipleOf", "minProperties", "maxProperties", "$dynamicRef", "$dynamicAnchor", "$recursiveRef",
        "$recursiveAnchor",
    };

    private static readonly string[] TypeNames = ["string", "integer", "number", "boolean", "null", "object", "array"];

    private readonly JsonElement _root;
    private readonly bool _strict;
    private readonly GrammarDefinition _grammar = new("root");
    private readonly Dictionary<string, string> _refRules = new(StringComparer.Ordinal);
    private readonly Dictionary<string, string> _sharedRules = new(StringComparer.Ordinal);
    private int _ruleCounter;

    private JsonSchemaCompiler(JsonElement root, bool strict)
    {
        _root = root;
        _strict = strict;
    }

    public static GrammarDefinition Compile(string schemaText, bool strict)
    {
        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(schemaText ?? throw new ConstraintException("json_schema: the schema is missing"));
        }
        catch (JsonException e)
        {
            throw new ConstraintException($"json_schema: the schema is not valid JSON ({e.Message}); send a JSON object", e);
        }

        using (doc)
        {
            if (doc.RootElement.ValueKind != JsonValueKind.Object)
            {
                throw new ConstraintException($"json_schema: the schema must be a JSON object, not {Describe(doc.RootElement.ValueKind)}");
            }

            var compiler = new JsonSchemaCompiler(doc.RootElement, strict);
            var body = compiler.Value(doc.RootElement, "#");
            compiler._grammar.Add("root", body);
            return compiler._grammar;
        }
    }

    /// <summary>json_object: any JSON object.</summary>
    public static GrammarDefinition AnyObject()
    {
        var grammar = new GrammarDefinition("root");
        JsonGrammar.AddGenericRules(grammar);
        grammar.Add("root", GrammarExpr.Ref(JsonGrammar.ObjectRule));
        return grammar;
    }

    private GrammarExpr AnyValue()
    {
        JsonGrammar.AddGenericRules(_grammar);
        return GrammarExpr.Ref(JsonGrammar.ValueRule);
    }

    /// <summary>The expression for a value valid against <paramref name="schema"/> (at JSON pointer <paramref name="path"/>).</summary>
    private GrammarExpr Value(JsonElement schema, string path)
    {
        if (schema.ValueKind == JsonValueKind.True)
        {
            return AnyValue();
        }

        if (schema.ValueKind == JsonValueKind.False)
        {
            throw new ConstraintException($"json_schema: the schema at '{path}' is false, so no value can satisfy it; remove it or make the property optional");
        }

        if (schema.ValueKind != JsonValueKind.Object)
        {
            throw new ConstraintException($"json_schema: the schema at '{path}' must be an object or a boolean, not {Describe(schema.ValueKind)}");
        }

        CheckKeywords(schema, path);
        if (schema.TryGetProperty("$ref", out var reference))
        {
            RequireAlone(schema, path, "$ref");
            return Reference(reference, path);
        }

        if (schema.TryGetProperty("allOf", out var allOf))
        {
            RequireAlone(schema, path, "allOf");
            if (allOf.ValueKind != JsonValueKind.Array || allOf.GetArrayLength() != 1)
            {
                throw new ConstraintException($"json_schema: 'allOf' at '{path}' is supported only with exactly one subschema; merge the subschemas into one");
            }

            return Value(allOf[0], $"{path}/allOf/0");
        }

        foreach (string key in (ReadOnlySpan<string>)["anyOf", "oneOf"])
        {
            if (schema.TryGetProperty(key, out var branches))
            {
                RequireAlone(schema, path, key);
                if (branches.ValueKind != JsonValueKind.Array || branches.GetArrayLength() == 0)
                {
                    throw new ConstraintException($"json_schema: '{key}' at '{path}' must be a non-empty array of schemas");
                }

                return GrammarExpr.Alt([.. branches.EnumerateArray().Select((b, i) => Value(b, $"{path}/{key}/{i}"))]);
            }
        }

        if (schema.TryGetProperty("const", out var constant))
        {
            return GrammarExpr.Text(JsonGrammar.Serialize(constant));
        }

        if (schema.TryGetProperty("enum", out var values))
        {
            if (values.ValueKind != JsonValueKind.Array || values.GetArrayLength() == 0)
            {
                throw new ConstraintException($"json_schema: 'enum' at '{path}' must be a non-empty array");
            }

            var types = DeclaredTypes(schema, path);
            var kept = values.EnumerateArray().Where(v => types is null || types.Any(t => IsOfType(v, t))).Select(JsonGrammar.Serialize).Distinct(StringComparer.Ordinal).ToArray();
            if (kept.Length == 0)
            {
                throw new ConstraintException($"json_schema: no value of 'enum' at '{path}' has the declared type; fix 'type' or the values");
            }

            return GrammarExpr.Alt([.. kept.Select(GrammarExpr.Text)]);
        }

        var declared = DeclaredTypes(schema, path) ?? InferTypes(schema);
        return GrammarExpr.Alt([.. declared.Select(t => OfType(schema, t, path))]);
    }

    private GrammarExpr OfType(JsonElement schema, string type, string path) => type switch
    {
        "string" => StringValue(schema, path),
        "integer" => IntegerValue(schema, path),
        "number" => NumberValue(schema, path),
        "boolean" => GrammarExpr.Alt(GrammarExpr.Text("true"), GrammarExpr.Text("false")),
        "null" => GrammarExpr.Text("null"),
        "object" => ObjectValue(schema, path),
        "array" => ArrayValue(schema, path),
        _ => throw new InvalidOperationException(type),
    };

    private void CheckKeywords(JsonElement schema, string path)
    {
        foreach (var p in schema.EnumerateObject())
        {
            if (Supported.Contains(p.Name) || Annotations.Contains(p.Name))
            {
                continue;
            }

            if (KnownUnsupported.Contains(p.Name))
            {
                throw new ConstraintException($"json_schema: keyword '{p.Name}' at '{path}' is not supported by the structured-output compiler; remove it (the output could not be guaranteed to satisfy it)");
            }

            if (_strict)
            {
                throw new ConstraintException($"json_schema: unknown keyword '{p.Name}' at '{path}'; remove it or fix its spelling (or send strict: false to ignore unknown keywords)");
            }
        }
    }

    private static void RequireAlone(JsonElement schema, string path, string keyword)
    {
        foreach (var p in schema.EnumerateObject())
        {
            if (p.Name != keyword && !Annotations.Contains(p.Name))
            {
                throw new ConstraintException($"json_schema: '{keyword}' at '{path}' cannot be combined with '{p.Name}' in the same schema; move '{p.Name}' into the referenced or branch schemas");
            }
        }
    }

    private GrammarExpr Reference(JsonElement reference, string path)
    {
        string target = reference.ValueKind == JsonValueKind.String ? reference.GetString()! : "";
        if (!target.StartsWith('#'))
        {
            throw new ConstraintException($"json_schema: '$ref' at '{path}' is '{target}'; only references inside the schema ('#', '#/$defs/name') are supported");
        }

        if (!_refRules.TryGetValue(target, out string? rule))
        {
            var resolved = Resolve(target, path);
            rule = NewRuleName("ref-" + target.TrimStart('#', '/'));
            _refRules[target] = rule;

            // Registered before compiling the body, so a recursive reference finds the rule.
            _grammar.Add(rule, GrammarExpr.Empty);
            _grammar.Replace(rule, Value(resolved, target));
        }

        return GrammarExpr.Ref(rule);
    }

    private JsonElement Resolve(string pointer, string path)
    {
        var current = _root;
        if (pointer == "#")
        {
            return current;
        }

        if (!pointer.StartsWith("#/", StringComparison.Ordinal))
        {
            throw new ConstraintException($"json_schema: '$ref' at '{path}' is '{pointer}'; anchors are not supported, use a JSON pointer like '#/$defs/name'");
        }

        foreach (string raw in pointer[2..].Split('/'))
        {
            string token = Uri.UnescapeDataString(raw).Replace("~1", "/", StringComparison.Ordinal).Replace("~0", "~", StringComparison.Ordinal);
            if (current.ValueKind == JsonValueKind.Object && current.TryGetProperty(token, out var next))
            {
                current = next;
            }
            else if (current.ValueKind == JsonValueKind.Array && int.TryParse(token, NumberStyles.None, CultureInfo.InvariantCulture, out int i) && i < current.GetArrayLength())
            {
                current = current[i];
            }
            else
            {
                throw new ConstraintException($"json_schema: '$ref' at '{path}' points to '{pointer}', which does not exist in the schema");
            }
        }

        return current;
    }

    private static List<string>? DeclaredTypes(JsonElement schema, string path)
    {
        if (!schema.TryGetProperty("type", out var type))
        {
            return null;
        }

        var names = type.ValueKind switch
        {
            JsonValueKind.String => [type.GetString()!],
            JsonValueKind.Array => type.EnumerateArray().Select(t => t.ValueKind == JsonValueKind.String ? t.GetString()! : "").ToList(),
            _ => [""],
        };
        foreach (string n in names)
        {
            if (Array.IndexOf(TypeNames, n) < 0)
            {
                throw new ConstraintException($"json_schema: 'type' at '{path}' has '{n}'; use one of {string.Join(", ", TypeNames)}");
            }
        }

        return names.Count == 0
            ? throw new ConstraintException($"json_schema: 'type' at '{path}' is an empty list")
            : [.. names.Distinct(StringComparer.Ordinal)];
    }

    /// <summary>Without 'type': the types the keywords speak about, or every type when none do.</summary>
    private static List<string> InferTypes(JsonElement schema)
    {
        bool Has(params string[] keys) => keys.Any(k => schema.TryGetProperty(k, out _));
        var types = new List<string>();
        if (Has("properties", "additionalProperties", "required"))
        {
            types.Add("object");
        }

        if (Has("items", "prefixItems", "minItems", "maxItems", "additionalItems"))
        {
            types.Add("array");
        }

        if (Has("minLength", "maxLength", "pattern", "format"))
        {
            types.Add("string");
        }

        if (Has("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"))
        {
            types.Add("number");
        }

        return types.Count > 0 ? types : [.. TypeNames];
    }

    private static bool IsOfType(JsonElement v, string type) => type switch
    {
        "string" => v.ValueKind == JsonValueKind.String,
        "integer" => v.ValueKind == JsonValueKind.Number && v.TryGetDecimal(out decimal d) && d == Math.Floor(d),
        "number" => v.ValueKind == JsonValueKind.Number,
        "boolean" => v.ValueKind is JsonValueKind.True or JsonValueKind.False,
        "null" => v.ValueKind == JsonValueKind.Null,
        "object" => v.ValueKind == JsonValueKind.Object,
        "array" => v.ValueKind == JsonValueKind.Array,
        _ => false,
    };

    private GrammarExpr StringValue(JsonElement schema, string path)
    {
        int? minLength = NonNegativeInt(schema, "minLength", path);
        int? maxLength = NonNegativeInt(schema, "maxLength", path);
        bool hasPattern = schema.TryGetProperty("pattern", out var pattern);
        bool hasFormat = schema.TryGetProperty("format", out var format);
        if ((hasPattern ? 1 : 0) + (hasFormat ? 1 : 0) + (minLength is not null || maxLength is not null ? 1 : 0) > 1)
        {
            throw new ConstraintException($"json_schema: the string at '{path}' combines pattern, format and length limits; use one of them (a pattern can express a length, e.g. ^.{{3,10}}$)");
        }

        if (hasFormat)
        {
            string name = format.ValueKind == JsonValueKind.String ? format.GetString()! : "";
            var expr = StringFormats.For(name);
            if (expr is not null)
            {
                return SharedRule("format-" + name, () => JsonGrammar.Quoted(expr));
            }

            if (_strict)
            {
                throw new ConstraintException($"json_schema: format '{name}' at '{path}' is not supported; supported formats are {string.Join(", ", StringFormats.Names)} (or send strict: false to treat other formats as plain strings)");
            }
        }

        if (hasPattern)
        {
            string text = pattern.ValueKind == JsonValueKind.String ? pattern.GetString()! : throw new ConstraintException($"json_schema: 'pattern' at '{path}' must be a string");
            return SharedRule("pattern-" + text, () => JsonGrammar.Quoted(PatternContent(text, path)));
        }

        if (minLength is not null || maxLength is not null)
        {
            int min = minLength ?? 0;
            int max = maxLength ?? RepeatExpr.Unbounded;
            if (max != RepeatExpr.Unbounded && max < min)
            {
                throw new ConstraintException($"json_schema: the string at '{path}' has maxLength {max} below minLength {min}");
            }

            if (Math.Max(min, max) > RegexParser.MaxRepeat)
            {
                throw new ConstraintException($"json_schema: string length limits above {RegexParser.MaxRepeat} at '{path}' are not supported");
            }

            return SharedRule($"string-{min}-{max}", () => JsonGrammar.Quoted(JsonGrammar.StringChar.Repeat(min, max)));
        }

        JsonGrammar.AddStringRule(_grammar);
        return GrammarExpr.Ref(JsonGrammar.StringRule);
    }

    /// <summary>A JSON Schema pattern is a search, not a full match, unless anchored: unanchored ends allow any characters.</summary>
    private static GrammarExpr PatternContent(string pattern, string path)
    {
        (GrammarExpr Body, bool AnchoredStart, bool AnchoredEnd) parsed;
        try
        {
            parsed = RegexParser.Parse(pattern);
        }
        catch (ConstraintException e)
        {
            throw new ConstraintException($"json_schema: 'pattern' at '{path}': {e.Message}", e);
        }

        var body = JsonGrammar.EncodeForString(parsed.Body);
        var any = JsonGrammar.StringChar.Star();
        return GrammarExpr.Seq(parsed.AnchoredStart ? GrammarExpr.Empty : any, body, parsed.AnchoredEnd ? GrammarExpr.Empty : any);
    }

    private static GrammarExpr IntegerValue(JsonElement schema, string path)
    {
        long? min = Bound(schema, "minimum", path, up: true);
        long? max = Bound(schema, "maximum", path, up: false);
        if (ExclusiveBound(schema, "exclusiveMinimum", path, up: true) is long exMin)
        {
            min = min is null ? exMin + 1 : Math.Max(min.Value, exMin + 1);
        }

        if (ExclusiveBound(schema, "exclusiveMaximum", path, up: false) is long exMax)
        {
            max = max is null ? exMax - 1 : Math.Min(max.Value, exMax - 1);
        }

        return IntegerRangeGrammar.Build(min, max);
    }

    private static GrammarExpr NumberValue(JsonElement schema, string path)
    {
        foreach (string key in (ReadOnlySpan<string>)["minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"])
        {
            if (schema.TryGetProperty(key, out _))
            {
                throw new ConstraintException($"json_schema: '{key}' at '{path}' is supported for type 'integer' only; use \"type\": \"integer\" or remove the bound");
            }
        }

        return JsonGrammar.Number;
    }

    /// <summary>An inclusive integer bound from a number (rounded inward).</summary>
    private static long? Bound(JsonElement schema, string key, string path, bool up)
    {
        if (!schema.TryGetProperty(key, out var v))
        {
            return null;
        }

        if (v.ValueKind != JsonValueKind.Number || !v.TryGetDecimal(out decimal d) || Math.Abs(d) > 1e18m)
        {
            throw new ConstraintException($"json_schema: '{key}' at '{path}' must be a number between -1e18 and 1e18");
        }

        return (long)(up ? Math.Ceiling(d) : Math.Floor(d));
    }

    /// <summary>An exclusive bound as the nearest integer strictly inside, returned as the bound the caller adjusts by one.</summary>
    private static long? ExclusiveBound(JsonElement schema, string key, string path, bool up)
    {
        if (!schema.TryGetProperty(key, out var v))
        {
            return null;
        }

        if (v.ValueKind is JsonValueKind.True or JsonValueKind.False)
        {
            throw new ConstraintException($"json_schema: boolean '{key}' at '{path}' is draft-4 syntax; write the bound itself, e.g. \"{key}\": 0");
        }

        if (v.ValueKind != JsonValueKind.Number || !v.TryGetDecimal(out decimal d) || Math.Abs(d) > 1e18m)
        {
            throw new ConstraintException($"json_schema: '{key}' at '{path}' must be a number between -1e18 and 1e18");
        }

        // x > 2.5 means x >= 3: return 2 so the caller's +1 gives 3. x > 2 means x >= 3 too.
        return (long)(up ? Math.Floor(d) : Math.Ceiling(d));
    }

    private static int? NonNegativeInt(JsonElement schema, string key, string path)
    {
        if (!schema.TryGetProperty(key, out var v))
        {
            return null;
        }

        if (v.ValueKind != JsonValueKind.Number || !v.TryGetInt32(out int n) || n < 0)
        {
            throw new ConstraintException($"json_schema: '{key}' at '{path}' must be a non-negative integer");
        }

        return n;
    }

    private GrammarExpr ObjectValue(JsonElement schema, string path)
    {
        var properties = new List<(string Name, JsonElement Schema, bool Required)>();
        var required = new HashSet<string>(StringComparer.Ordinal);
        if (schema.TryGetProperty("required", out var req))
        {
            if (req.ValueKind != JsonValueKind.Array || req.EnumerateArray().Any(r => r.ValueKind != JsonValueKind.String))
            {
                throw new ConstraintException($"json_schema: 'required' at '{path}' must be an array of property names");
            }

            foreach (var r in req.EnumerateArray())
            {
                required.Add(r.GetString()!);
            }
        }

        var declared = new HashSet<string>(StringComparer.Ordinal);
        if (schema.TryGetProperty("properties", out var props))
        {
            if (props.ValueKind != JsonValueKind.Object)
            {
                throw new ConstraintException($"json_schema: 'properties' at '{path}' must be an object");
            }

            foreach (var p in props.EnumerateObject())
            {
                declared.Add(p.Name);
                if (p.Value.ValueKind == JsonValueKind.False)
                {
                    if (required.Contains(p.Name))
                    {
                        throw new ConstraintException($"json_schema: property '{p.Name}' at '{path}' is required but its schema is false; no object can satisfy that");
                    }

                    continue;
                }

                properties.Add((p.Name, p.Value, required.Contains(p.Name)));
            }
        }

        JsonElement? additional = null;
        bool additionalAllowed = !_strict;
        if (schema.TryGetProperty("additionalProperties", out var ap))
        {
            additionalAllowed = ap.ValueKind != JsonValueKind.False;
            additional = ap.ValueKind is JsonValueKind.True ? null : ap;
            if (ap.ValueKind is not (JsonValueKind.True or JsonValueKind.False or JsonValueKind.Object))
            {
                throw new ConstraintException($"json_schema: 'additionalProperties' at '{path}' must be a boolean or a schema");
            }
        }

        foreach (string name in required.Where(r => !declared.Contains(r)))
        {
            if (!additionalAllowed)
            {
                throw new ConstraintException($"json_schema: '{name}' is required at '{path}' but not in 'properties' and additional properties are not allowed; declare it in 'properties'");
            }

            properties.Add((name, additional ?? default, true));
        }

        string ruleBase = NewRuleName("obj-" + path);
        var values = properties.Select(p => p.Schema.ValueKind == JsonValueKind.Undefined ? AnyValue() : Value(p.Schema, $"{path}/properties/{Escape(p.Name)}")).ToList();
        GrammarExpr? extra = null;
        if (additionalAllowed)
        {
            var key = JsonGrammar.Quoted(ExcludingNames([.. declared.Union(required)]));
            var value = additional is { } schemaOfExtra && schemaOfExtra.ValueKind == JsonValueKind.Object ? Value(schemaOfExtra, $"{path}/additionalProperties") : AnyValue();
            extra = GrammarExpr.Seq(key, JsonGrammar.Ws, GrammarExpr.Text(":"), JsonGrammar.Ws, value);
        }

        // F(i): members from property i on, none written yet; R(i): the same after at least one (each needs a leading comma).
        var comma = GrammarExpr.Seq(JsonGrammar.Ws, GrammarExpr.Text(","), JsonGrammar.Ws);
        string F(int i) => $"{ruleBase}-f{i}";
        string R(int i) => $"{ruleBase}-r{i}";
        int n = properties.Count;
        GrammarExpr Member(int i) => GrammarExpr.Seq(GrammarExpr.Text(KeyText(properties[i].Name)), JsonGrammar.Ws, GrammarExpr.Text(":"), JsonGrammar.Ws, values[i]);
        if (extra is null)
        {
            _grammar.Add(F(n), GrammarExpr.Empty);
            _grammar.Add(R(n), GrammarExpr.Empty);
        }
        else
        {
            _grammar.Add(R(n), GrammarExpr.Seq(comma, extra).Star());
            _grammar.Add(F(n), GrammarExpr.Seq(extra, GrammarExpr.Ref(R(n))).Optional());
        }

        for (int i = n - 1; i >= 0; i--)
        {
            var take = GrammarExpr.Seq(Member(i), GrammarExpr.Ref(R(i + 1)));
            var takeAfter = GrammarExpr.Seq(comma, Member(i), GrammarExpr.Ref(R(i + 1)));
            _grammar.Add(F(i), properties[i].Required ? take : GrammarExpr.Alt(take, GrammarExpr.Ref(F(i + 1))));
            _grammar.Add(R(i), properties[i].Required ? takeAfter : GrammarExpr.Alt(takeAfter, GrammarExpr.Ref(R(i + 1))));
        }

        GrammarExpr members;
        if (properties.Any(p => p.Required))
        {
            members = GrammarExpr.Seq(GrammarExpr.Ref(F(0)), JsonGrammar.Ws);
        }
        else
        {
            // Everything optional: "{" ws "}" or at least one member, the first present being property i (or an extra).
            var first = Enumerable.Range(0, n).Select(i => GrammarExpr.Seq(Member(i), GrammarExpr.Ref(R(i + 1)))).ToList();
            if (extra is not null)
            {
                first.Add(GrammarExpr.Seq(extra, GrammarExpr.Ref(R(n))));
            }

            members = first.Count == 0 ? GrammarExpr.Empty : GrammarExpr.Seq(GrammarExpr.Alt([.. first]), JsonGrammar.Ws).Optional();
        }

        _grammar.Add(ruleBase, GrammarExpr.Seq(GrammarExpr.Text("{"), JsonGrammar.Ws, members, GrammarExpr.Text("}")));
        return GrammarExpr.Ref(ruleBase);
    }

    private static string KeyText(string name)
    {
        var sb = new StringBuilder();
        JsonGrammar.WriteString(name, sb);
        return sb.ToString();
    }

    /// <summary>
    /// Key content (unescaped characters only, so the text is the key) that is none of
    /// <paramref name="names"/>: a trie of the names where each node also allows any other character.
    /// </summary>
    private static GrammarExpr ExcludingNames(IReadOnlyList<string> names)
    {
        var keyChar = JsonGrammar.RawStringChar;
        if (names.Count == 0)
        {
            return GrammarExpr.Chars(keyChar).Plus();
        }

        return Node([.. names.Select(n => n.EnumerateRunes().Select(r => r.Value).ToArray())], 0);

        GrammarExpr Node(List<int[]> group, int depth)
        {
            // Strings that, having matched a common prefix of length depth, differ from every name in the group.
            bool someEndsHere = group.Any(g => g.Length == depth);
            var options = new List<GrammarExpr>();
            if (!someEndsHere && depth > 0)
            {
                options.Add(GrammarExpr.Empty);
            }

            var next = group.Where(g => g.Length > depth).GroupBy(g => g[depth]).ToList();
            var used = CodePointSet.FromRanges(next.Select(g => (g.Key, g.Key)));
            var other = keyChar.Minus(used);
            if (!other.IsEmpty)
            {
                options.Add(GrammarExpr.Seq(GrammarExpr.Chars(other), GrammarExpr.Chars(keyChar).Star()));
            }

            foreach (var g in next)
            {
                options.Add(GrammarExpr.Seq(GrammarExpr.Chars(CodePointSet.Single(g.Key)), Node([.. g], depth + 1)));
            }

            return GrammarExpr.Alt([.. options]);
        }
    }

    private GrammarExpr ArrayValue(JsonElement schema, string path)
    {
        var prefix = new List<GrammarExpr>();
        JsonElement? items = null;
        bool itemsAllowed = true;
        if (schema.TryGetProperty("prefixItems", out var prefixItems))
        {
            if (prefixItems.ValueKind != JsonValueKind.Array)
            {
                throw new ConstraintException($"json_schema: 'prefixItems' at '{path}' must be an array of schemas");
            }

            prefix.AddRange(prefixItems.EnumerateArray().Select((s, i) => Value(s, $"{path}/prefixItems/{i}")));
            itemsAllowed = !_strict;
        }

        if (schema.TryGetProperty("items", out var itemsElement))
        {
            if (itemsElement.ValueKind == JsonValueKind.Array)
            {
                // Draft 7: items as a list is prefixItems, additionalItems the rest.
                prefix.AddRange(itemsElement.EnumerateArray().Select((s, i) => Value(s, $"{path}/items/{i}")));
                itemsAllowed = !_strict;
                if (schema.TryGetProperty("additionalItems", out var additionalItems))
                {
                    itemsAllowed = additionalItems.ValueKind != JsonValueKind.False;
                    items = additionalItems.ValueKind == JsonValueKind.Object ? additionalItems : null;
                }
            }
            else
            {
                itemsAllowed = itemsElement.ValueKind != JsonValueKind.False;
                items = itemsElement.ValueKind == JsonValueKind.Object ? itemsElement : null;
            }
        }

        int minItems = NonNegativeInt(schema, "minItems", path) ?? 0;
        int? maxItems = NonNegativeInt(schema, "maxItems", path);
        if (!itemsAllowed)
        {
            maxItems = Math.Min(maxItems ?? prefix.Count, prefix.Count);
        }

        if (maxItems is int mx && mx < minItems)
        {
            throw new ConstraintException($"json_schema: the array at '{path}' needs at least {minItems} items but allows at most {mx}; fix minItems/maxItems/items");
        }

        if (Math.Max(minItems, maxItems ?? 0) > RegexParser.MaxRepeat)
        {
            throw new ConstraintException($"json_schema: item counts above {RegexParser.MaxRepeat} at '{path}' are not supported");
        }

        GrammarExpr? item = itemsAllowed ? (items is { } s ? Value(s, $"{path}/items") : AnyValue()) : null;
        var comma = GrammarExpr.Seq(JsonGrammar.Ws, GrammarExpr.Text(","), JsonGrammar.Ws);
        GrammarExpr Element(int i) => i < prefix.Count ? prefix[i] : item!;

        // Tail(i): what may follow once i elements are written.
        GrammarExpr Tail(int i)
        {
            if (maxItems is int m && i >= m)
            {
                return GrammarExpr.Empty;
            }

            if (i >= prefix.Count && i >= minItems)
            {
                if (item is null)
                {
                    return GrammarExpr.Empty;
                }

                int more = maxItems is int m2 ? m2 - i : RepeatExpr.Unbounded;
                return GrammarExpr.Seq(comma, item).Repeat(0, more);
            }

            var next = GrammarExpr.Seq(comma, Element(i), Tail(i + 1));
            return i < minItems ? next : next.Optional();
        }

        GrammarExpr body;
        if (maxItems == 0)
        {
            body = GrammarExpr.Empty;
        }
        else if (prefix.Count == 0 && item is null)
        {
            body = GrammarExpr.Empty;
        }
        else
        {
            var first = GrammarExpr.Seq(Element(0), Tail(1), JsonGrammar.Ws);
            body = minItems > 0 ? first : first.Optional();
        }

        string rule = NewRuleName("arr-" + path);
        _grammar.Add(rule, GrammarExpr.Seq(GrammarExpr.Text("["), JsonGrammar.Ws, body, GrammarExpr.Text("]")));
        return GrammarExpr.Ref(rule);
    }

    private GrammarExpr SharedRule(string key, Func<GrammarExpr> body)
    {
        if (!_sharedRules.TryGetValue(key, out string? rule))
        {
            rule = NewRuleName(key);
            _sharedRules[key] = rule;
            _grammar.Add(rule, body());
        }

        return GrammarExpr.Ref(rule);
    }

    private string NewRuleName(string hint)
    {
        var sb = new StringBuilder();
        foreach (char c in hint)
        {
            sb.Append(char.IsAsciiLetterOrDigit(c) ? c : '-');
            if (sb.Length >= 40)
            {
                break;
            }
        }

        return $"{sb}-{_ruleCounter++}";
    }

    private static string Escape(string name) => name.Replace("~", "~0", StringComparison.Ordinal).Replace("/", "~1", StringComparison.Ordinal);

    private static string Describe(JsonValueKind kind) => kind switch
    {
        JsonValueKind.Array => "an array",
        JsonValueKind.String => "a string",
        JsonValueKind.Number => "a number",
        JsonValueKind.True or JsonValueKind.False => "a boolean",
        JsonValueKind.Null => "null",
        _ => kind.ToString(),
    };
}
