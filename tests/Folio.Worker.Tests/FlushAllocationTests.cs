using Folio.Contracts;
using Folio.Engine;
using Folio.Engine.Core;
using Folio.Worker.Output;
using Folio.Worker.Runtime;

namespace Folio.Worker.Tests;

/// <summary>
/// What building one step's Redis flush allocates, with the budget written here: per request one
/// argument array for its append script (16 bytes per RedisValue: 4 header values, 4 per token, 1
/// terminal count) and nothing else; keys are built once per request, not per flush.
/// </summary>
public sealed class FlushAllocationTests
{
    /// <summary>A request with one new token: 9 RedisValues (144 bytes) plus the array header.</summary>
    private const long PerRequestBudgetBytes = 200;

    [Fact]
    public void Building_the_appends_of_a_32_request_decode_step_stays_within_its_budget()
    {
        var requests = Enumerable.Range(0, 32).Select(i => new InFlightRequest(
            new RequestKey(i),
            new GenerationRequest { RequestId = $"r{i}", Prompt = "p" },
            StreamKeys.For("folio:stream:", $"r{i}"),
            $"owner-{i}",
            null!,
            1,
            3)).ToList();
        for (int step = 0; step < 3; step++)
        {
            foreach (var r in requests)
            {
                r.Merge(new RequestOutput { Key = r.Key, TokenId = 7, Index = step, TextDelta = "tok " }, null, 1);
            }

            // Warm-up rounds: build and commit as the pump does.
            foreach (var r in requests)
            {
                var c = r.BuildAppend(3600, includeTerminal: true);
                r.Committed(c, step + 1);
            }
        }

        foreach (var r in requests)
        {
            r.Merge(new RequestOutput { Key = r.Key, TokenId = 9, Index = 3, TextDelta = "x " }, null, 2);
        }

        var commands = new List<AppendCommand>(requests.Count);
        long before = GC.GetAllocatedBytesForCurrentThread();
        foreach (var r in requests)
        {
            commands.Add(r.BuildAppend(3600, includeTerminal: true));
        }

        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.All(commands, c => Assert.Equal(1, c.TokenCount));
        long budget = requests.Count * PerRequestBudgetBytes;
        Assert.True(allocated <= budget, $"building 32 appends allocated {allocated} bytes; the budget is {budget}");
    }
}
