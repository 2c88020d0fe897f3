using System.Text;
using Folio.Client;

namespace Folio.Client.Tests;

/// <summary>Where the SDK publishes a request: its tier's queue by priority, or the model exchange by model.</summary>
public sealed class RoutingTests
{
    [Theory]
    [InlineData("""{"request_id": "a", "priority": -2, "model": "m"}""", -2, "m")]
    [InlineData("""{"request_id": "a", "nested": {"priority": 5, "model": "x"}, "prompt": "p"}""", 0, null)]
    [InlineData("""{"model": 3, "priority": "1"}""", 0, null)]
    [InlineData("""{"priority": 1.5}""", 0, null)]
    [InlineData("""not json""", 0, null)]
    [InlineData("""{"priority": 2, "prompt": "{\"priority\": 9}"}""", 2, null)]
    [InlineData("""[1, 2]""", 0, null)]
    public void The_route_fields_are_read_from_the_top_level_only(string json, int priority, string? model) =>
        Assert.Equal((priority, model), RouteFields.Read(Encoding.UTF8.GetBytes(json)));

    [Fact]
    public void One_tier_and_no_model_exchange_is_the_plain_queue()
    {
        var o = new FolioClientOptions { RequestQueue = "q" };
        Assert.Equal((string.Empty, "q"), FolioClient.Route(o, -7, "m"));
        Assert.Equal((string.Empty, "q"), FolioClient.Route(o, 7, null));
    }

    [Fact]
    public void Tiers_route_by_priority_with_the_default_in_the_middle()
    {
        var o = new FolioClientOptions { RequestQueue = "q", PriorityTiers = 3 };
        Assert.Equal((string.Empty, "q.p0"), FolioClient.Route(o, -1, null));
        Assert.Equal((string.Empty, "q.p1"), FolioClient.Route(o, 0, null));
        Assert.Equal((string.Empty, "q.p2"), FolioClient.Route(o, 9, null));
    }

    [Fact]
    public void A_model_exchange_routes_by_model_and_tier_and_a_request_without_model_keeps_the_queue()
    {
        var o = new FolioClientOptions { RequestQueue = "q", ModelExchange = "folio.models" };
        Assert.Equal(("folio.models", "llama"), FolioClient.Route(o, 0, "llama"));
        Assert.Equal((string.Empty, "q"), FolioClient.Route(o, 0, null));
        o.PriorityTiers = 2;
        Assert.Equal(("folio.models", "llama.p1"), FolioClient.Route(o, 1, "llama"));
        Assert.Equal(("folio.models", "llama.p0"), FolioClient.Route(o, 0, "llama"));
    }
}
