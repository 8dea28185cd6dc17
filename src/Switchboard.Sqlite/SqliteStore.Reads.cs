using Microsoft.Data.Sqlite;
using Switchboard.Core;
using Switchboard.Core.Engines;

namespace Switchboard.Sqlite;

public sealed partial class SqliteStore
{
    internal const string TopicColumns = "id, name, epoch, config, config_version, created_at, first_offset, last_offset, message_count, bytes, last_published_at";

    /// <inheritdoc />
    public Task<TopicInfo?> GetTopicAsync(string topic, CancellationToken cancellationToken)
    {
        if (_tails.TryGet(topic, out var tail))
        {
            return Task.FromResult<TopicInfo?>(tail.Info);
        }
        return OnReaderAsync((Store: this, Topic: topic),
            static (connection, s) => ReadTopic(connection, null, s.Topic) is { } found ? s.Store._tails.Durable(found.Info) : null,
            cancellationToken);
    }

    /// <inheritdoc />
    public Task<TopicPage> ListTopicsAsync(string? prefix, string? afterName, int limit, CancellationToken cancellationToken)
        => OnReaderAsync((Prefix: prefix, After: afterName, Limit: limit), static (connection, s) => ListTopics(connection, s.Prefix, s.After, s.Limit), cancellationToken);

    /// <inheritdoc />
    public Task<ReadResult> ReadAsync(string topic, long afterOffset, int limit, CancellationToken cancellationToken)
    {
        if (_tails.TryGet(topic, out var tail) && tail.After(afterOffset, limit) is { } cached)
        {
            return Task.FromResult(new ReadResult(tail.Info, cached));
        }
        return OnReaderAsync((Store: this, Topic: topic, After: afterOffset, Limit: limit),
            static (connection, s) => s.Store.ReadMessages(connection, s.Topic, s.After, s.Limit),
            cancellationToken);
    }

    private static TopicPage ListTopics(SqliteConnection connection, string? prefix, string? afterName, int limit)
    {
        using var command = connection.CreateCommand();
        // A range scan on the name index: prefix <= name < prefix + U+FFFF (names are ASCII, so that bounds every match).
        command.CommandText = $"""
            SELECT {TopicColumns} FROM topics
            WHERE name > $after AND name >= $prefix AND name < $end
            ORDER BY name LIMIT $limit
            """;
        command.Parameters.AddWithValue("$after", afterName ?? "");
        command.Parameters.AddWithValue("$prefix", prefix ?? "");
        command.Parameters.AddWithValue("$end", (prefix ?? "") + '\uffff');
        command.Parameters.AddWithValue("$limit", limit + 1);
        var topics = new List<TopicInfo>();
        using (var reader = command.ExecuteReader())
        {
            while (reader.Read())
            {
                topics.Add(ToTopic(reader).Info);
            }
        }
        var more = topics.Count > limit;
        if (more)
        {
            topics.RemoveAt(topics.Count - 1);
        }
        return new TopicPage(topics, more ? topics[^1].Name : null);
    }

    private ReadResult ReadMessages(SqliteConnection connection, string topic, long afterOffset, int limit)
    {
        // One read transaction: the topic row and its messages come from the same snapshot.
        using var transaction = connection.BeginTransaction(deferred: true);
        if (ReadTopic(connection, transaction, topic) is not var (id, written))
        {
            return new ReadResult(null, []);
        }
        var info = _tails.Durable(written); // not past what a flush covers, though SQLite shows a commit before its flush
        using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = "SELECT offset, ts, key, content_type, headers, payload FROM messages WHERE topic_id = $id AND offset > $after AND offset <= $last ORDER BY offset LIMIT $limit";
        command.Parameters.AddWithValue("$id", id);
        command.Parameters.AddWithValue("$after", afterOffset);
        command.Parameters.AddWithValue("$last", info.LastOffset);
        command.Parameters.AddWithValue("$limit", limit);
        var messages = new List<Message>(Math.Min(limit, 256));
        using (var reader = command.ExecuteReader())
        {
            while (reader.Read())
            {
                var offset = reader.GetInt64(0);
                messages.Add(new Message
                {
                    Topic = info.Name,
                    Epoch = info.Epoch,
                    Offset = offset,
                    Timestamp = new DateTimeOffset(reader.GetInt64(1), TimeSpan.Zero),
                    Key = reader.IsDBNull(2) ? null : reader.GetString(2),
                    ContentType = reader.GetString(3),
                    Headers = reader.IsDBNull(4)
                        ? new Dictionary<string, string>(0)
                        : HeadersCodec.Decode((byte[])reader.GetValue(4), problem => Corrupt($"message {offset} of topic '{topic}': {problem}")),
                    Payload = (byte[])reader.GetValue(5),
                });
            }
        }
        return new ReadResult(info, messages);
    }

    private static (long Id, TopicInfo Info)? ReadTopic(SqliteConnection connection, SqliteTransaction? transaction, string name)
    {
        using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = $"SELECT {TopicColumns} FROM topics WHERE name = $name";
        command.Parameters.AddWithValue("$name", name);
        using var reader = command.ExecuteReader();
        return reader.Read() ? ToTopic(reader) : null;
    }

    /// <summary>A topics row, read by a SELECT of <see cref="TopicColumns"/>.</summary>
    internal static (long Id, TopicInfo Info) ToTopic(SqliteDataReader reader) => (reader.GetInt64(0), new TopicInfo
    {
        Name = reader.GetString(1),
        Epoch = reader.GetString(2),
        Config = StoredConfigJson.ReadTopic(reader.GetString(3)),
        ConfigVersion = reader.GetInt64(4),
        CreatedAt = new DateTimeOffset(reader.GetInt64(5), TimeSpan.Zero),
        FirstOffset = reader.GetInt64(6),
        LastOffset = reader.GetInt64(7),
        MessageCount = reader.GetInt64(8),
        Bytes = reader.GetInt64(9),
        LastPublishedAt = reader.IsDBNull(10) ? null : new DateTimeOffset(reader.GetInt64(10), TimeSpan.Zero),
    });
}
