using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using Folio.Gateway.Options;
using Folio.Worker.Options;
using YamlDotNet.RepresentationModel;
using static Folio.Worker.Tests.Deployment.DeploymentFiles;

namespace Folio.Worker.Tests.Deployment;

/// <summary>
/// Keeps compose/ (the compose profiles, compose/k8s, the Grafana dashboard) true to the code: the
/// files parse, every Folio__ variable is a key the options classes bind, every metric a query
/// names is one the worker exports, grace periods outlast the drain, probes hit real endpoints, and
/// KEDA scales the right Deployment on the right queues. Nothing here needs a cluster or servers.
/// </summary>
public sealed class DeploymentArtefactsTests
{
    /// <summary>
    /// Metrics RabbitMQ's own rabbitmq_prometheus plugin exports with a queue label (endpoint
    /// /metrics/per-object, port 15692), which the dashboard's queue panels read. Not Folio's: they
    /// are listed here, from RabbitMQ's documentation, so that a typo in them still fails.
    /// </summary>
    private static readonly HashSet<string> RabbitMqPluginMetrics = new(StringComparer.Ordinal)
    {
        "rabbitmq_queue_messages_ready", "rabbitmq_queue_messages_unacked", "rabbitmq_queue_consumers",
    };

    [Fact]
    public void Every_yaml_file_under_compose_parses_and_every_k8s_object_is_named()
    {
        var files = YamlFiles().ToList();
        Assert.Contains(files, f => f.EndsWith("docker-compose.cluster.yml", StringComparison.Ordinal));
        foreach (string file in files)
        {
            Assert.True(Load(file).Count > 0, file + " holds no YAML document");
        }

        var objects = K8sObjects();
        Assert.True(objects.Count >= 8, "compose/k8s holds " + objects.Count + " objects");
        foreach (var (file, root) in objects)
        {
            Assert.False(string.IsNullOrEmpty(Str(root, "apiVersion")), file + ": an object without apiVersion");
            string kind = Str(root, "kind") ?? throw new Xunit.Sdk.XunitException(file + ": an object without kind");
            if (kind != "Kustomization")
            {
                Assert.False(string.IsNullOrEmpty(Str(root, "metadata", "name")), $"{file}: a {kind} without metadata.name");
            }
        }

        var kustomization = objects.Single(o => Str(o.Root, "kind") == "Kustomization").Root;
        foreach (var resource in Items(kustomization, "resources"))
        {
            string name = ((YamlScalarNode)resource).Value!;
            Assert.True(File.Exists(Path.Combine(K8s, name)), "kustomization.yaml lists " + name + ", which does not exist");
        }
    }

