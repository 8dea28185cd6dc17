using Microsoft.Data.Sqlite;
using Switchboard.Core;
using Switchboard.Core.Engines;

namespace Switchboard.Sqlite;

/// <summary>
/// The queue half of the writer: each queue's <see cref="QueueBook"/> (ids, states, leases, visibility — not the
/// bodies) lives here, loaded at open; every change it makes is written in the same transaction as the call, so a
/// confirmed send, ack or dead-lettering is on disk, and a failed commit reloads the books from disk.
/// </summary>
internal sealed partial class SqliteWriter
{
    private readonly Dictionary<string, (long Id, QueueBook Book)> _queues = new(StringComparer.Ordinal);
    private readonly HashSet<string> _enqueued = new(StringComparer.Ordinal);
    private readonly List<ReplyRecord> _replied = [];
    private readonly List<Handoff> _handoffs = [];
    private readonly Dictionary<long, QueueBook> _nextIds = [];
    private SqliteCommand _insertQueueMessage = null!;
    private SqliteCommand _updateQueueMessage = null!;
    private SqliteCommand _selectQueueBody = null!;
    private SqliteCommand _deleteQueueMessage = null!;

    private void PrepareQueues()
    {
        _insertQueueMessage = Command(
            "INSERT INTO queue_messages (queue_id, id, enqueued_at, state, attempts, visible_at, lease, lease_expires_at, key, content_type, headers, reply_to, correlation_id, payload) VALUES ($q, $id, $at, $state, $attempts, $visible, $lease, $expires, $key, $type, $headers, $reply, $corr, $payload)",
            "$q", "$id", "$at", "$state", "$attempts", "$visible", "$lease", "$expires", "$key", "$type", "$headers", "$reply", "$corr", "$payload");
        _updateQueueMessage = Command(
            "UPDATE queue_messages SET state = $state, attempts = $attempts, visible_at = $visible, lease = $lease, lease_expires_at = $expires, last_error = $error, dead_reason = $reason, dead_at = $dead WHERE queue_id = $q AND id = $id",
            "$q", "$id", "$state", "$attempts", "$visible", "$lease", "$expires", "$error", "$reason", "$dead");
        _selectQueueBody = Command(
            "SELECT key, content_type, headers, reply_to, correlation_id, payload FROM queue_messages WHERE queue_id = $q AND id = $id",
            "$q", "$id");
        _deleteQueueMessage = Command("DELETE FROM queue_messages WHERE queue_id = $q AND id = $id", "$q", "$id");
        _selectReply = Command(SelectReply, "$id");
    }

    /// <summary>Receives parked on empty queues (any thread parks; the writer claims them when it enqueues).</summary>
    public ParkedLeases Parked { get; } = new();

    /// <summary>
    /// After the commit: each receive a send of this batch leased to gets its messages, or, when the commit failed
    /// (the leases were never stored; the books are reloaded), none, so it receives again.
    /// </summary>
    public void CompleteHandoffs(bool committed)
    {
        foreach (var handoff in _handoffs)
        {
            handoff.Complete(committed);
        }
        _handoffs.Clear();
    }

    /// <summary>
    /// In the send's transaction, for the messages it just put in the book (<paramref name="entries"/>, their bodies
    /// in <paramref name="written"/>): lease what it made visible to the receives parked on the queue, then write the
    /// rows. A message handed over is inserted leased (one statement, not an insert and an update) and handed over as
    /// written, not read back; an older message the same handoff leases is updated and read back.
    /// </summary>
    private void WriteSent((long Id, QueueBook Book) queue, string name, List<QueueEntry> entries, QueueDraft[] written, byte[][] payloads, DateTimeOffset now, bool handOff)
    {
        var firstId = entries[0].Id;
        bool IsNew(QueueEntry e) => e.Id >= firstId && e.Id - firstId < written.Length;
        var changed = new List<QueueEntry>();
        if (handOff)
        {
            _handoffs.AddRange(Parked.HandOff(queue.Book, entries.Count, now, changed, e => QueueMessages.From(name, e, IsNew(e) ? written[e.Id - firstId] : Body(queue.Id, e.Id))));
        }
        for (var i = 0; i < entries.Count; i++)
        {
            InsertQueueMessage(queue.Id, entries[i], written[i], payloads[i]);
        }
        changed.RemoveAll(IsNew);
        Save(queue, changed);
        _nextIds[queue.Id] = queue.Book;
        _enqueued.Add(name);
    }

