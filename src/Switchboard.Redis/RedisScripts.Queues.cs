namespace Switchboard.Redis;

internal static partial class RedisScripts
{
    // A queue: hash {P}:q:{name} (cfg, ver, created, next id; lease, max, bi, bm for the scripts), its records in hash
    // :m (id -> record), its entries' state in hash :s (id -> msgpack {state, attempts, visible, lease, lease end,
    // last error, dead reason, dead at}), and the indexes QueueBook keeps in memory: zset :ready (visible, by id: FIFO),
    // :pending (not visible yet, by visible-at; leased entries wait here for their lease end + backoff), :leased (by
    // lease end, for counting live leases), :dead (by id); send keys in hash :idem + zset :idemx.
    private const string QueueLib = """
        local READY, LEASED, DEAD = 0, 1, 2
        local function qkeys(name)
          local b = P .. ':q:' .. name
          return {name = name, meta = b, body = b .. ':m', state = b .. ':s', ready = b .. ':ready', pending = b .. ':pending',
            leased = b .. ':leased', dead = b .. ':dead', idem = b .. ':idem', idemx = b .. ':idemx'}
        end
        local function qload(name)
          local q = qkeys(name)
          local v = redis.call('HMGET', q.meta, 'lease', 'max', 'bi', 'bm', 'next')
          if not v[1] then return nil end
          q.lease, q.max, q.bi, q.bm, q.next = tonumber(v[1]), tonumber(v[2]), tonumber(v[3]), tonumber(v[4]), tonumber(v[5])
          return q
        end
        local function qsetcfg(q, cfg, lease, max, bi, bm)
          redis.call('HSET', q.meta, 'cfg', cfg, 'lease', lease, 'max', max, 'bi', bi, 'bm', bm)
        end
        local function qcreate(name, cfg, lease, max, bi, bm, created)
          local q = qkeys(name)
          redis.call('HSET', q.meta, 'ver', 1, 'created', created, 'next', 1)
          qsetcfg(q, cfg, lease, max, bi, bm)
          redis.call('ZADD', P .. ':queues', 0, name)
          return qload(name)
        end
        -- Whether one more queue fits under max (0: no limit; Core's QueueEngine.LimitReached).
        local function qroom(max)
          return max == 0 or redis.call('ZCARD', P .. ':queues') < max
        end
        local function qsetnext(q, nextId)
          q.next = nextId
          redis.call('HSET', q.meta, 'next', n2s(nextId))
        end
        local function eget(q, id)
          local raw = redis.call('HGET', q.state, id)
          if not raw then return nil end
          return cmsgpack.unpack(raw)
        end
        local function eput(q, id, e) redis.call('HSET', q.state, id, cmsgpack.pack(e)) end
        -- QueueConfig.Backoff: initial doubled per attempt, capped.
        local function backoff(q, attempts)
          if q.bi == 0 or attempts <= 0 then return q.bi end
          local b = q.bi * (2 ^ math.min(attempts - 1, 30))
          if b > q.bm then b = q.bm end
          return math.floor(b)
        end
        local function remove(q, id)
          redis.call('HDEL', q.state, id)
          redis.call('HDEL', q.body, id)
          for _, k in ipairs({q.ready, q.pending, q.leased, q.dead}) do redis.call('ZREM', k, id) end
        end
        -- QueueLimits.For: a queue's own maxLength / maxDeadLetters (in its cfg), else the hub's (P:qlimits, fields ml and
        -- md, written by every node as it opens). 0: no limit. Read once per script, and only where a limit applies.
        local function cfglimit(cfg, field)
          local own = cjson.decode(cfg)[field == 'ml' and 'maxLength' or 'maxDeadLetters']
          if own then return own end
          return tonumber(redis.call('HGET', P .. ':qlimits', field) or '0')
        end
        local function qlimit(q, field)
          if q[field] == nil then q[field] = cfglimit(redis.call('HGET', q.meta, 'cfg'), field) end
          return q[field]
        end
        -- QueueEngine.Full: n more would put the queue (messages not dead) past its maxLength. Nil when they fit.
        local function full(name, length, max, n)
          if max > 0 and length + n > max then return {'queue-full', name, length, max, n} end
          return nil
        end
        local function qfull(q, n)
          return full(q.name, redis.call('HLEN', q.state) - redis.call('ZCARD', q.dead), qlimit(q, 'ml'), n)
        end
        -- Dead letters dropped past maxDeadLetters by this script (for the node's log) and the queue's total since created.
        local DROPPED, DROPTOTAL = 0, 0
        -- QueueBook.Kill: the entry is stored dead; past maxDeadLetters the oldest dead letters (lowest ids) are dropped
        -- and counted (the hash's 'dropped'), the entry itself maybe among them.
        local function kill(q, id, e, reason, now)
          e[1] = DEAD; e[7] = reason; e[8] = now
          redis.call('ZREM', q.pending, id)
          redis.call('ZREM', q.leased, id)
          redis.call('ZADD', q.dead, id, id)
          eput(q, id, e)
          local md = qlimit(q, 'md')
          if md > 0 then
            local over = redis.call('ZCARD', q.dead) - md
            if over > 0 then
              for _, old in ipairs(redis.call('ZRANGE', q.dead, 0, over - 1)) do remove(q, old) end
              DROPPED = DROPPED + over
              DROPTOTAL = redis.call('HINCRBY', q.meta, 'dropped', over)
            end
          end
        end
        -- QueueBook.Promote: what became visible moves to ready; a lease that ran out on the last attempt dies.
        -- At most 1,000 per call, oldest due first, so one script never holds Redis for long (a million delayed
        -- messages falling due at once are promoted over the following calls).
        local function promote(q, now)
          for _, id in ipairs(redis.call('ZRANGEBYSCORE', q.pending, '-inf', n2s(now), 'LIMIT', 0, 1000)) do
            redis.call('ZREM', q.pending, id)
            local e = eget(q, id)
            local live = true
            if e[1] == LEASED then
              e[4] = false; e[5] = false
              redis.call('ZREM', q.leased, id)
              if e[2] >= q.max then
                kill(q, id, e, 'lease-expired', now)
                live = false
              else
                e[1] = READY
                eput(q, id, e)
              end
            end
            if live then redis.call('ZADD', q.ready, id, id) end
          end
        end
        -- What a consumer or operator sees: {id, record, state, attempts, lease, lease end, last error, dead reason, dead at}.
        local function view(q, id, e)
          return {tonumber(id), redis.call('HGET', q.body, id), e[1], e[2], e[4], e[5], e[6], e[7], e[8]}
        end
        -- QueueBook.Lease after a promote: the oldest visible first, attempts counted, the backoff added to the lease.
        -- A lease token is the call's random base (from the node) and the message id: unique and unguessable.
        local function lease(q, max, leaseUs, now, base)
          local out = {}
          local popped = redis.call('ZPOPMIN', q.ready, max)
          for i = 1, #popped, 2 do
            local id = popped[i]
            local e = eget(q, id)
            e[1] = LEASED; e[2] = e[2] + 1; e[4] = base .. '.' .. id; e[5] = now + leaseUs
            e[3] = now + leaseUs + backoff(q, e[2])
            eput(q, id, e)
            redis.call('ZADD', q.pending, n2s(e[3]), id)
            redis.call('ZADD', q.leased, n2s(e[5]), id)
            out[#out + 1] = view(q, id, e)
          end
          return out
        end
        -- Parked receives: ARGV[at…] holds (max, lease or '') per receive, then the token base; each gets its leases in order.
        local function handoff(q, now, at, k, out)
          local base = ARGV[at + 2 * k]
          promote(q, now)
          for j = 0, k - 1 do
            local l = ARGV[at + 2 * j + 1]
            local leaseUs = q.lease
            if l ~= '' then leaseUs = tonumber(l) end
            out[#out + 1] = lease(q, tonumber(ARGV[at + 2 * j]), leaseUs, now, base)
          end
        end
        local function nextVisible(q, now)
          if redis.call('ZCARD', q.ready) > 0 then return now end
          local first = redis.call('ZRANGE', q.pending, 0, 0, 'WITHSCORES')
          if #first == 0 then return false end
          return tonumber(first[2])
        end
        -- A queue's stats, after the promotion a look at it does; last, what that promotion dropped past maxDeadLetters.
        local function qinfo(q, now)
          local before = DROPPED
          promote(q, now)
          local v = redis.call('HMGET', q.meta, 'cfg', 'ver', 'created')
          local ready, dead = redis.call('ZCARD', q.ready), redis.call('ZCARD', q.dead)
          local leased = redis.call('ZCOUNT', q.leased, '(' .. n2s(now), '+inf')
          local delayed = redis.call('HLEN', q.state) - ready - dead - leased
          local dropped = tonumber(redis.call('HGET', q.meta, 'dropped') or '0')
          return {q.name, v[1], v[2], v[3], ready, leased, delayed, dead, dropped, qlimit(q, 'ml'), qlimit(q, 'md'), DROPPED - before}
        end
        -- QueueBook.Held: the message must be leased under this token, and the lease still running.
        local function held(q, id, token, now)
          local n = tonumber(id)
          if not n or n < 1 or n >= q.next then return nil, {'lease-error', 'never', q.name, id} end
          local e = eget(q, id)
          if not e or e[1] == DEAD then return nil, {'lease-error', 'gone', q.name, id} end
          if e[1] ~= LEASED then return nil, {'lease-error', 'not-leased', q.name, id} end
          if e[4] ~= token then return nil, {'lease-error', 'other', q.name, id, e[2]} end
          if e[5] <= now then return nil, {'lease-error', 'expired', q.name, id, e[5]} end
          return e
        end

        """;

