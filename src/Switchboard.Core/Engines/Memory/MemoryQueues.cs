namespace Switchboard.Core.Engines.Memory;

/// <summary>The memory engine's queues: <see cref="QueueBook"/>s under one lock, bodies kept on the entries.</summary>
internal sealed partial class MemoryQueues(Func<IStoreListener?> listener, long? maxQueues = null, QueueLimits? limits = null) : IQueueStore
{
    private readonly QueueLimits _limits = limits ?? QueueLimits.Default;
    private readonly Lock _gate = new();
    private readonly SortedDictionary<string, QueueBook> _queues = new(StringComparer.Ordinal);
    private readonly BindingIndex _bindings = new();
    private readonly Dictionary<string, ReplyRecord> _replies = new(StringComparer.Ordinal);
    private readonly ParkedLeases _parked = new();

    /// <summary>Throws <see cref="QueueEngine.LimitReached"/> when <paramref name="queue"/> would be one queue too many (under the gate).</summary>
    private void EnsureRoom(string queue)
    {
        if (_queues.Count >= maxQueues && maxQueues is { } max)
        {
            throw QueueEngine.LimitReached(queue, max);
        }
    }

    public ParkedLease? Park(string queue, int max, TimeSpan? lease) => _parked.Park(queue, max, lease);

