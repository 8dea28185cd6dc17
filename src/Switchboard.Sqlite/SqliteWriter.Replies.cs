using Microsoft.Data.Sqlite;
using Switchboard.Core;
using Switchboard.Core.Engines;

namespace Switchboard.Sqlite;

/// <summary>The reply slots of request/reply: read on any connection, answered on the writer.</summary>
internal sealed partial class SqliteWriter
{
    private const string SelectReply = "SELECT queue, expires_at, replied_at, key, content_type, headers, payload, message_id, requester FROM replies WHERE id = $id";
    private SqliteCommand _selectReply = null!; // prepared with the queue statements

    /// <summary>A reply slot as committed, read on any connection (the store reads them on a reader, not here).</summary>
    public static ReplyRecord? ReadReply(SqliteConnection connection, string id)
    {
        using var command = connection.CreateCommand();
        command.CommandText = SelectReply;
        command.Parameters.AddWithValue("$id", id);
        return ReadReply(command, id);
    }

    private static ReplyRecord? ReadReply(SqliteCommand command, string id)
    {
        using var reader = command.ExecuteReader();
        if (!reader.Read())
        {
            return null;
        }
        MessageDraft? reply = null;
        if (!reader.IsDBNull(2))
        {
            reply = new MessageDraft
            {
                Key = reader.IsDBNull(3) ? null : reader.GetString(3),
                ContentType = reader.GetString(4),
                Headers = reader.IsDBNull(5) ? new Dictionary<string, string>() : HeadersCodec.Decode((byte[])reader.GetValue(5), m => new InvalidOperationException(m)),
                Payload = (byte[])reader.GetValue(6),
            };
        }
        return new ReplyRecord
        {
            Id = id,
            Queue = reader.GetString(0),
            MessageId = reader.IsDBNull(7) ? null : reader.GetInt64(7),
            Requester = reader.IsDBNull(8) ? null : reader.GetString(8),
            ExpiresAt = new DateTimeOffset(reader.GetInt64(1), TimeSpan.Zero),
            RepliedAt = reader.IsDBNull(2) ? null : new DateTimeOffset(reader.GetInt64(2), TimeSpan.Zero),
            Reply = reply,
        };
    }

    public ReplyRecord PostReply(string id, MessageDraft reply, byte[] payload, string? lease, DateTimeOffset now)
    {
        Bind(_selectReply, [("$id", id)]);
        var slot = QueueEngine.CheckReply(ReadReply(_selectReply, id), id, now);
        if (lease is not null)
        {
            Ack(slot.Queue, QueueEngine.RequestMessageId(slot), lease, now); // refused before anything is written
        }
        Run("UPDATE replies SET replied_at = $at, key = $key, content_type = $type, headers = $headers, payload = $payload WHERE id = $id",
            ("$at", now.UtcTicks), ("$key", reply.Key), ("$type", reply.ContentType), ("$headers", HeadersCodec.Encode(reply.Headers)), ("$payload", payload), ("$id", id));
        // As a read of the row will find it.
        _replied.Add(new ReplyRecord
        {
            Id = slot.Id,
            Queue = slot.Queue,
            MessageId = slot.MessageId,
            Requester = slot.Requester,
            ExpiresAt = slot.ExpiresAt,
            RepliedAt = new DateTimeOffset(now.UtcTicks, TimeSpan.Zero),
            Reply = new MessageDraft { Key = reply.Key, ContentType = reply.ContentType, Headers = new Dictionary<string, string>(reply.Headers), Payload = payload },
        });
        return slot;
    }
}