    private const string LoadQueue = """
        local q = qload(ARGV[2])
        if not q then return {'queue-not-found', ARGV[2]} end

        """;

    /// <summary>
    /// ARGV: P, queue, create (-1: no; 0: yes; N: while fewer than N queues exist), cfg, lease, max, bi, bm, created ticks, now, delay, key ('' none), fingerprint,
    /// key expiry, reply id ('' none), reply expiry, reply expiry ticks, reply forgotten at, requester ('' none), n, n
    /// records, k parked receives, k × (max, lease), token base. Reply: {'ok', first id, created, leases per receive…, dead letters dropped, dropped in all} |
    /// {'replay', first, count} | {'queue-limit', queue, max} | {'queue-full', queue, length, max, n}.
    /// </summary>
    public static readonly string Enqueue = Common + QueueLib + """
        local name = ARGV[2]
        local q = qload(name)
        local created = 0
        if not q then
          local create = tonumber(ARGV[3])
          if create < 0 then return {'queue-not-found', name} end
          if not qroom(create) then return {'queue-limit', name, create} end
          local refused = full(name, 0, cfglimit(ARGV[4], 'ml'), tonumber(ARGV[20]))
          if refused then return refused end
          q = qcreate(name, ARGV[4], ARGV[5], ARGV[6], ARGV[7], ARGV[8], ARGV[9])
          created = 1
        end
        local now = tonumber(ARGV[10])
        local key = ARGV[12]
        if key ~= '' then
          local seen = redis.call('HGET', q.idem, key)
          if seen then
            local r = cmsgpack.unpack(seen)
            if r[4] > now then
              if r[1] ~= ARGV[13] then return {'idempotency-key-reused', name, key} end
              return {'replay', r[2], r[3]}
            end
          end
        end
        local n = tonumber(ARGV[20])
        local refused = qfull(q, n)
        if refused then return refused end
        local first = q.next
        local delay = tonumber(ARGV[11])
        for i = 1, n do
          local id = n2s(first + i - 1)
          redis.call('HSET', q.body, id, ARGV[20 + i])
          eput(q, id, {READY, 0, now + delay, false, false, false, false, false})
          if delay > 0 then redis.call('ZADD', q.pending, n2s(now + delay), id) else redis.call('ZADD', q.ready, id, id) end
        end
        qsetnext(q, first + n)
        if key ~= '' then
          redis.call('HSET', q.idem, key, cmsgpack.pack({ARGV[13], first, n, tonumber(ARGV[14])}))
          redis.call('ZADD', q.idemx, ARGV[14], key)
        end
        if ARGV[15] ~= '' then
          local rk = P .. ':r:' .. ARGV[15]
          redis.call('DEL', rk)
          redis.call('HSET', rk, 'queue', name, 'msg', n2s(first), 'exp', ARGV[16], 'expt', ARGV[17])
          if ARGV[19] ~= '' then redis.call('HSET', rk, 'who', ARGV[19]) end
          redis.call('ZADD', P .. ':replies', ARGV[18], ARGV[15])
        end
        local out = {'ok', first, created}
        local k = tonumber(ARGV[21 + n])
        if k > 0 then handoff(q, now, 22 + n, k, out) end
        out[#out + 1] = DROPPED
        out[#out + 1] = DROPTOTAL
        return out
        """;

