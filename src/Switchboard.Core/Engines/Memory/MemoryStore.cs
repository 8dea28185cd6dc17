using System.Collections.Concurrent;

namespace Switchboard.Core.Engines.Memory;

/// <summary>
/// The in-memory engine: everything is lost when the process ends. For tests and <c>serve --memory</c>.
/// A lock per topic orders appends and their commit notifications.
/// </summary>
public sealed class MemoryStore : IStore
{
    private readonly ConcurrentDictionary<string, MemoryTopic> _topics = new(StringComparer.Ordinal);
    private readonly TimeProvider _time;
    private readonly MemoryQueues _queues;
    private readonly long? _maxTopics;
    private long _clientTopics; // topics that count against the limit (TopicLimit.Counts), reserved before they are added
    private IStoreListener? _listener;

    /// <summary>Creates an empty store.</summary>
    /// <param name="time">The clock.</param>
    /// <param name="maxTopics">The most topics it creates (<see cref="TopicLimit"/>); null: no limit.</param>
    /// <param name="maxQueues">The most queues it creates (<see cref="QueueEngine.LimitReached"/>); null: no limit.</param>
    /// <param name="queueLimits">The queues' default limits (<see cref="QueueLimits.Default"/> when null).</param>
    public MemoryStore(TimeProvider? time = null, long? maxTopics = null, long? maxQueues = null, QueueLimits? queueLimits = null)
    {
        _time = time ?? TimeProvider.System;
        _maxTopics = maxTopics;
        _queues = new MemoryQueues(() => _listener, maxQueues, queueLimits);
    }

    /// <inheritdoc />
    public IQueueStore Queues => _queues;

    /// <inheritdoc />
    public void SetListener(IStoreListener listener) => _listener = listener;

    /// <inheritdoc />
    public Task OpenAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <inheritdoc />
    public Task<AppendResult> AppendAsync(AppendRequest request, CancellationToken cancellationToken)
    {
        while (true)
        {
            var created = false;
            if (!_topics.TryGetValue(request.Topic, out var topic))
            {
                if (request.CreateTopic is not { } config)
                {
                    throw new TopicNotFoundException(request.Topic);
                }
                _queues.BeginAppend(request.Topic, request.Messages.Count).Dispose(); // a publish a full bound queue refuses does not create its topic
                var candidate = new MemoryTopic(request.Topic, Epoch.New(), config, _time.GetUtcNow());
                Reserve(request.Topic);
                topic = _topics.GetOrAdd(request.Topic, candidate);
                created = ReferenceEquals(topic, candidate);
                if (!created)
                {
                    Unreserve(request.Topic); // another append created it first
                }
            }

            lock (topic)
            {
                if (topic.Deleted)
                {
                    continue; // deleted under us: look it up (or create it) again
                }
                if (request.Idempotency is { } token && topic.Keys.TryGetValue(token.StoredKey, out var seen) && seen.ExpiresAt > request.Timestamp)
                {
                    return Task.FromResult(IdempotencyReplay.Resolve(topic.Name, topic.Epoch, token, seen.Fingerprint, seen.FirstOffset, seen.Count, seen.Timestamp));
                }

                // Bound queues: checked for room before anything is added (a publish a full queue refuses adds nothing).
                MemoryQueues.FanIn fanIn;
                try
                {
                    fanIn = _queues.BeginAppend(topic.Name, request.Messages.Count);
                }
                catch (SwitchboardException) when (created)
                {
                    // A send filled the bound queue since the check before the topic was made: the topic this refused
                    // publish made goes too (nothing was announced of it), as if the first check had refused it.
                    topic.Deleted = true;
                    _topics.TryRemove(new KeyValuePair<string, MemoryTopic>(topic.Name, topic));
                    Unreserve(topic.Name);
                    throw;
                }
                using var fanInScope = fanIn;
                var messages = new Message[request.Messages.Count];
                for (var i = 0; i < messages.Length; i++)
                {
                    var draft = request.Messages[i];
                    messages[i] = new Message
                    {
                        Topic = topic.Name,
                        Epoch = topic.Epoch,
                        Offset = topic.LastOffset + 1,
                        Timestamp = request.Timestamp,
                        Headers = draft.Headers,
                        Key = draft.Key,
                        Payload = draft.Payload.ToArray(), // own the bytes: the caller's buffer may be pooled
                        ContentType = draft.ContentType,
                    };
                    topic.Add(messages[i]);
                }
                topic.Enforce(topic.Config.Retention, now: null);
                if (request.Idempotency is { } newToken)
                {
                    topic.Keys[newToken.StoredKey] = new IdempotencyRecord(newToken.Fingerprint, messages[0].Offset, messages.Length, request.Timestamp, newToken.ExpiresAt);
                }
                var result = new AppendResult
                {
                    Topic = topic.Name,
                    Epoch = topic.Epoch,
                    FirstOffset = messages[0].Offset,
                    Count = messages.Length,
                    Timestamp = request.Timestamp,
                    CreatedTopic = created,
                    Messages = messages,
                };
                fanIn.Enqueue(result); // bindings: enqueued with the append, under the same lock
                fanIn.Dispose(); // the queues' gate let go, their receives woken, before the subscribers hear of it (disposing again does nothing)
                _listener?.OnAppended(result);
                topic.ForgetOldEncodings(); // after the fan-out above, which encoded the batch once per format
                return Task.FromResult(result);
            }
        }
    }

