namespace Switchboard.Core.Engines;

/// <summary>One message's place in a queue (what the engines persist, without the body).</summary>
public sealed class QueueEntry
{
    /// <summary>Its id in the queue.</summary>
    public required long Id { get; init; }

    /// <summary>When it was sent.</summary>
    public required DateTimeOffset EnqueuedAt { get; init; }

    /// <summary>Ready, leased or dead.</summary>
    public QueueMessageState State { get; set; }

    /// <summary>Deliveries so far.</summary>
    public int Attempts { get; set; }

    /// <summary>When it can be (re)delivered: its delay, its backoff, or its lease's end plus the backoff.</summary>
    public DateTimeOffset VisibleAt { get; set; }

    /// <summary>The current lease token, while leased.</summary>
    public string? Lease { get; set; }

    /// <summary>When the current lease runs out.</summary>
    public DateTimeOffset? LeaseExpiresAt { get; set; }

    /// <summary>The last error a consumer gave.</summary>
    public string? LastError { get; set; }

    /// <summary>Why it is dead.</summary>
    public string? DeadReason { get; set; }

    /// <summary>When it died.</summary>
    public DateTimeOffset? DeadAt { get; set; }

    /// <summary>The engine's own data for it (the memory engine keeps the body here).</summary>
    public object? Body { get; set; }

    internal long Version { get; set; }
}

/// <summary>
/// The rules of one queue, shared by every engine: FIFO among visible messages, one lease at a time, redelivery
/// after a nack or an expired lease with exponential backoff, dead letters after <see cref="QueueConfig.MaxAttempts"/>
/// deliveries. Not thread-safe: the engine serialises calls (a lock, or its writer thread) and persists the entries
/// each call reports as changed, in the same transaction as the call's other effects.
/// </summary>
public sealed partial class QueueBook
{
    private readonly Dictionary<long, QueueEntry> _entries = [];
    private readonly SortedSet<long> _ready = [];
    private readonly SortedSet<long> _dead = [];
    private readonly PriorityQueue<(long Id, long Version), DateTimeOffset> _pending = new();

    /// <summary>Creates the book of a queue.</summary>
    public QueueBook(string name, QueueConfig config, long configVersion, DateTimeOffset createdAt, long nextId = 1)
    {
        Name = name;
        Config = config;
        ConfigVersion = configVersion;
        CreatedAt = createdAt;
        NextId = nextId;
    }

    /// <summary>The queue's name.</summary>
    public string Name { get; }

    /// <summary>Its settings.</summary>
    public QueueConfig Config { get; set; }

    /// <summary>Incremented by every change of settings.</summary>
    public long ConfigVersion { get; set; }

    /// <summary>When it was created.</summary>
    public DateTimeOffset CreatedAt { get; }

    /// <summary>The id the next message gets.</summary>
    public long NextId { get; private set; }

    /// <summary>Idempotency keys of sends: key → (fingerprint, first id, count, expiry).</summary>
    public Dictionary<string, (string Fingerprint, long FirstId, int Count, DateTimeOffset ExpiresAt)> Keys { get; } = new(StringComparer.Ordinal);

    /// <summary>Messages in the queue, dead letters included.</summary>
    public int Count => _entries.Count;

    /// <summary>Puts back an entry read from disk (at open).</summary>
    public void Load(QueueEntry entry)
    {
        ArgumentNullException.ThrowIfNull(entry);
        _entries[entry.Id] = entry;
        NextId = Math.Max(NextId, entry.Id + 1);
        switch (entry.State)
        {
            case QueueMessageState.Dead:
                _dead.Add(entry.Id);
                break;
            default:
                Schedule(entry);
                break;
        }
    }

    /// <summary>Adds messages; returns their entries (ids in order).</summary>
    /// <exception cref="SwitchboardException"><see cref="QueueEngine.Full"/> when they would put the queue past its maxLength; nothing changed.</exception>
    public List<QueueEntry> Enqueue(int count, DateTimeOffset now, TimeSpan delay)
    {
        EnsureRoom(count);
        var added = new List<QueueEntry>(count);
        for (var i = 0; i < count; i++)
        {
            var entry = new QueueEntry { Id = NextId++, EnqueuedAt = now, VisibleAt = now + delay, State = QueueMessageState.Ready };
            _entries[entry.Id] = entry;
            Schedule(entry);
            added.Add(entry);
        }
        return added;
    }

