using System.Globalization;
using Folio.Contracts;
using Folio.Worker.Engine;
using StackExchange.Redis;

namespace Folio.Worker.Output;

/// <summary>The outcome of taking a request: whether its stream had already ended, where to resume, whether it was cancelled.</summary>
internal readonly record struct TakeResult(bool AlreadyFinished, int NextIndex, bool Cancelled);

/// <summary>What a resumed request already has in its stream.</summary>
internal sealed record ResumeState(int[] TokenIds, string Text);

/// <summary>
/// One request's share of a step's pipelined write: new token entries from FirstIndex on, and
/// perhaps the terminal entry.
/// </summary>
internal sealed class AppendCommand(StreamKeys keys, string owner, int firstIndex, IReadOnlyList<TokenOutput> tokens, IReadOnlyList<KeyValuePair<string, string>>? terminal)
{
    public StreamKeys Keys { get; } = keys;
    public string Owner { get; } = owner;
    public int FirstIndex { get; } = firstIndex;
    public IReadOnlyList<TokenOutput> Tokens { get; } = tokens;
    public IReadOnlyList<KeyValuePair<string, string>>? Terminal { get; } = terminal;

    public RedisValue[] ToArgs(int ttlSeconds)
    {
        int terminalPairs = Terminal?.Count ?? 0;
        var args = new RedisValue[4 + (Tokens.Count * 4) + 1 + (terminalPairs * 2)];
        int p = 0;
        args[p++] = Owner;
        args[p++] = ttlSeconds;
        args[p++] = FirstIndex;
        args[p++] = Tokens.Count;
        foreach (var t in Tokens)
        {
            args[p++] = t.TokenId;
            args[p++] = t.Text;
            args[p++] = t.Logprob is { } lp ? lp.ToString("R", CultureInfo.InvariantCulture) : string.Empty;
            args[p++] = t.TopLogprobsJson ?? string.Empty;
        }

        args[p++] = terminalPairs;
        if (Terminal is not null)
        {
            foreach (var kv in Terminal)
            {
                args[p++] = kv.Key;
                args[p++] = kv.Value;
            }
        }

        return args;
    }
}

/// <summary>Result codes of the append script.</summary>
internal static class AppendResult
{
    public const long Fenced = -1;
    public const long Gap = -2;
}

/// <summary>Reads and writes the output streams (and their state hashes) through the scripts of <see cref="StreamScripts"/>.</summary>
internal sealed class StreamStore(IConnectionMultiplexer redis, string prefix, int ttlSeconds)
{
    private IDatabase Db => redis.GetDatabase();

    public int TtlSeconds => ttlSeconds;

    public StreamKeys Keys(string requestId) => StreamKeys.For(prefix, requestId);

    public async Task<TakeResult> TakeAsync(StreamKeys keys, string owner, string worker, int attempt, int promptTokens)
    {
        var r = (RedisResult[])(await Db.ScriptEvaluateAsync(StreamScripts.Take, [keys.Stream, keys.State, keys.Cancelled], [owner, worker, attempt, promptTokens, ttlSeconds]).ConfigureAwait(false))!;
        return (string?)r[0] == "finished" ? new TakeResult(true, 0, false) : new TakeResult(false, (int)r[1], (long)r[2] != 0);
    }

    /// <summary>How many times the request was taken before (0 for a fresh one); whether its stream has ended.</summary>
    public async Task<(int Takes, bool Finished)> PeekAsync(StreamKeys keys)
    {
        var db = Db;
        var takes = db.HashGetAsync(keys.State, "takes");
        var final = db.HashGetAsync(keys.State, "final");
        await Task.WhenAll(takes, final).ConfigureAwait(false);
        return (takes.Result.IsNull ? 0 : (int)takes.Result, !final.Result.IsNull);
    }

    /// <summary>Reads the token entries below <paramref name="nextIndex"/>; throws if they are not 0..next-1 in order.</summary>
    public async Task<ResumeState> ReadResumeAsync(StreamKeys keys, int nextIndex)
    {
        var ids = new int[nextIndex];
        var text = new System.Text.StringBuilder();
        int expected = 0;
        RedisValue from = "-";
        while (expected < nextIndex)
        {
            var entries = await Db.StreamRangeAsync(keys.Stream, from, "+", count: 512).ConfigureAwait(false);
            if (entries.Length == 0)
            {
                break;
            }

            foreach (var e in entries)
            {
                if ((string?)e[StreamFields.Type] != EntryTypes.Token)
                {
                    continue;
                }

                int index = (int)e[StreamFields.Index];
                if (index >= nextIndex)
                {
                    continue;
                }

                if (index != expected)
                {
                    throw new InvalidOperationException($"stream {keys.Stream} has token index {index} where {expected} was expected");
                }

                ids[expected++] = (int)e[StreamFields.TokenId];
                text.Append((string?)e[StreamFields.Text]);
            }

            // Continue after the last id read (exclusive range start).
            from = "(" + entries[^1].Id;
        }

        if (expected != nextIndex)
        {
            throw new InvalidOperationException($"stream {keys.Stream} holds {expected} token entries; its state says {nextIndex}");
        }

        return new ResumeState(ids, text.ToString());
    }

    public async Task<bool> FailAsync(StreamKeys keys, string code, string message) =>
        (long)(await Db.ScriptEvaluateAsync(StreamScripts.Fail, [keys.Stream, keys.State], [ttlSeconds, code, message]).ConfigureAwait(false)) == 1;

    /// <summary>All appends of one engine step in one pipelined round trip. Throws when Redis cannot be reached.</summary>
    public async Task<long[]> AppendBatchAsync(IReadOnlyList<AppendCommand> commands)
    {
        var batch = Db.CreateBatch();
        var tasks = new Task<RedisResult>[commands.Count];
        for (int i = 0; i < commands.Count; i++)
        {
            var c = commands[i];
            tasks[i] = batch.ScriptEvaluateAsync(StreamScripts.Append, [c.Keys.Stream, c.Keys.State], c.ToArgs(ttlSeconds));
        }

        batch.Execute();
        await Task.WhenAll(tasks).ConfigureAwait(false);
        var results = new long[commands.Count];
        for (int i = 0; i < tasks.Length; i++)
        {
            results[i] = (long)tasks[i].Result;
        }

        return results;
    }

    /// <summary>Remembers a cancel for a request no worker holds yet; whoever takes it later finishes it with abort.</summary>
    public Task MarkCancelledAsync(StreamKeys keys) => Db.StringSetAsync(keys.Cancelled, "1", TimeSpan.FromSeconds(ttlSeconds));

    public async Task<bool> IsCancelledAsync(StreamKeys keys) => await Db.KeyExistsAsync(keys.Cancelled).ConfigureAwait(false);
}
