using System.Text.Json;

namespace Folio.Worker.Tests;

/// <summary>docs/contract.md section 6.3 at intake: deadlines and models, answered without compute.</summary>
[Collection(ServersCollection.Name)]
public sealed class QueueJobTests(ServersFixture servers)
{
    private static string Json(string id, string extra) => $$"""{"request_id": {{JsonSerializer.Serialize(id)}}, "prompt": "hello", "max_tokens": 4{{extra}}}""";

    [Fact]
    public async Task A_request_taken_after_its_deadline_gets_deadline_exceeded_without_a_start_entry_and_a_fresh_one_runs()
    {
        var names = new TestNames("deadline");
        var client = new ForeignClient(servers, names);
        long past = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() - 1_000;
        long future = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() + 600_000;
        // A first worker declares the queue and goes; the requests wait in the backlog for the next.
        await (await InProcessWorker.StartAsync(servers, names)).DisposeAsync();
        await client.PublishAsync(Json("late", $", \"deadline_ms\": {past}"));
        await client.PublishAsync(Json("fresh", $", \"deadline_ms\": {future}"));
        await using var worker = await InProcessWorker.StartAsync(servers, names);
        var late = await client.WaitTerminalAsync("late", TimeSpan.FromSeconds(30));
        Assert.Equal(["error"], late.Select(e => e["type"]));
        Assert.Equal("deadline_exceeded", late[0]["code"]);
        Assert.Contains("nothing was computed", late[0]["message"], StringComparison.Ordinal);
        var fresh = await client.WaitTerminalAsync("fresh", TimeSpan.FromSeconds(30));
        Assert.Equal("done", fresh[^1]["type"]);
        Assert.Equal(1, worker.Engine.Submitted);
    }

    [Fact]
    public async Task A_request_for_another_model_gets_model_not_found_naming_the_served_one()
    {
        var names = new TestNames("model");
        var client = new ForeignClient(servers, names);
        await using var worker = await InProcessWorker.StartAsync(servers, names);
        await client.PublishAsync(Json("other", ", \"model\": \"llama-70b\""));
        await client.PublishAsync(Json("mine", ", \"model\": \"fake\""));
        var other = await client.WaitTerminalAsync("other", TimeSpan.FromSeconds(30));
        Assert.Equal("model_not_found", other[^1]["code"]);
        Assert.Contains("serves fake", other[^1]["message"], StringComparison.Ordinal);
        Assert.DoesNotContain("llama-70b", other[^1]["message"], StringComparison.Ordinal);
        Assert.Equal("done", (await client.WaitTerminalAsync("mine", TimeSpan.FromSeconds(30)))[^1]["type"]);
    }
}
