namespace Folio.Worker.Output;

/// <summary>
/// The Lua scripts that make stream writes safe when workers die, messages are redelivered and
/// Redis itself loses data. Each stream has a state hash beside it holding the current owner (one
/// token per delivery), the next token index and the start counters. Every write checks the owner,
/// so a worker that lost its delivery can no longer write once another took the request over, and
/// checks the index, so no index is ever written twice, even when a write is retried after a lost
/// reply. A write that finds the state gone (Redis restarted without persistence) or behind the
/// worker (a replica promoted before it had the last writes) says so, and the worker repairs the
/// stream from the tokens it still holds.
/// </summary>
internal static class StreamScripts
{
    /// <summary>
    /// KEYS: stream, state, cancel marker, and on a Redis that is not a cluster also the state hash and
    /// cancel marker under their names before version 2 (<c>{prefix}~state:{id}</c>,
    /// <c>{prefix}~cancel:{id}</c>). ARGV: owner, worker, attempt, prompt_tokens, ttl, count
    /// (1: a new start; 0: the same worker re-attaching a delivery it lost, which is not a start).
    /// Rolling upgrade: a stream an older worker started has only the old state hash. It is copied to
    /// the new name (next index, counters and all), so the take continues at the right index, and the
    /// old hash is then owned by this delivery, so an older worker still running the request is fenced
    /// off at its next write instead of finding no state and rewriting the stream from index 0.
    /// 'starts' counts every start; 'takes' only those that may be a crash's fault: not after the
    /// request proved itself (see <see cref="Prove"/>: it ran alone past its probation, so later
    /// crashes of workers it happened to be on are not charged to it), and not after a live worker
    /// lost its broker connection (see <see cref="Detach"/>: no crash at all).
    /// Returns {"finished"} when the stream already ends in done/error, else {"taken", next, cancelled}.
    /// </summary>
    public const string Take = """
        local last = redis.call('XREVRANGE', KEYS[1], '+', '-', 'COUNT', 1)
        if #last > 0 then
          local f = last[1][2]
          for i = 1, #f, 2 do
            if f[i] == 'type' and (f[i + 1] == 'done' or f[i + 1] == 'error') then
              return {'finished', 0, 0}
            end
          end
        end
        if #KEYS > 3 and redis.call('EXISTS', KEYS[2]) == 0 then
          local old = redis.call('HGETALL', KEYS[4])
          if #old > 0 then
            redis.call('HSET', KEYS[2], unpack(old))
            redis.call('HSET', KEYS[4], 'owner', ARGV[1], 'moved', '1')
          end
        end
        local nxt = tonumber(redis.call('HGET', KEYS[2], 'next') or '0')
        redis.call('HSET', KEYS[2], 'owner', ARGV[1], 'next', nxt)
        redis.call('HDEL', KEYS[2], 'final')
        local detached = redis.call('HGET', KEYS[2], 'detached')
        redis.call('HDEL', KEYS[2], 'detached')
        if ARGV[6] == '1' then
          redis.call('HINCRBY', KEYS[2], 'starts', 1)
          if not detached and not redis.call('HGET', KEYS[2], 'proven') then
            redis.call('HINCRBY', KEYS[2], 'takes', 1)
          end
        end
        redis.call('XADD', KEYS[1], '*', 'type', 'start', 'worker', ARGV[2], 'attempt', ARGV[3], 'prompt_tokens', ARGV[4], 'resume_index', tostring(nxt))
        redis.call('EXPIRE', KEYS[1], ARGV[5])
        redis.call('EXPIRE', KEYS[2], ARGV[5])
        local cancelled = redis.call('EXISTS', KEYS[3])
        if cancelled == 0 and #KEYS > 4 then cancelled = redis.call('EXISTS', KEYS[5]) end
        return {'taken', nxt, cancelled}
        """;

    /// <summary>
    /// KEYS: stream, state. ARGV: owner, ttl, first_index, n, then n groups of (token_id, text,
    /// logprob or "", top_logprobs or ""), then m, then m field/value pairs of a terminal entry (m = 0: none).
    /// Returns {status, next}: status 0 written (or already final), 1 fenced off by another owner,
    /// 2 gap (the stream is behind first_index: next says where it ends), 3 lost (no state at all).
    /// </summary>
    public const string Append = """
        local st = redis.call('HMGET', KEYS[2], 'owner', 'next', 'final')
        if not st[1] and not st[2] then return {3, 0} end
        local nxt = tonumber(st[2] or '0')
        if st[1] ~= ARGV[1] then return {1, nxt} end
        if st[3] then return {0, nxt} end
        local first = tonumber(ARGV[3])
        local n = tonumber(ARGV[4])
        if first > nxt then return {2, nxt} end
        local p = 5
        for i = 0, n - 1 do
          local idx = first + i
          if idx >= nxt then
            local e = {'type', 'token', 'index', tostring(idx), 'token_id', ARGV[p], 'text', ARGV[p + 1]}
            if ARGV[p + 2] ~= '' then
              e[#e + 1] = 'logprob'
              e[#e + 1] = ARGV[p + 2]
            end
            if ARGV[p + 3] ~= '' then
              e[#e + 1] = 'top_logprobs'
              e[#e + 1] = ARGV[p + 3]
            end
            redis.call('XADD', KEYS[1], '*', unpack(e))
            nxt = idx + 1
          end
          p = p + 4
        end
        local m = tonumber(ARGV[p])
        if m > 0 then
          local e = {}
          for i = 1, m * 2 do e[i] = ARGV[p + i] end
          redis.call('XADD', KEYS[1], '*', unpack(e))
          redis.call('HSET', KEYS[2], 'final', '1')
        end
        redis.call('HSET', KEYS[2], 'next', nxt)
        redis.call('EXPIRE', KEYS[1], ARGV[2])
        redis.call('EXPIRE', KEYS[2], ARGV[2])
        return {0, nxt}
        """;

