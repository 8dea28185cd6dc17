namespace Switchboard.Redis;

/// <summary>
/// The Lua scripts: every change that must be atomic is one script, so nodes sharing a Redis never see half of one.
/// Each script is a shared prelude plus its body; ARGV[1] is always the key prefix, and scripts build key names from
/// it (a single Redis allows that; a cluster would need every key in KEYS and one hash slot, which this store does
/// not target). Conventions: instants and durations are microseconds (<see cref="RedisTime"/>); numbers written back
/// go through <c>n2s</c> (Lua would print 1.7e+15); a reply is an array whose first element is <c>ok</c> or what
/// went wrong, and never holds a Lua nil (it would cut the array short) — <c>false</c> stands for null.
/// </summary>
internal static partial class RedisScripts
{
    private const string Common = """
        local P = ARGV[1]
        local function n2s(x) return string.format('%.0f', x) end
        local function hdelAll(key, fields)
          for _, f in ipairs(fields) do redis.call('HDEL', key, f) end
        end
        local function split(s)
          local t = {}
          for token in string.gmatch(s, '[^%.]+') do t[#t + 1] = token end
          return t
        end
        -- TopicPattern.Matches: '*' is one token, a last '>' one or more; a leading wildcard never matches a '$' topic.
        local function matches(pattern, topic, tokens)
          if not string.find(pattern, '[%*>]') then return pattern == topic end
          if string.sub(topic, 1, 1) == '$' and string.find(pattern, '^[%*>]') then return false end
          local p = split(pattern)
          for i = 1, #p do
            if p[i] == '>' and i == #p then return #tokens >= i end
            if i > #tokens then return false end
            if p[i] ~= '*' and p[i] ~= tokens[i] then return false end
          end
          return #p == #tokens
        end

        """;

    // A topic: hash {P}:t:{name} (epoch, cfg, ver, created, first, last, count, bytes, pub; the limits maxn, maxb,
    // maxage for the scripts), stream {P}:t:{name}:log (entry id = offset-0; fields s = size, t = time, m = record),
    // idempotency keys in hash :idem (key -> msgpack {fingerprint, first, count, ticks, expires}) and zset :idemx.
    private const string TopicLib = """
        local TFIELDS = {'epoch', 'cfg', 'ver', 'created', 'first', 'last', 'count', 'bytes', 'pub'}
        local function tkey(name) return P .. ':t:' .. name end
        local function tinfo(meta)
          local v = redis.call('HMGET', meta, unpack(TFIELDS))
          if not v[1] then return nil end
          return v
        end
        local function tsetcfg(meta, cfg, maxn, maxb, maxage)
          redis.call('HSET', meta, 'cfg', cfg)
          local limits = {maxn = maxn, maxb = maxb, maxage = maxage}
          for f, v in pairs(limits) do
            if v == '' then redis.call('HDEL', meta, f) else redis.call('HSET', meta, f, v) end
          end
        end
        local function tcreate(name, epoch, cfg, maxn, maxb, maxage, created)
          local meta = tkey(name)
          redis.call('HSET', meta, 'epoch', epoch, 'ver', 1, 'created', created, 'first', 1, 'last', 0, 'count', 0, 'bytes', 0)
          tsetcfg(meta, cfg, maxn, maxb, maxage)
          redis.call('ZADD', P .. ':topics', 0, name)
        end
        -- Whether a topic may be created while at most max (0: no limit) exist (Core's TopicLimit). The hub's own topics
        -- start with '$', which sorts before '%', and every client topic's first character after it: the count of
        -- members past '%' is the count of client topics, in O(log n).
        local function troom(name, max)
          if max == 0 or string.sub(name, 1, 1) == '$' then return true end
          return redis.call('ZLEXCOUNT', P .. ':topics', '(%', '+') < max
        end
        local function field(fields, name)
          for i = 1, #fields, 2 do if fields[i] == name then return fields[i + 1] end end
          return false
        end
        -- Drops the oldest messages while the limits are passed (age only when now is given), reading the oldest in
        -- growing chunks: one message over the limit costs one small read. At most 20,000 per call, so one script
        -- never holds Redis for long: a limit lowered far below a big topic is reached over the next appends and
        -- sweeps. Returns how many were dropped.
        local function enforce(meta, now)
          local v = redis.call('HMGET', meta, 'count', 'bytes', 'first', 'maxn', 'maxb', 'maxage')
          local count, bytes, first = tonumber(v[1]), tonumber(v[2]), tonumber(v[3])
          local maxn, maxb, maxage = tonumber(v[4]), tonumber(v[5]), tonumber(v[6])
          local cutoff = nil
          if now and maxage then cutoff = now - maxage end
          if count == 0 or not ((maxn and count > maxn) or (maxb and bytes > maxb) or cutoff) then return 0 end
          local log = meta .. ':log'
          local removed, removedBytes, cut, from = 0, 0, nil, first
          local chunk = 4
          if maxn and count > maxn then chunk = math.min(count - maxn, 1024) end
          local done = false
          while not done do
            local entries = redis.call('XRANGE', log, n2s(from) .. '-0', '+', 'COUNT', chunk)
            for _, e in ipairs(entries) do
              local over = (maxn and count - removed > maxn) or (maxb and bytes - removedBytes > maxb)
                or (cutoff and tonumber(field(e[2], 't')) < cutoff)
              if not over then done = true break end
              cut = tonumber(string.match(e[1], '^(%d+)'))
              removed = removed + 1
              removedBytes = removedBytes + tonumber(field(e[2], 's'))
            end
            if #entries < chunk or removed >= 20000 then done = true end
            if cut then from = cut + 1 end
            chunk = math.min(chunk * 4, 4096)
          end
          if removed == 0 then return 0 end
          redis.call('XTRIM', log, 'MINID', n2s(cut + 1) .. '-0')
          redis.call('HSET', meta, 'count', n2s(count - removed), 'bytes', n2s(bytes - removedBytes), 'first', n2s(cut + 1))
          return removed
        end

        """;

