using System.Globalization;
using StackExchange.Redis;

namespace Folio.Worker.Output;

/// <summary>What one append script reported: written (or already final), fenced off, a gap, the state lost, or a failure of its own keys.</summary>
internal enum AppendStatus
{
    Written = 0,
    Fenced = 1,
    Gap = 2,
    Lost = 3,

    /// <summary>This request's keys refused the script (a key of the wrong type): not Redis's health, not retried.</summary>
    Failed = 4,
}

/// <summary>The outcome of one request's append: its status and where its stream ends now.</summary>
internal readonly record struct AppendOutcome(AppendStatus Status, int Next)
{
    /// <summary>With <see cref="AppendStatus.Failed"/>: Redis's error for this command (its code and text, never request content).</summary>
    public string? Error { get; init; }
}

/// <summary>
/// One request's share of a step's pipelined write: token entries from <see cref="FirstIndex"/> on,
/// and perhaps the terminal entry, already in the script's argument layout (built once per flush).
/// </summary>
internal readonly struct AppendCommand
{
    private AppendCommand(StreamKeys keys, RedisValue[] args, int firstIndex, int tokenCount, bool terminal)
    {
        Keys = keys;
        Args = args;
        FirstIndex = firstIndex;
        TokenCount = tokenCount;
        HasTerminal = terminal;
    }

    public StreamKeys Keys { get; }

    public RedisValue[] Args { get; }

    public int FirstIndex { get; }

    public int TokenCount { get; }

    public bool HasTerminal { get; }

    /// <summary>Lays out tokens[first..] and the terminal entry's fields as <see cref="StreamScripts.Append"/> reads them.</summary>
    public static AppendCommand Build(StreamKeys keys, string owner, int ttlSeconds, IReadOnlyList<StreamToken> tokens, int from, int firstIndex, IReadOnlyList<KeyValuePair<string, string>>? terminal)
    {
        int count = tokens.Count - from;
        int terminalPairs = terminal?.Count ?? 0;
        var args = new RedisValue[4 + (count * 4) + 1 + (terminalPairs * 2)];
        int p = 0;
        args[p++] = owner;
        args[p++] = ttlSeconds;
        args[p++] = firstIndex;
        args[p++] = count;
        for (int i = from; i < tokens.Count; i++)
        {
            var t = tokens[i];
            args[p++] = t.TokenId;
            args[p++] = t.Text;
            args[p++] = t.Logprob is { } lp ? lp.ToString("R", CultureInfo.InvariantCulture) : RedisValue.EmptyString;
            args[p++] = t.TopLogprobsJson ?? RedisValue.EmptyString;
        }

        args[p++] = terminalPairs;
        if (terminal is not null)
        {
            foreach (var kv in terminal)
            {
                args[p++] = kv.Key;
                args[p++] = kv.Value;
            }
        }

        return new AppendCommand(keys, args, firstIndex, count, terminal is not null);
    }
}
