using Folio.Contracts;
using Folio.Worker.Runtime;

namespace Folio.Worker.Tests.Queues;

/// <summary>The tier rule alone (no servers): the order in which held requests reach the engine.</summary>
public sealed class TierAdmissionTests
{
    /// <summary>Queues the waiters while one admission is held, then admits them one at a time and returns the tiers in admission order.</summary>
    private static async Task<List<int>> AdmissionOrderAsync(int tiers, int every, IEnumerable<int> arrivals)
    {
        var admission = new TierAdmission(tiers, capacity: 1, every, inFlight: () => 0);
        var first = await admission.WaitAsync(0, CancellationToken.None);
        var waits = arrivals.Select(t => (Tier: t, Task: admission.WaitAsync(t, CancellationToken.None))).ToList();
        var order = new List<int>();
        var held = first!;
        for (int i = 0; i < waits.Count; i++)
        {
            held.Dispose();
            var done = await Task.WhenAny(waits.Where(w => !order.Contains(waits.IndexOf(w))).Select(w => w.Task)).WaitAsync(TimeSpan.FromSeconds(5));
            int index = waits.FindIndex(w => w.Task == done);
            order.Add(index);
            held = (await done)!;
            Assert.Equal(i + 1, order.Count);
            Assert.Equal(waits.Count - i - 1, admission.Waiting);
        }

        held.Dispose();
        return order.Select(i => waits[i].Tier).ToList();
    }

    [Fact]
    public async Task Urgent_work_goes_first_but_every_fourth_admission_goes_to_waiting_lower_work()
    {
        // 12 urgent (tier 0) and 6 background (tier 2) requests, background ones arrived first.
        var arrivals = Enumerable.Repeat(2, 6).Concat(Enumerable.Repeat(0, 12));
        var order = await AdmissionOrderAsync(3, 4, arrivals);
        Assert.Equal([0, 0, 0, 2, 0, 0, 0, 2, 0, 0, 0, 2, 0, 0, 0, 2, 2, 2], order);
    }

    [Fact]
    public async Task The_lower_request_that_waited_longest_is_the_one_taken_whatever_its_tier()
    {
        // Tier 2 arrived before tier 1: when the rule turns to lower work, tier 2 goes first.
        var order = await AdmissionOrderAsync(3, 2, [2, 1, 0, 0, 0, 0]);
        Assert.Equal([0, 2, 0, 1, 0, 0], order);
    }

    [Fact]
    public async Task Admission_waits_for_room_and_closing_hands_every_waiter_back()
    {
        int inFlight = 2;
        var admission = new TierAdmission(2, capacity: 2, lowerTierEvery: 4, inFlight: () => Volatile.Read(ref inFlight));
        var a = admission.WaitAsync(1, CancellationToken.None);
        var b = admission.WaitAsync(0, CancellationToken.None);
        await Task.Delay(100);
        Assert.False(a.IsCompleted);
        Assert.False(b.IsCompleted);
        Volatile.Write(ref inFlight, 1);
        admission.Pump();
        using (var ticket = await b.WaitAsync(TimeSpan.FromSeconds(5)))
        {
            Assert.NotNull(ticket);
            Assert.False(a.IsCompleted);
            admission.Close();
            Assert.Null(await a.WaitAsync(TimeSpan.FromSeconds(5)));
        }

        Assert.Null(await admission.WaitAsync(0, CancellationToken.None));
    }

    [Fact]
    public async Task A_cancelled_waiter_is_skipped()
    {
        var admission = new TierAdmission(2, capacity: 1, lowerTierEvery: 4, inFlight: () => 0);
        var held = await admission.WaitAsync(0, CancellationToken.None);
        using var cts = new CancellationTokenSource();
        var cancelled = admission.WaitAsync(0, cts.Token);
        var next = admission.WaitAsync(1, CancellationToken.None);
        await cts.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => cancelled);
        held!.Dispose();
        Assert.NotNull(await next.WaitAsync(TimeSpan.FromSeconds(5)));
    }

    [Theory]
    [InlineData(1, -5, 0)]
    [InlineData(1, 5, 0)]
    [InlineData(2, 0, 0)]
    [InlineData(2, -3, 0)]
    [InlineData(2, 1, 1)]
    [InlineData(3, -1, 0)]
    [InlineData(3, 0, 1)]
    [InlineData(3, 1, 2)]
    [InlineData(3, 100, 2)]
    [InlineData(4, 0, 1)]
    [InlineData(4, 2, 3)]
    [InlineData(5, int.MinValue, 0)]
    [InlineData(5, int.MaxValue, 4)]
    public void Priority_picks_the_tier_with_the_default_in_the_middle(int tiers, int priority, int tier) =>
        Assert.Equal(tier, PriorityTiers.TierOf(priority, tiers));
}