    /// <summary>
    /// ARGV: P, topic, create (-1: no; 0: yes; N: while fewer than N topics exist), epoch, cfg, maxn, maxb, maxage, ticks, now,
    /// idempotency key ('' none), fingerprint, key expiry, n, then n × (size, record), then the settings of a queue a
    /// binding creates (cfg, lease, max, bi, bm).
    /// Reply: {'ok', epoch, first offset, created, bound queue…} | {'not-found'} | {'topic-limit'} | {'replay', epoch, fingerprint, first, count, ticks}
    /// | {'queue-full', queue, length, max, n} (a bound queue has no room: nothing written).
    /// </summary>
    public static readonly string Append = Common + QueueLib + TopicLib + BindingLib + """
        local topic = ARGV[2]
        local meta = tkey(topic)
        local created = 0
        local n = tonumber(ARGV[14])
        local d = 15 + 2 * n
        -- Bound queues: a full one refuses the whole publish before anything is written (RabbitMQ's reject-publish).
        local queues = bound(topic)
        local function room()
          for _, name in ipairs(queues) do
            local q = qload(name)
            local refused
            if q then refused = qfull(q, n) else refused = full(name, 0, cfglimit(ARGV[d], 'ml'), n) end
            if refused then return refused end
          end
          return nil
        end
        if redis.call('EXISTS', meta) == 0 then
          local create = tonumber(ARGV[3])
          if create < 0 then return {'not-found'} end
          if not troom(topic, create) then return {'topic-limit'} end
          local refused = room()
          if refused then return refused end
          tcreate(topic, ARGV[4], ARGV[5], ARGV[6], ARGV[7], ARGV[8], ARGV[9])
          created = 1
        end
        local epoch = redis.call('HGET', meta, 'epoch')
        local now = tonumber(ARGV[10])
        local key = ARGV[11]
        if key ~= '' then
          local seen = redis.call('HGET', meta .. ':idem', key)
          if seen then
            local r = cmsgpack.unpack(seen)
            if r[5] > now then return {'replay', epoch, r[1], r[2], r[3], r[4]} end
          end
        end
        if created == 0 then
          local refused = room()
          if refused then return refused end
        end
        local last = tonumber(redis.call('HGET', meta, 'last'))
        local first = last + 1
        local added = 0
        for i = 1, n do
          local size = ARGV[13 + 2 * i]
          redis.call('XADD', meta .. ':log', n2s(last + i) .. '-0', 's', size, 't', ARGV[10], 'm', ARGV[14 + 2 * i])
          added = added + tonumber(size)
        end
        redis.call('HSET', meta, 'last', n2s(last + n), 'pub', ARGV[9])
        redis.call('HINCRBY', meta, 'count', n)
        redis.call('HINCRBY', meta, 'bytes', n2s(added))
        enforce(meta, nil)
        if key ~= '' then
          redis.call('HSET', meta .. ':idem', key, cmsgpack.pack({ARGV[12], first, n, ARGV[9], tonumber(ARGV[13])}))
          redis.call('ZADD', meta .. ':idemx', ARGV[13], key)
        end
        local out = {'ok', epoch, first, created}
        for _, name in ipairs(queues) do
          local q = qload(name) or qcreate(name, ARGV[d], ARGV[d + 1], ARGV[d + 2], ARGV[d + 3], ARGV[d + 4], ARGV[9])
          local id0 = q.next
          for i = 1, n do
            local id = n2s(id0 + i - 1)
            redis.call('HSET', q.body, id, '\2' .. n2s(first + i - 1) .. '\n' .. topic .. '\n' .. ARGV[14 + 2 * i])
            eput(q, id, {READY, 0, now, false, false, false, false, false})
            redis.call('ZADD', q.ready, id, id)
          end
          qsetnext(q, id0 + n)
          out[#out + 1] = name
        end
        return out
        """;

