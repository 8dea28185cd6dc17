using Microsoft.Data.Sqlite;
using Switchboard.Core;
using Switchboard.Core.Engines;

namespace Switchboard.Sqlite;

internal sealed partial class SqliteWriter
{
    public AppendResult Append(AppendRequest request, byte[][] payloads)
    {
        var created = false;
        if (!_topics.TryGetValue(request.Topic, out var topic))
        {
            if (request.CreateTopic is not { } config)
            {
                throw new TopicNotFoundException(request.Topic);
            }
            EnsureBoundRoom(request.Topic, request.Messages.Count); // a refused publish does not create its topic either
            topic = InsertTopic(request.Topic, config, request.Timestamp);
            created = true;
        }
        if (request.Idempotency is { } token && FindIdempotency(topic.Id, token.StoredKey, request.Timestamp) is { } seen)
        {
            return IdempotencyReplay.Resolve(topic.Name, topic.Epoch, token, seen.Fingerprint, seen.FirstOffset, seen.Count, seen.Timestamp);
        }
        if (!created)
        {
            EnsureBoundRoom(topic.Name, request.Messages.Count); // before anything is written: the publish is refused whole
        }

        var messages = new Message[request.Messages.Count];
        for (var i = 0; i < messages.Length; i++)
        {
            var draft = request.Messages[i];
            var payload = payloads[i];
            var message = new Message
            {
                Topic = topic.Name,
                Epoch = topic.Epoch,
                Offset = topic.LastOffset + 1,
                Timestamp = request.Timestamp,
                Headers = draft.Headers,
                Key = draft.Key,
                Payload = payload,
                ContentType = draft.ContentType,
            };
            InsertMessage(topic.Id, message, payload);
            messages[i] = message;
            topic.LastOffset = message.Offset;
            topic.Count++;
            topic.Bytes += message.Size;
        }
        topic.LastPublishedAt = request.Timestamp;
        topic.Dirty = true;
        _touched.Add(topic);
        Enforce(topic, now: null);
        if (request.Idempotency is { } newToken)
        {
            SaveIdempotency(topic.Id, newToken, messages[0].Offset, messages.Length, request.Timestamp);
        }
        EnqueueBound(topic.Name, messages, payloads, request.Timestamp);
        return new AppendResult
        {
            Topic = topic.Name,
            Epoch = topic.Epoch,
            FirstOffset = messages[0].Offset,
            Count = messages.Length,
            Timestamp = request.Timestamp,
            CreatedTopic = created,
            Messages = messages,
        };
    }

    public PutTopicResult PutTopic(string name, TopicConfig config, long? expectedConfigVersion, DateTimeOffset now)
    {
        if (!_topics.TryGetValue(name, out var topic))
        {
            if (expectedConfigVersion is { } expectedNew && expectedNew != 0)
            {
                throw PreconditionFailed(name, expectedNew, 0);
            }
            return new PutTopicResult(InsertTopic(name, config, now).Snapshot(), Created: true);
        }
        if (expectedConfigVersion is { } expected && expected != topic.ConfigVersion)
        {
            throw PreconditionFailed(name, expected, topic.ConfigVersion);
        }
        topic.Config = config;
        topic.ConfigVersion++;
        Execute(_updateConfig, ("$id", topic.Id), ("$config", StoredConfigJson.Write(config)), ("$version", topic.ConfigVersion));
        topic.Dirty = true;
        _touched.Add(topic);
        Enforce(topic, now);
        return new PutTopicResult(topic.Snapshot(), Created: false);
    }

    public TopicInfo? DeleteTopic(string name, long? expectedConfigVersion)
    {
        if (!_topics.TryGetValue(name, out var topic))
        {
            return null;
        }
        if (expectedConfigVersion is { } expected && expected != topic.ConfigVersion)
        {
            throw PreconditionFailed(name, expected, topic.ConfigVersion);
        }
        Execute(_deleteTopic, ("$id", topic.Id));
        _topics.Remove(name);
        if (TopicLimit.Counts(name))
        {
            _clientTopics--;
        }
        _touched.Remove(topic);
        _deleted.Add(name);
        return topic.Snapshot();
    }

    public long Sweep(DateTimeOffset now)
    {
        long dropped = 0;
        foreach (var topic in _topics.Values)
        {
            if (topic.Config.Retention.MaxAge is not null && topic.Count > 0)
            {
                var before = topic.Count;
                Enforce(topic, now);
                dropped += before - topic.Count;
            }
        }
        Execute(_deleteExpiredKeys, ("$now", now.UtcTicks));
        SweepQueues(now);
        return dropped;
    }

