using System.Text.Json;

namespace Folio.Client;

/// <summary>
/// The two fields that decide where a raw request is published (priority: its tier; model: its
/// routing key on the model exchange), read from the top level of the JSON without building a
/// document. Anything the worker would refuse (wrong types, bad JSON) routes as the defaults: the
/// worker answers it on its stream.
/// </summary>
internal static class RouteFields
{
    public static (int Priority, string? Model) Read(ReadOnlySpan<byte> utf8Json)
    {
        int priority = 0;
        string? model = null;
        try
        {
            var reader = new Utf8JsonReader(utf8Json);
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                return (0, null);
            }

            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                bool isPriority = reader.ValueTextEquals("priority"u8);
                bool isModel = reader.ValueTextEquals("model"u8);
                reader.Read();
                if (isPriority && reader.TokenType == JsonTokenType.Number && reader.TryGetInt32(out int p))
                {
                    priority = p;
                }
                else if (isModel && reader.TokenType == JsonTokenType.String)
                {
                    model = reader.GetString();
                }

                reader.Skip();
            }
        }
        catch (JsonException)
        {
            // Malformed: routed as the defaults, answered by the worker.
        }

        return (priority, model);
    }
}
