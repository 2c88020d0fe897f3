using System.Globalization;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using CsCheck;

namespace Folio.Worker.Tests.BadInput;

/// <summary>What one mutation does to a valid request: its fields (types, escapes, depth, size, duplicates, the id) or its bytes.</summary>
internal enum MutationKind
{
    FlipByte,
    InsertByte,
    DeleteByte,
    Truncate,
    EscapeInString,
    ChangeType,
    Nest,
    Pad,
    Duplicate,
    DropId,
    BadId,
    Bom,
}

/// <param name="At">Where, as a share of the fields or bytes (0-1).</param>
/// <param name="Value">What: a byte, a depth, a size, a choice among replacements.</param>
internal sealed record Mutation(MutationKind Kind, double At, int Value);

/// <summary>
/// A valid request as an ordered list of (field, raw JSON value), mutated and rendered to the bytes a
/// publisher would send. The request_id is <see cref="IdPlaceholder"/>: the test puts a unique id of
/// the same length in its place, so byte positions stay where the generator chose them.
/// </summary>
internal sealed record MutatedRequest(IReadOnlyList<(string Name, string Json)> Fields, IReadOnlyList<Mutation> Mutations)
{
    public const string IdPlaceholder = "IDPLACEHOLDER-16";
    public const string Marker = "QZMARKPROP";

    private static readonly JsonSerializerOptions Raw = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    private static readonly string[] TypeReplacements = ["123", "-1", "1.5", "\"str\"", "true", "null", "[]", "{}", "[1,\"a\"]", "1e400", "99999999999999999999", "\"\"", "{\"a\":[1,{\"b\":null}]}"];

    private static readonly string[] Escapes = ["\\ud800", "\\udc00", "\\udbff\\u0041", "\\u0000", "\\r\\n", "\\u001b[31m", "\\x41", "\\", "\"", "\\u00", "\\t\\b\\f"];

    private static readonly string[] BadIds = ["\"a b\"", "\"\"", "\"" + new string('x', 129) + "\"", "\"h\u00e9\"", "42", "[\"x\"]", "\"a\\r\\nb\"", "\"\\ud800\""];

    /// <summary>Valid requests (printable and non-ASCII text, every sampling field type), each with 0-3 mutations.</summary>
    public static Gen<MutatedRequest> Generator { get; } =
        from prompt in Gen.Char[" abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.,!?'\u00e9\u00fc\u4e2d\u6587\u2713"].Array[1, 30]
        from maxTokens in Gen.Int[1, 4]
        from temperature in Gen.Double[0, 2]
        from seed in Gen.Long
        from stops in Gen.Char["abcxyz\u00e9"].Array[1, 6].Array[0, 3]
        from logprobs in Gen.Int[-1, 3]
        from order in Gen.Int[0, 1000]
        from mutations in Gen.Enum<MutationKind>().Select(Gen.Double[0, 1], Gen.Int[0, 1 << 20], (k, at, v) => new Mutation(k, at, v)).Array[0, 3]
        select new MutatedRequest(Base(new string(prompt), maxTokens, temperature, seed, stops.Select(s => new string(s)).ToArray(), logprobs, order), mutations);

    private static List<(string, string)> Base(string prompt, int maxTokens, double temperature, long seed, string[] stops, int logprobs, int order)
    {
        var fields = new List<(string, string)>
        {
            ("prompt", JsonSerializer.Serialize(Marker + " " + prompt, Raw)),
            ("max_tokens", maxTokens.ToString(CultureInfo.InvariantCulture)),
            ("temperature", temperature.ToString("R", CultureInfo.InvariantCulture)),
            ("seed", seed.ToString(CultureInfo.InvariantCulture)),
        };
        if (stops.Length > 0)
        {
            fields.Add(("stop", JsonSerializer.Serialize(stops, Raw)));
        }

        if (logprobs >= 0)
        {
            fields.Add(("logprobs", logprobs.ToString(CultureInfo.InvariantCulture)));
        }

        // The id anywhere among the fields: intake must find it wherever it is.
        fields.Insert(order % (fields.Count + 1), ("request_id", "\"" + IdPlaceholder + "\""));
        return fields;
    }