    /// <summary>
    /// Drops the oldest messages while the retention policy is exceeded (age only when <paramref name="now"/> is
    /// given). Scans from the oldest in growing chunks: one message over the limit costs one small read.
    /// </summary>
    private void Enforce(TopicState topic, DateTimeOffset? now)
    {
        var policy = topic.Config.Retention;
        var cutoff = now is { } at && policy.MaxAge is { } age ? (at - age).UtcTicks : (long?)null;
        if (topic.Count == 0
            || ((policy.MaxMessages is not { } maxCount || topic.Count <= maxCount)
                && (policy.MaxBytes is not { } maxBytes || topic.Bytes <= maxBytes)
                && cutoff is null))
        {
            return;
        }

        var cut = topic.FirstOffset - 1;
        long removedCount = 0, removedBytes = 0;
        var chunk = policy.MaxMessages is { } m && topic.Count > m ? (int)Math.Clamp(topic.Count - m, 1, 1024) : 16;
        var done = false;
        while (!done)
        {
            var rows = 0;
            using (var reader = Query(_scanOldest, ("$id", topic.Id), ("$after", cut), ("$limit", chunk)))
            {
                while (reader.Read())
                {
                    rows++;
                    var remainingCount = topic.Count - removedCount;
                    var remainingBytes = topic.Bytes - removedBytes;
                    var over = (policy.MaxMessages is { } max && remainingCount > max)
                        || (policy.MaxBytes is { } maxB && remainingBytes > maxB)
                        || (cutoff is { } c && reader.GetInt64(1) < c);
                    if (!over)
                    {
                        done = true;
                        break;
                    }
                    cut = reader.GetInt64(0);
                    removedCount++;
                    removedBytes += reader.GetInt64(2);
                }
            }
            done |= rows < chunk;
            chunk = Math.Min(chunk * 4, 4096);
        }
        if (removedCount > 0)
        {
            Execute(_deleteUpTo, ("$id", topic.Id), ("$cut", cut));
            topic.Count -= removedCount;
            topic.Bytes -= removedBytes;
            topic.FirstOffset = cut + 1;
            topic.Dirty = true;
            _touched.Add(topic);
        }
    }

    private TopicState InsertTopic(string name, TopicConfig config, DateTimeOffset now)
    {
        var counts = TopicLimit.Counts(name);
        if (counts && _options.MaxTopics is { } max && _clientTopics >= max)
        {
            throw TopicLimit.Reached(name, max);
        }
        var epoch = Core.Epoch.New();
        var id = (long)ExecuteScalar(_insertTopic,
            ("$name", name), ("$epoch", epoch), ("$config", StoredConfigJson.Write(config)), ("$created", now.UtcTicks))!;
        var topic = new TopicState { Id = id, Name = name, Epoch = epoch, Config = config, ConfigVersion = 1, CreatedAt = now };
        _topics[name] = topic;
        _touched.Add(topic);
        if (counts)
        {
            _clientTopics++; // a batch that fails to commit reloads the topics, and this count with them
        }
        return topic;
    }

    private void FlushTopics()
    {
        foreach (var topic in _topics.Values)
        {
            if (!topic.Dirty)
            {
                continue;
            }
            Execute(_updateTopic,
                ("$id", topic.Id),
                ("$first", topic.FirstOffset),
                ("$last", topic.LastOffset),
                ("$count", topic.Count),
                ("$bytes", topic.Bytes),
                ("$published", topic.LastPublishedAt?.UtcTicks));
            topic.Dirty = false;
        }
    }

    private static SwitchboardException PreconditionFailed(string topic, long expected, long current) => new(ErrorCode.PreconditionFailed,
        expected == 0
            ? $"Topic '{topic}' already exists; it was expected not to."
            : $"Topic '{topic}' changed while you were editing it (configuration version {current}, expected {expected}). Read it again and retry.");

    private sealed record SeenKey(string Fingerprint, long FirstOffset, int Count, DateTimeOffset Timestamp);

    private SeenKey? FindIdempotency(long topicId, string key, DateTimeOffset now)
    {
        using var reader = Query(_findKey, ("$id", topicId), ("$key", key), ("$now", now.UtcTicks));
        return reader.Read()
            ? new SeenKey(reader.GetString(0), reader.GetInt64(1), reader.GetInt32(2), new DateTimeOffset(reader.GetInt64(3), TimeSpan.Zero))
            : null;
    }

    private void SaveIdempotency(long topicId, IdempotencyToken token, long firstOffset, int count, DateTimeOffset timestamp)
        => Execute(_saveKey, ("$id", topicId), ("$key", token.StoredKey), ("$fp", token.Fingerprint), ("$first", firstOffset),
            ("$count", count), ("$ts", timestamp.UtcTicks), ("$expires", token.ExpiresAt.UtcTicks));

    private void InsertMessage(long topicId, Message message, byte[] payload)
    {
        var p = _insertMessage.Parameters;
        p[0].Value = topicId;
        p[1].Value = message.Offset;
        p[2].Value = message.Timestamp.UtcTicks;
        p[3].Value = message.Size;
        p[4].Value = (object?)message.Key ?? DBNull.Value;
        p[5].Value = message.ContentType;
        p[6].Value = (object?)HeadersCodec.Encode(message.Headers) ?? DBNull.Value;
        p[7].Value = payload;
        _insertMessage.ExecuteNonQuery();
    }

    private void ReloadTopics()
    {
        try
        {
            LoadTopics();
        }
        catch (SqliteException)
        {
            // the database is unreachable; the next batch fails the same way and retries the reload
            _topics.Clear();
            _clientTopics = 0;
        }
    }

    private void LoadTopics()
    {
        _topics.Clear();
        using var command = _connection.CreateCommand();
        command.CommandText = $"SELECT {SqliteStore.TopicColumns} FROM topics";
        using var reader = command.ExecuteReader();
        while (reader.Read())
        {
            var (id, info) = SqliteStore.ToTopic(reader);
            var topic = TopicState.From(id, info);
            _topics[topic.Name] = topic;
        }
        _clientTopics = _topics.Keys.Count(TopicLimit.Counts);
    }
}