    public Task<PutQueueResult> PutQueueAsync(string queue, QueueConfig config, long? expectedConfigVersion, DateTimeOffset now, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            if (!_queues.TryGetValue(queue, out var book))
            {
                if (expectedConfigVersion is { } expectedNew && expectedNew != 0)
                {
                    throw QueueEngine.PreconditionFailed(queue, expectedNew, 0);
                }
                EnsureRoom(queue);
                book = _queues[queue] = NewBook(queue, config, now);
                return Task.FromResult(new PutQueueResult(Info(book, now), true));
            }
            if (expectedConfigVersion is { } expected && expected != book.ConfigVersion)
            {
                throw QueueEngine.PreconditionFailed(queue, expected, book.ConfigVersion);
            }
            book.Config = config;
            book.ConfigVersion++;
            return Task.FromResult(new PutQueueResult(Info(book, now), false));
        }
    }

    public Task<QueueInfo?> GetQueueAsync(string queue, DateTimeOffset now, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            return Task.FromResult(_queues.TryGetValue(queue, out var book) ? Info(book, now) : null);
        }
    }

    public Task<QueuePage> ListQueuesAsync(string? prefix, string? afterName, int limit, DateTimeOffset now, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            var names = _queues.Keys
                .Where(n => (prefix is null || n.StartsWith(prefix, StringComparison.Ordinal)) && (afterName is null || string.CompareOrdinal(n, afterName) > 0))
                .Take(limit + 1)
                .ToList();
            var page = names.Take(limit).Select(n => Info(_queues[n], now)).ToList();
            return Task.FromResult(new QueuePage(page, names.Count > limit ? page[^1].Name : null));
        }
    }

    public Task<QueueInfo?> DeleteQueueAsync(string queue, long? expectedConfigVersion, DateTimeOffset now, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            if (!_queues.TryGetValue(queue, out var book))
            {
                return Task.FromResult<QueueInfo?>(null);
            }
            if (expectedConfigVersion is { } expected && expected != book.ConfigVersion)
            {
                throw QueueEngine.PreconditionFailed(queue, expected, book.ConfigVersion);
            }
            _queues.Remove(queue);
            _bindings.RemoveAll(b => b.Queue == queue);
            BindingsChanged();
            return Task.FromResult<QueueInfo?>(Info(book, now));
        }
    }

    public Task<EnqueueResult> EnqueueAsync(EnqueueRequest request, CancellationToken cancellationToken)
    {
        EnqueueResult result;
        List<Handoff> handoffs = [];
        lock (_gate)
        {
            var created = false;
            if (!_queues.TryGetValue(request.Queue, out var book))
            {
                if (request.CreateQueue is not { } config)
                {
                    throw QueueEngine.NotFound(request.Queue);
                }
                EnsureRoom(request.Queue);
                QueueEngine.EnsureLength(request.Queue, 0, _limits.For(config).MaxLength, request.Messages.Count); // before the queue is made
                book = _queues[request.Queue] = NewBook(request.Queue, config, request.Timestamp);
                created = true;
            }
            if (QueueEngine.Replay(book, request) is { } replayed)
            {
                return Task.FromResult(replayed);
            }
            var entries = book.Enqueue(request.Messages.Count, request.Timestamp, request.Delay);
            for (var i = 0; i < entries.Count; i++)
            {
                entries[i].Body = Own(request.Messages[i]);
            }
            QueueEngine.Remember(book, request, entries[0].Id);
            if (request.Reply is var (id, expiresAt))
            {
                _replies[id] = new ReplyRecord { Id = id, Queue = request.Queue, MessageId = entries[0].Id, Requester = request.Requester, ExpiresAt = expiresAt };
            }
            result = new EnqueueResult(request.Queue, entries[0].Id, entries.Count, false, created);
            if (request.Delay <= TimeSpan.Zero)
            {
                handoffs = HandOff(book, entries.Count, request.Timestamp);
            }
        }
        handoffs.ForEach(h => h.Complete());
        listener()?.OnEnqueued(request.Queue);
        return Task.FromResult(result);
    }

    // Under _gate: lease what a send made visible to the receives parked on its queue (completed after the lock).
    private List<Handoff> HandOff(QueueBook book, int available, DateTimeOffset now)
        => _parked.HandOff(book, available, now, [], e => QueueMessages.From(book.Name, e, (QueueDraft)e.Body!));

    public Task<LeaseResult> LeaseAsync(string queue, int max, TimeSpan? lease, DateTimeOffset now, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            var book = Book(queue);
            var leased = book.Lease(max, lease ?? book.Config.Lease, now, []);
            ReportDropped(book);
            return Task.FromResult(new LeaseResult(
                [.. leased.Select(e => QueueMessages.From(queue, e, (QueueDraft)e.Body!))],
                book.NextVisibleAt(now)));
        }
    }

    public Task AckAsync(string queue, long id, string lease, DateTimeOffset now, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            Book(queue).Ack(id, lease, now);
        }
        return Task.CompletedTask;
    }

    public Task<NackResult> NackAsync(string queue, long id, string lease, TimeSpan? delay, string? error, DateTimeOffset now, CancellationToken cancellationToken)
    {
        NackResult result;
        lock (_gate)
        {
            var book = Book(queue);
            result = book.Nack(id, lease, delay, error, now, []);
            ReportDropped(book);
        }
        listener()?.OnEnqueued(queue);
        return Task.FromResult(result);
    }

    public Task<int> ReleaseAsync(string queue, IReadOnlyList<(long Id, string Lease)> leases, DateTimeOffset now, CancellationToken cancellationToken)
    {
        int released;
        lock (_gate)
        {
            released = _queues.TryGetValue(queue, out var book) ? book.Release(leases, now, []).Count : 0;
        }
        if (released > 0)
        {
            listener()?.OnEnqueued(queue);
        }
        return Task.FromResult(released);
    }

    public Task<DateTimeOffset> ExtendAsync(string queue, long id, string lease, TimeSpan by, DateTimeOffset now, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            return Task.FromResult(Book(queue).Extend(id, lease, by, now).LeaseExpiresAt!.Value);
        }
    }

    public Task<QueuePeekPage> PeekAsync(string queue, QueuePeekStates states, long afterId, int limit, DateTimeOffset now, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            var found = Book(queue).Peek(states, afterId, limit + 1, now);
            var page = found.Take(limit).Select(f => QueueMessages.Peeked(queue, f.Entry, (QueueDraft)f.Entry.Body!, f.State)).ToList();
            return Task.FromResult(new QueuePeekPage(page, found.Count > limit ? page[^1].Id : null));
        }
    }

    public Task<DeadLetterPage> ListDeadLettersAsync(string queue, long afterId, int limit, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            var book = Book(queue);
            var entries = book.DeadLetters(afterId, limit + 1);
            var page = entries.Take(limit).Select(e => QueueMessages.From(queue, e, (QueueDraft)e.Body!)).ToList();
            return Task.FromResult(new DeadLetterPage(page, entries.Count > limit ? page[^1].Id : null));
        }
    }

    public Task<long> RedriveAsync(string queue, long? id, DateTimeOffset now, CancellationToken cancellationToken)
    {
        long count;
        lock (_gate)
        {
            count = Book(queue).Redrive(id, now).Count;
        }
        listener()?.OnEnqueued(queue);
        return Task.FromResult(count);
    }

    public Task<long> PurgeDeadLettersAsync(string queue, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            return Task.FromResult((long)Book(queue).PurgeDead().Count);
        }
    }

    public Task<IReadOnlyList<QueueBinding>> ListBindingsAsync(CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            return Task.FromResult<IReadOnlyList<QueueBinding>>([.. _bindings]);
        }
    }

    public Task<bool> PutBindingAsync(QueueBinding binding, DateTimeOffset now, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            if (!_queues.ContainsKey(binding.Queue))
            {
                EnsureRoom(binding.Queue);
                _queues[binding.Queue] = NewBook(binding.Queue, QueueConfig.Default, now);
            }
            if (_bindings.Contains(binding))
            {
                return Task.FromResult(false);
            }
            _bindings.Add(binding);
            BindingsChanged();
            return Task.FromResult(true);
        }
    }

    public Task<bool> DeleteBindingAsync(QueueBinding binding, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            var removed = _bindings.Remove(binding);
            BindingsChanged();
            return Task.FromResult(removed);
        }
    }

    public Task<ReplyRecord?> GetReplyAsync(string id, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            return Task.FromResult(_replies.GetValueOrDefault(id));
        }
    }

    public Task<ReplyRecord> PostReplyAsync(string id, MessageDraft reply, string? lease, DateTimeOffset now, CancellationToken cancellationToken)
    {
        ReplyRecord slot;
        lock (_gate)
        {
            slot = QueueEngine.CheckReply(_replies.GetValueOrDefault(id), id, now);
            if (lease is not null)
            {
                Book(slot.Queue).Ack(QueueEngine.RequestMessageId(slot), lease, now); // throws before anything changed
            }
            _replies[id] = new ReplyRecord
            {
                Id = id, Queue = slot.Queue, MessageId = slot.MessageId, Requester = slot.Requester, ExpiresAt = slot.ExpiresAt, RepliedAt = now,
                Reply = new MessageDraft { Payload = reply.Payload.ToArray(), Headers = reply.Headers, ContentType = reply.ContentType, Key = reply.Key },
            };
        }
        listener()?.OnReplied(id);
        return Task.FromResult(slot);
    }

    /// <summary>Forgets expired send keys and replies long past their wait.</summary>
    public void Sweep(DateTimeOffset now)
    {
        lock (_gate)
        {
            foreach (var book in _queues.Values)
            {
                foreach (var key in book.Keys.Where(k => k.Value.ExpiresAt <= now).Select(k => k.Key).ToList())
                {
                    book.Keys.Remove(key);
                }
            }
            foreach (var id in _replies.Values.Where(r => r.ExpiresAt + QueueEngine.ReplyKeptFor <= now).Select(r => r.Id).ToList())
            {
                _replies.Remove(id);
            }
        }
    }

    private QueueBook Book(string queue) => _queues.TryGetValue(queue, out var book) ? book : throw QueueEngine.NotFound(queue);

    private QueueInfo Info(QueueBook book, DateTimeOffset now)
    {
        var stats = book.Stats(now, []);
        ReportDropped(book);
        return new(book.Name, book.Config, book.ConfigVersion, book.CreatedAt, stats) { Limits = book.Limits };
    }

    private static QueueDraft Own(QueueDraft draft) => new()
    {
        Message = new MessageDraft { Payload = draft.Message.Payload.ToArray(), Headers = draft.Message.Headers, ContentType = draft.Message.ContentType, Key = draft.Message.Key },
        ReplyTo = draft.ReplyTo,
        CorrelationId = draft.CorrelationId,
    };
}
