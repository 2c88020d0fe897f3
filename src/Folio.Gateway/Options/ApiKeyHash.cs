using System.Security.Cryptography;
using System.Text;

namespace Folio.Gateway.Options;

/// <summary>Keys are configured and compared as SHA-256 hashes: the gateway never holds a key in its configuration.</summary>
public static class ApiKeyHash
{
    /// <summary>The lowercase hex SHA-256 of the key's UTF-8 bytes (what `printf %s "$KEY" | sha256sum` prints).</summary>
    public static string Of(string key) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(key)));

    public static bool IsHex64(string? s) => s is { Length: 64 } && s.All(char.IsAsciiHexDigit);

    /// <summary>The configured hash as bytes (validated at start).</summary>
    public static byte[] Parse(string hex) => Convert.FromHexString(hex);
}
