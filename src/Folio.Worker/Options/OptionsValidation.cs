using Microsoft.Extensions.Options;

namespace Folio.Worker.Options;

/// <summary>Validators that run at start (ValidateOnStart): each message names the configuration key to fix.</summary>
internal sealed class RabbitMqOptionsValidator : IValidateOptions<RabbitMqOptions>
{
    public ValidateOptionsResult Validate(string? name, RabbitMqOptions o)
    {
        var errors = new List<string>();
        try
        {
            // One URI, or a cluster's nodes separated by commas; the message never echoes the value (it may hold a password).
            Contracts.BrokerUris.Parse(o.Uri, "Folio:RabbitMq:Uri");
        }
        catch (FormatException e)
        {
            errors.Add(e.Message + " (env Folio__RabbitMq__Uri)");
        }

        if (string.IsNullOrWhiteSpace(o.RequestQueue) || o.RequestQueue.Length > 200)
        {
            errors.Add("Folio:RabbitMq:RequestQueue must be a queue name of 1-200 characters");
        }

        if (string.IsNullOrWhiteSpace(o.CancelExchange))
        {
            errors.Add("Folio:RabbitMq:CancelExchange must not be empty");
        }

        if (o.MaxDeliveries is < 1 or > 100)
        {
            errors.Add($"Folio:RabbitMq:MaxDeliveries must be 1-100; got {o.MaxDeliveries}");
        }

        if (o.ConsumerTimeoutSeconds < 60)
        {
            errors.Add($"Folio:RabbitMq:ConsumerTimeoutSeconds must be >= 60; got {o.ConsumerTimeoutSeconds}");
        }

        if (o.QuorumInitialGroupSize < 0)
        {
            errors.Add("Folio:RabbitMq:QuorumInitialGroupSize must be >= 0 (0: the broker's default)");
        }

        if (o.LowerTierEvery is < 2 or > 1000)
        {
            errors.Add($"Folio:RabbitMq:LowerTierEvery must be 2-1000 (4: one admission in 4 goes to waiting lower-tier work); got {o.LowerTierEvery}");
        }

        errors.AddRange(Contracts.QueueSettingsRules.Problems(o.PriorityTiers, o.MaxLength, o.MaxLengthBytes, o.ModelExchange));

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}

internal sealed class RedisOptionsValidator : IValidateOptions<RedisOptions>
{
    public ValidateOptionsResult Validate(string? name, RedisOptions o)
    {
        var errors = new List<string>();
        if (string.IsNullOrWhiteSpace(o.Configuration))
        {
            errors.Add("Folio:Redis:Configuration is required (a StackExchange.Redis configuration string such as host:6379; env Folio__Redis__Configuration)");
        }
        else
        {
            try
            {
                StackExchange.Redis.ConfigurationOptions.Parse(o.Configuration);
            }
            catch (ArgumentException)
            {
                errors.Add("Folio:Redis:Configuration is not a valid StackExchange.Redis configuration string");
            }
        }

        if (Folio.Contracts.StreamKeyNames.PrefixProblem(o.StreamPrefix) is { } prefixProblem)
        {
            errors.Add("Folio:Redis:StreamPrefix " + prefixProblem);
        }

        if (o.WaitReplicas is < 0 or > 16)
        {
            errors.Add($"Folio:Redis:WaitReplicas must be 0-16 (0: off; else the replicas that must hold each flush before the worker goes on); got {o.WaitReplicas}");
        }

        if (o.WaitTimeoutMilliseconds is < 1 or > 60_000)
        {
            errors.Add($"Folio:Redis:WaitTimeoutMilliseconds must be 1-60000; got {o.WaitTimeoutMilliseconds}");
        }

        if (o.StreamTtlSeconds < 1)
        {
            errors.Add($"Folio:Redis:StreamTtlSeconds must be >= 1; got {o.StreamTtlSeconds}");
        }

        if (o.BatchTtlSeconds < 1)
        {
            errors.Add($"Folio:Redis:BatchTtlSeconds must be >= 1 (seconds a batch's streams and counts are kept; default 604800 = 7 days); got {o.BatchTtlSeconds}");
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}

internal sealed class ModelOptionsValidator : IValidateOptions<ModelOptions>
{
    public ValidateOptionsResult Validate(string? name, ModelOptions o)
    {
        if (string.IsNullOrWhiteSpace(o.Path))
        {
            return ValidateOptionsResult.Fail("Folio:Model:Path is required: a Hugging Face model folder, a .gguf file, or demo (env Folio__Model__Path)");
        }

        var errors = new List<string>();
        if (o.Path != "demo" && !File.Exists(o.Path) && !Directory.Exists(o.Path))
        {
            errors.Add($"Folio:Model:Path '{o.Path}' is neither 'demo' nor an existing file or folder");
        }

        foreach (var (key, value) in new[] { ("Folio:Model:Name", o.Name) }.Concat(o.Aliases.Select((a, i) => ($"Folio:Model:Aliases:{i}", (string?)a))))
        {
            if (value is not null && (value.Length is < 1 or > 256 || value.Any(char.IsControl)))
            {
                errors.Add($"{key} must be a model name of 1-256 printable characters");
            }
        }

        if (!string.IsNullOrEmpty(o.ChatTemplate) && !File.Exists(o.ChatTemplate))
        {
            errors.Add($"Folio:Model:ChatTemplate '{o.ChatTemplate}' does not exist; give a Jinja chat template file or leave the key out to use the model's own");
        }

        if (o.ContentSpecialTokens is not ("parse" or "plain"))
        {
            errors.Add($"Folio:Model:ContentSpecialTokens must be parse or plain; got '{o.ContentSpecialTokens}'");
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}

internal sealed class EngineOptionsValidator : IValidateOptions<EngineOptions>
{
    public ValidateOptionsResult Validate(string? name, EngineOptions o)
    {
        var errors = new List<string>();
        if (o.Backend is not ("auto" or "cpu" or "cuda"))
        {
            errors.Add($"Folio:Engine:Backend must be auto, cpu or cuda; got '{o.Backend}'");
        }

        if (!Folio.Engine.Kv.ByteSize.TryParse(o.KvCacheMemory, out long kvBytes) || kvBytes <= 0)
        {
            errors.Add($"Folio:Engine:KvCacheMemory must be a size such as 2GiB, 512MiB, 64G or 1.5GB (binary KiB/MiB/GiB/TiB or K/M/G, decimal KB/MB/GB/TB, a bare number is bytes); got '{o.KvCacheMemory}'");
        }

        if (o.MaxModelLen is < 0 or 1)
        {
            errors.Add($"Folio:Engine:MaxModelLen must be 0 (the model's context) or >= 2; got {o.MaxModelLen}");
        }

        if (o.MaxNumSeqs is < 1 or > 4096)
        {
            errors.Add($"Folio:Engine:MaxNumSeqs must be 1-4096; got {o.MaxNumSeqs}");
        }

        if (o.MaxNumBatchedTokens < 1)
        {
            errors.Add($"Folio:Engine:MaxNumBatchedTokens must be >= 1; got {o.MaxNumBatchedTokens}");
        }

        if (o.BlockSize is < 1 or > 256)
        {
            errors.Add($"Folio:Engine:BlockSize must be 1-256; got {o.BlockSize}");
        }

        if (o.GpuMemoryUtilization is <= 0 or > 1)
        {
            errors.Add($"Folio:Engine:GpuMemoryUtilization must be in (0, 1]; got {o.GpuMemoryUtilization}");
        }

        if (o.Threads < 0)
        {
            errors.Add($"Folio:Engine:Threads must be >= 0 (0: all cores); got {o.Threads}");
        }

        if (o.MapExperts is not ("auto" or "true" or "false"))
        {
            errors.Add($"Folio:Engine:MapExperts must be auto, true or false; got '{o.MapExperts}'");
        }

        if (!string.IsNullOrWhiteSpace(o.ExpertCacheMemory) && (!Folio.Engine.Kv.ByteSize.TryParse(o.ExpertCacheMemory, out long cacheBytes) || cacheBytes < 0))
        {
            errors.Add($"Folio:Engine:ExpertCacheMemory must be empty (a quarter of the available memory), 0 (no cache) or a size such as 4GiB or 512MiB; got '{o.ExpertCacheMemory}'");
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}

internal sealed class LimitsOptionsValidator : IValidateOptions<LimitsOptions>
{
    public ValidateOptionsResult Validate(string? name, LimitsOptions o)
    {
        var errors = new List<string>();
        if (o.MaxTokens < 1)
        {
            errors.Add($"Folio:Limits:MaxTokens must be >= 1; got {o.MaxTokens}");
        }

        if (o.MaxPromptTokens < 1)
        {
            errors.Add($"Folio:Limits:MaxPromptTokens must be >= 1; got {o.MaxPromptTokens}");
        }

        if (o.MaxMessageBytes is < 1024 or > 128 << 20)
        {
            errors.Add($"Folio:Limits:MaxMessageBytes must be 1024 to 134217728; got {o.MaxMessageBytes}");
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}

internal sealed class WorkerHostOptionsValidator : IValidateOptions<WorkerHostOptions>
{
    public ValidateOptionsResult Validate(string? name, WorkerHostOptions o)
    {
        var errors = new List<string>();
        if (o.HttpPort is < -1 or > 65535)
        {
            errors.Add($"Folio:Worker:HttpPort must be -1 (off), 0 (any free port) or 1-65535; got {o.HttpPort}");
        }

        if (!IsBindAddress(o.HttpBindAddress))
        {
            errors.Add($"Folio:Worker:HttpBindAddress must be *, localhost or an IP address; got '{o.HttpBindAddress}'");
        }

        if (!string.IsNullOrEmpty(o.CrashOnRequestIdPrefix) && !FaultInjection.Enabled)
        {
            errors.Add($"Folio:Worker:CrashOnRequestIdPrefix is fault injection for tests and kills the worker; it is honoured only with the environment variable {FaultInjection.EnvironmentVariable}=1. Remove the key from this deployment's configuration");
        }

        if (o.DrainTimeoutSeconds < 0)
        {
            errors.Add($"Folio:Worker:DrainTimeoutSeconds must be >= 0; got {o.DrainTimeoutSeconds}");
        }

        if (o.Name is { } n && !Folio.Contracts.RequestIdRules.IsValid(n))
        {
            errors.Add($"Folio:Worker:Name must be {Folio.Contracts.RequestIdRules.Description}");
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }

    private static bool IsBindAddress(string? address) =>
        address is "*" or "localhost" || System.Net.IPAddress.TryParse(address, out _);
}