    /// <summary>Leases up to <paramref name="max"/> visible messages, oldest first. Expired leases of messages on their last attempt are dead-lettered on the way (added to <paramref name="changed"/>).</summary>
    public List<QueueEntry> Lease(int max, TimeSpan lease, DateTimeOffset now, List<QueueEntry> changed)
    {
        ArgumentNullException.ThrowIfNull(changed);
        Promote(now, changed);
        var leased = new List<QueueEntry>(Math.Min(max, _ready.Count));
        while (leased.Count < max && _ready.Count > 0)
        {
            var id = _ready.Min;
            _ready.Remove(id);
            var entry = _entries[id];
            entry.State = QueueMessageState.Leased;
            entry.Attempts++;
            entry.Lease = NewToken();
            entry.LeaseExpiresAt = now + lease;
            entry.VisibleAt = now + lease + Config.Backoff(entry.Attempts);
            Schedule(entry);
            leased.Add(entry);
            changed.Add(entry);
        }
        return leased;
    }

    /// <summary>When the next message becomes visible (for a waiting receive), or null if none is pending.</summary>
    public DateTimeOffset? NextVisibleAt(DateTimeOffset now)
    {
        if (_ready.Count > 0)
        {
            return now;
        }
        while (_pending.TryPeek(out var item, out var at))
        {
            if (_entries.TryGetValue(item.Id, out var entry) && entry.Version == item.Version)
            {
                return at;
            }
            _pending.Dequeue(); // stale
        }
        return null;
    }

    /// <summary>Acknowledges a leased message: it is removed.</summary>
    public QueueEntry Ack(long id, string lease, DateTimeOffset now)
    {
        var entry = Held(id, lease, now);
        Remove(entry);
        return entry;
    }

    /// <summary>Gives a leased message back: redelivered after <paramref name="delay"/> (default: the backoff), or dead-lettered on its last attempt.</summary>
    public NackResult Nack(long id, string lease, TimeSpan? delay, string? error, DateTimeOffset now, List<QueueEntry> changed)
    {
        ArgumentNullException.ThrowIfNull(changed);
        var entry = Held(id, lease, now);
        entry.LastError = error ?? entry.LastError;
        entry.Lease = null;
        entry.LeaseExpiresAt = null;
        changed.Add(entry);
        if (entry.Attempts >= Config.MaxAttempts)
        {
            Kill(entry, "nacked", now, changed);
            return new NackResult(true, null);
        }
        entry.State = QueueMessageState.Ready;
        entry.VisibleAt = now + (delay ?? Config.Backoff(entry.Attempts));
        Schedule(entry);
        return new NackResult(false, entry.VisibleAt);
    }

    /// <summary>
    /// Gives back messages leased to a receive that could not hand them to its caller (it was cancelled): each one still
    /// held under the given lease (the lease live) is ready again at once, in its place by id (FIFO), and that delivery
    /// is not counted — its attempts go back to what they were before the lease, so it moves no closer to the dead
    /// letters. Anything else (acked, nacked, its lease ran out, leased to someone else) is left as it is: a release never
    /// takes a message from another holder. Returns the entries released, also added to <paramref name="changed"/>.
    /// </summary>
    public List<QueueEntry> Release(IReadOnlyList<(long Id, string Lease)> leases, DateTimeOffset now, List<QueueEntry> changed)
    {
        ArgumentNullException.ThrowIfNull(leases);
        ArgumentNullException.ThrowIfNull(changed);
        var released = new List<QueueEntry>(leases.Count);
        foreach (var (id, lease) in leases)
        {
            if (!_entries.TryGetValue(id, out var entry) || entry.State != QueueMessageState.Leased
                || !string.Equals(entry.Lease, lease, StringComparison.Ordinal) || entry.LeaseExpiresAt <= now)
            {
                continue;
            }
            entry.State = QueueMessageState.Ready;
            entry.Attempts = Math.Max(0, entry.Attempts - 1);
            entry.Lease = null;
            entry.LeaseExpiresAt = null;
            entry.VisibleAt = now;
            entry.Version++; // its pending lease end is stale now
            _ready.Add(entry.Id);
            released.Add(entry);
            changed.Add(entry);
        }
        return released;
    }

