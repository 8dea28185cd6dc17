using System.Buffers;
using System.Text.Json;
using Switchboard.Core;
using Switchboard.Core.Delivery;
using Switchboard.Core.Engines;
using Switchboard.Server.Connections;
using Switchboard.Server.Rest.Json;
using Switchboard.Server.Rest.Parsing;

namespace Switchboard.Server.Sessions;

/// <summary>
/// The <c>switchboard.v1.json</c> subprotocol: the ClientFrame / ServerFrame messages of
/// <c>protos/switchboard/v1/frames.proto</c> as JSON objects — the frame's kind is its one property besides
/// <c>id</c> — with the REST conventions: offsets as numbers, payloads as JSON values (text as a string, other
/// types base64 with <c>"encoding": "base64"</c>), messages in the same shape as <c>GET /v1/topics/{t}/messages</c>.
/// </summary>
internal sealed partial class JsonFrameCodec : IFrameCodec
{
    /// <summary>Every kind of client frame, as refusals name them.</summary>
    internal const string ClientKinds = "auth, publish, subscribe, unsubscribe, ping, send, receive, ack, ackBatch, nack, extend, request, reply";

    public static readonly JsonFrameCodec Instance = new();

    /// <summary>Frames nest as deep as a payload the hub accepts and the command around it (<see cref="JsonLimits"/>).</summary>
    private static readonly JsonReaderOptions Reading = new() { MaxDepth = JsonLimits.DocumentDepth };

    private JsonFrameCodec()
    {
    }

    public string Name => "switchboard.v1.json";
    public FrameKind Kind => FrameKind.Text;
    public MessageEncoding Messages { get; } = new MessageFrameEncoding();

    public CompactEnvelope? Compact { get; } = new(new CompactFrameEncoding(), announced => Frame(null, "notice", w =>
    {
        w.WriteString("kind", "epoch"); // for the connection: no subscription id, as compact messages have none
        w.WriteString("topic", announced.Topic);
        w.WriteString("epoch", announced.Epoch);
    }));

