namespace Switchboard.Redis;

// Bindings (topic pattern → queue). The zset {P}:bindings holds every binding as member "pattern queue", scored by a
// counter ({P}:bindings:seq) so they list in the order they were made: the list that is read, and the truth. Beside it
// an index finds a topic's bindings without reading them all, as the embedded engines' BindingIndex does:
//   {P}:bx:{pattern}  zset, an exact pattern's queues (scored as in {P}:bindings); {P}:bxs the set of those patterns;
//   {P}:bw:{token}    zset, the wildcard patterns whose first token is {token} ("pattern queue"); {P}:bw:* those that
//                     begin with a wildcard (no topic has '*' as a token, so the two never meet); {P}:bws their tokens;
//   {P}:bix           hash, the (seq, count) of {P}:bindings the index was built from.
// A publish looks up its topic's exact bindings and tries only the wildcard ones under its first token and under '*'.
// A hub of an earlier version (during a rolling upgrade) changes {P}:bindings alone, which always moves its counter
// (an add) or its count (a removal): the next publish finds the stamp stale and rebuilds the index from the truth.
internal static partial class RedisScripts
{
    private const string BindingLib = """
        local function bparse(member)
          local sp = string.find(member, ' ', 1, true)
          return string.sub(member, 1, sp - 1), string.sub(member, sp + 1)
        end
        local function bbucket(pattern)
          local first = string.match(pattern, '^[^%.]+')
          if first == '*' or first == '>' then return '*' end
          return first
        end
        local function bstamp()
          return redis.call('GET', P .. ':bindings:seq') or '0', tostring(redis.call('ZCARD', P .. ':bindings'))
        end
        local function bsynced()
          local ix = redis.call('HMGET', P .. ':bix', 'seq', 'n')
          local seq, n = bstamp()
          return ix[1] == seq and ix[2] == n
        end
        local function brestamp()
          local seq, n = bstamp()
          redis.call('HSET', P .. ':bix', 'seq', seq, 'n', n)
        end
        -- Adds (score given) or removes one binding in the index.
        local function bindex(member, score)
          local pattern, queue = bparse(member)
          if not string.find(pattern, '[%*>]') then
            local key = P .. ':bx:' .. pattern
            if score then
              redis.call('ZADD', key, score, queue)
              redis.call('SADD', P .. ':bxs', pattern)
            elseif redis.call('ZREM', key, queue) == 1 and redis.call('EXISTS', key) == 0 then
              redis.call('SREM', P .. ':bxs', pattern)
            end
          else
            local bucket = bbucket(pattern)
            local key = P .. ':bw:' .. bucket
            if score then
              redis.call('ZADD', key, score, member)
              redis.call('SADD', P .. ':bws', bucket)
            elseif redis.call('ZREM', key, member) == 1 and redis.call('EXISTS', key) == 0 then
              redis.call('SREM', P .. ':bws', bucket)
            end
          end
        end
        local function brebuild()
          for _, pattern in ipairs(redis.call('SMEMBERS', P .. ':bxs')) do redis.call('DEL', P .. ':bx:' .. pattern) end
          for _, bucket in ipairs(redis.call('SMEMBERS', P .. ':bws')) do redis.call('DEL', P .. ':bw:' .. bucket) end
          redis.call('DEL', P .. ':bxs', P .. ':bws')
          local all = redis.call('ZRANGE', P .. ':bindings', 0, -1, 'WITHSCORES')
          for i = 1, #all, 2 do bindex(all[i], all[i + 1]) end
          brestamp()
        end
        -- A change to the bindings, kept in the index only while the index is in step (else the next look rebuilds it).
        local function badd(member)
          local synced = bsynced()
          local score = redis.call('INCR', P .. ':bindings:seq')
          redis.call('ZADD', P .. ':bindings', score, member)
          if synced then
            bindex(member, score)
            brestamp()
          end
        end
        local function bremove(member)
          local synced = bsynced()
          if redis.call('ZREM', P .. ':bindings', member) == 0 then return 0 end
          if synced then
            bindex(member, nil)
            brestamp()
          end
          return 1
        end
        -- The queues a topic's messages go to (bindings in the order they were made; each queue once).
        local function bound(topic)
          if redis.call('EXISTS', P .. ':bindings') == 0 then return {} end
          if not bsynced() then brebuild() end
          local found = {}
          local exact = redis.call('ZRANGE', P .. ':bx:' .. topic, 0, -1, 'WITHSCORES')
          for i = 1, #exact, 2 do found[#found + 1] = {tonumber(exact[i + 1]), exact[i]} end
          local tokens = split(topic)
          for _, bucket in ipairs({tokens[1], '*'}) do
            local wild = redis.call('ZRANGE', P .. ':bw:' .. bucket, 0, -1, 'WITHSCORES')
            for i = 1, #wild, 2 do
              local pattern, queue = bparse(wild[i])
              if matches(pattern, topic, tokens) then found[#found + 1] = {tonumber(wild[i + 1]), queue} end
            end
          end
          if #found > 1 then table.sort(found, function(a, b) return a[1] < b[1] end) end
          local queues, seen = {}, {}
          for _, f in ipairs(found) do
            if not seen[f[2]] then
              seen[f[2]] = true
              queues[#queues + 1] = f[2]
            end
          end
          return queues
        end

        """;

    /// <summary>
    /// ARGV: P, pattern, queue, then the settings of the queue if it must be created (cfg, lease, max, bi, bm, created
    /// ticks), most queues (0: no limit). Reply: 1 added, 0 already there | {'queue-limit', queue, max}.
    /// </summary>
    public static readonly string PutBinding = Common + QueueLib + BindingLib + """
        if not qload(ARGV[3]) then
          if not qroom(tonumber(ARGV[10])) then return {'queue-limit', ARGV[3], ARGV[10]} end
          qcreate(ARGV[3], ARGV[4], ARGV[5], ARGV[6], ARGV[7], ARGV[8], ARGV[9])
        end
        local member = ARGV[2] .. ' ' .. ARGV[3]
        if redis.call('ZSCORE', P .. ':bindings', member) then return 0 end
        badd(member)
        return 1
        """;

    /// <summary>ARGV: P, pattern, queue. Reply: 1 removed, 0 there was none.</summary>
    public static readonly string DeleteBinding = Common + BindingLib + """
        return bremove(ARGV[2] .. ' ' .. ARGV[3])
        """;
}