    /// <summary>Extends a lease to <paramref name="by"/> from now.</summary>
    public QueueEntry Extend(long id, string lease, TimeSpan by, DateTimeOffset now)
    {
        var entry = Held(id, lease, now);
        entry.LeaseExpiresAt = now + by;
        entry.VisibleAt = now + by + Config.Backoff(entry.Attempts);
        Schedule(entry);
        return entry;
    }

    /// <summary>Dead letters after <paramref name="afterId"/>, in id order.</summary>
    public List<QueueEntry> DeadLetters(long afterId, int limit)
        => [.. _dead.GetViewBetween(afterId + 1, long.MaxValue).Take(limit).Select(id => _entries[id])];

    /// <summary>
    /// Up to <paramref name="limit"/> entries after <paramref name="afterId"/> in id order whose state at <paramref name="now"/>
    /// (see <see cref="PeekState"/>) is one of <paramref name="states"/>. Reads only: nothing is promoted, leased or counted.
    /// </summary>
    public List<(QueueEntry Entry, QueueMessageState State)> Peek(QueuePeekStates states, long afterId, int limit, DateTimeOffset now)
    {
        var found = new List<(QueueEntry, QueueMessageState)>(Math.Min(limit, 64));
        if (afterId >= NextId - 1)
        {
            return found;
        }
        // Walk ids in order when the range is small for the queue; otherwise sort the live ids once.
        IEnumerable<long> ids = NextId - 1 - Math.Max(afterId, 0) <= 4L * _entries.Count + 64
            ? Range(Math.Max(afterId, 0) + 1, NextId)
            : _entries.Keys.Where(id => id > afterId).Order();
        foreach (var id in ids)
        {
            if (found.Count >= limit)
            {
                break;
            }
            if (_entries.TryGetValue(id, out var entry) && PeekState(entry, now, Config.MaxAttempts) is { } state && Includes(states, state))
            {
                found.Add((entry, state));
            }
        }
        return found;

        static IEnumerable<long> Range(long from, long to)
        {
            for (var id = from; id < to; id++)
            {
                yield return id;
            }
        }
    }

    /// <summary>
    /// What an entry is at <paramref name="now"/>, as the next receive would find it (the state a promote would give it):
    /// ready (visible), delayed (its delay or backoff not over, a lapsed lease's included), leased (a live lease), or
    /// null for a dead letter (or a lapsed lease on its last attempt, which the next promote dead-letters).
    /// </summary>
    public static QueueMessageState? PeekState(QueueEntry entry, DateTimeOffset now, int maxAttempts)
    {
        ArgumentNullException.ThrowIfNull(entry);
        return entry.State switch
        {
            QueueMessageState.Dead => null,
            QueueMessageState.Leased when entry.LeaseExpiresAt > now => QueueMessageState.Leased,
            _ when entry.VisibleAt > now => QueueMessageState.Delayed,
            QueueMessageState.Leased when entry.Attempts >= maxAttempts => null,
            _ => QueueMessageState.Ready,
        };
    }

    private static bool Includes(QueuePeekStates states, QueueMessageState state) => state switch
    {
        QueueMessageState.Ready => states.HasFlag(QueuePeekStates.Ready),
        QueueMessageState.Delayed => states.HasFlag(QueuePeekStates.Delayed),
        QueueMessageState.Leased => states.HasFlag(QueuePeekStates.Leased),
        _ => false,
    };

    /// <summary>Puts one dead letter (or all, when <paramref name="id"/> is null) back to ready with its attempts reset.</summary>
    public List<QueueEntry> Redrive(long? id, DateTimeOffset now)
    {
        List<long> ids = id is { } one ? (_dead.Contains(one) ? [one] : throw new SwitchboardException(ErrorCode.MessageNotFound, $"Queue '{Name}' has no dead letter {one}; GET /v1/queues/{Name}/dead-letters lists them.")) : [.. _dead];
        EnsureRoom(ids.Count); // a redrive counts against maxLength like a send: all of it, or none
        var moved = new List<QueueEntry>(ids.Count);
        foreach (var deadId in ids)
        {
            var entry = _entries[deadId];
            _dead.Remove(deadId);
            entry.State = QueueMessageState.Ready;
            entry.Attempts = 0;
            entry.DeadReason = null;
            entry.DeadAt = null;
            entry.VisibleAt = now;
            Schedule(entry);
            moved.Add(entry);
        }
        return moved;
    }

    /// <summary>Deletes every dead letter; returns them.</summary>
    public List<QueueEntry> PurgeDead()
    {
        var removed = _dead.Select(id => _entries[id]).ToList();
        foreach (var entry in removed)
        {
            Remove(entry);
        }
        return removed;
    }

