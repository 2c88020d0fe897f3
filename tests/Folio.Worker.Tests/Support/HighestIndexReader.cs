using System.Globalization;
using StackExchange.Redis;

namespace Folio.Worker.Tests.Support;

/// <summary>
/// The reader docs/operations.md tells clients to be: it follows a stream from its last entry id and
/// keeps the highest token index it has read, skipping any token entry at or below it (a stream Redis
/// lost and the worker rewrote from index 0 repeats indices the reader already has). It rides out
/// Redis being away. What it accepted, in order, is the text a user sees.
/// </summary>
internal sealed class HighestIndexReader(IConnectionMultiplexer redis, RedisKey stream)
{
    private readonly List<(int Index, int TokenId, string Text)> _accepted = [];
    private int _highest = -1;

    public IReadOnlyList<(int Index, int TokenId, string Text)> Accepted => _accepted;

    /// <summary>The terminal entry's fields once read.</summary>
    public Dictionary<string, string>? Terminal { get; private set; }

    /// <summary>Token entries skipped because their index was not above the highest read.</summary>
    public int Skipped { get; private set; }

    /// <summary>The highest token index read so far (-1 before the first); read while the reader runs.</summary>
    public int HighestIndex => Volatile.Read(ref _highest);

    /// <summary>Token entries whose index was above the highest read plus one (a hole: must never happen).</summary>
    public int Holes { get; private set; }

    /// <summary>Reads until a done or error entry, or until <paramref name="timeout"/>.</summary>
    public async Task RunAsync(TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        RedisValue last = "0-0";
        int highest = -1;
        while (Terminal is null)
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"{stream} had no terminal entry within {timeout}; read {_accepted.Count} tokens");
            }

            StreamEntry[] entries;
            try
            {
                // XRANGE (last, +]: the polling form of XREAD from the last id.
                entries = await redis.GetDatabase().StreamRangeAsync(stream, last == "0-0" ? "-" : "(" + last, "+", count: 256);
            }
            catch (Exception e) when (e is RedisConnectionException or RedisTimeoutException or RedisServerException)
            {
                await Task.Delay(50);
                continue;
            }

            if (entries.Length == 0)
            {
                await Task.Delay(10);
                continue;
            }

            foreach (var e in entries)
            {
                last = e.Id;
                var fields = e.Values.ToDictionary(v => (string)v.Name!, v => (string)v.Value!, StringComparer.Ordinal);
                switch (fields["type"])
                {
                    case "token":
                        int index = int.Parse(fields["index"], CultureInfo.InvariantCulture);
                        if (index <= highest)
                        {
                            Skipped++;
                            continue;
                        }

                        if (index != highest + 1)
                        {
                            Holes++;
                        }

                        highest = index;
                        Volatile.Write(ref _highest, index);
                        _accepted.Add((index, int.Parse(fields["token_id"], CultureInfo.InvariantCulture), fields["text"]));
                        break;
                    case "done" or "error":
                        Terminal = fields;
                        break;
                }

                if (Terminal is not null)
                {
                    break;
                }
            }
        }
    }
}
