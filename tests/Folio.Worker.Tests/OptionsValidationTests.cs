using Folio.Worker.Options;

namespace Folio.Worker.Tests;

/// <summary>Start-up validation: every message names the configuration key to fix, and none echoes a credential.</summary>
public sealed class OptionsValidationTests
{
    [Fact]
    public void Missing_rabbitmq_uri_names_the_key_and_its_environment_variable()
    {
        var r = new RabbitMqOptionsValidator().Validate(null, new RabbitMqOptions());
        Assert.True(r.Failed);
        Assert.Contains("Folio:RabbitMq:Uri", r.FailureMessage, StringComparison.Ordinal);
        Assert.Contains("Folio__RabbitMq__Uri", r.FailureMessage, StringComparison.Ordinal);
    }

    [Fact]
    public void A_bad_rabbitmq_uri_is_refused_without_echoing_its_password()
    {
        var r = new RabbitMqOptionsValidator().Validate(null, new RabbitMqOptions { Uri = "http://user:s3cret@host/" });
        Assert.True(r.Failed);
        Assert.DoesNotContain("s3cret", r.FailureMessage, StringComparison.Ordinal);
    }

    [Fact]
    public void Redis_configuration_and_ttl_are_checked() =>
        Assert.Contains("Folio:Redis:StreamTtlSeconds", new RedisOptionsValidator().Validate(null, new RedisOptions { Configuration = "h:1", StreamTtlSeconds = 0 }).FailureMessage, StringComparison.Ordinal);

    [Fact]
    public void A_missing_model_file_names_the_key() =>
        Assert.Contains("Folio:Model:Path", new ModelOptionsValidator().Validate(null, new ModelOptions { Path = "/nonexistent/model.gguf" }).FailureMessage, StringComparison.Ordinal);

    [Theory]
    [InlineData("MaxNumSeqs", "Folio:Engine:MaxNumSeqs")]
    [InlineData("KvCacheMemory", "Folio:Engine:KvCacheMemory")]
    [InlineData("Backend", "Folio:Engine:Backend")]
    [InlineData("MapExperts", "Folio:Engine:MapExperts")]
    [InlineData("ExpertCacheMemory", "Folio:Engine:ExpertCacheMemory")]
    public void Engine_settings_out_of_range_name_their_key(string field, string key)
    {
        var o = field switch
        {
            "MaxNumSeqs" => new EngineOptions { MaxNumSeqs = 0 },
            "KvCacheMemory" => new EngineOptions { KvCacheMemory = "lots" },
            "MapExperts" => new EngineOptions { MapExperts = "sometimes" },
            "ExpertCacheMemory" => new EngineOptions { ExpertCacheMemory = "most" },
            _ => new EngineOptions { Backend = "tpu" },
        };
        Assert.Contains(key, new EngineOptionsValidator().Validate(null, o).FailureMessage, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("auto", "", null, null)]
    [InlineData("true", "0", true, 0L)]
    [InlineData("false", "4GiB", false, 4L << 30)]
    public void Expert_mapping_keys_reach_the_cpu_runner_as_it_takes_them(string map, string cache, bool? choice, long? bytes)
    {
        var o = new EngineOptions { MapExperts = map, ExpertCacheMemory = cache };
        Assert.True(new EngineOptionsValidator().Validate(null, o).Succeeded);
        Assert.Equal(choice, o.MapExpertsChoice);
        Assert.Equal(bytes, o.ExpertCacheBytes);
    }

    [Fact]
    public void Limits_are_checked() =>
        Assert.Contains("Folio:Limits:MaxMessageBytes", new LimitsOptionsValidator().Validate(null, new LimitsOptions { MaxMessageBytes = 10 }).FailureMessage, StringComparison.Ordinal);

    [Fact]
    public void The_defaults_of_every_section_except_the_required_keys_are_valid()
    {
        Assert.True(new EngineOptionsValidator().Validate(null, new EngineOptions()).Succeeded);
        Assert.True(new LimitsOptionsValidator().Validate(null, new LimitsOptions()).Succeeded);
        Assert.True(new WorkerHostOptionsValidator().Validate(null, new WorkerHostOptions()).Succeeded);
        Assert.True(new RabbitMqOptionsValidator().Validate(null, new RabbitMqOptions { Uri = "amqps://u:p@h:5671/" }).Succeeded);
    }

    [Fact]
    public void Logged_endpoints_carry_no_credentials()
    {
        Assert.Equal("amqp://rabbit:5672/", Redaction.AmqpEndpoint("amqp://user:pw@rabbit:5672/"));
        Assert.DoesNotContain("pw", Redaction.RedisEndpoints("redis:6379,password=pw,user=u"), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("64G", 64L << 30)]
    [InlineData("64GiB", 64L << 30)]
    [InlineData("1.5GB", 1_500_000_000L)]
    [InlineData("512M", 512L << 20)]
    [InlineData("1048576", 1L << 20)]
    public void Kv_cache_memory_accepts_every_spelling_the_engine_parses(string text, long bytes)
    {
        Assert.True(new EngineOptionsValidator().Validate(null, new EngineOptions { KvCacheMemory = text }).Succeeded);
        Assert.Equal(bytes, Folio.Engine.Kv.ByteSize.Parse(text, "Folio:Engine:KvCacheMemory"));
    }

    [Theory]
    [InlineData(1)]
    [InlineData(-5)]
    public void Max_model_len_must_be_zero_or_a_real_length(int value) =>
        Assert.Contains("Folio:Engine:MaxModelLen", new EngineOptionsValidator().Validate(null, new EngineOptions { MaxModelLen = value }).FailureMessage, StringComparison.Ordinal);

    [Theory]
    [InlineData("0.0.0.0.0")]
    [InlineData("example.com")]
    public void An_http_bind_address_that_is_not_an_address_names_the_key(string address) =>
        Assert.Contains("Folio:Worker:HttpBindAddress", new WorkerHostOptionsValidator().Validate(null, new WorkerHostOptions { HttpBindAddress = address }).FailureMessage, StringComparison.Ordinal);

    [Theory]
    [InlineData("*")]
    [InlineData("localhost")]
    [InlineData("127.0.0.1")]
    [InlineData("::1")]
    public void Http_bind_addresses_that_are_accepted(string address) =>
        Assert.True(new WorkerHostOptionsValidator().Validate(null, new WorkerHostOptions { HttpBindAddress = address }).Succeeded);

    [Fact]
    public void Fault_injection_without_its_environment_opt_in_refuses_to_start_naming_both()
    {
        Assert.NotEqual("1", Environment.GetEnvironmentVariable(FaultInjection.EnvironmentVariable));
        var r = new WorkerHostOptionsValidator().Validate(null, new WorkerHostOptions { CrashOnRequestIdPrefix = "x" });
        Assert.True(r.Failed);
        Assert.Contains("Folio:Worker:CrashOnRequestIdPrefix", r.FailureMessage, StringComparison.Ordinal);
        Assert.Contains(FaultInjection.EnvironmentVariable, r.FailureMessage, StringComparison.Ordinal);
    }
}