    /// <summary>ARGV: P, topic, after, limit. Reply: {'ok', info, {offset, record, …}} | {'none'}.</summary>
    public static readonly string Read = Common + TopicLib + """
        local meta = tkey(ARGV[2])
        local info = tinfo(meta)
        if not info then return {'none'} end
        local from = tonumber(ARGV[3]) + 1
        if from < 1 then from = 1 end
        local entries = redis.call('XRANGE', meta .. ':log', n2s(from) .. '-0', '+', 'COUNT', tonumber(ARGV[4]))
        local out = {}
        for _, e in ipairs(entries) do
          out[#out + 1] = tonumber(string.match(e[1], '^(%d+)'))
          out[#out + 1] = field(e[2], 'm')
        end
        return {'ok', info, out}
        """;

    /// <summary>ARGV: P, lexical min, prefix ('' none), how many. Reply: {name, info, name, info, …}.</summary>
    public static readonly string ListTopics = Common + TopicLib + """
        local max = '+'
        if ARGV[3] ~= '' then max = '[' .. ARGV[3] .. '\255' end
        local names = redis.call('ZRANGEBYLEX', P .. ':topics', ARGV[2], max, 'LIMIT', 0, tonumber(ARGV[4]))
        local out = {}
        for _, name in ipairs(names) do
          local info = tinfo(tkey(name))
          if info then out[#out + 1] = name; out[#out + 1] = info end
        end
        return out
        """;

    /// <summary>
    /// ARGV: P, topic, epoch (if created), cfg, maxn, maxb, maxage, expected version ('' none), created ticks, now, most
    /// topics (0: no limit). Reply: {'ok', created, info} | {'precondition', expected, current} | {'topic-limit'}.
    /// </summary>
    public static readonly string PutTopic = Common + TopicLib + """
        local meta = tkey(ARGV[2])
        if redis.call('EXISTS', meta) == 0 then
          if ARGV[8] ~= '' and ARGV[8] ~= '0' then return {'precondition', ARGV[8], 0} end
          if not troom(ARGV[2], tonumber(ARGV[11])) then return {'topic-limit'} end
          tcreate(ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6], ARGV[7], ARGV[9])
          return {'ok', 1, tinfo(meta)}
        end
        local ver = tonumber(redis.call('HGET', meta, 'ver'))
        if ARGV[8] ~= '' and tonumber(ARGV[8]) ~= ver then return {'precondition', ARGV[8], ver} end
        tsetcfg(meta, ARGV[4], ARGV[5], ARGV[6], ARGV[7])
        redis.call('HSET', meta, 'ver', n2s(ver + 1))
        enforce(meta, tonumber(ARGV[10]))
        return {'ok', 0, tinfo(meta)}
        """;

    /// <summary>
    /// ARGV: P, topic, expected version ('' none). Reply: {'ok', info} | {'none'} | {'precondition', expected, current}.
    /// UNLINK frees a long log off Redis's main thread.
    /// </summary>
    public static readonly string DeleteTopic = Common + TopicLib + """
        local meta = tkey(ARGV[2])
        local info = tinfo(meta)
        if not info then return {'none'} end
        if ARGV[3] ~= '' and tonumber(ARGV[3]) ~= tonumber(info[3]) then return {'precondition', ARGV[3], info[3]} end
        redis.call('UNLINK', meta, meta .. ':log', meta .. ':idem', meta .. ':idemx')
        redis.call('ZREM', P .. ':topics', ARGV[2])
        return {'ok', info}
        """;

    /// <summary>ARGV: P, now, topic…. Applies every limit (age included) and forgets expired keys. Reply: messages dropped.</summary>
    public static readonly string SweepTopics = Common + TopicLib + """
        local now = tonumber(ARGV[2])
        local dropped = 0
        for i = 3, #ARGV do
          local meta = tkey(ARGV[i])
          if redis.call('EXISTS', meta) == 1 then
            dropped = dropped + enforce(meta, now)
            hdelAll(meta .. ':idem', redis.call('ZRANGEBYSCORE', meta .. ':idemx', '-inf', n2s(now)))
            redis.call('ZREMRANGEBYSCORE', meta .. ':idemx', '-inf', n2s(now))
          end
        end
        return dropped
        """;
}
