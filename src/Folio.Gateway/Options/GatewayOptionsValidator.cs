using System.Globalization;
using Microsoft.Extensions.Options;

namespace Folio.Gateway.Options;

/// <summary>Checks Folio:Gateway at start; each failure names the key to change and what it accepts.</summary>
internal sealed class GatewayOptionsValidator : IValidateOptions<GatewayOptions>
{
    public ValidateOptionsResult Validate(string? name, GatewayOptions o)
    {
        var failures = new List<string>();
        const string S = GatewayOptions.Section;
        foreach (string url in o.Urls.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            if (!Uri.TryCreate(url.Replace("*", "0.0.0.0", StringComparison.Ordinal).Replace("+", "0.0.0.0", StringComparison.Ordinal), UriKind.Absolute, out var u) || u.Scheme is not ("http" or "https"))
            {
                failures.Add($"{S}:Urls must be ';'-separated http:// or https:// URLs with a port (e.g. http://127.0.0.1:8080); one entry is not");
            }
        }

        if (string.IsNullOrWhiteSpace(o.Urls))
        {
            failures.Add($"{S}:Urls is empty: give at least one URL to listen on, e.g. http://127.0.0.1:8080");
        }

        if (o.ApiKeys.Count == 0 && !o.AllowAnonymous)
        {
            failures.Add($"{S}:ApiKeys is empty: add a key ({S}:ApiKeys:0:Name and {S}:ApiKeys:0:Sha256, the SHA-256 hex of the key) or set {S}:AllowAnonymous=true to serve without keys");
        }

        var names = new HashSet<string>(StringComparer.Ordinal);
        var hashes = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        for (int i = 0; i < o.ApiKeys.Count; i++)
        {
            var k = o.ApiKeys[i];
            string at = $"{S}:ApiKeys:{i.ToString(CultureInfo.InvariantCulture)}";
            if (string.IsNullOrWhiteSpace(k.Name) || k.Name.Length > 64 || !k.Name.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.'))
            {
                failures.Add($"{at}:Name must be 1-64 characters of A-Z a-z 0-9 - _ . (it names the key in logs and rate limits)");
            }
            else if (!names.Add(k.Name))
            {
                failures.Add($"{at}:Name repeats the name of an earlier key; names must be unique");
            }

            if (!ApiKeyHash.IsHex64(k.Sha256))
            {
                failures.Add($"{at}:Sha256 must be 64 hex digits, the SHA-256 of the key (printf %s \"$KEY\" | sha256sum); never the key itself");
            }
            else if (!hashes.Add(k.Sha256))
            {
                failures.Add($"{at}:Sha256 repeats an earlier key's hash");
            }

            if (k.RequestsPerMinute is < 0)
            {
                failures.Add($"{at}:RequestsPerMinute must be >= 0 (0: no limit for this key)");
            }
        }

        if (o.MaxRequestBodyBytes is < 1024 or > 64L << 20)
        {
            failures.Add($"{S}:MaxRequestBodyBytes must be between 1024 and 67108864 (64 MiB)");
        }

        if (o.MaxFileBytes is < 1024 or > 512L << 20)
        {
            failures.Add($"{S}:MaxFileBytes must be between 1024 and 536870912 (512 MiB, the largest Redis value)");
        }

        if (o.DefaultChatMaxTokens < 1)
        {
            failures.Add($"{S}:DefaultChatMaxTokens must be >= 1");
        }

        if (o.StreamHeaderHoldMilliseconds is < 0 or > 600_000)
        {
            failures.Add($"{S}:StreamHeaderHoldMilliseconds must be between 0 and 600000");
        }

        if (o.ModelsCacheMilliseconds is < 0 or > 60_000)
        {
            failures.Add($"{S}:ModelsCacheMilliseconds must be between 0 and 60000");
        }

        if (o.RateLimit.RequestsPerMinute < 0)
        {
            failures.Add($"{S}:RateLimit:RequestsPerMinute must be >= 0 (0: no limit)");
        }

        if (o.RateLimit.Burst < 0)
        {
            failures.Add($"{S}:RateLimit:Burst must be >= 0 (0: a tenth of a minute's worth)");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}

/// <summary>Checks the queue and Redis settings the gateway shares with the worker.</summary>
internal sealed class GatewayQueueOptionsValidator : IValidateOptions<GatewayQueueOptions>
{
    public ValidateOptionsResult Validate(string? name, GatewayQueueOptions o)
    {
        var failures = new List<string>();
        try
        {
            Folio.Contracts.BrokerUris.Parse(o.RabbitMqUri, "Folio:RabbitMq:Uri");
        }
        catch (FormatException e)
        {
            failures.Add(e.Message);
        }

        if (string.IsNullOrWhiteSpace(o.RedisConfiguration))
        {
            failures.Add("Folio:Redis:Configuration is empty: give a StackExchange.Redis configuration string such as 127.0.0.1:6379");
        }

        if (string.IsNullOrWhiteSpace(o.RequestQueue))
        {
            failures.Add("Folio:RabbitMq:RequestQueue is empty: name the request queue the workers consume (folio.requests)");
        }

        if (string.IsNullOrWhiteSpace(o.CancelExchange))
        {
            failures.Add("Folio:RabbitMq:CancelExchange is empty: name the cancel exchange the workers bind (folio.cancel)");
        }

        if (Folio.Contracts.StreamKeyNames.PrefixProblem(o.StreamPrefix) is { } prefixProblem)
        {
            failures.Add("Folio:Redis:StreamPrefix " + prefixProblem + "; use the workers' prefix");
        }

        if (o.StreamTtlSeconds < 1)
        {
            failures.Add("Folio:Redis:StreamTtlSeconds must be >= 1");
        }

        if (o.BatchTtlSeconds < 1)
        {
            failures.Add($"Folio:Redis:BatchTtlSeconds must be >= 1 (seconds the Batch API's files, batches and results are kept; the workers' value); got {o.BatchTtlSeconds}");
        }

        failures.AddRange(Folio.Contracts.QueueSettingsRules.Problems(o.PriorityTiers, o.MaxLength, o.MaxLengthBytes, o.ModelExchange));

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
