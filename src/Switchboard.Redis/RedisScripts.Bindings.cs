namespace Switchboard.Redis;

// Bindings (topic pattern → queue). The zset {P}:bindings holds every binding as member "pattern queue", scored by a
// counter ({P}:bindings:seq) so they list in the order they were made: the list that is read, and the truth. Beside it
// an index finds a topic's bindings by walking the topic's tokens, as the embedded engines' BindingIndex does:
//   {P}:bn:{pattern}  zset, the queues bound with that pattern (scored as in {P}:bindings); {P}:bns those patterns;
//   {P}:bt            hash, for every prefix of a bound pattern (tokens joined by '.'), how many bindings pass through
//                     it — the trie's nodes, so a walk follows only prefixes that lead somewhere;
//   {P}:bix           hash, the stamp of {P}:bindings the index was built from: its counter, its size, its newest member.
// A publish to a.b.c looks at the children a, a.b, a.b.c and their '*' and '>' siblings that exist: a few lookups per
// token, whatever the number of bindings. A hub of an earlier version (during a rolling upgrade) changes {P}:bindings
// alone, which always moves its counter (an add) or its count (a removal): the next publish finds the stamp stale and
// rebuilds the index from the truth. A change made while the index is stale drops the stamp, so the next look rebuilds
// even if later changes bring the numbers back (the list and its counter deleted by hand and bindings made again).
internal static partial class RedisScripts
{
    private const string BindingLib = """
        local function bparse(member)
          local sp = string.find(member, ' ', 1, true)
          return string.sub(member, 1, sp - 1), string.sub(member, sp + 1)
        end
        local function bchild(prefix, token)
          if prefix == '' then return token end
          return prefix .. '.' .. token
        end
        local function bstamp()
          local newest = redis.call('ZRANGE', P .. ':bindings', -1, -1)[1] or ''
          return redis.call('GET', P .. ':bindings:seq') or '0', tostring(redis.call('ZCARD', P .. ':bindings')), newest
        end
        -- Whether the index is in step with the list (never when the list is empty: what the index holds then is left over).
        local function bsynced()
          local ix = redis.call('HMGET', P .. ':bix', 'seq', 'n', 'top')
          local seq, n, newest = bstamp()
          return n ~= '0' and ix[1] == seq and ix[2] == n and ix[3] == newest
        end
        local function brestamp()
          local seq, n, newest = bstamp()
          redis.call('HSET', P .. ':bix', 'seq', seq, 'n', n, 'top', newest)
        end
        -- Adds (score given) or removes one binding in the index: its pattern's zset, and a count on each of its prefixes.
        local function bindex(member, score)
          local pattern, queue = bparse(member)
          local key, step = P .. ':bn:' .. pattern, 1
          if score then
            if redis.call('ZADD', key, score, queue) == 0 then return end
            redis.call('SADD', P .. ':bns', pattern)
          else
            if redis.call('ZREM', key, queue) == 0 then return end
            if redis.call('EXISTS', key) == 0 then redis.call('SREM', P .. ':bns', pattern) end
            step = -1
          end
          local prefix = ''
          for _, token in ipairs(split(pattern)) do
            prefix = bchild(prefix, token)
            if redis.call('HINCRBY', P .. ':bt', prefix, step) <= 0 then redis.call('HDEL', P .. ':bt', prefix) end
          end
        end
        local function brebuild()
          for _, pattern in ipairs(redis.call('SMEMBERS', P .. ':bns')) do redis.call('DEL', P .. ':bn:' .. pattern) end
          redis.call('DEL', P .. ':bns', P .. ':bt')
          local all = redis.call('ZRANGE', P .. ':bindings', 0, -1, 'WITHSCORES')
          for i = 1, #all, 2 do bindex(all[i], all[i + 1]) end
          brestamp()
        end
        -- After a change to the list: the index follows it if it was in step before; else the stamp goes, so the next
        -- look rebuilds the index whatever later changes do to the numbers.
        local function bfollow(synced, member, score)
          if synced then
            bindex(member, score)
            brestamp()
          else
            redis.call('DEL', P .. ':bix')
          end
        end
        local function badd(member)
          local synced = bsynced()
          local score = redis.call('INCR', P .. ':bindings:seq')
          redis.call('ZADD', P .. ':bindings', score, member)
          bfollow(synced, member, score)
        end
        local function bremove(member)
          local synced = bsynced()
          if redis.call('ZREM', P .. ':bindings', member) == 0 then return 0 end
          bfollow(synced, member, nil)
          return 1
        end
        -- The queues a topic's messages go to (bindings in the order they were made; each queue once). TopicPattern's
        -- rules: '*' is one token, a last '>' one or more; a leading wildcard never matches a '$' topic.
        local function bound(topic)
          if redis.call('EXISTS', P .. ':bindings') == 0 then return {} end
          if not bsynced() then brebuild() end
          local found = {}
          local function live(prefix) return redis.call('HEXISTS', P .. ':bt', prefix) == 1 end
          local function collect(pattern)
            local members = redis.call('ZRANGE', P .. ':bn:' .. pattern, 0, -1, 'WITHSCORES')
            for i = 1, #members, 2 do found[#found + 1] = {tonumber(members[i + 1]), members[i]} end
          end
          local tokens = split(topic)
          local system = string.sub(topic, 1, 1) == '$'
          local frontier = {''}
          for i = 1, #tokens do
            local nextFrontier = {}
            local wild = i > 1 or not system
            for _, prefix in ipairs(frontier) do
              if wild then
                local rest = bchild(prefix, '>')
                if live(rest) then collect(rest) end
                local any = bchild(prefix, '*')
                if live(any) then nextFrontier[#nextFrontier + 1] = any end
              end
              local literal = bchild(prefix, tokens[i])
              if live(literal) then nextFrontier[#nextFrontier + 1] = literal end
            end
            frontier = nextFrontier
            if #frontier == 0 then break end
          end
          for _, pattern in ipairs(frontier) do collect(pattern) end
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
