using Switchboard.Core;
using Switchboard.Core.Engines;

namespace Switchboard.Redis;

/// <summary>
/// The wire form of backplane events between nodes: a version byte, the sending node's id (so a node skips its own
/// events, which it delivered locally already), a kind byte, then the event. Binary, so payloads travel as they are.
/// </summary>
internal static class BackplaneCodec
{
    private const byte Version = 1;
    private static readonly IReadOnlyDictionary<string, string> NoHeaders = new Dictionary<string, string>(0);
    private const byte Appended = 1, Deleted = 2, QueueReadyKind = 3, ReplyPostedKind = 4;

    public static byte[] Encode(Guid origin, BackplaneEvent backplaneEvent)
    {
        using var stream = new MemoryStream(EstimateSize(backplaneEvent));
        using (var writer = new BinaryWriter(stream, System.Text.Encoding.UTF8, leaveOpen: true))
        {
            writer.Write(Version);
            writer.Write(origin.ToByteArray());
            switch (backplaneEvent)
            {
                case MessagesAppended appended:
                    writer.Write(Appended);
                    writer.Write(appended.Topic);
                    writer.Write(appended.Epoch);
                    writer.Write7BitEncodedInt(appended.Messages.Count);
                    foreach (var message in appended.Messages)
                    {
                        WriteMessage(writer, message);
                    }
                    break;
                case TopicDeleted deleted:
                    writer.Write(Deleted);
                    writer.Write(deleted.Topic);
                    writer.Write(deleted.Epoch);
                    break;
                case QueueReady ready:
                    writer.Write(QueueReadyKind);
                    writer.Write(ready.Queue);
                    break;
                case ReplyPosted replied:
                    writer.Write(ReplyPostedKind);
                    writer.Write(replied.ReplyId);
                    break;
                default:
                    throw new ArgumentException($"The backplane cannot carry a {backplaneEvent.GetType().Name}.", nameof(backplaneEvent));
            }
        }
        return stream.ToArray();
    }

    /// <summary>Decodes an event; false when it came from <paramref name="self"/>.</summary>
    /// <exception cref="InvalidDataException">The bytes are not an event of this version.</exception>
    public static bool TryDecode(ReadOnlyMemory<byte> bytes, Guid self, out BackplaneEvent? backplaneEvent)
    {
        backplaneEvent = null;
        var span = bytes.Span;
        if (span.Length < 18 || span[0] != Version)
        {
            throw new InvalidDataException($"not a version-{Version} backplane event ({span.Length} bytes)");
        }
        if (new Guid(span.Slice(1, 16)) == self)
        {
            return false;
        }
        using var stream = new MemoryStream(bytes.ToArray(), 18, bytes.Length - 18, writable: false);
        using var reader = new BinaryReader(stream, System.Text.Encoding.UTF8);
        try
        {
            backplaneEvent = span[17] switch
            {
                Appended => ReadAppended(reader),
                Deleted => new TopicDeleted(reader.ReadString(), reader.ReadString()),
                QueueReadyKind => new QueueReady(reader.ReadString()),
                ReplyPostedKind => new ReplyPosted(reader.ReadString()),
                var kind => throw new InvalidDataException($"unknown backplane event kind {kind}"),
            };
        }
        catch (EndOfStreamException ex)
        {
            throw new InvalidDataException("a truncated backplane event", ex);
        }
        return true;
    }

    private static MessagesAppended ReadAppended(BinaryReader reader)
    {
        var topic = reader.ReadString();
        var epoch = reader.ReadString();
        var count = reader.Read7BitEncodedInt();
        if (count <= 0)
        {
            throw new InvalidDataException($"an append event with {count} messages");
        }
        var messages = new Message[count];
        for (var i = 0; i < count; i++)
        {
            messages[i] = ReadMessage(reader, topic, epoch);
        }
        return new MessagesAppended(topic, epoch, messages);
    }

    private static void WriteMessage(BinaryWriter writer, Message message)
    {
        writer.Write7BitEncodedInt64(message.Offset);
        writer.Write(message.Timestamp.UtcTicks);
        writer.Write(message.ContentType);
        writer.Write(message.Key is not null);
        if (message.Key is not null)
        {
            writer.Write(message.Key);
        }
        writer.Write7BitEncodedInt(message.Headers.Count);
        foreach (var (name, value) in message.Headers)
        {
            writer.Write(name);
            writer.Write(value);
        }
        writer.Write7BitEncodedInt(message.Payload.Length);
        writer.Write(message.Payload.Span);
    }

    private static Message ReadMessage(BinaryReader reader, string topic, string epoch)
    {
        var offset = reader.Read7BitEncodedInt64();
        var timestamp = new DateTimeOffset(reader.ReadInt64(), TimeSpan.Zero);
        var contentType = reader.ReadString();
        var key = reader.ReadBoolean() ? reader.ReadString() : null;
        var headerCount = reader.Read7BitEncodedInt();
        IReadOnlyDictionary<string, string> headers = NoHeaders;
        if (headerCount > 0)
        {
            var map = new Dictionary<string, string>(headerCount, StringComparer.Ordinal);
            for (var i = 0; i < headerCount; i++)
            {
                map[reader.ReadString()] = reader.ReadString();
            }
            headers = map;
        }
        var length = reader.Read7BitEncodedInt();
        var payload = reader.ReadBytes(length);
        if (payload.Length != length)
        {
            throw new EndOfStreamException();
        }
        return new Message
        {
            Topic = topic,
            Epoch = epoch,
            Offset = offset,
            Timestamp = timestamp,
            ContentType = contentType,
            Key = key,
            Headers = headers,
            Payload = payload,
        };
    }

    private static int EstimateSize(BackplaneEvent backplaneEvent) => backplaneEvent is MessagesAppended appended
        ? 64 + appended.Messages.Sum(m => (int)Math.Min(m.Size + 48, int.MaxValue / 1024))
        : 64;
}