    [Fact]
    public void Every_dashboard_query_names_metrics_the_worker_or_RabbitMQ_exports()
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(Dashboard));
        var panels = doc.RootElement.GetProperty("panels").EnumerateArray().Where(p => p.GetProperty("type").GetString() != "row").ToList();
        Assert.True(panels.Count >= 10, "the dashboard has " + panels.Count + " panels");
        var exprs = new List<string>();
        foreach (var panel in panels)
        {
            var targets = panel.GetProperty("targets").EnumerateArray().Select(t => t.GetProperty("expr").GetString() ?? string.Empty).ToList();
            Assert.True(targets.Count > 0 && targets.All(e => e.Length > 0), "panel '" + panel.GetProperty("title").GetString() + "' has an empty query");
            exprs.AddRange(targets);
        }

        // Template variables that query Prometheus: label_values(metric, label).
        foreach (var variable in doc.RootElement.GetProperty("templating").GetProperty("list").EnumerateArray())
        {
            if (variable.TryGetProperty("definition", out var d) && Regex.Match(d.GetString() ?? string.Empty, @"^label_values\(\s*([^,{)\s]+)") is { Success: true } m)
            {
                exprs.Add(m.Groups[1].Value);
            }
        }

        var worker = WorkerMetricNames.Read();
        var used = exprs.SelectMany(PromQl.MetricNames).ToHashSet(StringComparer.Ordinal);
        var unknown = used.Where(n => !worker.Contains(n) && !RabbitMqPluginMetrics.Contains(n)).Order(StringComparer.Ordinal).ToList();
        Assert.True(unknown.Count == 0, "the dashboard queries metrics nobody exports: " + string.Join(", ", unknown));

        // The panels the deployment relies on: queue depth, waiting/running, KV usage, throughput,
        // TTFT and queue time as quantiles, errors.
        foreach (string needed in new[]
        {
            "rabbitmq_queue_messages_ready", "folio_num_requests_waiting", "folio_num_requests_running", "folio_kv_cache_usage_perc",
            "folio_generation_tokens_total", "folio_time_to_first_token_seconds_bucket", "folio_request_queue_time_seconds_bucket", "folio_request_errors_total",
        })
        {
            Assert.Contains(needed, used);
        }

        Assert.Contains(exprs, e => e.Contains("histogram_quantile(0.99, sum by (le) (rate(folio_time_to_first_token_seconds_bucket", StringComparison.Ordinal));
    }

    [Fact]
    public void The_ScaledObject_queries_metrics_the_worker_exports()
    {
        var scaled = Object("ScaledObject", "folio-worker");
        var queries = Items(scaled, "spec", "triggers").Where(t => Str(t, "type") == "prometheus").Select(t => Str(t, "metadata", "query")!).ToList();
        Assert.NotEmpty(queries);
        var names = queries.SelectMany(PromQl.MetricNames).ToList();
        Assert.Contains("folio_num_requests_waiting", names);
        var worker = WorkerMetricNames.Read();
        Assert.All(names, n => Assert.True(worker.Contains(n), "the ScaledObject queries " + n + ", which the worker does not export"));
    }

    [Fact]
    public void Every_Folio_environment_variable_is_a_configuration_key()
    {
        var keys = ConfigurationKeys.FromAssemblies(typeof(WorkerHostOptions).Assembly, typeof(GatewayOptions).Assembly);
        Assert.True(keys.IsKey("Folio:Worker:DrainTimeoutSeconds") && keys.IsKey("Folio:Gateway:ApiKeys:0:Sha256") && keys.IsKey("Folio:Gateway:RateLimit:RequestsPerMinute"), "the key reader misses known keys");
        Assert.False(keys.IsKey("Folio:Worker:DrainTimeout"));

        int seen = 0;
        var wrong = new List<string>();
        foreach (string file in TextFiles())
        {
            foreach (Match m in Regex.Matches(File.ReadAllText(file), @"\bFolio__[A-Za-z0-9_]*"))
            {
                seen++;
                string path = m.Value.Replace("__", ":", StringComparison.Ordinal);
                // Prose such as `Folio__Gateway__ApiKeys__<i>__Name` or `Folio__...` names a section.
                bool ok = path.EndsWith(':') ? keys.IsKeyOrSection(path.TrimEnd(':')) : keys.IsKey(path);
                if (!ok)
                {
                    wrong.Add($"{Path.GetRelativePath(Compose, file)}: {m.Value}");
                }
            }
        }

        Assert.True(seen >= 30, "found only " + seen + " Folio__ variables under compose/");
        Assert.True(wrong.Count == 0, "not configuration keys: " + string.Join("; ", wrong.Distinct()));
    }

    [Fact]
    public void Grace_periods_outlast_the_drain_and_the_hosts_margin()
    {
        int margin = HostShutdownMargin();

        var spec = At(Object("Deployment", "folio-worker"), "spec", "template", "spec")!;
        var container = Items(spec, "containers").Single();
        int drain = Env(container, "Folio__Worker__DrainTimeoutSeconds") is { } d ? Int(d, "DrainTimeoutSeconds") : new WorkerHostOptions().DrainTimeoutSeconds;
        var preStop = Items(container, "lifecycle", "preStop", "exec", "command").Select(n => ((YamlScalarNode)n).Value).ToList();
        int pause = preStop is ["sleep", var s] ? Int(s, "preStop sleep") : throw new Xunit.Sdk.XunitException("the worker's preStop is not `sleep N`: " + string.Join(' ', preStop));
        int grace = Int(Str(spec, "terminationGracePeriodSeconds"), "terminationGracePeriodSeconds");
        Assert.True(grace > pause + drain + margin, $"worker.yaml: terminationGracePeriodSeconds {grace} must exceed preStop {pause} + drain {drain} + the host's {margin} s");

        // The compose profiles: every service definition with a stop_grace_period and a drain.
        foreach (string file in Directory.EnumerateFiles(Compose, "docker-compose*.yml"))
        {
            int checkedHere = 0;
            foreach (var service in Load(file).SelectMany(doc => Mappings(doc.RootNode)).Where(m => Str(m, "stop_grace_period") is not null))
            {
                string? drainText = Str(service, "environment", "Folio__Worker__DrainTimeoutSeconds") ?? Str(service, "environment", "<<", "Folio__Worker__DrainTimeoutSeconds");
                int composeDrain = drainText is null ? new WorkerHostOptions().DrainTimeoutSeconds : Int(drainText, "DrainTimeoutSeconds");
                int stop = Seconds(Str(service, "stop_grace_period")!);
                Assert.True(stop > composeDrain + margin, $"{Path.GetFileName(file)}: stop_grace_period {stop} s must exceed drain {composeDrain} + {margin} s");
                checkedHere++;
            }

            Assert.True(checkedHere > 0, Path.GetFileName(file) + " has no service with a stop_grace_period");
        }
    }

    [Fact]
    public void Probes_and_ports_are_the_ones_the_processes_serve()
    {
        string workerProgram = File.ReadAllText(Path.Combine(ServersFixture.RepoRoot, "src", "Folio.Worker", "Program.cs"));
        string gatewayProgram = File.ReadAllText(Path.Combine(ServersFixture.RepoRoot, "src", "Folio.Gateway", "Program.cs"));

        var worker = Items(Object("Deployment", "folio-worker"), "spec", "template", "spec", "containers").Single();
        Assert.Equal("/readyz", Str(worker, "readinessProbe", "httpGet", "path"));
        Assert.Equal("/healthz", Str(worker, "livenessProbe", "httpGet", "path"));
        AssertProbesServed(worker, workerProgram, "worker.yaml");
        int port = Env(worker, "Folio__Worker__HttpPort") is { } p ? Int(p, "HttpPort") : new WorkerHostOptions().HttpPort;
        Assert.Equal(port, Int(Str(worker, "ports", "0", "containerPort"), "containerPort"));
        Assert.Equal(port.ToString(CultureInfo.InvariantCulture), Str(Object("Deployment", "folio-worker"), "spec", "template", "metadata", "annotations", "prometheus.io/port"));

        var gateway = Items(Object("Deployment", "folio-gateway"), "spec", "template", "spec", "containers").Single();
        Assert.Equal("/readyz", Str(gateway, "readinessProbe", "httpGet", "path"));
        AssertProbesServed(gateway, gatewayProgram, "gateway.yaml");
        string urls = Env(gateway, "Folio__Gateway__Urls") ?? throw new Xunit.Sdk.XunitException("gateway.yaml must set Folio__Gateway__Urls: the default listens on loopback only");
        var listen = new Uri(urls.Replace("://+", "://0.0.0.0", StringComparison.Ordinal));
        Assert.NotEqual("127.0.0.1", listen.Host);
        Assert.Equal(listen.Port, Int(Str(gateway, "ports", "0", "containerPort"), "containerPort"));
        Assert.Equal(Str(gateway, "ports", "0", "name"), Str(Object("Service", "folio-gateway"), "spec", "ports", "0", "targetPort"));
    }

    [Fact]
    public void KEDA_scales_the_worker_on_every_tier_of_the_request_queue_and_never_on_the_error_queue()
    {
        var deployment = Object("Deployment", "folio-worker");
        var scaled = Object("ScaledObject", "folio-worker");
        Assert.Equal("folio-worker", Str(scaled, "spec", "scaleTargetRef", "name"));

        var worker = Items(deployment, "spec", "template", "spec", "containers").Single();
        var rabbit = new RabbitMqOptions { RequestQueue = Env(worker, "Folio__RabbitMq__RequestQueue") ?? new RabbitMqOptions().RequestQueue };
        var trigger = Items(scaled, "spec", "triggers").Single(t => Str(t, "type") == "rabbitmq");
        Assert.Equal("http", Str(trigger, "metadata", "protocol"));
        Assert.Equal("true", Str(trigger, "metadata", "useRegex"));
        Assert.Equal("sum", Str(trigger, "metadata", "operation"));
        var regex = new Regex(Str(trigger, "metadata", "queueName")!, RegexOptions.CultureInvariant);
        for (int tiers = 1; tiers <= 10; tiers++)
        {
            rabbit.PriorityTiers = tiers;
            foreach (var (queue, _) in rabbit.TierQueues())
            {
                Assert.Matches(regex, queue);
            }
        }

        Assert.DoesNotMatch(regex, rabbit.ErrorQueueName);

        // Messages per worker = its prefetch = MaxNumSeqs.
        string maxNumSeqs = Env(worker, "Folio__Engine__MaxNumSeqs") ?? new EngineOptions().MaxNumSeqs.ToString(CultureInfo.InvariantCulture);
        Assert.Equal(maxNumSeqs, Str(trigger, "metadata", "value"));

        // The disruption budget covers the same pods.
        var pdb = Object("PodDisruptionBudget", "folio-worker");
        var podLabels = (YamlMappingNode)At(deployment, "spec", "template", "metadata", "labels")!;
        foreach (var (key, value) in ((YamlMappingNode)At(pdb, "spec", "selector", "matchLabels")!).Children)
        {
            Assert.Equal(((YamlScalarNode)value).Value, Str(podLabels, ((YamlScalarNode)key).Value!));
        }
    }

    private static void AssertProbesServed(YamlNode container, string program, string file)
    {
        foreach (string probe in new[] { "startupProbe", "livenessProbe", "readinessProbe" })
        {
            if (Str(container, probe, "httpGet", "path") is { } path)
            {
                Assert.True(program.Contains($"app.MapGet(\"{path}\"", StringComparison.Ordinal), $"{file}: the {probe} asks {path}, which the process does not serve");
            }
        }
    }

    /// <summary>The seconds the worker's host adds to the drain before it stops waiting (Program.cs: ShutdownTimeout = drain + N).</summary>
    private static int HostShutdownMargin()
    {
        string program = File.ReadAllText(Path.Combine(ServersFixture.RepoRoot, "src", "Folio.Worker", "Program.cs"));
        var m = Regex.Match(program, @"DrainTimeoutSeconds\)\s*\+\s*(\d+)\)");
        Assert.True(m.Success, "Program.cs no longer sets ShutdownTimeout as drain + N: update this test with the new rule");
        return Int(m.Groups[1].Value, "margin");
    }

    private static int Seconds(string duration)
    {
        var m = Regex.Match(duration, @"^(?:(\d+)m)?(?:(\d+)s)?$");
        Assert.True(m.Success && duration.Length > 0, "unreadable duration " + duration);
        return (m.Groups[1].Success ? Int(m.Groups[1].Value, "minutes") * 60 : 0) + (m.Groups[2].Success ? Int(m.Groups[2].Value, "seconds") : 0);
    }

    private static IEnumerable<YamlMappingNode> Mappings(YamlNode node)
    {
        if (node is YamlMappingNode m)
        {
            yield return m;
            foreach (var child in m.Children.Values.SelectMany(Mappings))
            {
                yield return child;
            }
        }
        else if (node is YamlSequenceNode s)
        {
            foreach (var child in s.Children.SelectMany(Mappings))
            {
                yield return child;
            }
        }
    }
}
