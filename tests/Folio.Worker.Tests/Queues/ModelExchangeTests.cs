using Folio.Client;
using Folio.Contracts;
using Folio.Engine.Core;
using Folio.ModelTools;
using Folio.Worker.Engine;
using Folio.Worker.Metrics;
using Folio.Worker.Options;
using Folio.Worker.Runtime;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace Folio.Worker.Tests.Queues;

/// <summary>
/// Several models on one broker (docs/contract.md, "Several models on one broker"): two workers with
/// two different tiny models behind one direct model exchange, each binding its model name and
/// aliases to its own queue; the SDK publishes with routing key = model. Every request is answered
/// by the model it names, token for token as that model generates in process.
/// </summary>
[Collection(ServersCollection.Name)]
public sealed class ModelExchangeTests(ServersFixture servers) : IDisposable
{
    private readonly string _folder = Path.Combine(Path.GetTempPath(), "folio-models-" + Guid.NewGuid().ToString("N")[..8]);

    private string WriteModel(string name, ulong seed)
    {
        Directory.CreateDirectory(_folder);
        string path = Path.Combine(_folder, name + ".gguf");
        TestModelWriter.Write(path, TestModelFormat.Gguf, new TestModelOptions { Seed = seed });
        return path;
    }

    private static IInferenceEngine Engine(string path, string name, params string[] aliases) =>
        new EngineFactory(
            Microsoft.Extensions.Options.Options.Create(new ModelOptions { Path = path, Name = name, Aliases = aliases }),
            Microsoft.Extensions.Options.Options.Create(new EngineOptions { Backend = "cpu", KvCacheMemory = "16MiB", MaxNumSeqs = 4, Threads = 1 }),
            NullLoggerFactory.Instance).Create();

    private static GenerationRequest Request(string id, string model, int i) =>
        new() { RequestId = id, Model = model, Prompt = $"Tell me about model routing, part {i}.", MaxTokens = 10, Temperature = 0.8, Seed = 100 + i, IgnoreEos = true };

    /// <summary>The model's own output for a request, from an engine in this process with no broker in between.</summary>
    private static async Task<int[]> InProcessAsync(IInferenceEngine engine, GenerationRequest request, long key)
    {
        var k = new RequestKey(key);
        engine.Submit(new EngineSubmission(k, request, engine.EncodePrompt(request), []));
        var tokens = new List<int>();
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await foreach (var step in engine.Steps.ReadAllAsync(cts.Token))
        {
            foreach (var o in step.Where(o => o.Key == k))
            {
                if (o.TokenId is { } t)
                {
                    tokens.Add(t);
                }

                if (o.Finished)
                {
                    return [.. tokens];
                }
            }
        }

        throw new InvalidOperationException("the engine stopped before the request finished");
    }

    private async Task<WorkerRuntime> StartWorkerAsync(TestNames names, string queue, string exchange, IInferenceEngine engine, string workerName)
    {
        var rabbit = new RabbitMqOptions { Uri = servers.RabbitUri, RequestQueue = queue, CancelExchange = names.CancelExchange, ModelExchange = exchange };
        var redis = new RedisOptions { Configuration = servers.RedisConfiguration, StreamPrefix = names.StreamPrefix };
        var limits = new LimitsOptions { MaxTokens = 64, MaxPromptTokens = 200 };
        var runtime = new WorkerRuntime(rabbit, redis, limits, new WorkerHostOptions { Name = workerName }, engine, new WorkerMetrics(engine.Info.ModelName), NullLogger.Instance);
        await runtime.StartAsync(CancellationToken.None);
        return runtime;
    }

    [Fact]
    public async Task Two_models_behind_one_exchange_each_answer_the_requests_that_name_them_token_for_token()
    {
        var names = new TestNames("models");
        string exchange = names.Prefix + ".models";
        string alphaQueue = names.RequestQueue + ".alpha";
        string betaQueue = names.RequestQueue + ".beta";
        string alphaPath = WriteModel("alpha", 11);
        string betaPath = WriteModel("beta", 22);

        // The reference: each model in process, for every prompt.
        var reference = new Dictionary<(string Model, int I), int[]>();
        foreach (var (model, path) in new[] { ("alpha", alphaPath), ("beta", betaPath) })
        {
            await using var engine = Engine(path, model);
            for (int i = 0; i < 4; i++)
            {
                reference[(model, i)] = await InProcessAsync(engine, Request($"ref-{i}", model, i), i + 1);
            }
        }

        // Otherwise the test could not tell the models apart.
        for (int i = 0; i < 4; i++)
        {
            Assert.NotEqual(reference[("alpha", i)], reference[("beta", i)]);
        }

        WorkerRuntime? alpha = null;
        WorkerRuntime? beta = null;
        try
        {
            alpha = await StartWorkerAsync(names, alphaQueue, exchange, Engine(alphaPath, "alpha"), "w-alpha");
            beta = await StartWorkerAsync(names, betaQueue, exchange, Engine(betaPath, "beta", "beta-latest"), "w-beta");
            await using var client = await TierNames.ClientAsync(servers, names, o => o.ModelExchange = exchange);
            var sent = new List<(string Id, string Model, string Named, int I)>();
            for (int i = 0; i < 4; i++)
            {
                foreach (var (model, named) in new[] { ("alpha", "alpha"), ("beta", "beta"), ("beta", "beta-latest") })
                {
                    string id = $"{named}-{i}";
                    await client.SubmitAsync(Request(id, named, i));
                    sent.Add((id, model, named, i));
                }
            }

            var foreign = new ForeignClient(servers, names);
            foreach (var (id, model, _, i) in sent)
            {
                var entries = await foreign.WaitTerminalAsync(id, TimeSpan.FromSeconds(120));
                Assert.Equal("done", entries[^1]["type"]);
                Assert.Equal(reference[(model, i)], StreamChecks.AssertWellFormed(entries));
                Assert.Equal("w-" + model, entries.Single(e => e["type"] == "start")["worker"]);
            }

            // A name no worker serves: the exchange has no binding for it, the broker returns the
            // message, and the SDK says model_not_found before any stream could be waited for.
            var wrong = await Assert.ThrowsAsync<ModelNotRoutedException>(() => client.SubmitAsync(Request("wrong", "gamma", 0)));
            Assert.StartsWith("model_not_found:", wrong.Message, StringComparison.Ordinal);
            Assert.Equal("model_not_found", ModelNotRoutedException.Code);
            Assert.False(await servers.Redis.GetDatabase().KeyExistsAsync(names.Stream("wrong")));

            // A publisher that names the wrong model on a worker's own queue gets the worker's answer.
            await foreign.PublishToQueueAsync(alphaQueue, """{"request_id": "direct-wrong", "model": "beta", "prompt": "hi", "max_tokens": 2}""");
            var direct = await foreign.WaitTerminalAsync("direct-wrong", TimeSpan.FromSeconds(30));
            Assert.Equal("model_not_found", direct[^1]["code"]);
        }
        finally
        {
            foreach (var w in new[] { alpha, beta })
            {
                if (w is not null)
                {
                    await w.DrainAsync(TimeSpan.FromSeconds(5));
                    await w.DisposeAsync();
                    await w.Engine.DisposeAsync();
                }
            }

            await TierNames.DeleteAsync(servers, names, 1, [alphaQueue, betaQueue, alphaQueue + "_error", betaQueue + "_error"], [exchange, alphaQueue, betaQueue]);
        }
    }

    public void Dispose()
    {
        if (Directory.Exists(_folder))
        {
            Directory.Delete(_folder, recursive: true);
        }
    }
}