    /// <summary>The counts now (expired leases on their last attempt are dead-lettered first, into <paramref name="changed"/>).</summary>
    public QueueStats Stats(DateTimeOffset now, List<QueueEntry> changed)
    {
        Promote(now, changed);
        var ready = _ready.Count;
        var dead = _dead.Count;
        var leased = _entries.Values.Count(e => e.State == QueueMessageState.Leased && e.LeaseExpiresAt > now);
        return new QueueStats(ready, leased, _entries.Count - ready - dead - leased, dead, DeadDropped);
    }

    private void Promote(DateTimeOffset now, List<QueueEntry> changed)
    {
        while (_pending.TryPeek(out var item, out var at) && at <= now)
        {
            _pending.Dequeue();
            if (!_entries.TryGetValue(item.Id, out var entry) || entry.Version != item.Version)
            {
                continue; // acked, rescheduled or dead since
            }
            if (entry.State == QueueMessageState.Leased)
            {
                // Its lease ran out (and its backoff passed) without an ack.
                        entry.Lease = null;
                entry.LeaseExpiresAt = null;
                if (entry.Attempts >= Config.MaxAttempts)
                {
                    Kill(entry, "lease-expired", now, changed);
                    changed.Add(entry);
                    continue;
                }
                entry.State = QueueMessageState.Ready;
                changed.Add(entry);
            }
            entry.Version++;
            _ready.Add(entry.Id);
        }
    }

    private QueueEntry Held(long id, string lease, DateTimeOffset now)
    {
        if (id >= NextId || id < 1)
        {
            throw new SwitchboardException(ErrorCode.MessageNotFound, $"Queue '{Name}' never had a message {id}: use the id of a message you received.");
        }
        if (!_entries.TryGetValue(id, out var entry) || entry.State == QueueMessageState.Dead)
        {
            throw new SwitchboardException(ErrorCode.LeaseMismatch, $"Message {id} of queue '{Name}' is not leased any more: it was acked, or moved to the dead letters.");
        }
        if (entry.State != QueueMessageState.Leased || !string.Equals(entry.Lease, lease, StringComparison.Ordinal))
        {
            throw new SwitchboardException(ErrorCode.LeaseMismatch, entry.State == QueueMessageState.Leased
                ? WrongLease(id.ToString(System.Globalization.CultureInfo.InvariantCulture), entry.Attempts)
                : $"Message {id} of queue '{Name}' is not leased (its lease ran out or it was nacked); it will be delivered again.");
        }
        if (entry.LeaseExpiresAt <= now)
        {
            throw new SwitchboardException(ErrorCode.LeaseExpired,
                $"The lease on message {id} ran out at {entry.LeaseExpiresAt:O}; it will be delivered again. Extend leases before they run out (or receive with a longer lease).");
        }
        return entry;
    }

    /// <summary>
    /// Why a lease token was refused for a leased message (every engine says it the same way): on a later attempt, the
    /// caller most likely holds the lease of an earlier delivery; on the first, no earlier lease exists, so the token
    /// itself is wrong.
    /// </summary>
    public static string WrongLease(string id, long attempts) => attempts > 1
        ? $"The lease token does not match message {id}'s current lease (it is on attempt {attempts}: the message was delivered again after your lease ran out). Do not ack it; its current holder will."
        : $"The lease token does not match message {id}'s lease. Send the lease received with this message, whole and unchanged.";

    private void Kill(QueueEntry entry, string reason, DateTimeOffset now, List<QueueEntry> changed)
    {
        entry.State = QueueMessageState.Dead;
        entry.DeadReason = reason;
        entry.DeadAt = now;
        entry.Version++;
        _dead.Add(entry.Id);
        DropOldestDead(changed);
    }

    private void Remove(QueueEntry entry)
    {
        _entries.Remove(entry.Id);
        _ready.Remove(entry.Id);
        _dead.Remove(entry.Id);
        if (entry.State == QueueMessageState.Leased)
        {
            }
        entry.Version++;
    }

    private void Schedule(QueueEntry entry)
    {
        entry.Version++;
        _ready.Remove(entry.Id);
        _pending.Enqueue((entry.Id, entry.Version), entry.VisibleAt);
    }

    private static string NewToken() => Security.RandomTokens.NewBase64Url();
}
