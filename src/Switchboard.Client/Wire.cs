using System.Globalization;
using System.Text;
using System.Text.Json;

namespace Switchboard.Client;

/// <summary>
/// The hub's JSON shapes (REST bodies, WebSocket frames, SSE events; docs/websocket-protocol.md): the publish envelope
/// written, messages, notices and answers read. One place, so every transport reads the same thing the same way.
/// </summary>
internal static class Wire
{
    /// <summary>
    /// How the hub's documents are read: a payload nests up to 64 levels (the hub's limit on every protocol, and
    /// System.Text.Json's default, so a payload reads with default options) and a frame, event or page holds it a few
    /// levels deeper; read with the defaults, a payload the hub accepted could not be delivered.
    /// </summary>
    public static readonly JsonDocumentOptions Reading = new() { MaxDepth = 64 + 8 };

    /// <summary>The envelope's fields: payload (JSON as JSON, text as a string, bytes as base64), contentType, headers, key.</summary>
    public static void WriteEnvelope(Utf8JsonWriter writer, Payload payload, string? key, IReadOnlyDictionary<string, string>? headers)
    {
        writer.WritePropertyName("payload");
        if (payload.IsJson)
        {
            writer.WriteRawValue(payload.Data.Span, skipInputValidation: true);
            if (payload.ContentType != Payload.JsonContentType)
            {
                writer.WriteString("contentType", payload.ContentType);
            }
        }
        else if (Payload.IsTextType(payload.ContentType) && System.Text.Unicode.Utf8.IsValid(payload.Data.Span))
        {
            writer.WriteStringValue(payload.Data.Span);
            writer.WriteString("contentType", payload.ContentType);
        }
        else
        {
            writer.WriteBase64StringValue(payload.Data.Span);
            writer.WriteString("encoding", "base64");
            writer.WriteString("contentType", payload.ContentType);
        }
        if (headers is { Count: > 0 })
        {
            writer.WriteStartObject("headers");
            foreach (var (name, value) in headers)
            {
                writer.WriteString(name, value);
            }
            writer.WriteEndObject();
        }
        if (key is not null)
        {
            writer.WriteString("key", key);
        }
    }

    /// <summary>A publish's messages, as REST bodies and WebSocket frames both carry them: one envelope, or a batch's <c>messages</c>.</summary>
    public static void WriteMessages(Utf8JsonWriter writer, Transports.PublishDraft draft)
    {
        if (!draft.IsBatch)
        {
            var message = draft.Messages[0];
            WriteEnvelope(writer, message.Payload, message.Key, message.Headers);
            return;
        }
        writer.WriteStartArray("messages");
        foreach (var message in draft.Messages)
        {
            writer.WriteStartObject();
            WriteEnvelope(writer, message.Payload, message.Key, message.Headers);
            writer.WriteEndObject();
        }
        writer.WriteEndArray();
    }

