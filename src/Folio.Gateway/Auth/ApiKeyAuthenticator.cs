using System.Security.Cryptography;
using System.Text;
using Folio.Gateway.OpenAi;
using Folio.Gateway.Options;
using Microsoft.Extensions.Options;

namespace Folio.Gateway.Auth;

/// <summary>Who is calling: the configured key that matched, or the anonymous caller when keys are off.</summary>
public sealed record Caller(string Name, IReadOnlySet<string> Models, int RequestsPerMinute)
{
    public const string ItemKey = "folio.caller";

    public bool MayUse(string model) => Models.Count == 0 || Models.Contains(model);

    public static Caller? Of(HttpContext context) => context.Items.TryGetValue(ItemKey, out var c) ? c as Caller : null;
}

/// <summary>
/// Checks <c>Authorization: Bearer KEY</c> against the configured hashes (SHA-256, compared in
/// fixed time) for every /v1 request. 401 in OpenAI's shape for a missing or wrong key; the key is
/// never logged nor echoed.
/// </summary>
public sealed class ApiKeyAuthenticator
{
    private readonly (byte[] Hash, Caller Caller)[] _keys;
    private readonly Caller? _anonymous;

    public ApiKeyAuthenticator(IOptions<GatewayOptions> options)
    {
        var o = options.Value;
        int Rpm(int? own) => own ?? o.RateLimit.RequestsPerMinute;
        _keys = [.. o.ApiKeys.Select(k => (ApiKeyHash.Parse(k.Sha256), new Caller(k.Name, new HashSet<string>(k.Models, StringComparer.Ordinal), Rpm(k.RequestsPerMinute))))];
        _anonymous = o.ApiKeys.Count == 0 && o.AllowAnonymous ? new Caller("anonymous", new HashSet<string>(), o.RateLimit.RequestsPerMinute) : null;
    }

    /// <summary>The caller, or the 401 to answer.</summary>
    public Caller Authenticate(HttpRequest request)
    {
        if (_anonymous is not null)
        {
            return _anonymous;
        }

        string? header = request.Headers.Authorization;
        if (string.IsNullOrEmpty(header))
        {
            throw new OpenAiException(401, "You didn't provide an API key. Send it in an Authorization header using Bearer auth (Authorization: Bearer YOUR_KEY).", OpenAiException.InvalidRequestType, null, "missing_api_key");
        }

        const string Bearer = "Bearer ";
        if (!header.StartsWith(Bearer, StringComparison.OrdinalIgnoreCase) || header.Length == Bearer.Length)
        {
            throw new OpenAiException(401, "The Authorization header must be 'Bearer YOUR_KEY'.", OpenAiException.InvalidRequestType, null, "invalid_api_key");
        }

        Span<byte> hash = stackalloc byte[32];
        SHA256.HashData(Encoding.UTF8.GetBytes(header[Bearer.Length..].Trim()), hash);
        Caller? found = null;
        foreach (var (h, caller) in _keys)
        {
            // Every hash is compared, in fixed time, so timing tells nothing about which came close.
            if (CryptographicOperations.FixedTimeEquals(h, hash))
            {
                found = caller;
            }
        }

        return found ?? throw new OpenAiException(401, "Incorrect API key provided. Check the key, or ask the gateway's operator for one.", OpenAiException.InvalidRequestType, null, "invalid_api_key");
    }
}
