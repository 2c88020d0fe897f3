using System.Net;
using System.Text;
using System.Text.Json;
using Folio.Contracts;
using Folio.Gateway.Tests.Support;
using RabbitMQ.Client;

namespace Folio.Gateway.Tests.EndToEnd;

/// <summary>
/// The gateway reads the workers' queue settings (Folio:RabbitMq:PriorityTiers, MaxLength,
/// MaxLengthBytes, ModelExchange) so that it publishes where workers of that deployment consume: an
/// urgent request to the most urgent tier, a default one to the default tier; a bad value stops it
/// naming the key.
/// </summary>
public sealed class QueueSettingsTests
{
    private const int Tiers = 3;

    [Fact]
    public async Task With_priority_tiers_the_gateway_publishes_each_request_to_its_prioritys_tier()
    {
        var environment = new Dictionary<string, string> { ["Folio__RabbitMq__PriorityTiers"] = Tiers.ToString(System.Globalization.CultureInfo.InvariantCulture) };
        await using var stack = await GatewayStack.StartAsync(workers: 0, gateways: 1, tag: "tiers", gatewayEnvironment: environment);
        using var http = stack.Http();

        // Nobody serves the queue: each request waits out its deadline (504) and stays queued.
        foreach (var (id, priority) in new[] { ("urgent", -1), ("usual", 0), ("later", 1) })
        {
            string body = JsonSerializer.Serialize(new Dictionary<string, object> { ["model"] = "any", ["prompt"] = id, ["max_tokens"] = 2, ["priority"] = priority });
            using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/completions") { Content = GatewayStack.Json(body) };
            request.Headers.Add("Folio-Deadline-Ms", "1000");
            using var reply = await http.SendAsync(request);
            Assert.True(reply.StatusCode == HttpStatusCode.GatewayTimeout, $"{id}: {reply.StatusCode} {await reply.Content.ReadAsStringAsync()}");
        }

        await using var rabbit = await new ConnectionFactory { Uri = new Uri(TestServers.RabbitUri) }.CreateConnectionAsync();
        await using var ch = await rabbit.CreateChannelAsync();
        try
        {
            foreach (var (prompt, priority) in new[] { ("urgent", -1), ("usual", 0), ("later", 1) })
            {
                string queue = PriorityTiers.QueueName(stack.RequestQueue, PriorityTiers.TierOf(priority, Tiers), Tiers);
                var got = await ch.BasicGetAsync(queue, autoAck: true);
                Assert.True(got is not null, $"{queue} holds no request; the '{prompt}' request (priority {priority}) should be there");
                using var doc = JsonDocument.Parse(Encoding.UTF8.GetString(got.Body.Span));
                Assert.Equal(prompt, doc.RootElement.GetProperty("prompt").GetString());
            }
        }
        finally
        {
            for (int tier = 0; tier < Tiers; tier++)
            {
                await ch.QueueDeleteAsync(PriorityTiers.QueueName(stack.RequestQueue, tier, Tiers));
            }
        }
    }
    [Fact]
    public async Task With_a_model_exchange_a_model_no_worker_bound_is_a_404_model_not_found()
    {
        string exchange = "folio-test-models-" + Guid.NewGuid().ToString("N")[..8];
        var environment = new Dictionary<string, string> { ["Folio__RabbitMq__ModelExchange"] = exchange };
        await using var stack = await GatewayStack.StartAsync(workers: 0, gateways: 1, tag: "mx", gatewayEnvironment: environment);
        using var http = stack.Http();
        try
        {
            using var reply = await http.PostAsync("/v1/completions", GatewayStack.Json("""{"model":"nobody-serves-this","prompt":"hi","max_tokens":2}"""));
            string text = await reply.Content.ReadAsStringAsync();
            Assert.True(reply.StatusCode == HttpStatusCode.NotFound, $"{reply.StatusCode}: {text}");
            using var doc = JsonDocument.Parse(text);
            Assert.Equal("model_not_found", doc.RootElement.GetProperty("error").GetProperty("code").GetString());
            Assert.Equal("model", doc.RootElement.GetProperty("error").GetProperty("param").GetString());

            // The gateway keeps serving.
            using var health = await http.GetAsync("/v1/models");
            Assert.Equal(HttpStatusCode.OK, health.StatusCode);
        }
        finally
        {
            await using var rabbit = await new ConnectionFactory { Uri = new Uri(TestServers.RabbitUri) }.CreateConnectionAsync();
            await using var ch = await rabbit.CreateChannelAsync();
            await ch.ExchangeDeleteAsync(exchange);
        }
    }
}
