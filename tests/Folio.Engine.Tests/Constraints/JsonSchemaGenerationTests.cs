using System.Text.Json;
using Folio.Engine.Constraints;
using Json.Schema;

namespace Folio.Engine.Tests.Constraints;

/// <summary>
/// Random generation under 24 schemas at temperature 1 on the real GPT-2 tokenizer: every output
/// that ends with EOS parses and validates with JsonSchema.Net (formats enforced), an oracle no one
/// here wrote. Enough of them must end for the check to mean something.
/// </summary>
public sealed class JsonSchemaGenerationTests
{
    private const int Seeds = 8;
    private const int MaxTokens = 300;

    public static TheoryData<string, string> Schemas() => new()
    {
        { "flat-required", """{"type":"object","properties":{"name":{"type":"string"},"age":{"type":"integer"}},"required":["name","age"]}""" },
        { "nested-object", """{"type":"object","properties":{"user":{"type":"object","properties":{"id":{"type":"integer","minimum":1},"address":{"type":"object","properties":{"city":{"type":"string"},"zip":{"type":"string","pattern":"^[0-9]{5}$"}},"required":["city","zip"]}},"required":["id","address"]}},"required":["user"]}""" },
        { "integer-array-bounds", """{"type":"object","properties":{"scores":{"type":"array","items":{"type":"integer","minimum":-5,"maximum":250},"minItems":2,"maxItems":4}},"required":["scores"]}""" },
        { "string-enum", """{"type":"object","properties":{"color":{"enum":["red","green","blue","dark \"grey\""]},"size":{"type":"string","enum":["S","M","L"]}},"required":["color","size"],"additionalProperties":false}""" },
        { "defs-ref", """{"$defs":{"point":{"type":"object","properties":{"x":{"type":"integer"},"y":{"type":"integer"}},"required":["x","y"]}},"type":"object","properties":{"from":{"$ref":"#/$defs/point"},"to":{"$ref":"#/$defs/point"}},"required":["from","to"]}""" },
        { "any-of-scalars", """{"type":"object","properties":{"value":{"anyOf":[{"type":"string","maxLength":6},{"type":"integer","minimum":0,"maximum":9},{"type":"null"}]}},"required":["value"]}""" },
        { "one-of-tagged", """{"oneOf":[{"type":"object","properties":{"kind":{"const":"circle"},"r":{"type":"integer","minimum":1}},"required":["kind","r"],"additionalProperties":false},{"type":"object","properties":{"kind":{"const":"square"},"side":{"type":"number"}},"required":["kind","side"],"additionalProperties":false}]}""" },
        { "date-time-formats", """{"type":"object","properties":{"day":{"type":"string","format":"date"},"at":{"type":"string","format":"time"},"when":{"type":"string","format":"date-time"}},"required":["day","at","when"]}""" },
        { "uuid-email", """{"type":"object","properties":{"id":{"type":"string","format":"uuid"},"contact":{"type":"string","format":"email"}},"required":["id","contact"]}""" },
        { "pattern", """{"type":"object","properties":{"code":{"type":"string","pattern":"^[A-Z]{3}-[0-9]{2,4}$"},"note":{"type":"string","pattern":"^(yes|no|maybe)!?$"}},"required":["code","note"]}""" },
        { "tuple-prefix-items", """{"type":"array","prefixItems":[{"type":"string"},{"type":"integer"},{"type":"boolean"}],"minItems":2}""" },
        { "exclusive-integer-bounds", """{"type":"object","properties":{"t":{"type":"integer","exclusiveMinimum":-40,"exclusiveMaximum":-3},"u":{"type":"integer","minimum":100,"maximum":1000}},"required":["t","u"]}""" },
        { "number-boolean-null", """{"type":"object","properties":{"ratio":{"type":"number"},"ok":{"type":"boolean"},"none":{"type":"null"}},"required":["ratio","ok","none"]}""" },
        { "type-list", """{"type":"object","properties":{"nick":{"type":["string","null"]},"rank":{"type":["integer","boolean"]}},"required":["nick","rank"]}""" },
        { "mixed-enum-const", """{"type":"object","properties":{"v":{"enum":[1,"two",null,true,{"k":[1,2]}]},"fixed":{"const":"v1.0"}},"required":["v","fixed"]}""" },
        { "recursive-tree", """{"type":"object","properties":{"label":{"type":"string","maxLength":4},"children":{"type":"array","items":{"$ref":"#"},"maxItems":2}},"required":["label"]}""" },
        { "additional-properties-schema", """{"type":"object","properties":{"name":{"type":"string"}},"required":["name"],"additionalProperties":{"type":"integer"}}""" },
        { "lengths", """{"type":"object","properties":{"short":{"type":"string","maxLength":3},"nonempty":{"type":"string","minLength":1,"maxLength":12}},"required":["short","nonempty"]}""" },
        { "array-of-objects", """{"type":"array","items":{"type":"object","properties":{"sku":{"type":"string"},"qty":{"type":"integer","minimum":1,"maximum":99}},"required":["sku","qty"]},"maxItems":3}""" },
        { "deep-nesting", """{"type":"object","properties":{"a":{"type":"array","items":{"type":"object","properties":{"b":{"type":"array","items":{"enum":["x","y"]},"maxItems":3}},"required":["b"]},"maxItems":2}},"required":["a"]}""" },
        { "all-optional", """{"type":"object","properties":{"p":{"type":"integer"},"q":{"type":"string"},"r":{"type":"boolean"}}}""" },
        { "draft7-definitions-tuple", """{"$schema":"http://json-schema.org/draft-07/schema#","definitions":{"flag":{"type":"boolean"}},"type":"array","items":[{"type":"integer"},{"$ref":"#/definitions/flag"}],"additionalItems":false}""" },
        { "unanchored-pattern", """{"type":"object","properties":{"s":{"type":"string","pattern":"ab"}},"required":["s"]}""" },
        { "all-of-single-and-annotations", """{"title":"T","description":"d","type":"object","properties":{"w":{"allOf":[{"type":"integer","minimum":3,"maximum":7}],"description":"x"}},"required":["w"],"examples":[{"w":3}]}""" },
        { "lax-extra-members", """{"type":"object","properties":{"k":{"type":"string"}},"required":["k"],"x-vendor":"ignored"}""" },
    };