    /// <summary>Queues that got visible messages in this batch (announced after the commit).</summary>
    public IEnumerable<string> TakeEnqueued()
    {
        var names = _enqueued.ToList();
        _enqueued.Clear();
        return names;
    }

    /// <summary>Replies posted in this batch, after the commit: kept in the reply cache, then announced by id.</summary>
    public IEnumerable<string> TakeReplied()
    {
        var ids = new List<string>(_replied.Count);
        foreach (var slot in _replied)
        {
            _recentReplies.Add(slot);
            ids.Add(slot.Id);
        }
        _replied.Clear();
        return ids;
    }

    public PutQueueResult PutQueue(string name, QueueConfig config, long? expectedVersion, DateTimeOffset now)
    {
        if (!_queues.TryGetValue(name, out var queue))
        {
            if (expectedVersion is { } expectedNew && expectedNew != 0)
            {
                throw QueueEngine.PreconditionFailed(name, expectedNew, 0);
            }
            CreateQueue(name, config, now);
            return new PutQueueResult(Info(_queues[name], now), true);
        }
        if (expectedVersion is { } expected && expected != queue.Book.ConfigVersion)
        {
            throw QueueEngine.PreconditionFailed(name, expected, queue.Book.ConfigVersion);
        }
        queue.Book.Config = config;
        queue.Book.ConfigVersion++;
        Run("UPDATE queues SET config = $c, config_version = $v WHERE id = $id", ("$c", StoredConfigJson.Write(config)), ("$v", queue.Book.ConfigVersion), ("$id", queue.Id));
        return new PutQueueResult(Info(queue, now), false);
    }

    public QueueInfo? GetQueue(string name, DateTimeOffset now) => _queues.TryGetValue(name, out var queue) ? Info(queue, now) : null;

    public QueuePage ListQueues(string? prefix, string? after, int limit, DateTimeOffset now)
    {
        var names = _queues.Keys
            .Where(n => (prefix is null || n.StartsWith(prefix, StringComparison.Ordinal)) && (after is null || string.CompareOrdinal(n, after) > 0))
            .Order(StringComparer.Ordinal)
            .Take(limit + 1)
            .ToList();
        var page = names.Take(limit).Select(n => Info(_queues[n], now)).ToList();
        return new QueuePage(page, names.Count > limit ? page[^1].Name : null);
    }

    public QueueInfo? DeleteQueue(string name, long? expectedVersion, DateTimeOffset now)
    {
        if (!_queues.TryGetValue(name, out var queue))
        {
            return null;
        }
        if (expectedVersion is { } expected && expected != queue.Book.ConfigVersion)
        {
            throw QueueEngine.PreconditionFailed(name, expected, queue.Book.ConfigVersion);
        }
        _queues.Remove(name);
        var info = Info(queue, now);
        Run("DELETE FROM queue_messages WHERE queue_id = $id; DELETE FROM queue_keys WHERE queue_id = $id; DELETE FROM queues WHERE id = $id; DELETE FROM bindings WHERE queue = $name",
            ("$id", queue.Id), ("$name", name));
        _bindings.RemoveAll(b => b.Queue == name);
        return info;
    }

