using System.Buffers.Binary;
using System.Text;
using Switchboard.Core;
using Switchboard.Core.Engines;

namespace Switchboard.Redis;

/// <summary>
/// The binary records the Redis store keeps, encoded and decoded on the nodes (Lua only copies them):
/// a message is <c>[version][ticks: int64 LE][key?][content type][headers][payload: the rest]</c>; strings are a
/// 7-bit varint length and UTF-8 (a nullable one stores length + 1, 0 for null), headers a count and name/value
/// pairs. Payload bytes are stored as they are, so any content type round-trips. Every length is checked on the way
/// back, so a damaged record is reported, never misread.
/// </summary>
internal static class RedisCodec
{
    /// <summary>A topic message, a queue message sent as such, a reply.</summary>
    public const byte Plain = 1;

    /// <summary>A queue message that a binding copied from a topic: <c>[2][offset ASCII]\n[topic]\n[the topic message]</c>, built in Lua.</summary>
    public const byte FromTopic = 2;

    private static readonly UTF8Encoding Strict = new(false, throwOnInvalidBytes: true);

    /// <summary>A message's record; <paramref name="payloadStart"/> is where its payload begins in it.</summary>
    public static byte[] EncodeMessage(DateTimeOffset timestamp, MessageDraft draft, out int payloadStart)
        => Encode(timestamp, draft, replyTo: null, correlationId: null, queue: false, out payloadStart);

    /// <summary>A queue message's record (the message, its reply-to and correlation id, when it was sent).</summary>
    public static byte[] EncodeQueueBody(DateTimeOffset enqueuedAt, QueueDraft draft)
        => Encode(enqueuedAt, draft.Message, draft.ReplyTo, draft.CorrelationId, queue: true, out _);

    /// <summary>Reads a topic message's record.</summary>
    public static Message DecodeMessage(string topic, string epoch, long offset, byte[] record)
    {
        var reader = new Reader(record, $"message {offset} of topic '{topic}'");
        reader.Expect(Plain);
        var (timestamp, draft) = reader.Fields(record);
        return new Message
        {
            Topic = topic,
            Epoch = epoch,
            Offset = offset,
            Timestamp = timestamp,
            Key = draft.Key,
            ContentType = draft.ContentType,
            Headers = draft.Headers,
            Payload = draft.Payload,
        };
    }

    /// <summary>Reads a queue message's record: what was sent, and when.</summary>
    public static (QueueDraft Draft, DateTimeOffset EnqueuedAt) DecodeQueueBody(string queue, long id, byte[] record)
    {
        var what = $"message {id} of queue '{queue}'";
        if (record.Length > 0 && record[0] == FromTopic)
        {
            // [2][offset]\n[topic]\n[topic message record]
            var first = Array.IndexOf(record, (byte)'\n', 1);
            var second = first < 0 ? -1 : Array.IndexOf(record, (byte)'\n', first + 1);
            if (second < 0 || !long.TryParse(record.AsSpan(1, first - 1), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var offset))
            {
                throw Corrupt(what, "bad origin");
            }
            var topic = Encoding.UTF8.GetString(record, first + 1, second - first - 1);
            var message = DecodeMessage(topic, "", offset, record[(second + 1)..]);
            return (QueueMessages.FromTopic(message), message.Timestamp);
        }
        var reader = new Reader(record, what);
        reader.Expect(Plain);
        var replyTo = reader.NullableString();
        var correlationId = reader.NullableString();
        var (enqueuedAt, draft) = reader.Fields(record);
        return (new QueueDraft { Message = draft, ReplyTo = replyTo, CorrelationId = correlationId }, enqueuedAt);
    }

    /// <summary>A reply's record (its timestamp is when it was posted).</summary>
    public static byte[] EncodeReply(DateTimeOffset at, MessageDraft reply) => Encode(at, reply, null, null, queue: false, out _);

    /// <summary>Reads a reply's record.</summary>
    public static MessageDraft DecodeReply(string id, byte[] record)
    {
        var reader = new Reader(record, $"reply '{id}'");
        reader.Expect(Plain);
        return reader.Fields(record).Draft;
    }

    private static byte[] Encode(DateTimeOffset at, MessageDraft draft, string? replyTo, string? correlationId, bool queue, out int payloadStart)
    {
        var size = 1 + 8 + NullableSize(draft.Key) + StringSize(draft.ContentType) + VarintSize((uint)draft.Headers.Count) + draft.Payload.Length;
        foreach (var (name, value) in draft.Headers)
        {
            size += StringSize(name) + StringSize(value);
        }
        if (queue)
        {
            size += NullableSize(replyTo) + NullableSize(correlationId);
        }
        var record = new byte[size];
        var position = 0;
        record[position++] = Plain;
        if (queue)
        {
            WriteNullable(record, ref position, replyTo);
            WriteNullable(record, ref position, correlationId);
        }
        BinaryPrimitives.WriteInt64LittleEndian(record.AsSpan(position), at.UtcTicks);
        position += 8;
        WriteNullable(record, ref position, draft.Key);
        WriteString(record, ref position, draft.ContentType);
        WriteVarint(record, ref position, (uint)draft.Headers.Count);
        foreach (var (name, value) in draft.Headers)
        {
            WriteString(record, ref position, name);
            WriteString(record, ref position, value);
        }
        payloadStart = position;
        draft.Payload.Span.CopyTo(record.AsSpan(position)); // our own copy: the caller's buffer may be pooled
        return record;
    }

