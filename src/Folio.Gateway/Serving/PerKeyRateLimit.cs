using System.Globalization;
using System.Threading.RateLimiting;
using Folio.Gateway.Auth;
using Folio.Gateway.OpenAi;
using Folio.Gateway.Options;
using Microsoft.AspNetCore.RateLimiting;

namespace Folio.Gateway.Serving;

/// <summary>
/// ASP.NET's rate limiter, one token bucket per API key (partitioned by the key's configured name):
/// RequestsPerMinute sustained, Burst at once. A refused request gets 429 in OpenAI's shape with
/// Retry-After.
/// </summary>
public static class PerKeyRateLimit
{
    public const string Policy = "per-key";

    public static void Configure(RateLimiterOptions o, RateLimitOptions defaults)
    {
        o.AddPolicy(Policy, context =>
        {
            var caller = Caller.Of(context);
            if (caller is null || caller.RequestsPerMinute <= 0)
            {
                return RateLimitPartition.GetNoLimiter("unlimited");
            }

            int rpm = caller.RequestsPerMinute;
            int burst = defaults.Burst > 0 ? defaults.Burst : Math.Max(1, rpm / 10);
            return RateLimitPartition.GetTokenBucketLimiter(caller.Name, _ => new TokenBucketRateLimiterOptions
            {
                TokenLimit = burst,
                TokensPerPeriod = 1,
                ReplenishmentPeriod = TimeSpan.FromMinutes(1) / rpm,
                QueueLimit = 0,
                AutoReplenishment = true,
            });
        });
        o.OnRejected = async (context, ct) =>
        {
            var retry = context.Lease.TryGetMetadata(MetadataName.RetryAfter, out var after) ? after : TimeSpan.FromSeconds(1);
            context.HttpContext.Response.Headers.RetryAfter = Math.Max(1, (int)Math.Ceiling(retry.TotalSeconds)).ToString(CultureInfo.InvariantCulture);
            await new OpenAiException(429, "Rate limit reached for this API key; slow down (see Retry-After) or ask the operator for a higher limit", "requests", null, "rate_limit_exceeded").WriteResponseAsync(context.HttpContext).ConfigureAwait(false);
        };
    }
}
