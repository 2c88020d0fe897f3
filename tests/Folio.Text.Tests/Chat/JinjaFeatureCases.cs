namespace Folio.Text.Tests.Chat;

/// <summary>
/// One small template per Jinja feature issue 11 lists, with variables (JSON) and the output expected
/// (Jinja with trim_blocks and lstrip_blocks, as transformers renders; values print as
/// @huggingface/jinja prints them: true/false in lower case, lists and mappings as JSON). The same
/// table is rendered by @huggingface/jinja in <see cref="JinjaFeatureTests"/>, so no expected value
/// rests on Folio's word alone.
/// </summary>
public static class JinjaFeatureCases
{
    public sealed record FeatureCase(string Feature, string Template, string Variables, string Expected);

    /// <summary>
    /// Features where @huggingface/jinja departs from Jinja (it lacks the test or filter, ignores
    /// strip's characters, or does not lower-case in capitalize): Folio follows Jinja, which
    /// transformers and vLLM run, and the oracle test checks that these still differ there.
    /// </summary>
    public static IReadOnlySet<string> HuggingFaceJinjaDeparts { get; } = new HashSet<string>
    {
        "is float", "is divisibleby(n)", "capitalize lower-cases the rest", "map with a filter", "strip / lstrip / rstrip with characters",
    };