    /// <summary>
    /// After Redis lost a request's state (a restart without persistence): make this delivery the
    /// owner again, from index 0, with a fresh start entry. The worker then rewrites every token it
    /// holds; a reader that kept the highest index it had read skips what it already has.
    /// KEYS: stream, state. ARGV: owner, worker, attempt, prompt_tokens, ttl. Returns {1, 0} when
    /// restored, {0, 0} when someone else owns the request now, {2, next} when the state is there after
    /// all and still this delivery's: the append that found it missing was answered by another node
    /// (on a Redis Cluster, a restarted primary that had not yet learned that its replica took its
    /// slots over), so nothing is reset and the worker continues from next.
    /// </summary>
    public const string Restore = """
        local st = redis.call('HMGET', KEYS[2], 'owner', 'next')
        local owner = st[1]
        if owner and owner ~= ARGV[1] then return {0, 0} end
        if owner or st[2] then return {2, tonumber(st[2] or '0')} end
        redis.call('HSET', KEYS[2], 'owner', ARGV[1], 'next', 0, 'starts', 1)
        redis.call('HDEL', KEYS[2], 'final')
        redis.call('XADD', KEYS[1], '*', 'type', 'start', 'worker', ARGV[2], 'attempt', ARGV[3], 'prompt_tokens', ARGV[4], 'resume_index', '0')
        redis.call('EXPIRE', KEYS[1], ARGV[5])
        redis.call('EXPIRE', KEYS[2], ARGV[5])
        return {1, 0}
        """;

    /// <summary>
    /// The request ran alone past its probation: later crashes are not charged to it.
    /// KEYS: state. ARGV: owner. Returns 1 when recorded.
    /// </summary>
    public const string Prove = """
        if redis.call('HGET', KEYS[1], 'owner') ~= ARGV[1] then return 0 end
        redis.call('HSET', KEYS[1], 'proven', '1')
        return 1
        """;

    /// <summary>
    /// A live worker lost the delivery of a request it was running (its broker connection dropped):
    /// the next take is a hand-over, not a crash, and is not charged.
    /// KEYS: state. ARGV: owner. Returns 1 when recorded.
    /// </summary>
    public const string Detach = """
        if redis.call('HGET', KEYS[1], 'owner') ~= ARGV[1] then return 0 end
        redis.call('HSET', KEYS[1], 'detached', '1')
        return 1
        """;

    /// <summary>
    /// Whether Redis takes this worker's writes again (after OOM, READONLY, NOPERM, a wrong password):
    /// one small write, through EVAL like every other write, on a key of the worker's own (its name
    /// after a '~', which no request id can hold), expiring soon. KEYS: the probe key. Returns 1.
    /// </summary>
    public const string Probe = """
        redis.call('SET', KEYS[1], '1', 'EX', 60)
        return 1
        """;

    /// <summary>
    /// An error entry for a request that was never taken (invalid, or delivered too often).
    /// KEYS: stream, state, and on a Redis that is not a cluster the state hash's name before version 2
    /// (an older worker that still runs the request is fenced off by it). ARGV: ttl, code, message.
    /// Returns 1 when written, 0 when the stream had already ended.
    /// </summary>
    public const string Fail = """
        local last = redis.call('XREVRANGE', KEYS[1], '+', '-', 'COUNT', 1)
        if #last > 0 then
          local f = last[1][2]
          for i = 1, #f, 2 do
            if f[i] == 'type' and (f[i + 1] == 'done' or f[i + 1] == 'error') then return 0 end
          end
        end
        redis.call('XADD', KEYS[1], '*', 'type', 'error', 'code', ARGV[2], 'message', ARGV[3])
        redis.call('HSET', KEYS[2], 'owner', '', 'final', '1')
        if #KEYS > 2 and redis.call('EXISTS', KEYS[3]) == 1 then
          redis.call('HSET', KEYS[3], 'owner', '', 'final', '1')
        end
        redis.call('EXPIRE', KEYS[1], ARGV[1])
        redis.call('EXPIRE', KEYS[2], ARGV[1])
        return 1
        """;
}