    public ClientCommand Decode(ReadOnlyMemory<byte> frame)
    {
        string? id = null;
        var reader = new Utf8JsonReader(frame.Span, Reading); // a payload's own depth is checked with the message
        try
        {
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                throw Invalid("A frame is a JSON object such as {\"id\": \"1\", \"subscribe\": {\"topics\": [\"orders\"]}}.");
            }
            ClientCommand? command = null;
            string? kind = null;
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                var name = reader.GetString()!;
                reader.Read();
                if (name == "id")
                {
                    id = reader.TokenType switch
                    {
                        JsonTokenType.String => reader.GetString(),
                        JsonTokenType.Number => System.Text.Encoding.UTF8.GetString(reader.ValueSpan),
                        JsonTokenType.Null => null,
                        _ => throw Invalid("\"id\" must be a string (or a number)."),
                    };
                    continue;
                }
                if (kind is not null)
                {
                    throw Invalid($"A frame has one kind; this one has both \"{kind}\" and \"{name}\".");
                }
                kind = name;
                command = name switch
                {
                    "publish" => ReadPublish(ref reader, frame),
                    "subscribe" => ReadSubscribe(ref reader),
                    "unsubscribe" => ReadUnsubscribe(ref reader),
                    "ping" => Skip(ref reader, new PingCommand(null)),
                    "auth" => ReadAuth(ref reader),
                    "send" or "request" or "reply" => ReadMessageFrame(name, ref reader, frame),
                    "receive" => ReadReceive(ref reader),
                    "ack" or "nack" or "extend" => ReadSettle(name, ref reader),
                    "ackBatch" => ReadAckBatch(ref reader, frame),
                    _ => throw Invalid($"Unknown frame kind \"{name}\"; a client frame is one of {ClientKinds}."),
                };
            }
            if (reader.Read())
            {
                throw Invalid("The frame has content after its JSON object.");
            }
            return command is null
                ? throw Invalid($"The frame has no kind; add one of {ClientKinds}.")
                : command with { Id = id };
        }
        catch (JsonException ex)
        {
            throw new FrameException(id ?? LateId(frame.Span), new SwitchboardException(ErrorCode.InvalidJson, $"The frame is not valid JSON: {ex.Message}"));
        }
        catch (InvalidOperationException ex)
        {
            throw new FrameException(id ?? LateId(frame.Span), new SwitchboardException(ErrorCode.InvalidJson, $"The frame has a string that is not valid Unicode: {ex.Message}"));
        }
        catch (SwitchboardException ex)
        {
            throw new FrameException(id ?? LateId(frame.Span), ex);
        }
    }

    private static PublishCommand ReadPublish(ref Utf8JsonReader reader, ReadOnlyMemory<byte> frame)
    {
        RequireObject(ref reader, "publish", "{\"topic\": \"orders\", \"payload\": {…}}");
        string? topic = null, idempotencyKey = null;
        List<MessageDraft>? batch = null;
        var single = new PublishBodyReader.Envelope();
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            var name = reader.GetString()!;
            reader.Read();
            switch (name)
            {
                case "topic":
                    topic = String(ref reader, "publish.topic");
                    break;
                case "idempotencyKey":
                    idempotencyKey = String(ref reader, "publish.idempotencyKey");
                    break;
                case "messages":
                    batch = PublishBodyReader.ReadBatch(ref reader, frame);
                    break;
                default:
                    single.ReadValue(name, ref reader, frame, "publish");
                    break;
            }
        }
        if (topic is null)
        {
            throw Invalid("publish needs a \"topic\".");
        }
        if (batch is not null && !single.IsEmpty)
        {
            throw Invalid("publish has both \"messages\" and fields of a single message; put every message inside \"messages\".");
        }
        return batch is not null
            ? new PublishCommand(null, topic, batch, true, idempotencyKey)
            : new PublishCommand(null, topic, [single.ToDraft("publish")], false, idempotencyKey);
    }

    private static SubscribeCommand ReadSubscribe(ref Utf8JsonReader reader)
    {
        RequireObject(ref reader, "subscribe", "{\"topics\": [\"orders.*\"], \"afterOffset\": 0}");
        var topics = new List<string>();
        long? afterOffset = null;
        string? epoch = null;
        Position? after = null;
        Dictionary<string, Position>? positions = null;
        string? snapshot = null;
        var compact = false;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            var name = reader.GetString()!;
            reader.Read();
            switch (name)
            {
                case "topics":
                    if (reader.TokenType != JsonTokenType.StartArray)
                    {
                        throw Invalid("subscribe.topics must be an array of topic names or patterns.");
                    }
                    while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
                    {
                        topics.Add(String(ref reader, "subscribe.topics[]") ?? throw Invalid("subscribe.topics holds null."));
                    }
                    break;
                case "topic":
                    topics.Add(String(ref reader, "subscribe.topic") ?? throw Invalid("subscribe.topic is null."));
                    break;
                case "afterOffset":
                    if (reader.TokenType == JsonTokenType.Null)
                    {
                        break;
                    }
                    if (reader.TokenType != JsonTokenType.Number || !reader.TryGetInt64(out var offset) || offset < 0)
                    {
                        throw new SwitchboardException(ErrorCode.InvalidPosition, "subscribe.afterOffset must be a whole number, 0 or more (0 = every retained message).");
                    }
                    afterOffset = offset;
                    break;
                case "after":
                    var text = String(ref reader, "subscribe.after");
                    if (text is not null && text.StartsWith(ProtoFrameCodec.SnapshotPrefix, StringComparison.Ordinal))
                    {
                        // Positions kept in a snapshot (a big multi-topic stream's id): read from the store before subscribing.
                        (snapshot, positions) = (text, []);
                    }
                    else if (text is not null && text.StartsWith("p1.", StringComparison.Ordinal))
                    {
                        // Several topics' positions at once (the id of a multi-topic SSE stream): resumes a wildcard
                        // subscription with each topic after its own position, every other matching topic from its start.
                        positions = ProtoFrameCodec.DecodePositions(text, "subscribe.after");
                    }
                    else if (text is not null)
                    {
                        after = Position.TryParse(text, out var position, out var error) ? position : throw new SwitchboardException(ErrorCode.InvalidPosition, "subscribe.after: " + error);
                    }
                    break;
                case "epoch":
                    epoch = String(ref reader, "subscribe.epoch");
                    break;
                case "envelope":
                    compact = String(ref reader, "subscribe.envelope") switch
                    {
                        null or "full" => false,
                        "compact" => true,
                        var other => throw Invalid($"subscribe.envelope is \"{other}\"; use \"full\" (the default: every message with its topic, epoch, offset and timestamp) or \"compact\" ({{\"m\": {{\"t\", \"o\", \"p\"}}}}, the epoch announced once per topic)."),
                    };
                    break;
                default:
                    throw Invalid($"subscribe has an unknown field \"{name}\"; it has topics, afterOffset (or after: \"epoch:offset\"), epoch and envelope.");
            }
        }
        SubscribeStart start;
        if (positions is not null)
        {
            if (afterOffset is not null || epoch is not null)
            {
                throw Invalid("subscribe.after holds several topics' positions (p1.… or p2.…); give it without afterOffset or epoch.");
            }
            start = SubscribeStart.AfterPositions(positions);
        }
        else if (after is { } p)
        {
            if (afterOffset is not null)
            {
                throw Invalid("subscribe has both after and afterOffset; give one.");
            }
            start = SubscribeStart.AfterPosition(epoch is null ? p : p with { Epoch = epoch });
        }
        else
        {
            start = afterOffset is { } o ? SubscribeStart.AfterPosition(new Position(epoch, o)) : SubscribeStart.Now;
        }
        if (epoch is not null && !Core.Epoch.IsWellFormed(epoch))
        {
            throw new SwitchboardException(ErrorCode.InvalidPosition, $"subscribe.epoch '{epoch}' is not an epoch the hub issued.");
        }
        return new SubscribeCommand(null, topics, start, compact, snapshot is null ? null : (snapshot, "subscribe.after"));
    }

    private static UnsubscribeCommand ReadUnsubscribe(ref Utf8JsonReader reader)
    {
        RequireObject(ref reader, "unsubscribe", "{\"subscriptionId\": \"1\"}");
        string? subscriptionId = null;
        var topics = new List<string>();
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            var name = reader.GetString()!;
            reader.Read();
            switch (name)
            {
                case "subscriptionId":
                    subscriptionId = String(ref reader, "unsubscribe.subscriptionId");
                    break;
                case "topics":
                    if (reader.TokenType != JsonTokenType.StartArray)
                    {
                        throw Invalid("unsubscribe.topics must be an array.");
                    }
                    while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
                    {
                        topics.Add(String(ref reader, "unsubscribe.topics[]") ?? "");
                    }
                    break;
                default:
                    throw Invalid($"unsubscribe has an unknown field \"{name}\"; it has subscriptionId or topics.");
            }
        }
        return new UnsubscribeCommand(null, subscriptionId, topics);
    }

    private static T Skip<T>(ref Utf8JsonReader reader, T command)
    {
        reader.Skip();
        return command;
    }

    private static void RequireObject(ref Utf8JsonReader reader, string kind, string example)
    {
        if (reader.TokenType != JsonTokenType.StartObject)
        {
            throw Invalid($"\"{kind}\" must be an object, e.g. {{\"{kind}\": {example}}}.");
        }
    }

    private static string? String(ref Utf8JsonReader reader, string field) => reader.TokenType switch
    {
        JsonTokenType.String => reader.GetString(),
        JsonTokenType.Null => null,
        _ => throw Invalid($"{field} must be a string."),
    };

    private static SwitchboardException Invalid(string detail) => new(ErrorCode.InvalidRequest, detail);

    public OutboundFrame Published(string? id, AppendResult result, bool batch) => Frame(id, "published", w =>
    {
        w.WriteString("topic", result.Topic);
        w.WriteString("epoch", result.Epoch);
        if (batch)
        {
            w.WriteNumber("firstOffset", result.FirstOffset);
            w.WriteNumber("lastOffset", result.LastOffset);
            w.WriteNumber("count", result.Count);
        }
        else
        {
            w.WriteNumber("offset", result.FirstOffset);
        }
        w.WriteString("timestamp", result.Timestamp.UtcDateTime);
        if (result.Replayed)
        {
            w.WriteBoolean("replayed", true);
        }
    });

    public OutboundFrame Subscribed(string? id, string subscriptionId, IReadOnlyList<string> topics) => Frame(id, "subscribed", w =>
    {
        w.WriteString("subscriptionId", subscriptionId);
        w.WriteStartArray("topics");
        foreach (var topic in topics)
        {
            w.WriteStringValue(topic);
        }
        w.WriteEndArray();
    });

    public OutboundFrame Unsubscribed(string? id, string subscriptionId) => Frame(id, "unsubscribed", w => w.WriteString("subscriptionId", subscriptionId));

    public OutboundFrame Notice(string subscriptionId, SubscriptionNotice notice) => Frame(null, "notice", w =>
    {
        switch (notice)
        {
            case MessagesMissed missed:
                w.WriteString("kind", "missed");
                w.WriteString("subscriptionId", subscriptionId);
                w.WriteString("topic", missed.Topic);
                w.WriteString("epoch", missed.Epoch);
                w.WriteNumber("fromOffset", missed.FromOffset);
                w.WriteNumber("toOffset", missed.ToOffset);
                break;
            case EpochChanged changed:
                w.WriteString("kind", "epoch-changed");
                w.WriteString("subscriptionId", subscriptionId);
                w.WriteString("topic", changed.Topic);
                w.WriteString("epoch", changed.Epoch);
                w.WriteString("previousEpoch", changed.PreviousEpoch);
                break;
            case TopicWasDeleted deleted:
                w.WriteString("kind", "topic-deleted");
                w.WriteString("subscriptionId", subscriptionId);
                w.WriteString("topic", deleted.Topic);
                w.WriteString("epoch", deleted.Epoch);
                break;
        }
    });

    public OutboundFrame Error(string? id, SwitchboardException error) => Frame(id, "error", w => WriteErrorFields(w, error));

    /// <summary>An error as its own object (the failures of an ack batch), with the fields of the error frame.</summary>
    private static void WriteError(Utf8JsonWriter w, SwitchboardException error)
    {
        w.WriteStartObject();
        WriteErrorFields(w, error);
        w.WriteEndObject();
    }

    private static void WriteErrorFields(Utf8JsonWriter w, SwitchboardException error)
    {
        w.WriteString("code", error.Info.Name);
        w.WriteString("message", error.Message);
        w.WriteNumber("status", error.Info.HttpStatus);
        if (error.RetryAfterSeconds is { } retryAfter)
        {
            w.WriteNumber("retryAfter", retryAfter);
        }
        var details = error.Extensions.Where(e => e.Value is not null).ToList();
        if (details.Count > 0)
        {
            w.WriteStartObject("details");
            foreach (var (name, value) in details)
            {
                w.WriteString(name, Convert.ToString(value, System.Globalization.CultureInfo.InvariantCulture));
            }
            w.WriteEndObject();
        }
    }

    public OutboundFrame Pong(string? id) => Frame(id, "pong", _ => { });

    public OutboundFrame Authenticated(string? id, Auth.Caller caller) => Frame(id, "authenticated", w =>
    {
        w.WriteString("principal", caller.Name);
        w.WriteStartArray("scopes");
        foreach (var scope in caller.Grants.Scopes)
        {
            w.WriteStringValue(scope);
        }
        w.WriteEndArray();
        if (caller.ExpiresAt is { } expires)
        {
            w.WriteString("expiresAt", expires);
        }
    });

    /// <summary><c>{"auth": {"token": "…"}}</c>.</summary>
    private static AuthCommand ReadAuth(ref Utf8JsonReader reader)
    {
        if (reader.TokenType != JsonTokenType.StartObject)
        {
            throw Invalid("\"auth\" is an object: {\"auth\": {\"token\": \"<API key or JWT>\"}}.");
        }
        string? token = null;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            var name = reader.GetString();
            reader.Read();
            if (name == "token" && reader.TokenType == JsonTokenType.String)
            {
                token = reader.GetString();
            }
            else if (name == "token")
            {
                throw Invalid("auth.token must be a string: the API key or the JWT.");
            }
            else
            {
                reader.Skip();
            }
        }
        return string.IsNullOrEmpty(token) ? throw Invalid("auth needs \"token\": the API key or the JWT.") : new AuthCommand(null, token);
    }

    private static OutboundFrame Frame(string? id, string kind, Action<Utf8JsonWriter> body)
    {
        var buffer = new ArrayBufferWriter<byte>(128);
        using (var w = new Utf8JsonWriter(buffer, JsonWriting.Options))
        {
            w.WriteStartObject();
            if (id is not null)
            {
                w.WriteString("id", id);
            }
            w.WriteStartObject(kind);
            body(w);
            w.WriteEndObject();
            w.WriteEndObject();
        }
        return new OutboundFrame(buffer.WrittenSpan.ToArray(), FrameKind.Text);
    }

    /// <summary><c>{"m": {…}}</c> (<see cref="MessageJson.WriteCompact"/>): the same bytes for every compact subscriber.</summary>
    private sealed class CompactFrameEncoding : MessageEncoding
    {
        protected override byte[] Encode(Message message)
        {
            var buffer = new ArrayBufferWriter<byte>(64 + message.Topic.Length + message.Payload.Length);
            using (var w = new Utf8JsonWriter(buffer, JsonWriting.Options))
            {
                w.WriteStartObject();
                w.WritePropertyName("m");
                MessageJson.WriteCompact(w, message);
                w.WriteEndObject();
            }
            return buffer.WrittenSpan.ToArray();
        }
    }

    /// <summary><c>{"message": {…}}</c>: the same bytes for every JSON WebSocket subscriber.</summary>
    private sealed class MessageFrameEncoding : MessageEncoding
    {
        protected override byte[] Encode(Message message)
        {
            var buffer = new ArrayBufferWriter<byte>(256 + message.Payload.Length);
            using (var w = new Utf8JsonWriter(buffer, JsonWriting.Options))
            {
                w.WriteStartObject();
                w.WritePropertyName("message");
                MessageJson.Write(w, message, compact: true);
                w.WriteEndObject();
            }
            return buffer.WrittenSpan.ToArray();
        }
    }
}