    [Theory]
    [MemberData(nameof(Schemas))]
    public void Every_completed_output_validates_against_the_schema(string name, string schema)
    {
        bool strict = name != "lax-extra-members";
        var tokenizer = ConstraintTestSupport.Gpt2;
        var compiled = ConstraintCompiler.Compile(ConstraintSpec.JsonSchema(schema, strict), tokenizer);
        // 2020-12 unless the schema names its draft (JsonSchema.Net's newest dialect refuses unknown keywords).
        var validator = JsonSchema.FromText(schema, new BuildOptions { Dialect = Dialect.Draft202012 });
        var options = new EvaluationOptions { RequireFormatValidation = true, OutputFormat = OutputFormat.List };
        var generation = new ConstrainedGeneration(tokenizer, ConstrainedGeneration.JsonBias);
        int completed = 0;
        string unfinished = "";
        for (int seed = 0; seed < Seeds; seed++)
        {
            var result = generation.Run(compiled, seed: (name.Length * 1000) + seed, MaxTokens);
            if (!result.Stopped)
            {
                unfinished = result.Text;
                continue;
            }

            completed++;
            using var doc = JsonDocument.Parse(result.Text);
            var evaluation = validator.Evaluate(doc.RootElement, options);
            Assert.True(evaluation.IsValid, $"{name}, seed {seed}: {result.Text}\n{string.Join("\n", (evaluation.Details ?? []).Where(d => d.Errors is not null).SelectMany(d => d.Errors!.Select(e => $"{d.InstanceLocation}: {e.Value}")))}");
        }

        Assert.True(completed >= Seeds / 2, $"{name}: only {completed} of {Seeds} outputs ended before {MaxTokens} tokens; one that did not: {unfinished}");
    }
}