    public static IReadOnlyList<FeatureCase> All { get; } =
    [
        // Statements
        new("for with loop.index, index0, first, last, length, revindex",
            "{% for x in items %}{{ loop.index }}{{ loop.index0 }}{{ loop.first }}{{ loop.last }}{{ loop.length }}{{ loop.revindex }}|{% endfor %}",
            """{"items": ["a", "b"]}""", "10truefalse22|21falsetrue21|"),
        new("for over a mapping's items with unpacking", "{% for k, v in d.items() %}{{ k }}={{ v }};{% endfor %}", """{"d": {"a": 1, "b": 2}}""", "a=1;b=2;"),
        new("for with an else branch on an empty list", "{% for x in [] %}{{ x }}{% else %}empty{% endfor %}", "{}", "empty"),
        new("for with an inline if filter", "{% for x in items if x > 1 %}{{ x }}{% endfor %}", """{"items": [1, 2, 3]}""", "23"),
        new("for with loop.previtem and loop.nextitem", "{% for x in items %}{{ loop.previtem }}<{{ x }}>{{ loop.nextitem }};{% endfor %}", """{"items": [1, 2]}""", "<1>2;1<2>;"),
        new("if / elif / else", "{% for n in [1, 2, 3] %}{% if n == 1 %}one{% elif n == 2 %}two{% else %}many{% endif %} {% endfor %}", "{}", "one two many "),
        new("set", "{% set x = 'a' ~ 'b' %}{{ x }}", "{}", "ab"),
        new("block set", "{% set body %}Hello {{ name }}{% endset %}[{{ body }}]", """{"name": "Ann"}""", "[Hello Ann]"),
        new("macro with defaults and keyword arguments", "{% macro greet(name, punct='!') %}Hi {{ name }}{{ punct }}{% endmacro %}{{ greet('Bo') }} {{ greet('Cy', punct='?') }}", "{}", "Hi Bo! Hi Cy?"),
        new("call block with caller()", "{% macro box() %}[{{ caller() }}]{% endmacro %}{% call box() %}inside{% endcall %}", "{}", "[inside]"),
        new("filter block", "{% filter upper %}shout {{ word }}{% endfilter %}", """{"word": "now"}""", "SHOUT NOW"),
        new("namespace() set from inside a loop", "{% set ns = namespace(total=0) %}{% for x in [1, 2, 3] %}{% set ns.total = ns.total + x %}{% endfor %}{{ ns.total }}", "{}", "6"),
        new("break and continue", "{% for x in [1, 2, 3, 4] %}{% if x == 2 %}{% continue %}{% endif %}{% if x == 4 %}{% break %}{% endif %}{{ x }}{% endfor %}", "{}", "13"),

        // Whitespace control
        new("{%- and -%} strip around tags", "a  {%- if true -%}  b  {%- endif -%}  c", "{}", "abc"),
        new("{{- and -}} strip around output", "a  {{- 'b' -}}  c", "{}", "abc"),
        new("trim_blocks drops the newline after a block tag", "{% if true %}\nx\n{% endif %}\ny", "{}", "x\ny"),
        new("lstrip_blocks drops indentation before a block tag", "a\n    {% if true %}b{% endif %}\n", "{}", "a\nb"),

        // Expressions
        new("literals: strings, integers, floats, booleans, none", "{{ 'a' }}{{ \"b\" }}{{ 7 }}{{ 2.5 }}{{ true }}{{ false }}{{ none }}", "{}", "ab72.5truefalse"),
        new("list and dict literals", "{{ [1, 'x'] | length }}{{ {'k': 'v'}['k'] }}", "{}", "2v"),
        new("attribute and item access", "{{ m.role }}{{ m['content'] }}{{ items[0] }}{{ items[-1] }}", """{"m": {"role": "user", "content": "hi"}, "items": [1, 2, 3]}""", "userhi13"),
        new("slicing", "{{ items[1:] }}|{{ items[:-1] }}|{{ items[::-1] }}|{{ s[1:3] }}", """{"items": [1, 2, 3], "s": "hello"}""", "[2, 3]|[1, 2]|[3, 2, 1]|el"),
        new("in and not in", "{{ 'a' in 'cat' }}{{ 2 in [1, 2] }}{{ 'k' in d }}{{ 'z' not in d }}", """{"d": {"k": 1}}""", "truetruetruetrue"),
        new("~ concatenates as strings", "{{ 1 ~ 'a' ~ true }}", "{}", "1atrue"),
        new("arithmetic", "{{ 7 + 3 }} {{ 7 - 3 }} {{ 7 * 3 }} {{ 7 / 2 }} {{ 7 // 2 }} {{ 7 % 3 }} {{ -7 }}", "{}", "10 4 21 3.5 3 1 -7"),
        new("string + string", "{{ 'ab' + 'cd' }}", "{}", "abcd"),
        new("comparisons and boolean operators", "{{ 1 < 2 }}{{ 2 <= 2 }}{{ 3 > 4 }}{{ 'a' == 'a' }}{{ 1 != 1 }}{{ true and not false }}{{ (false or none) is none }}", "{}", "truetruefalsetruefalsetruetrue"),
        new("conditional expressions", "{{ 'yes' if flag else 'no' }}{{ 'x' if not flag }}", """{"flag": true}""", "yes"),

        // Tests
        new("is defined / undefined", "{{ x is defined }}{{ y is defined }}{{ y is undefined }}", """{"x": 1}""", "truefalsetrue"),
        new("is none", "{{ x is none }}{{ y is none }}", """{"x": null, "y": 0}""", "truefalse"),
        new("is string / number / integer", "{{ s is string }}{{ n is number }}{{ n is integer }}{{ f is integer }}{{ s is number }}", """{"s": "a", "n": 1, "f": 1.5}""", "truetruetruefalsefalse"),
        new("is float", "{{ f is float }}{{ n is float }}", """{"n": 1, "f": 1.5}""", "truefalse"),
        new("is mapping / iterable / sequence", "{{ d is mapping }}{{ l is mapping }}{{ l is iterable }}{{ s is iterable }}{{ l is sequence }}{{ n is iterable }}", """{"d": {}, "l": [], "s": "x", "n": 1}""", "truefalsetruetruetruefalse"),
        new("is true / false / boolean", "{{ t is true }}{{ t is false }}{{ f is false }}{{ t is boolean }}{{ 1 is true }}", """{"t": true, "f": false}""", "truefalsetruetruefalse"),
        new("is even / odd", "{{ 4 is even }}{{ 3 is odd }}{{ 3 is even }}", "{}", "truetruefalse"),
        new("is divisibleby(n)", "{{ 9 is divisibleby(3) }}{{ 9 is divisibleby(2) }}", "{}", "truefalse"),

        // Filters
        new("tojson with transformers' defaults (no ASCII escaping)", "{{ d | tojson }}", """{"d": {"b": [1, 2.5, true, null], "a": "é\"\n"}}""", "{\"b\": [1, 2.5, true, null], \"a\": \"é\\\"\\n\"}"),
        new("tojson with indent", "{{ d | tojson(indent=2) }}", """{"d": {"a": [1, 2]}}""", "{\n  \"a\": [\n    1,\n    2\n  ]\n}"),
        new("trim / upper / lower / title", "{{ '  x  ' | trim }}|{{ 'ab' | upper }}|{{ 'AB' | lower }}|{{ 'hello world' | title }}", "{}", "x|AB|ab|Hello World"),
        new("capitalize lower-cases the rest", "{{ 'hELLO' | capitalize }}", "{}", "Hello"),
        new("length / count", "{{ [1, 2, 3] | length }}{{ 'abcd' | length }}{{ {'a': 1} | length }}", "{}", "341"),
        new("items", "{% for k, v in d | items %}{{ k }}{{ v }}{% endfor %}", """{"d": {"x": 1, "y": 2}}""", "x1y2"),
        new("selectattr / rejectattr", "{{ ms | selectattr('role', 'equalto', 'user') | map(attribute='content') | join(',') }}|{{ ms | rejectattr('role', 'equalto', 'user') | list | length }}", """{"ms": [{"role": "user", "content": "a"}, {"role": "tool", "content": "b"}, {"role": "user", "content": "c"}]}""", "a,c|1"),
        new("map with attribute", "{{ ms | map(attribute='n') | join('-') }}", """{"ms": [{"n": 1}, {"n": 2}]}""", "1-2"),
        new("map with a filter", "{{ ['a', 'b'] | map('upper') | join }}", "{}", "AB"),
        new("join", "{{ [1, 2, 3] | join(', ') }}", "{}", "1, 2, 3"),
        new("default", "{{ x | default('dflt') }}{{ y | default('no') }}", """{"y": "yes"}""", "dfltyes"),
        new("replace", "{{ 'a-b-c' | replace('-', '+') }}", "{}", "a+b+c"),
        new("first / last", "{{ [1, 2, 3] | first }}{{ [1, 2, 3] | last }}", "{}", "13"),
        new("list / string / int", "{{ [1, 2] | list | length }}{{ 5 | string ~ 'x' }}{{ '42' | int + 1 }}", "{}", "25x43"),
        new("indent", "{{ 'a\nb\nc' | indent(2) }}|{{ 'a\nb' | indent(2, true) }}", "{}", "a\n  b\n  c|  a\n  b"),
        new("safe", "{{ '<b>' | safe }}", "{}", "<b>"),
        new("unique", "{{ [1, 2, 1, 3, 2] | unique | list }}", "{}", "[1, 2, 3]"),
        new("dictsort", "{% for k, v in d | dictsort %}{{ k }}{{ v }}{% endfor %}", """{"d": {"b": 2, "a": 1, "c": 3}}""", "a1b2c3"),

        // Methods
        new("strip / lstrip / rstrip", "[{{ s.strip() }}][{{ s.lstrip() }}][{{ s.rstrip() }}]", """{"s": "  a  "}""", "[a][a  ][  a]"),
        new("strip / lstrip / rstrip with characters", "[{{ 'xxaxx'.strip('x') }}][{{ s.lstrip('\\n') }}][{{ 'a..'.rstrip('.') }}]", """{"s": "\n\n  a"}""", "[a][  a][a]"),
        new("split", "{{ 'a,b,c'.split(',') | join('|') }}{{ 'a b  c'.split() | length }}{{ 'a,b,c'.split(',', 1) | length }}", "{}", "a|b|c32"),
        new("startswith / endswith", "{{ s.startswith('<think>') }}{{ s.endswith('x') }}", """{"s": "<think>hi"}""", "truefalse"),
        new("upper / lower / title / replace methods", "{{ 'ab'.upper() }}{{ 'AB'.lower() }}{{ 'a b'.title() }}{{ 'aXa'.replace('X', '-') }}", "{}", "ABabA Ba-a"),
        new("dict get / items / keys / values", "{{ d.get('a') }}{{ d.get('z', 'none') }}{% for k, v in d.items() %}{{ k }}{{ v }}{% endfor %}{{ d.keys() | list | join(',') }}{{ d.values() | list | join(',') }}", """{"d": {"a": 1, "b": 2}}""", "1nonea1b2a,b1,2"),

        // Globals
        new("range", "{% for i in range(3) %}{{ i }}{% endfor %}{% for i in range(1, 7, 2) %}{{ i }}{% endfor %}", "{}", "012135"),
    ];
}
