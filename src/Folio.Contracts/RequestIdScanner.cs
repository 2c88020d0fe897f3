using System.Text.Json;

namespace Folio.Contracts;

/// <summary>
/// Finds a top-level string request_id without building a document: used for messages too large to
/// parse whole, so the user still gets an error entry on the stream they are reading.
/// </summary>
public static class RequestIdScanner
{
    public static string? TryFind(ReadOnlySpan<byte> utf8Json)
    {
        try
        {
            var reader = new Utf8JsonReader(utf8Json, new JsonReaderOptions { MaxDepth = 4096 });
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
                    string? id = reader.TokenType == JsonTokenType.String && !reader.ValueIsEscaped ? reader.GetString() : reader.TokenType == JsonTokenType.String ? TryUnescape(ref reader) : null;
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

    /// <summary>An escaped id (<c>\u0041</c>) is still an id; one with a lone surrogate is not.</summary>
    private static string? TryUnescape(ref Utf8JsonReader reader)
    {
        try
        {
            return reader.GetString();
        }
        catch (InvalidOperationException)
        {
            return null;
        }
    }
}