    /// <summary>A JSON body made by <paramref name="write"/> (the object's braces included).</summary>
    public static byte[] Object(Action<Utf8JsonWriter> write)
    {
        var buffer = new System.Buffers.ArrayBufferWriter<byte>(256);
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            write(writer);
            writer.WriteEndObject();
        }
        return buffer.WrittenSpan.ToArray();
    }

    public static Message ReadMessage(JsonElement wire, JsonSerializerOptions options) => new()
    {
        Topic = wire.GetProperty("topic").GetString()!,
        Epoch = wire.GetProperty("epoch").GetString()!,
        Offset = wire.GetProperty("offset").GetInt64(),
        Timestamp = wire.TryGetProperty("timestamp", out var timestamp) ? timestamp.GetDateTimeOffset() : default,
        Headers = ReadHeaders(wire),
        Key = wire.TryGetProperty("key", out var key) && key.ValueKind == JsonValueKind.String ? key.GetString() : null,
        Payload = ReadPayload(wire),
        JsonOptions = options,
    };

    /// <summary>A compact-envelope message (<c>{"t", "o", "k"?, "h"?, "c"?, "p", "enc"?}</c>) with the epoch the hub named for its topic; it has no timestamp.</summary>
    public static Message ReadCompactMessage(JsonElement wire, string topic, string epoch, JsonSerializerOptions options) => new()
    {
        Topic = topic,
        Epoch = epoch,
        Offset = wire.GetProperty("o").GetInt64(),
        Headers = ReadHeaders(wire, "h"),
        Key = wire.TryGetProperty("k", out var key) && key.ValueKind == JsonValueKind.String ? key.GetString() : null,
        Payload = ReadPayload(wire, "p", "c", "enc"),
        JsonOptions = options,
    };

    /// <summary>"payload" with "contentType" and "encoding": JSON as its raw text, a string as UTF-8, base64 as its bytes.</summary>
    public static Payload ReadPayload(JsonElement wire) => ReadPayload(wire, "payload", "contentType", "encoding");

    private static Payload ReadPayload(JsonElement wire, string payloadName, string contentTypeName, string encodingName)
    {
        var contentType = wire.TryGetProperty(contentTypeName, out var type) && type.ValueKind == JsonValueKind.String ? type.GetString() : null;
        if (!wire.TryGetProperty(payloadName, out var payload))
        {
            return Payload.FromWire(ReadOnlyMemory<byte>.Empty, contentType);
        }
        if (wire.TryGetProperty(encodingName, out var encoding) && encoding.ValueEquals("base64"))
        {
            return Payload.FromWire(payload.GetBytesFromBase64(), contentType);
        }
        if (contentType is null || Payload.IsJsonType(contentType))
        {
            return Payload.FromWire(System.Runtime.InteropServices.JsonMarshal.GetRawUtf8Value(payload).ToArray(), contentType);
        }
        return Payload.FromWire(Encoding.UTF8.GetBytes(payload.GetString() ?? ""), contentType);
    }

    public static IReadOnlyDictionary<string, string> ReadHeaders(JsonElement wire, string name = "headers")
    {
        if (!wire.TryGetProperty(name, out var headers) || headers.ValueKind != JsonValueKind.Object)
        {
            return Message.EmptyHeaders;
        }
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var header in headers.EnumerateObject())
        {
            result[header.Name] = header.Value.GetString() ?? "";
        }
        return result.Count == 0 ? Message.EmptyHeaders : result;
    }

    public static SubscriptionNotice ReadNotice(JsonElement notice) => new()
    {
        Kind = notice.GetProperty("kind").GetString()!,
        Topic = String(notice, "topic") ?? "", // resume-expired concerns the whole subscription, not one topic
        Epoch = String(notice, "epoch"),
        PreviousEpoch = String(notice, "previousEpoch"),
        FromOffset = notice.TryGetProperty("fromOffset", out var from) && from.ValueKind == JsonValueKind.Number ? from.GetInt64() : null,
        ToOffset = notice.TryGetProperty("toOffset", out var to) && to.ValueKind == JsonValueKind.Number ? to.GetInt64() : null,
        ResumedTopics = notice.TryGetProperty("resumedTopics", out var resumed) && resumed.ValueKind == JsonValueKind.Array
            ? [.. resumed.EnumerateArray().Select(t => t.GetString()!)]
            : null,
        Message = String(notice, "message"),
    };

    /// <summary>A publish's answer: <c>{topic, epoch, offset, timestamp}</c>, with <c>firstOffset, lastOffset, count</c> for a batch.</summary>
    public static PublishResult ReadPublished(JsonElement answer)
    {
        var last = answer.TryGetProperty("lastOffset", out var lastOffset) ? lastOffset.GetInt64() : answer.GetProperty("offset").GetInt64();
        var first = answer.TryGetProperty("firstOffset", out var firstOffset) ? firstOffset.GetInt64() : last;
        var count = answer.TryGetProperty("count", out var counted) ? counted.GetInt32() : 1;
        return new PublishResult(answer.GetProperty("topic").GetString()!, answer.GetProperty("epoch").GetString()!, last, first, count,
            answer.TryGetProperty("timestamp", out var timestamp) ? timestamp.GetDateTimeOffset() : default);
    }

    /// <summary>An error frame or problem+json: <c>code</c>, <c>message</c>/<c>detail</c>, <c>status</c>, <c>retryAfter</c>.</summary>
    public static SwitchboardException ReadError(JsonElement error, int? status = null, TimeSpan? retryAfter = null)
    {
        var code = String(error, "code") ?? (status == 503 ? ClientErrorCodes.Unavailable : ClientErrorCodes.Internal);
        var message = String(error, "message") ?? String(error, "detail") ?? String(error, "title") ?? code;
        if (status is null && error.TryGetProperty("status", out var s) && s.ValueKind == JsonValueKind.Number)
        {
            status = s.GetInt32();
        }
        if (retryAfter is null && error.TryGetProperty("retryAfter", out var r) && r.ValueKind == JsonValueKind.Number)
        {
            retryAfter = TimeSpan.FromSeconds(r.GetDouble());
        }
        return new SwitchboardException(code, message) { Status = status, RetryAfter = retryAfter, Problem = error.Clone() };
    }

    public static string? String(JsonElement element, string name)
        => element.ValueKind == JsonValueKind.Object && element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;

    /// <summary>A duration as the hub reads it: seconds, with decimals when needed.</summary>
    public static string Seconds(TimeSpan value) => value.TotalSeconds.ToString("0.###", CultureInfo.InvariantCulture);
}
