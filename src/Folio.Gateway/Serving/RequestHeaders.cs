using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Folio.Contracts;
using Folio.Gateway.Auth;
using Folio.Gateway.OpenAi;

namespace Folio.Gateway.Serving;

/// <summary>The gateway's own request headers: deadlines, a client-chosen request id, and SSE resumption.</summary>
public static class RequestHeaders
{
    /// <summary>Milliseconds the client will wait, from now.</summary>
    public const string DeadlineMs = "Folio-Deadline-Ms";

    /// <summary>Seconds the client will wait, from now (a number; fractions allowed).</summary>
    public const string Timeout = "timeout";

    /// <summary>A request id the client chooses: a retry with it (to any gateway) reads the same stream instead of running the request again.</summary>
    public const string RequestId = "Folio-Request-Id";

    public const string LastEventId = "Last-Event-ID";

    private const int MaxClientIdLength = 80;

    private static readonly TimeSpan LongestDeadline = TimeSpan.FromDays(1);

    /// <summary>The deadline as Unix milliseconds, or null when neither header is given.</summary>
    public static long? Deadline(IHeaderDictionary headers, DateTimeOffset now)
    {
        TimeSpan? budget = null;
        if (headers.TryGetValue(DeadlineMs, out var ms))
        {
            budget = long.TryParse(ms.ToString(), NumberStyles.None, CultureInfo.InvariantCulture, out long v) && v > 0 && v <= LongestDeadline.TotalMilliseconds
                ? TimeSpan.FromMilliseconds(v)
                : throw OpenAiException.Invalid($"the {DeadlineMs} header must be a whole number of milliseconds from now, between 1 and {LongestDeadline.TotalMilliseconds:F0}", null, "invalid_header");
        }
        else if (headers.TryGetValue(Timeout, out var seconds))
        {
            budget = double.TryParse(seconds.ToString(), NumberStyles.Float, CultureInfo.InvariantCulture, out double s) && s > 0 && s <= LongestDeadline.TotalSeconds
                ? TimeSpan.FromSeconds(s)
                : throw OpenAiException.Invalid($"the {Timeout} header must be a number of seconds from now, above 0 and at most {LongestDeadline.TotalSeconds:F0}", null, "invalid_header");
        }

        return budget is { } b ? (now + b).ToUnixTimeMilliseconds() : null;
    }

    /// <summary>
    /// The contract request id: a fresh random one, or the client's own (Folio-Request-Id) scoped to
    /// its API key, so that one key can never read another's stream by guessing its id.
    /// </summary>
    public static (string RequestId, bool ClientChosen) RequestIdFor(IHeaderDictionary headers, CompletionKind kind, Caller caller)
    {
        string prefix = kind == CompletionKind.Chat ? "chatcmpl-" : "cmpl-";
        if (!headers.TryGetValue(RequestId, out var given))
        {
            return (prefix + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(12)), false);
        }

        string id = given.ToString();
        if (id.Length is 0 or > MaxClientIdLength || !RequestIdRules.IsValid(id))
        {
            throw OpenAiException.Invalid($"the {RequestId} header must be 1-{MaxClientIdLength} characters of A-Z a-z 0-9 . _ : -", null, "invalid_header");
        }

        string scope = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(caller.Name)))[..8];
        return (prefix + scope + "-" + id, true);
    }

    /// <summary>The last token index the client already has (SSE Last-Event-ID), or -1.</summary>
    public static int AfterIndex(IHeaderDictionary headers)
    {
        if (!headers.TryGetValue(LastEventId, out var v))
        {
            return -1;
        }

        return int.TryParse(v.ToString(), NumberStyles.None, CultureInfo.InvariantCulture, out int index)
            ? index
            : throw OpenAiException.Invalid($"the {LastEventId} header must be the last token index received (a whole number >= 0)", null, "invalid_header");
    }
}
