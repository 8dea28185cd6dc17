using System.Text.Json;
using Switchboard.Core;

namespace Switchboard.Server.Rest.Json;

/// <summary>
/// The REST read shape of a message. A JSON payload is written as the JSON value itself (its bytes copied,
/// never re-parsed); text as a string; anything else as base64 with <c>"encoding": "base64"</c>.
/// </summary>
internal static class MessageJson
{
    [Flags]
    public enum Fields
    {
        None = 0,
        Topic = 1,
        Epoch = 2,
        Offset = 4,
        Timestamp = 8,
        Headers = 16,
        Key = 32,
        ContentType = 64,
        Payload = 128,
        All = Topic | Epoch | Offset | Timestamp | Headers | Key | ContentType | Payload,
    }

    private static readonly (string Name, Fields Flag)[] Names =
    [
        ("topic", Fields.Topic), ("epoch", Fields.Epoch), ("offset", Fields.Offset), ("timestamp", Fields.Timestamp),
        ("headers", Fields.Headers), ("key", Fields.Key), ("contentType", Fields.ContentType), ("payload", Fields.Payload),
    ];

    /// <summary>
    /// The whole read shape as bytes, cached on the message: a hundred long polls answered with the same message
    /// serialise it once (while it is recent: the memory engine drops the encodings of old history).
    /// </summary>
    public static readonly MessageEncoding Whole = new CachedEncoding(Fields.All);

    /// <summary><c>?fields=payload</c> (<c>{"payload": …}</c>), cached like <see cref="Whole"/>: the payload-only form long
    /// polls ask for, as SSE streams do with <c>?data=payload</c>.</summary>
    private static readonly MessageEncoding PayloadOnly = new CachedEncoding(Fields.Payload);

    /// <summary>Writes the message, from the cached bytes when every field, or the payload alone, is wanted.</summary>
    public static void WriteCached(Utf8JsonWriter writer, Message message, Fields fields)
    {
        switch (fields)
        {
            case Fields.All:
                writer.WriteRawValue(message.EncodedAs(Whole).Span, skipInputValidation: true);
                break;
            case Fields.Payload:
                writer.WriteRawValue(message.EncodedAs(PayloadOnly).Span, skipInputValidation: true);
                break;
            default:
                Write(writer, message, fields);
                break;
        }
    }

    private sealed class CachedEncoding(Fields fields) : MessageEncoding
    {
        protected override byte[] Encode(Message message)
        {
            var buffer = new System.Buffers.ArrayBufferWriter<byte>(256 + message.Payload.Length);
            using (var writer = new Utf8JsonWriter(buffer, JsonWriting.Options))
            {
                Write(writer, message, fields);
            }
            return buffer.WrittenSpan.ToArray();
        }
    }

    /// <summary>Parses <c>?fields=offset,payload</c>; unknown names are refused with the list of valid ones.</summary>
    public static Fields ParseFields(string? text)
    {
        if (string.IsNullOrWhiteSpace(text))
        {
            return Fields.All;
        }
        var fields = Fields.None;
        foreach (var part in text.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            var match = Array.Find(Names, n => n.Name == part);
            if (match.Name is null)
            {
                throw new SwitchboardException(ErrorCode.InvalidRequest, $"fields has unknown field '{part}'; choose from {string.Join(", ", Names.Select(n => n.Name))}.");
            }
            fields |= match.Flag;
        }
        // Only commas ("fields=,"): every message would be {}, which nobody asks for on purpose.
        return fields != Fields.None ? fields : throw new SwitchboardException(ErrorCode.InvalidRequest,
            $"fields is '{SwitchboardException.Echo(text, 64)}', which names no field; choose from {string.Join(", ", Names.Select(n => n.Name))}, or leave fields out for whole messages.");
    }

    /// <summary>Writes the read shape. <paramref name="compact"/> (for streams, where every byte is multiplied by the
    /// number of subscribers) leaves out empty headers and the default content type, application/json.</summary>
    public static void Write(Utf8JsonWriter writer, Message message, Fields fields = Fields.All, bool compact = false)
    {
        writer.WriteStartObject();
        if ((fields & Fields.Topic) != 0)
        {
            writer.WriteString("topic", message.Topic);
        }
        if ((fields & Fields.Epoch) != 0)
        {
            writer.WriteString("epoch", message.Epoch);
        }
        if ((fields & Fields.Offset) != 0)
        {
            writer.WriteNumber("offset", message.Offset);
        }
        if ((fields & Fields.Timestamp) != 0)
        {
            writer.WriteString("timestamp", message.Timestamp.UtcDateTime);
        }
        if ((fields & Fields.Headers) != 0 && !(compact && message.Headers.Count == 0))
        {
            writer.WriteStartObject("headers");
            foreach (var (name, value) in message.Headers)
            {
                writer.WriteString(name, value);
            }
            writer.WriteEndObject();
        }
        if ((fields & Fields.Key) != 0 && message.Key is not null)
        {
            writer.WriteString("key", message.Key);
        }
        if ((fields & Fields.ContentType) != 0 && !(compact && message.ContentType == MessageDraft.JsonContentType))
        {
            writer.WriteString("contentType", message.ContentType);
        }
        if ((fields & Fields.Payload) != 0)
        {
            WritePayload(writer, message);
        }
        writer.WriteEndObject();
    }

    private static void WritePayload(Utf8JsonWriter writer, Message message) => WritePayload(writer, message.Payload.Span, message.ContentType);

    /// <summary>
    /// The compact stream form, for subscribers that asked for it: <c>{"t": topic, "o": offset, "k"?, "h"?, "c"?,
    /// "p": payload, "enc"?: "base64"}</c>. The epoch is not repeated in every message (the stream announces it once per
    /// topic) and there is no timestamp; key, headers and a content type other than JSON appear when the message has them.
    /// </summary>
    public static void WriteCompact(Utf8JsonWriter writer, Message message)
    {
        writer.WriteStartObject();
        writer.WriteString("t", message.Topic);
        writer.WriteNumber("o", message.Offset);
        if (message.Key is not null)
        {
            writer.WriteString("k", message.Key);
        }
        if (message.Headers.Count > 0)
        {
            writer.WriteStartObject("h");
            foreach (var (name, value) in message.Headers)
            {
                writer.WriteString(name, value);
            }
            writer.WriteEndObject();
        }
        if (message.ContentType != MessageDraft.JsonContentType)
        {
            writer.WriteString("c", message.ContentType);
        }
        WritePayload(writer, message.Payload.Span, message.ContentType, "p", "enc");
        writer.WriteEndObject();
    }

    /// <summary>"payload": JSON as JSON, UTF-8 text as a string, anything else as base64 (with "encoding": "base64").</summary>
    public static void WritePayload(Utf8JsonWriter writer, ReadOnlySpan<byte> payload, string contentType)
        => WritePayload(writer, payload, contentType, "payload", "encoding");

    private static void WritePayload(Utf8JsonWriter writer, ReadOnlySpan<byte> payload, string contentType, string name, string encodingName)
    {
        writer.WritePropertyName(name);
        if (MediaTypes.IsJson(contentType))
        {
            // Validated as JSON when published; skipInputValidation avoids parsing it a second time per read.
            writer.WriteRawValue(payload, skipInputValidation: true);
            return;
        }
        if (MediaTypes.IsUtf8Text(contentType, payload))
        {
            writer.WriteStringValue(payload);
            return;
        }
        writer.WriteBase64StringValue(payload);
        writer.WriteString(encodingName, "base64");
    }
}