    /// <summary>ARGV: P, queue, now, k, k × (max, lease), token base. Reply: {'ok', leases per receive…, dead letters dropped, dropped in all}.</summary>
    public static readonly string HandOff = Common + QueueLib + LoadQueue + """
        local out = {'ok'}
        handoff(q, tonumber(ARGV[3]), 5, tonumber(ARGV[4]), out)
        out[#out + 1] = DROPPED
        out[#out + 1] = DROPTOTAL
        return out
        """;

    /// <summary>ARGV: P, queue, max, lease ('' the queue's), now, token base. Reply: {'ok', next visible, {message…}, dead letters dropped, dropped in all}.</summary>
    public static readonly string Lease = Common + QueueLib + LoadQueue + """
        local now = tonumber(ARGV[5])
        promote(q, now)
        local leaseUs = q.lease
        if ARGV[4] ~= '' then leaseUs = tonumber(ARGV[4]) end
        local got = lease(q, tonumber(ARGV[3]), leaseUs, now, ARGV[6])
        return {'ok', nextVisible(q, now), got, DROPPED, DROPTOTAL}
        """;

    /// <summary>ARGV: P, queue, id, token, now. Reply: {'ok'}.</summary>
    public static readonly string Ack = Common + QueueLib + LoadQueue + """
        local e, refused = held(q, ARGV[3], ARGV[4], tonumber(ARGV[5]))
        if not e then return refused end
        remove(q, ARGV[3])
        return {'ok'}
        """;

