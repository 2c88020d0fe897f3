using System.Text.Json;

namespace Folio.Contracts;

/// <summary>
/// Finds a top-level string request_id without building a document: used for messages too large to
/// parse whole, so the user still gets an error entry on the stream they are reading.
/// </summary>
internal static class RequestIdScanner
{
    public static string? TryFind(ReadOnlySpan<byte> utf8Json)
    {
        try
        {
            var reader = new Utf8JsonReader(utf8Json, new JsonReaderOptions { MaxDepth = 64 });
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                return null;
            }

            while (reader.Read())
            {
                if (reader.TokenType == JsonTokenType.EndObject)
                {
                    return null;
                }

                if (reader.TokenType != JsonTokenType.PropertyName)
                {
                    return null;
                }

                bool isId = reader.ValueTextEquals("request_id"u8);
                if (!reader.Read())
                {
                    return null;
                }

                if (isId)
                {
                    string? id = reader.TokenType == JsonTokenType.String ? reader.GetString() : null;
                    return RequestIdRules.IsValid(id) ? id : null;
                }

                reader.Skip();
            }
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException)
        {
            // Malformed before the id was reached: there is no usable id.
        }

        return null;
    }
}
