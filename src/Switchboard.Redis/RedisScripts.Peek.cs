namespace Switchboard.Redis;

internal static partial class RedisScripts
{
    /// <summary>
    /// Peek, reading only (no promote, no lease, no write): the candidates are the ready ids after the cursor and the
    /// pending ones (only those due, when only ready messages are asked for), each classified as QueueBook.PeekState
    /// does, in id order. ARGV: P, queue, states (flags: 1 ready, 2 delayed, 4 leased), after id, how many, now.
    /// Reply: {'ok', {{id, record, state (0 ready, 1 leased, 3 delayed), attempts, lease end, visible at, last error}…}}.
    /// </summary>
    public static readonly string Peek = Common + QueueLib + LoadQueue + """
        local states, after, limit, now = tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6])
        local ids, seen = {}, {}
        local function add(id)
          local n = tonumber(id)
          if n > after and not seen[n] then seen[n] = true; ids[#ids + 1] = n end
        end
        for _, id in ipairs(redis.call('ZRANGEBYSCORE', q.ready, '(' .. n2s(after), '+inf', 'LIMIT', 0, limit)) do add(id) end
        local pending
        if states == 1 then
          pending = redis.call('ZRANGEBYSCORE', q.pending, '-inf', n2s(now))
        else
          pending = redis.call('ZRANGE', q.pending, 0, -1)
        end
        for _, id in ipairs(pending) do add(id) end
        table.sort(ids)
        local out = {}
        for _, n in ipairs(ids) do
          if #out >= limit then break end
          local id = n2s(n)
          local e = eget(q, id)
          local s = nil
          if e and e[1] ~= DEAD then
            if e[1] == LEASED and e[5] and e[5] > now then s = 1
            elseif e[3] > now then s = 3
            elseif e[1] == LEASED and e[2] >= q.max then s = nil
            else s = 0 end
          end
          local flag = 0
          if s == 0 then flag = 1 elseif s == 3 then flag = 2 elseif s == 1 then flag = 4 end
          if flag > 0 and math.floor(states / flag) % 2 == 1 then
            out[#out + 1] = {n, redis.call('HGET', q.body, id), s, e[2], e[5], e[3], e[6]}
          end
        end
        return {'ok', out}
        """;
}