    /// <summary>The bytes to publish, with <paramref name="id"/> (as long as the placeholder) in place of the placeholder.</summary>
    public byte[] Render(string id)
    {
        if (id.Length != IdPlaceholder.Length)
        {
            throw new ArgumentException("the id must be as long as the placeholder", nameof(id));
        }

        var fields = Fields.ToList();
        bool bom = false;
        foreach (var m in Mutations)
        {
            ApplyToFields(fields, m, ref bom);
        }

        string json = "{" + string.Join(",", fields.Select(f => JsonSerializer.Serialize(f.Item1) + ":" + f.Item2)) + "}";
        var bytes = new List<byte>(Encoding.UTF8.GetBytes(json.Replace(IdPlaceholder, id, StringComparison.Ordinal)));
        foreach (var m in Mutations)
        {
            ApplyToBytes(bytes, m);
        }

        if (bom)
        {
            bytes.InsertRange(0, [0xEF, 0xBB, 0xBF]);
        }

        return [.. bytes];
    }

    private static void ApplyToFields(List<(string Name, string Json)> fields, Mutation m, ref bool bom)
    {
        int i = fields.Count == 0 ? 0 : Math.Min(fields.Count - 1, (int)(m.At * fields.Count));
        switch (m.Kind)
        {
            case MutationKind.EscapeInString when fields.Count > 0:
            {
                var (name, json) = fields[i];
                if (json.Length >= 2 && json[0] == '"')
                {
                    int at = 1 + (m.Value % (json.Length - 1));
                    fields[i] = (name, json[..at] + Escapes[m.Value % Escapes.Length] + json[at..]);
                }

                break;
            }

            case MutationKind.ChangeType when fields.Count > 0:
                fields[i] = (fields[i].Name, TypeReplacements[m.Value % TypeReplacements.Length]);
                break;
            case MutationKind.Nest when fields.Count > 0:
            {
                int depth = 1 + (m.Value % 40);
                fields[i] = (fields[i].Name, new string('[', depth) + fields[i].Json + new string(']', depth));
                break;
            }

            case MutationKind.Pad:
                // Up to just over the 64 KiB limit of the in-process worker, sometimes well below it.
                fields.Insert(i, ("pad", "\"" + Marker + new string('p', m.Value % (InProcessWorker.MaxMessageBytes + 4096)) + "\""));
                break;
            case MutationKind.Duplicate when fields.Count > 0:
                fields.Add(fields[i]);
                break;
            case MutationKind.DropId:
                fields.RemoveAll(f => f.Name == "request_id");
                break;
            case MutationKind.BadId:
                for (int k = 0; k < fields.Count; k++)
                {
                    if (fields[k].Name == "request_id")
                    {
                        fields[k] = ("request_id", BadIds[m.Value % BadIds.Length]);
                    }
                }

                break;
            case MutationKind.Bom:
                bom = true;
                break;
        }
    }

    private static void ApplyToBytes(List<byte> bytes, Mutation m)
    {
        if (bytes.Count == 0)
        {
            return;
        }

        int at = Math.Min(bytes.Count - 1, (int)(m.At * bytes.Count));
        switch (m.Kind)
        {
            case MutationKind.FlipByte:
                bytes[at] = (byte)(m.Value & 0xFF);
                break;
            case MutationKind.InsertByte:
                bytes.Insert(at, (byte)(m.Value & 0xFF));
                break;
            case MutationKind.DeleteByte:
                bytes.RemoveAt(at);
                break;
            case MutationKind.Truncate:
                bytes.RemoveRange(at, bytes.Count - at);
                break;
        }
    }

    public override string ToString() =>
        "fields: " + string.Join(", ", Fields.Select(f => f.Name + "=" + (f.Json.Length > 60 ? f.Json[..60] + "..." : f.Json)))
        + "; mutations: " + string.Join(", ", Mutations.Select(m => $"{m.Kind}@{m.At:0.00}/{m.Value}"));
}
