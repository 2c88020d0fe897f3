using System.Globalization;
using Folio.Worker.Output;
using Xunit.Abstractions;

namespace Folio.Worker.Tests.Faults;

/// <summary>
/// Ten SIGKILLs in a row of real worker processes, each once every request in flight has run its
/// probation on the current worker: every request completes with the tokens of an uninterrupted run,
/// and no innocent request is charged as poison (its state's takes stay below MaxDeliveries, though it
/// is started eleven times).
/// </summary>
[Collection(ServersCollection.Name)]
public sealed class RepeatedKillTests(ServersFixture servers, SlowerTestModelFixture model, ITestOutputHelper output) : IClassFixture<SlowerTestModelFixture>
{
    private const int Kills = 10;
    private const int MaxDeliveries = 5;
    private const int Tokens = 990;
    private const int Probation = 16;

    private static readonly string[] Ids = ["innocent-0", "innocent-1", "innocent-2", "innocent-3"];

    private static string Json(string id, int seed) =>
        $$"""{"request_id":"{{id}}","prompt":"Innocent number {{seed}} says","max_tokens":{{Tokens}},"seed":{{seed}},"temperature":0.8,"ignore_eos":true}""";

    private static Dictionary<string, string> Settings => new() { ["Folio__Engine__MaxNumSeqs"] = "8", ["Folio__RabbitMq__MaxDeliveries"] = MaxDeliveries.ToString(CultureInfo.InvariantCulture) };

    [Fact]
    public async Task Ten_sigkills_in_a_row_leave_every_stream_identical_and_charge_no_innocent_request_as_poison()
    {
        var reference = await UninterruptedRunAsync();

        var names = new TestNames("kills");
        var client = new ForeignClient(servers, names);
        var worker = WorkerProcess.Start(servers, names, model.Path, "victim-0", Settings);
        try
        {
            await worker.WaitConsumingAsync();
            for (int i = 0; i < Ids.Length; i++)
            {
                await client.PublishAsync(Json(Ids[i], i + 1));
            }

            for (int kill = 1; kill <= Kills; kill++)
            {
                // Every unfinished request has been taken by this worker and produced its probation's
                // tokens here: a suspect has proven itself, and the kill is no fault of any of them.
                string current = worker.Name;
                int inFlight = 0;
                await ContractGuaranteeTests.WaitUntil(async () =>
                {
                    inFlight = 0;
                    foreach (var id in Ids)
                    {
                        var entries = await client.ReadAsync(id);
                        if (entries.Any(e => e["type"] is "done" or "error"))
                        {
                            continue;
                        }

                        int lastStart = entries.FindLastIndex(e => e["type"] == "start");
                        if (lastStart < 0 || entries[lastStart]["worker"] != current || entries.Skip(lastStart).Count(e => e["type"] == "token") < Probation)
                        {
                            return false;
                        }

                        // A resumed request runs as a suspect; its proof is recorded right after the write
                        // that completed its probation.
                        if (await TakesAsync(names, id) > 1 && !await ProvenAsync(names, id))
                        {
                            return false;
                        }

                        inFlight++;
                    }

                    return true;
                }, 120);

                Assert.True(inFlight >= 2, $"kill {kill}: only {inFlight} requests still in flight; make them longer");
                worker.Kill();
                await worker.DisposeAsync();
                foreach (var id in Ids)
                {
                    int takes = await TakesAsync(names, id);
                    Assert.True(takes < MaxDeliveries, $"after kill {kill}, {id} has been charged {takes} takes (MaxDeliveries {MaxDeliveries})");
                }

                worker = WorkerProcess.Start(servers, names, model.Path, $"victim-{kill}", Settings);
                await worker.WaitConsumingAsync();
                output.WriteLine($"kill {kill}: {inFlight} requests in flight");
            }

            foreach (var id in Ids)
            {
                var entries = await client.WaitTerminalAsync(id, TimeSpan.FromSeconds(240));
                Assert.Equal(reference[id].Tokens, StreamChecks.AssertWellFormed(entries));
                Assert.Equal(reference[id].Text, entries[^1]["text"]);
                int starts = entries.Count(e => e["type"] == "start");
                output.WriteLine($"{id}: {starts} starts, {await TakesAsync(names, id)} charged");
                Assert.True(starts >= 2, $"{id} was never resumed");
                Assert.True(await TakesAsync(names, id) < MaxDeliveries);
            }

            Assert.Equal(0u, await client.MessageCountAsync(names.ErrorQueue));
        }
        finally
        {
            await worker.DisposeAsync();
        }
    }

    private async Task<Dictionary<string, (int[] Tokens, string Text)>> UninterruptedRunAsync()
    {
        var names = new TestNames("kills-ref");
        var client = new ForeignClient(servers, names);
        var result = new Dictionary<string, (int[], string)>(StringComparer.Ordinal);
        await using var w = WorkerProcess.Start(servers, names, model.Path, "reference", Settings);
        await w.WaitConsumingAsync();
        for (int i = 0; i < Ids.Length; i++)
        {
            await client.PublishAsync(Json(Ids[i], i + 1));
        }

        foreach (var id in Ids)
        {
            var entries = await client.WaitTerminalAsync(id, TimeSpan.FromSeconds(240));
            result[id] = (StreamChecks.AssertWellFormed(entries), entries[^1]["text"]);
            Assert.Equal(Tokens, result[id].Item1.Length);
        }

        return result;
    }

    private async Task<bool> ProvenAsync(TestNames names, string id) =>
        !(await servers.Redis.GetDatabase().HashGetAsync(StreamKeys.For(names.StreamPrefix, id).State, "proven")).IsNull;

    private async Task<int> TakesAsync(TestNames names, string id)
    {
        var v = await servers.Redis.GetDatabase().HashGetAsync(StreamKeys.For(names.StreamPrefix, id).State, "takes");
        return v.IsNull ? 0 : (int)v;
    }
}