    /// <summary>Counts a topic about to be created, or throws <see cref="TopicLimit.Reached"/> when there is no room for it.</summary>
    private void Reserve(string topic)
    {
        if (!TopicLimit.Counts(topic))
        {
            return;
        }
        if (Interlocked.Increment(ref _clientTopics) > _maxTopics && _maxTopics is { } max)
        {
            Interlocked.Decrement(ref _clientTopics);
            throw TopicLimit.Reached(topic, max);
        }
    }

    private void Unreserve(string topic)
    {
        if (TopicLimit.Counts(topic))
        {
            Interlocked.Decrement(ref _clientTopics);
        }
    }

    /// <inheritdoc />
    public Task<TopicInfo?> GetTopicAsync(string topic, CancellationToken cancellationToken)
    {
        if (!_topics.TryGetValue(topic, out var t))
        {
            return Task.FromResult<TopicInfo?>(null);
        }
        lock (t)
        {
            return Task.FromResult(t.Deleted ? null : t.Snapshot());
        }
    }

    /// <inheritdoc />
    public Task<TopicPage> ListTopicsAsync(string? prefix, string? afterName, int limit, CancellationToken cancellationToken)
    {
        var names = _topics.Keys
            .Where(n => (prefix is null || n.StartsWith(prefix, StringComparison.Ordinal)) && (afterName is null || string.CompareOrdinal(n, afterName) > 0))
            .Order(StringComparer.Ordinal)
            .Take(limit + 1)
            .ToList();
        var page = new List<TopicInfo>(Math.Min(limit, names.Count));
        foreach (var name in names.Take(limit))
        {
            if (_topics.TryGetValue(name, out var t))
            {
                lock (t)
                {
                    if (!t.Deleted)
                    {
                        page.Add(t.Snapshot());
                    }
                }
            }
        }
        return Task.FromResult(new TopicPage(page, names.Count > limit && page.Count > 0 ? page[^1].Name : null));
    }

    /// <inheritdoc />
    public Task<PutTopicResult> PutTopicAsync(string topic, TopicConfig config, long? expectedConfigVersion, CancellationToken cancellationToken)
    {
        while (true)
        {
            if (!_topics.TryGetValue(topic, out var t))
            {
                if (expectedConfigVersion is { } expectedNew && expectedNew != 0)
                {
                    throw PreconditionFailed(topic, expectedNew, 0);
                }
                var candidate = new MemoryTopic(topic, Epoch.New(), config, _time.GetUtcNow());
                Reserve(topic);
                if (_topics.TryAdd(topic, candidate))
                {
                    lock (candidate)
                    {
                        return Task.FromResult(new PutTopicResult(candidate.Snapshot(), Created: true));
                    }
                }
                Unreserve(topic);
                continue;
            }
            lock (t)
            {
                if (t.Deleted)
                {
                    continue;
                }
                if (expectedConfigVersion is { } expected && expected != t.ConfigVersion)
                {
                    throw PreconditionFailed(topic, expected, t.ConfigVersion);
                }
                t.Config = config;
                t.ConfigVersion++;
                t.Enforce(config.Retention, _time.GetUtcNow());
                return Task.FromResult(new PutTopicResult(t.Snapshot(), Created: false));
            }
        }
    }

    /// <inheritdoc />
    public Task<TopicInfo?> DeleteTopicAsync(string topic, long? expectedConfigVersion, CancellationToken cancellationToken)
    {
        if (!_topics.TryGetValue(topic, out var t))
        {
            return Task.FromResult<TopicInfo?>(null);
        }
        lock (t)
        {
            if (t.Deleted)
            {
                return Task.FromResult<TopicInfo?>(null);
            }
            if (expectedConfigVersion is { } expected && expected != t.ConfigVersion)
            {
                throw PreconditionFailed(topic, expected, t.ConfigVersion);
            }
            t.Deleted = true;
            _topics.TryRemove(new KeyValuePair<string, MemoryTopic>(topic, t));
            Unreserve(topic);
            _listener?.OnTopicDeleted(t.Name, t.Epoch);
            return Task.FromResult<TopicInfo?>(t.Snapshot());
        }
    }

    /// <inheritdoc />
    public Task<ReadResult> ReadAsync(string topic, long afterOffset, int limit, CancellationToken cancellationToken)
    {
        if (!_topics.TryGetValue(topic, out var t))
        {
            return Task.FromResult(new ReadResult(null, []));
        }
        lock (t)
        {
            return Task.FromResult(t.Deleted ? new ReadResult(null, []) : new ReadResult(t.Snapshot(), t.Read(afterOffset, limit)));
        }
    }

    /// <inheritdoc />
    public Task<long> SweepAsync(DateTimeOffset now, CancellationToken cancellationToken)
    {
        long dropped = 0;
        foreach (var t in _topics.Values)
        {
            lock (t)
            {
                var before = t.Count;
                t.Enforce(t.Config.Retention, now);
                dropped += before - t.Count;
                foreach (var (key, record) in t.Keys.Where(k => k.Value.ExpiresAt <= now).ToList())
                {
                    t.Keys.Remove(key);
                }
            }
        }
        _queues.Sweep(now);
        return Task.FromResult(dropped);
    }

    /// <inheritdoc />
    public ValueTask DisposeAsync() => ValueTask.CompletedTask;

    internal static SwitchboardException PreconditionFailed(string topic, long expected, long current) => new(ErrorCode.PreconditionFailed,
        expected == 0
            ? $"Topic '{topic}' already exists; it was expected not to."
            : $"Topic '{topic}' changed while you were editing it (configuration version {current}, expected {expected}). Read it again and retry.");
}