    public EnqueueResult Enqueue(EnqueueRequest request, byte[][] payloads)
    {
        var created = false;
        if (!_queues.TryGetValue(request.Queue, out var queue))
        {
            if (request.CreateQueue is not { } config)
            {
                throw QueueEngine.NotFound(request.Queue);
            }
            QueueEngine.EnsureLength(request.Queue, 0, _options.QueueLimits.For(config).MaxLength, request.Messages.Count); // before the queue is made
            CreateQueue(request.Queue, config, request.Timestamp);
            queue = _queues[request.Queue];
            created = true;
        }
        if (request.Idempotency is { } token && FindQueueKey(queue, token.StoredKey, request.Timestamp))
        {
            return QueueEngine.Replay(queue.Book, request)!;
        }
        var entries = queue.Book.Enqueue(request.Messages.Count, request.Timestamp, request.Delay);
        var written = new QueueDraft[entries.Count];
        for (var i = 0; i < entries.Count; i++)
        {
            var draft = request.Messages[i];
            written[i] = Written(draft.Message, payloads[i], draft.ReplyTo, draft.CorrelationId);
        }
        WriteSent(queue, request.Queue, entries, written, payloads, request.Timestamp, handOff: request.Delay <= TimeSpan.Zero);
        if (request.Idempotency is { } newToken)
        {
            QueueEngine.Remember(queue.Book, request, entries[0].Id);
            Run("INSERT OR REPLACE INTO queue_keys (queue_id, key, fingerprint, first_id, count, expires_at) VALUES ($q, $k, $f, $first, $n, $exp)",
                ("$q", queue.Id), ("$k", newToken.StoredKey), ("$f", newToken.Fingerprint), ("$first", entries[0].Id), ("$n", entries.Count), ("$exp", newToken.ExpiresAt.UtcTicks));
        }
        if (request.Reply is var (replyId, expiresAt))
        {
            // The id is derived from the send's key: a request retried after the key's window reuses it while the first
            // slot is still remembered. The new request opens it afresh (as the other engines do); a plain INSERT would
            // fail the UNIQUE id and with it the whole group commit, every other caller's send and ack in the batch.
            Run("INSERT OR REPLACE INTO replies (id, queue, message_id, expires_at, requester) VALUES ($id, $q, $m, $exp, $who)",
                ("$id", replyId), ("$q", request.Queue), ("$m", entries[0].Id), ("$exp", expiresAt.UtcTicks), ("$who", request.Requester));
            // Neither a cached answer of the first request nor one posted earlier in this batch may answer this one.
            _recentReplies.Remove(replyId);
            _replied.RemoveAll(r => r.Id == replyId);
        }
        return new EnqueueResult(request.Queue, entries[0].Id, entries.Count, false, created);
    }

    /// <summary>Bindings: a topic append also enqueues into every bound queue, in the same transaction.</summary>
    public LeaseResult Lease(string name, int max, TimeSpan? lease, DateTimeOffset now)
    {
        var queue = Queue(name);
        var changed = new List<QueueEntry>();
        var leased = queue.Book.Lease(max, lease ?? queue.Book.Config.Lease, now, changed);
        Save(queue, changed);
        var messages = new List<QueueMessage>(leased.Count);
        foreach (var entry in leased)
        {
            messages.Add(QueueMessages.From(name, entry, Body(queue.Id, entry.Id)));
        }
        return new LeaseResult(messages, queue.Book.NextVisibleAt(now));
    }

    public void Ack(string name, long id, string lease, DateTimeOffset now)
    {
        var queue = Queue(name);
        queue.Book.Ack(id, lease, now);
        Execute(_deleteQueueMessage, ("$q", queue.Id), ("$id", id));
    }

    public NackResult Nack(string name, long id, string lease, TimeSpan? delay, string? error, DateTimeOffset now)
    {
        var queue = Queue(name);
        var changed = new List<QueueEntry>();
        var result = queue.Book.Nack(id, lease, delay, error, now, changed);
        Save(queue, changed);
        _enqueued.Add(name);
        return result;
    }

    public DateTimeOffset Extend(string name, long id, string lease, TimeSpan by, DateTimeOffset now)
    {
        var queue = Queue(name);
        var entry = queue.Book.Extend(id, lease, by, now);
        Save(queue, [entry]);
        return entry.LeaseExpiresAt!.Value;
    }

    public DeadLetterPage DeadLetters(string name, long afterId, int limit)
    {
        var queue = Queue(name);
        var entries = queue.Book.DeadLetters(afterId, limit + 1);
        var page = entries.Take(limit).Select(e => QueueMessages.From(name, e, Body(queue.Id, e.Id))).ToList();
        return new DeadLetterPage(page, entries.Count > limit ? page[^1].Id : null);
    }

    public long Redrive(string name, long? id, DateTimeOffset now)
    {
        var queue = Queue(name);
        var moved = queue.Book.Redrive(id, now);
        Save(queue, moved);
        _enqueued.Add(name);
        return moved.Count;
    }

    public long PurgeDead(string name)
    {
        var queue = Queue(name);
        var removed = queue.Book.PurgeDead();
        foreach (var entry in removed)
        {
            Execute(_deleteQueueMessage, ("$q", queue.Id), ("$id", entry.Id));
        }
        return removed.Count;
    }

    private void SweepQueues(DateTimeOffset now)
    {
        Run("DELETE FROM queue_keys WHERE expires_at <= $now; DELETE FROM replies WHERE expires_at <= $gone", ("$now", now.UtcTicks), ("$gone", (now - QueueEngine.ReplyKeptFor).UtcTicks));
        foreach (var (_, book) in _queues.Values)
        {
            foreach (var key in book.Keys.Where(k => k.Value.ExpiresAt <= now).Select(k => k.Key).ToList())
            {
                book.Keys.Remove(key);
            }
        }
    }

