namespace Folio.Worker.Output;

/// <summary>
/// The Lua scripts that make stream writes safe when workers die and messages are redelivered.
/// Each stream has a state hash beside it holding the current owner (one token per delivery) and the
/// next token index. Every write checks the owner, so a worker that lost its delivery (its
/// connection dropped and another worker took the request over) can no longer write, and checks the
/// index, so no index is ever written twice, even when a write is retried after a lost reply.
/// </summary>
internal static class StreamScripts
{
    /// <summary>
    /// KEYS: stream, state, cancel marker. ARGV: owner, worker, attempt, prompt_tokens, ttl.
    /// Counts takes in the state hash ('takes'): unlike the broker's delivery count, it only grows
    /// for deliveries that were actually started, so a message merely prefetched by a worker that
    /// crashed is not counted against it.
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
        local nxt = tonumber(redis.call('HGET', KEYS[2], 'next') or '0')
        redis.call('HSET', KEYS[2], 'owner', ARGV[1], 'next', nxt)
        redis.call('HDEL', KEYS[2], 'final')
        redis.call('HINCRBY', KEYS[2], 'takes', 1)
        redis.call('XADD', KEYS[1], '*', 'type', 'start', 'worker', ARGV[2], 'attempt', ARGV[3], 'prompt_tokens', ARGV[4], 'resume_index', tostring(nxt))
        redis.call('EXPIRE', KEYS[1], ARGV[5])
        redis.call('EXPIRE', KEYS[2], ARGV[5])
        return {'taken', nxt, redis.call('EXISTS', KEYS[3])}
        """;

    /// <summary>
    /// KEYS: stream, state. ARGV: owner, ttl, first_index, n, then n groups of (token_id, text,
    /// logprob or "", top_logprobs or ""), then m, then m field/value pairs of a terminal entry (m = 0: none).
    /// Returns the next index (>= 0) on success; -1 when this owner was fenced off; -2 on an index gap.
    /// </summary>
    public const string Append = """
        local st = redis.call('HMGET', KEYS[2], 'owner', 'next', 'final')
        if st[1] ~= ARGV[1] then return -1 end
        local nxt = tonumber(st[2])
        if st[3] then return nxt end
        local first = tonumber(ARGV[3])
        local n = tonumber(ARGV[4])
        if first > nxt then return -2 end
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
        return nxt
        """;

    /// <summary>
    /// An error entry for a request that was never taken (invalid, or delivered too often).
    /// KEYS: stream, state. ARGV: ttl, code, message. Returns 1 when written, 0 when the stream had already ended.
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
        redis.call('EXPIRE', KEYS[1], ARGV[1])
        redis.call('EXPIRE', KEYS[2], ARGV[1])
        return 1
        """;
}