    /// <summary>ARGV: P, queue, id, token, now, delay ('' the backoff), has error (0/1), error. Reply: {'ok', dead (0/1), visible at, dead letters dropped, dropped in all}.</summary>
    public static readonly string Nack = Common + QueueLib + LoadQueue + """
        local id, now = ARGV[3], tonumber(ARGV[5])
        local e, refused = held(q, id, ARGV[4], now)
        if not e then return refused end
        if ARGV[7] == '1' then e[6] = ARGV[8] end
        e[4] = false; e[5] = false
        redis.call('ZREM', q.leased, id)
        if e[2] >= q.max then
          kill(q, id, e, 'nacked', now)
          return {'ok', 1, false, DROPPED, DROPTOTAL}
        end
        e[1] = READY
        if ARGV[6] ~= '' then e[3] = now + tonumber(ARGV[6]) else e[3] = now + backoff(q, e[2]) end
        eput(q, id, e)
        redis.call('ZADD', q.pending, n2s(e[3]), id)
        return {'ok', 0, e[3]}
        """;

    /// <summary>
    /// QueueBook.Release: each message still leased under its token (the lease live) is ready again at once, in its
    /// place by id, with that delivery not counted; any other is left alone. ARGV: P, queue, now, n, n × (id, token).
    /// Reply: {'ok', released}.
    /// </summary>
    public static readonly string Release = Common + QueueLib + LoadQueue + """
        local now, n, released = tonumber(ARGV[3]), tonumber(ARGV[4]), 0
        for i = 0, n - 1 do
          local id, token = ARGV[5 + 2 * i], ARGV[6 + 2 * i]
          local e = eget(q, id)
          if e and e[1] == LEASED and e[4] == token and e[5] > now then
            e[1] = READY; e[2] = math.max(0, e[2] - 1); e[3] = now; e[4] = false; e[5] = false
            eput(q, id, e)
            redis.call('ZREM', q.pending, id)
            redis.call('ZREM', q.leased, id)
            redis.call('ZADD', q.ready, id, id)
            released = released + 1
          end
        end
        return {'ok', released}
        """;

    /// <summary>ARGV: P, queue, id, token, now, by. Reply: {'ok', lease end}.</summary>
    public static readonly string Extend = Common + QueueLib + LoadQueue + """
        local id, now, by = ARGV[3], tonumber(ARGV[5]), tonumber(ARGV[6])
        local e, refused = held(q, id, ARGV[4], now)
        if not e then return refused end
        e[5] = now + by
        e[3] = now + by + backoff(q, e[2])
        eput(q, id, e)
        redis.call('ZADD', q.pending, n2s(e[3]), id)
        redis.call('ZADD', q.leased, n2s(e[5]), id)
        return {'ok', e[5]}
        """;

    /// <summary>ARGV: P, queue, after id, how many. Reply: {'ok', {message…}}.</summary>
    public static readonly string DeadLetters = Common + QueueLib + LoadQueue + """
        local out = {}
        for _, id in ipairs(redis.call('ZRANGEBYSCORE', q.dead, '(' .. ARGV[3], '+inf', 'LIMIT', 0, tonumber(ARGV[4]))) do
          out[#out + 1] = view(q, id, eget(q, id))
        end
        return {'ok', out}
        """;

    /// <summary>ARGV: P, queue, id ('' all), now. Reply: {'ok', count} | {'no-dead-letter', queue, id} | {'queue-full', queue, length, max, n}.</summary>
    public static readonly string Redrive = Common + QueueLib + LoadQueue + """
        local ids
        if ARGV[3] ~= '' then
          if not redis.call('ZSCORE', q.dead, ARGV[3]) then return {'no-dead-letter', q.name, ARGV[3]} end
          ids = {ARGV[3]}
        else
          ids = redis.call('ZRANGE', q.dead, 0, -1)
        end
        local refused = qfull(q, #ids)
        if refused then return refused end
        for _, id in ipairs(ids) do
          local e = eget(q, id)
          e[1] = READY; e[2] = 0; e[7] = false; e[8] = false; e[3] = tonumber(ARGV[4])
          eput(q, id, e)
          redis.call('ZREM', q.dead, id)
          redis.call('ZADD', q.ready, id, id)
        end
        return {'ok', #ids}
        """;

    /// <summary>ARGV: P, queue. Reply: {'ok', count}.</summary>
    public static readonly string PurgeDead = Common + QueueLib + LoadQueue + """
        local ids = redis.call('ZRANGE', q.dead, 0, -1)
        for _, id in ipairs(ids) do remove(q, id) end
        return {'ok', #ids}
        """;
}
