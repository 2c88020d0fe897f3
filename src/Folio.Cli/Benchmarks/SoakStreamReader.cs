using System.Globalization;
using System.Text;
using Folio.Contracts;
using StackExchange.Redis;

namespace Folio.Cli.Benchmarks;

/// <summary>
/// Follows every stream of a soak run the way a client would (XREAD from the last id), a sliding
/// window of streams at a time in the order the requests were published (a worker takes them in
/// about that order), and checks each against docs/contract.md section 2 as it goes: start entries
/// at the index reached, token indices 0, 1, 2... once each, one terminal entry whose text is the
/// tokens' text and whose completion_tokens is their count.
/// </summary>
internal sealed class SoakStreamReader(IDatabase db, string streamPrefix, IReadOnlyList<string> ids, int expectedTokens, int window = 512)
{
    private const int MaxProblemsKept = 10;

    private readonly List<string> _problems = [];
    private int _completed;

    public int Completed => Volatile.Read(ref _completed);

    public int Errors { get; private set; }

    public int Malformed { get; private set; }

    public IReadOnlyList<string> Problems => _problems;

    /// <summary>Ids whose stream had not ended when the reader gave up (empty when all ended).</summary>
    public List<string> Unfinished { get; } = [];

    /// <summary>When the first and the last terminal entries were read (Stopwatch ticks; 0 before).</summary>
    public long FirstTerminalAt { get; private set; }

    public long LastTerminalAt { get; private set; }

    /// <summary>Reads until every stream has ended, or until none ended for <paramref name="stallTimeout"/>.</summary>
    public async Task RunAsync(TimeSpan stallTimeout, CancellationToken ct)
    {
        var open = new List<State>();
        int next = 0;
        long lastProgress = System.Diagnostics.Stopwatch.GetTimestamp();
        while (next < ids.Count || open.Count > 0)
        {
            ct.ThrowIfCancellationRequested();
            while (open.Count < window && next < ids.Count)
            {
                open.Add(new State(ids[next++]));
            }

            var byKey = open.ToDictionary(s => streamPrefix + s.Id, StringComparer.Ordinal);
            var positions = open.Select(s => new StreamPosition(streamPrefix + s.Id, s.LastId)).ToArray();
            var read = await db.StreamReadAsync(positions, countPerStream: 64).ConfigureAwait(false);
            bool any = false;
            foreach (var stream in read)
            {
                if (stream.Entries.Length == 0)
                {
                    continue;
                }

                any = true;
                var state = byKey[(string)stream.Key!];
                foreach (var e in stream.Entries)
                {
                    state.LastId = e.Id;
                    Check(state, e);
                }
            }

            int ended = open.RemoveAll(s => s.Ended);
            if (ended > 0)
            {
                lastProgress = System.Diagnostics.Stopwatch.GetTimestamp();
            }
            else if (System.Diagnostics.Stopwatch.GetElapsedTime(lastProgress) > stallTimeout)
            {
                Unfinished.AddRange(open.Select(s => s.Id));
                Unfinished.AddRange(ids.Skip(next));
                return;
            }

            if (!any)
            {
                await Task.Delay(10, ct).ConfigureAwait(false);
            }
        }
    }

    private void Check(State s, StreamEntry e)
    {
        if (s.Ended)
        {
            Problem(s, $"an entry ({e[StreamFields.Type]}) after the terminal entry");
            return;
        }

        string type = (string?)e[StreamFields.Type] ?? string.Empty;
        switch (type)
        {
            case EntryTypes.Start:
                if ((int)e[StreamFields.ResumeIndex] != s.NextIndex)
                {
                    Problem(s, $"a start entry with resume_index {e[StreamFields.ResumeIndex]} after {s.NextIndex} tokens");
                }

                break;
            case EntryTypes.Token:
                int index = (int)e[StreamFields.Index];
                if (index != s.NextIndex)
                {
                    Problem(s, $"token index {index} where {s.NextIndex} was due");
                }

                s.NextIndex = index + 1;
                s.Text.Append((string?)e[StreamFields.Text]);
                break;
            case EntryTypes.Done:
                End(s);
                if ((string?)e[StreamFields.Text] != s.Text.ToString() || (int)e[StreamFields.CompletionTokens] != s.NextIndex || s.NextIndex != expectedTokens)
                {
                    Problem(s, $"done after {s.NextIndex} tokens says completion_tokens {e[StreamFields.CompletionTokens]} (expected {expectedTokens}) or a text other than its tokens'");
                }

                break;
            case EntryTypes.Error:
                End(s);
                Errors++;
                if (_problems.Count < MaxProblemsKept)
                {
                    _problems.Add($"{s.Id}: error {e[StreamFields.Code]}: {e[StreamFields.Message]}");
                }

                break;
            default:
                Problem(s, $"an entry of type '{type}'");
                break;
        }
    }

    private void End(State s)
    {
        s.Ended = true;
        Interlocked.Increment(ref _completed);
        LastTerminalAt = System.Diagnostics.Stopwatch.GetTimestamp();
        if (FirstTerminalAt == 0)
        {
            FirstTerminalAt = LastTerminalAt;
        }
    }

    private void Problem(State s, string what)
    {
        if (!s.Malformed)
        {
            s.Malformed = true;
            Malformed++;
        }

        if (_problems.Count < MaxProblemsKept)
        {
            _problems.Add($"{s.Id}: {what}");
        }
    }

    /// <summary>
    /// After the run: every stream once more, whole (XRANGE, pipelined), for what the incremental read
    /// cannot see: a second terminal entry written after the first had been read.
    /// </summary>
    public async Task<int> RecheckAsync()
    {
        int bad = 0;
        for (int from = 0; from < ids.Count; from += 500)
        {
            var batch = ids.Skip(from).Take(500).Select(id => (Id: id, Entries: db.StreamRangeAsync(streamPrefix + id))).ToList();
            foreach (var (id, entries) in batch)
            {
                var all = await entries.ConfigureAwait(false);
                int terminals = all.Count(e => (string?)e[StreamFields.Type] is EntryTypes.Done or EntryTypes.Error);
                bool lastIsTerminal = all.Length > 0 && (string?)all[^1][StreamFields.Type] is EntryTypes.Done or EntryTypes.Error;
                if (terminals != 1 || !lastIsTerminal)
                {
                    bad++;
                    if (_problems.Count < MaxProblemsKept)
                    {
                        _problems.Add(string.Create(CultureInfo.InvariantCulture, $"{id}: {terminals} terminal entries in {all.Length}, the last is {(all.Length > 0 ? all[^1][StreamFields.Type] : "none")}"));
                    }
                }
            }
        }

        return bad;
    }

    private sealed class State(string id)
    {
        public string Id { get; } = id;

        public RedisValue LastId { get; set; } = "0-0";

        public int NextIndex { get; set; }

        public StringBuilder Text { get; } = new();

        public bool Ended { get; set; }

        public bool Malformed { get; set; }
    }
}
