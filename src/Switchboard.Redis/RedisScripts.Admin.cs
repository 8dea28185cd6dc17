namespace Switchboard.Redis;

internal static partial class RedisScripts
{
    /// <summary>ARGV: P, now, queue…. Reply: {'ok', info…} for the queues that exist (info: name, cfg, ver, created, 4 counts).</summary>
    public static readonly string QueueInfos = Common + QueueLib + """
        local now = tonumber(ARGV[2])
        local out = {'ok'}
        for i = 3, #ARGV do
          local q = qload(ARGV[i])
          if q then out[#out + 1] = qinfo(q, now) end
        end
        return out
        """;

    /// <summary>ARGV: P, now, lexical min, prefix ('' none), how many. Reply: {info…}.</summary>
    public static readonly string ListQueues = Common + QueueLib + """
        local now = tonumber(ARGV[2])
        local max = '+'
        if ARGV[4] ~= '' then max = '[' .. ARGV[4] .. '\255' end
        local out = {}
        for _, name in ipairs(redis.call('ZRANGEBYLEX', P .. ':queues', ARGV[3], max, 'LIMIT', 0, tonumber(ARGV[5]))) do
          local q = qload(name)
          if q then out[#out + 1] = qinfo(q, now) end
        end
        return out
        """;

    /// <summary>
    /// ARGV: P, queue, cfg, lease, max, bi, bm, expected version ('' none), created ticks, now, most queues (0: no limit).
    /// Reply: {'ok', created, info} | {'precondition', expected, current} | {'queue-limit', queue, max}.
    /// </summary>
    public static readonly string PutQueue = Common + QueueLib + """
        local name, now = ARGV[2], tonumber(ARGV[10])
        local q = qload(name)
        if not q then
          if ARGV[8] ~= '' and ARGV[8] ~= '0' then return {'precondition', ARGV[8], 0} end
          if not qroom(tonumber(ARGV[11])) then return {'queue-limit', name, ARGV[11]} end
          q = qcreate(name, ARGV[3], ARGV[4], ARGV[5], ARGV[6], ARGV[7], ARGV[9])
          return {'ok', 1, qinfo(q, now)}
        end
        local ver = tonumber(redis.call('HGET', q.meta, 'ver'))
        if ARGV[8] ~= '' and tonumber(ARGV[8]) ~= ver then return {'precondition', ARGV[8], ver} end
        qsetcfg(q, ARGV[3], ARGV[4], ARGV[5], ARGV[6], ARGV[7])
        redis.call('HSET', q.meta, 'ver', n2s(ver + 1))
        return {'ok', 0, qinfo(qload(name), now)}
        """;

    /// <summary>
    /// ARGV: P, queue, now, expected version ('' none). Deletes the queue, its messages, keys and bindings.
    /// Reply: {'ok', info} | {'none'} | {'precondition', expected, current}.
    /// </summary>
    public static readonly string DeleteQueue = Common + QueueLib + BindingLib + """
        local name = ARGV[2]
        local q = qload(name)
        if not q then return {'none'} end
        local ver = tonumber(redis.call('HGET', q.meta, 'ver'))
        if ARGV[4] ~= '' and tonumber(ARGV[4]) ~= ver then return {'precondition', ARGV[4], ver} end
        local info = qinfo(q, tonumber(ARGV[3]))
        redis.call('UNLINK', q.meta, q.body, q.state, q.ready, q.pending, q.leased, q.dead, q.idem, q.idemx)
        redis.call('ZREM', P .. ':queues', name)
        local suffix = ' ' .. name
        for _, m in ipairs(redis.call('ZRANGE', P .. ':bindings', 0, -1)) do
          if string.sub(m, -#suffix) == suffix then bremove(m) end
        end
        return {'ok', info}
        """;

    /// <summary>
    /// ARGV: P, reply id, now, has lease (0/1), lease, record, now ticks. A reply slot is hash {P}:r:{id} (queue, msg,
    /// exp, expt, and once answered at + reply); zset {P}:replies says when each is forgotten.
    /// Reply: {'ok', slot} | {'reply-not-found'} | {'reply-refused', slot} | a lease refusal; slot: {queue, msg, expires ticks, replied ticks}.
    /// </summary>
    public static readonly string PostReply = Common + QueueLib + """
        local rk = P .. ':r:' .. ARGV[2]
        local now = tonumber(ARGV[3])
        local v = redis.call('HMGET', rk, 'queue', 'msg', 'exp', 'expt', 'at')
        if not v[1] then return {'reply-not-found'} end
        local slot = {v[1], v[2], v[4], v[5]}
        if v[5] or tonumber(v[3]) <= now then return {'reply-refused', slot} end
        if ARGV[4] == '1' then
          if not v[2] then return {'reply-refused', slot} end
          local q = qload(v[1])
          if not q then return {'queue-not-found', v[1]} end
          local e, refused = held(q, v[2], ARGV[5], now)
          if not e then return refused end
          remove(q, v[2])
        end
        redis.call('HSET', rk, 'at', ARGV[7], 'reply', ARGV[6])
        return {'ok', slot}
        """;

    /// <summary>ARGV: P, now, queue…. Forgets expired send keys. Reply: how many.</summary>
    public static readonly string SweepQueues = Common + QueueLib + """
        local now = n2s(tonumber(ARGV[2]))
        local forgotten = 0
        for i = 3, #ARGV do
          local q = qkeys(ARGV[i])
          local due = redis.call('ZRANGEBYSCORE', q.idemx, '-inf', now)
          hdelAll(q.idem, due)
          redis.call('ZREMRANGEBYSCORE', q.idemx, '-inf', now)
          forgotten = forgotten + #due
        end
        return forgotten
        """;

    /// <summary>ARGV: P, now, how many. Forgets reply slots an hour past their wait, a batch at a time. Reply: how many.</summary>
    public static readonly string SweepReplies = Common + """
        local due = redis.call('ZRANGEBYSCORE', P .. ':replies', '-inf', ARGV[2], 'LIMIT', 0, tonumber(ARGV[3]))
        for _, id in ipairs(due) do
          redis.call('UNLINK', P .. ':r:' .. id)
          redis.call('ZREM', P .. ':replies', id)
        end
        return #due
        """;

    /// <summary>Every script, to load at open (and again when Redis comes back without its script cache).</summary>
    /// <remarks>A property, not a field: the partial files' field initializers run in no promised order.</remarks>
    public static IReadOnlyList<string> All =>
    [
        Append, Read, ListTopics, PutTopic, DeleteTopic, SweepTopics,
        Enqueue, HandOff, Lease, Release, Ack, Nack, Extend, DeadLetters, Redrive, PurgeDead,
        QueueInfos, ListQueues, PutQueue, DeleteQueue, PutBinding, DeleteBinding, PostReply, SweepQueues, SweepReplies, Peek,
    ];
}