    private (long Id, QueueBook Book) Queue(string name) => _queues.TryGetValue(name, out var queue) ? queue : throw QueueEngine.NotFound(name);

    /// <summary>
    /// A queue's settings and counts. Counting promotes like a lease does (<see cref="QueueBook.Stats"/>): a lease that
    /// ran out on its last attempt moves to the dead letters. That change is stored in this transaction like any other:
    /// dropped, the dead letter shown would not be on disk — after a restart it would be missing from the listing (not
    /// redrivable) and, with maxAttempts raised meanwhile, delivered again.
    /// </summary>
    private QueueInfo Info((long Id, QueueBook Book) queue, DateTimeOffset now)
    {
        var changed = new List<QueueEntry>();
        var stats = queue.Book.Stats(now, changed);
        Save(queue, changed);
        return new(queue.Book.Name, queue.Book.Config, queue.Book.ConfigVersion, queue.Book.CreatedAt, stats) { Limits = queue.Book.Limits };
    }

    /// <summary>
    /// A queue a client asked for (a send, a put, a binding), within the limit (SqliteStoreOptions.MaxQueues), checked before
    /// anything is written. A bound topic's append recreates its queue with <see cref="InsertQueue"/>, unchecked: the
    /// binding counted it, and a publish must not fail halfway through its bindings.
    /// </summary>
    private void CreateQueue(string name, QueueConfig config, DateTimeOffset now)
    {
        if (_options.MaxQueues is { } max && _queues.Count >= max)
        {
            throw QueueEngine.LimitReached(name, max);
        }
        InsertQueue(name, config, now);
    }

    private QueueBook InsertQueue(string name, QueueConfig config, DateTimeOffset now)
    {
        using var command = _connection.CreateCommand();
        command.CommandText = "INSERT INTO queues (name, config, config_version, created_at) VALUES ($n, $c, 1, $at) RETURNING id";
        command.Parameters.AddWithValue("$n", name);
        command.Parameters.AddWithValue("$c", StoredConfigJson.Write(config));
        command.Parameters.AddWithValue("$at", now.UtcTicks);
        var id = (long)command.ExecuteScalar()!;
        var book = new QueueBook(name, config, 1, now) { Defaults = _options.QueueLimits };
        _queues[name] = (id, book);
        return book;
    }

    /// <summary>A sent message's body as <see cref="Body"/> reads it from its row: the payload is the writer's own copy.</summary>
    private static QueueDraft Written(MessageDraft message, byte[] payload, string? replyTo, string? correlationId) => new()
    {
        Message = new MessageDraft { Key = message.Key, ContentType = message.ContentType, Headers = message.Headers, Payload = payload },
        ReplyTo = replyTo,
        CorrelationId = correlationId,
    };

    /// <summary>A new message's row, in the state its entry is in (ready, delayed, or leased by a handoff).</summary>
    private void InsertQueueMessage(long queueId, QueueEntry entry, QueueDraft body, byte[] payload)
        => Execute(_insertQueueMessage, ("$q", queueId), ("$id", entry.Id), ("$at", entry.EnqueuedAt.UtcTicks), ("$state", (int)entry.State), ("$attempts", entry.Attempts),
            ("$visible", entry.VisibleAt.UtcTicks), ("$lease", entry.Lease), ("$expires", entry.LeaseExpiresAt?.UtcTicks), ("$key", body.Message.Key), ("$type", body.Message.ContentType),
            ("$headers", HeadersCodec.Encode(body.Message.Headers)), ("$reply", body.ReplyTo), ("$corr", body.CorrelationId), ("$payload", payload));

    // Ids are never reused, even once every message is acked (a late ack of an old id must not hit a new message): each
    // queue sent to in the batch stores its next id once, before the commit (a queue deleted meanwhile matches no row).
    private void FlushNextIds()
    {
        foreach (var (id, book) in _nextIds)
        {
            Run("UPDATE queues SET next_id = $n WHERE id = $id", ("$n", book.NextId), ("$id", id));
        }
        _nextIds.Clear();
    }