    private static int StringSize(string text)
    {
        var length = Encoding.UTF8.GetByteCount(text);
        return VarintSize((uint)length) + length;
    }

    private static int NullableSize(string? text)
    {
        if (text is null)
        {
            return 1;
        }
        var length = Encoding.UTF8.GetByteCount(text);
        return VarintSize((uint)length + 1) + length;
    }

    private static int VarintSize(uint value)
    {
        var size = 1;
        while (value >= 0x80)
        {
            value >>= 7;
            size++;
        }
        return size;
    }

    private static void WriteVarint(byte[] record, ref int position, uint value)
    {
        while (value >= 0x80)
        {
            record[position++] = (byte)(value | 0x80);
            value >>= 7;
        }
        record[position++] = (byte)value;
    }

    private static void WriteString(byte[] record, ref int position, string text)
    {
        WriteVarint(record, ref position, (uint)Encoding.UTF8.GetByteCount(text));
        position += Encoding.UTF8.GetBytes(text, record.AsSpan(position));
    }

    private static void WriteNullable(byte[] record, ref int position, string? text)
    {
        if (text is null)
        {
            record[position++] = 0;
            return;
        }
        WriteVarint(record, ref position, (uint)Encoding.UTF8.GetByteCount(text) + 1);
        position += Encoding.UTF8.GetBytes(text, record.AsSpan(position));
    }

    private static StoreCorruptException Corrupt(string what, string problem)
        => new($"The Redis store holds a damaged record ({what}: {problem}). It was written by another program or another version; remove the key or restore Redis from a backup.");

    private ref struct Reader(ReadOnlySpan<byte> data, string what)
    {
        private readonly ReadOnlySpan<byte> _data = data;
        private int _position;

        public void Expect(byte version)
        {
            if (_data.IsEmpty || _data[0] != version)
            {
                throw Corrupt(what, _data.IsEmpty ? "empty" : $"version {_data[0]}, expected {version}");
            }
            _position = 1;
        }

        public (DateTimeOffset Timestamp, MessageDraft Draft) Fields(byte[] record)
        {
            if (_data.Length - _position < 8)
            {
                throw Corrupt(what, "ends inside the timestamp");
            }
            var ticks = BinaryPrimitives.ReadInt64LittleEndian(_data[_position..]);
            _position += 8;
            if (ticks < DateTimeOffset.MinValue.UtcTicks || ticks > DateTimeOffset.MaxValue.UtcTicks)
            {
                throw Corrupt(what, "timestamp out of range");
            }
            var key = NullableString();
            var contentType = String();
            var count = Varint();
            if (count > 10_000)
            {
                throw Corrupt(what, $"claims {count} headers");
            }
            var headers = new Dictionary<string, string>((int)count, StringComparer.Ordinal);
            for (var i = 0; i < count; i++)
            {
                var name = String();
                headers[name] = String();
            }
            var draft = new MessageDraft
            {
                Key = key,
                ContentType = contentType,
                Headers = headers,
                Payload = record.AsMemory(_position), // the payload is the rest: no copy
            };
            return (new DateTimeOffset(ticks, TimeSpan.Zero), draft);
        }

        public string? NullableString()
        {
            var length = Varint();
            return length == 0 ? null : Text(length - 1);
        }

        private string String() => Text(Varint());

        private string Text(uint length)
        {
            if (length > _data.Length - _position)
            {
                throw Corrupt(what, "ends inside a string");
            }
            try
            {
                var text = Strict.GetString(_data.Slice(_position, (int)length));
                _position += (int)length;
                return text;
            }
            catch (DecoderFallbackException)
            {
                throw Corrupt(what, "holds invalid UTF-8");
            }
        }

        private uint Varint()
        {
            uint value = 0;
            for (var shift = 0; shift < 35; shift += 7)
            {
                if (_position >= _data.Length)
                {
                    throw Corrupt(what, "ends inside a length");
                }
                var b = _data[_position++];
                value |= (uint)(b & 0x7f) << shift;
                if (b < 0x80)
                {
                    return value;
                }
            }
            throw Corrupt(what, "has an overlong length");
        }
    }
}
