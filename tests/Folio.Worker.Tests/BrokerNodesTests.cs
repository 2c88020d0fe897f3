using Folio.Client;
using Folio.Contracts;

namespace Folio.Worker.Tests;

/// <summary>
/// Folio:RabbitMq:Uri (and FolioClientOptions.RabbitMqUri) with several nodes: a worker and an SDK
/// publisher whose first node does not answer connect through the next and serve as usual. (A node
/// that answers is the only one this machine has; the list is what a 3-node cluster gives them.)
/// </summary>
[Collection(ServersCollection.Name)]
public sealed class BrokerNodesTests(ServersFixture servers, TestModelFixture model) : IClassFixture<TestModelFixture>
{
    /// <summary>A port nothing listens on, with the real node's credentials and virtual host.</summary>
    private string DeadFirst => servers.RabbitUri.Replace(":5672", ":1", StringComparison.Ordinal) + "," + servers.RabbitUri;

    [Fact]
    public async Task A_worker_and_a_publisher_whose_first_node_is_down_connect_through_the_next()
    {
        Assert.Contains(":5672", servers.RabbitUri, StringComparison.Ordinal);
        var names = new TestNames("nodes");
        await using var worker = WorkerProcess.Start(servers, names, model.Path, "nodes", new Dictionary<string, string> { ["Folio__RabbitMq__Uri"] = DeadFirst });
        await worker.WaitConsumingAsync();
        Assert.Contains("127.0.0.1:1/,amqp://127.0.0.1:5672/", worker.Log, StringComparison.Ordinal);
        Assert.DoesNotContain("guest:guest", worker.Log, StringComparison.Ordinal);

        await using var client = await FolioClient.ConnectAsync(new FolioClientOptions
        {
            RabbitMqUri = DeadFirst,
            RedisConfiguration = servers.RedisConfiguration,
            RequestQueue = names.RequestQueue,
            CancelExchange = names.CancelExchange,
            StreamPrefix = names.StreamPrefix,
        });
        await client.SubmitAsync(new GenerationRequest { RequestId = "through-the-second-node", Prompt = "hello", MaxTokens = 3 });
        var entries = await new ForeignClient(servers, names).WaitTerminalAsync("through-the-second-node", TimeSpan.FromSeconds(60));
        Assert.Equal("done", entries[^1]["type"]);
        Assert.Equal(3, StreamChecks.AssertWellFormed(entries).Length);
    }

    [Theory]
    [InlineData("amqp://guest:guest@a:5672/,amqp://other:secret@b:5672/", "address 2 differs from the first")]
    [InlineData("amqp://guest:guest@a:5672/,amqp://guest:guest@b:5672/other", "address 2 differs from the first")]
    [InlineData("amqp://guest:guest@a:5672/,http://b/", "address 2 is not an amqp:// or amqps:// URI")]
    [InlineData(" , ", "holds no address")]
    [InlineData("", "is required")]
    public void A_bad_node_list_is_refused_naming_the_key_and_never_the_password(string value, string expected)
    {
        var e = Assert.Throws<FormatException>(() => BrokerUris.Parse(value, "Folio:RabbitMq:Uri"));
        Assert.StartsWith("Folio:RabbitMq:Uri", e.Message, StringComparison.Ordinal);
        Assert.Contains(expected, e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("secret", e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("guest", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Several_nodes_parse_in_order_and_are_logged_without_credentials()
    {
        var nodes = BrokerUris.Parse("amqp://u:p@n1:5672/v, amqp://u:p@n2:5673/v,amqp://u:p@n3/v", "k");
        Assert.Equal(["n1", "n2", "n3"], nodes.Select(n => n.Host));
        Assert.Equal("amqp://n1:5672/v,amqp://n2:5673/v,amqp://n3:5672/v", BrokerUris.Redacted("amqp://u:p@n1:5672/v, amqp://u:p@n2:5673/v,amqp://u:p@n3/v"));
    }
}