    private QueueDraft Body(long queueId, long id)
    {
        using var reader = Query(_selectQueueBody, ("$q", queueId), ("$id", id));
        if (!reader.Read())
        {
            throw new InvalidOperationException($"queue message {queueId}/{id} is in the book but not in the database");
        }
        return new QueueDraft
        {
            Message = new MessageDraft
            {
                Key = reader.IsDBNull(0) ? null : reader.GetString(0),
                ContentType = reader.GetString(1),
                Headers = reader.IsDBNull(2) ? new Dictionary<string, string>() : HeadersCodec.Decode((byte[])reader.GetValue(2), m => new InvalidOperationException(m)),
                Payload = (byte[])reader.GetValue(5),
            },
            ReplyTo = reader.IsDBNull(3) ? null : reader.GetString(3),
            CorrelationId = reader.IsDBNull(4) ? null : reader.GetString(4),
        };
    }

    private static bool FindQueueKey((long Id, QueueBook Book) queue, string key, DateTimeOffset now)
        => queue.Book.Keys.TryGetValue(key, out var seen) && seen.ExpiresAt > now;

    // Each statement is compiled once and kept (a handful of fixed texts): compiling costs more than running most of them.
    private readonly Dictionary<string, SqliteCommand> _statements = new(StringComparer.Ordinal);

    private void Run(string sql, params (string Name, object? Value)[] values)
    {
        if (!_statements.TryGetValue(sql, out var command))
        {
            _statements[sql] = command = _connection.CreateCommand();
            command.CommandText = sql;
        }
        command.Parameters.Clear();
        foreach (var (name, value) in values)
        {
            command.Parameters.AddWithValue(name, value ?? DBNull.Value);
        }
        command.ExecuteNonQuery();
    }

    private void LoadQueues()
    {
        _queues.Clear();
        _bindings.Clear();
        var byId = new Dictionary<long, QueueBook>();
        using (var command = _connection.CreateCommand())
        {
            command.CommandText = "SELECT id, name, config, config_version, created_at, next_id, dead_dropped FROM queues";
            using var reader = command.ExecuteReader();
            while (reader.Read())
            {
                var book = new QueueBook(reader.GetString(1), StoredConfigJson.ReadQueue(reader.GetString(2)), reader.GetInt64(3), new DateTimeOffset(reader.GetInt64(4), TimeSpan.Zero), reader.GetInt64(5))
                {
                    Defaults = _options.QueueLimits,
                    DeadDropped = reader.GetInt64(6),
                };
                _queues[book.Name] = (reader.GetInt64(0), book);
                byId[reader.GetInt64(0)] = book;
            }
        }
        using (var command = _connection.CreateCommand())
        {
            command.CommandText = "SELECT queue_id, id, enqueued_at, state, attempts, visible_at, lease, lease_expires_at, last_error, dead_reason, dead_at FROM queue_messages ORDER BY queue_id, id";
            using var reader = command.ExecuteReader();
            while (reader.Read())
            {
                if (!byId.TryGetValue(reader.GetInt64(0), out var book))
                {
                    continue;
                }
                book.Load(new QueueEntry
                {
                    Id = reader.GetInt64(1),
                    EnqueuedAt = new DateTimeOffset(reader.GetInt64(2), TimeSpan.Zero),
                    State = (QueueMessageState)reader.GetInt32(3),
                    Attempts = reader.GetInt32(4),
                    VisibleAt = new DateTimeOffset(reader.GetInt64(5), TimeSpan.Zero),
                    Lease = reader.IsDBNull(6) ? null : reader.GetString(6),
                    LeaseExpiresAt = reader.IsDBNull(7) ? null : new DateTimeOffset(reader.GetInt64(7), TimeSpan.Zero),
                    LastError = reader.IsDBNull(8) ? null : reader.GetString(8),
                    DeadReason = reader.IsDBNull(9) ? null : reader.GetString(9),
                    DeadAt = reader.IsDBNull(10) ? null : new DateTimeOffset(reader.GetInt64(10), TimeSpan.Zero),
                });
            }
        }
        using (var command = _connection.CreateCommand())
        {
            command.CommandText = "SELECT queue_id, key, fingerprint, first_id, count, expires_at FROM queue_keys";
            using var reader = command.ExecuteReader();
            while (reader.Read())
            {
                if (byId.TryGetValue(reader.GetInt64(0), out var book))
                {
                    book.Keys[reader.GetString(1)] = (reader.GetString(2), reader.GetInt64(3), reader.GetInt32(4), new DateTimeOffset(reader.GetInt64(5), TimeSpan.Zero));
                }
            }
        }
        using (var command = _connection.CreateCommand())
        {
            command.CommandText = "SELECT pattern, queue FROM bindings";
            using var reader = command.ExecuteReader();
            while (reader.Read())
            {
                _bindings.Add(new QueueBinding(reader.GetString(0), reader.GetString(1)));
            }
        }
    }
}
