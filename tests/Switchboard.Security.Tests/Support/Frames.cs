using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using Google.Protobuf;
using Switchboard.Protocol.V1;

namespace Switchboard.Security.Tests.Support;

/// <summary>A client frame of the multiplexed protocol, whatever its encoding.</summary>
internal abstract record Command;

internal sealed record PublishCommand(string Topic, string Marker) : Command;

/// <summary>Subscribes from the start of the retained history (so an allowed subscription proves itself with a message).</summary>
internal sealed record SubscribeCommand(params string[] Topics) : Command;

internal sealed record UnsubscribeCommand(string SubscriptionId) : Command;

internal sealed record SendCommand(string Queue) : Command;

internal sealed record ReceiveCommand(string Queue, int Max) : Command;

internal sealed record SettleCommand(string Kind, string Queue, long MessageId, string Lease) : Command;

/// <summary>An ack batch of one message (the answer's MessageId is the first id it acked, 0 when none).</summary>
internal sealed record AckBatchCommand(string Queue, long MessageId, string Lease) : Command;

internal sealed record RequestCommand(string Queue, string Marker) : Command;

internal sealed record ReplyCommand(string RequestId) : Command;

internal sealed record AuthCommand(string Token) : Command;

internal sealed record PingCommand : Command;

/// <summary>
/// A server frame boiled down to what the tests look at: its kind (published, subscribed, message, error, …; "closed"
/// when the connection ended), the id it answers, and kind-specific facts (an error's code and message, a message's
/// topic and payload, a subscription id, a principal, a queue message's id and lease).
/// </summary>
internal sealed record Answer(string Kind, string? Id, string? Code = null, string? Text = null, long MessageId = 0, string? Lease = null, string? Payload = null);

/// <summary>One encoding of the multiplexed protocol: switchboard.v1.json or switchboard.v1.proto.</summary>
internal interface IWire
{
    string SubProtocol { get; }

    WebSocketMessageType MessageType { get; }

    byte[] Encode(string id, Command command);

    Answer Decode(ReadOnlySpan<byte> frame);
}

internal sealed class JsonWire : IWire
{
    public static readonly JsonWire Instance = new();

    public string SubProtocol => "switchboard.v1.json";

    public WebSocketMessageType MessageType => WebSocketMessageType.Text;

    public byte[] Encode(string id, Command command) => JsonSerializer.SerializeToUtf8Bytes<Dictionary<string, object>>(command switch
    {
        PublishCommand c => new() { ["id"] = id, ["publish"] = new { topic = c.Topic, payload = new { marker = c.Marker } } },
        SubscribeCommand c => new() { ["id"] = id, ["subscribe"] = new { topics = c.Topics, afterOffset = 0 } },
        UnsubscribeCommand c => new() { ["id"] = id, ["unsubscribe"] = new { subscriptionId = c.SubscriptionId } },
        SendCommand c => new() { ["id"] = id, ["send"] = new { queue = c.Queue, payload = "job" } },
        ReceiveCommand c => new() { ["id"] = id, ["receive"] = new { queue = c.Queue, max = c.Max } },
        SettleCommand c => new() { ["id"] = id, [c.Kind] = new { queue = c.Queue, id = c.MessageId, lease = c.Lease } },
        AckBatchCommand c => new() { ["id"] = id, ["ackBatch"] = new { queue = c.Queue, messages = new[] { new { id = c.MessageId, lease = c.Lease } } } },
        RequestCommand c => new() { ["id"] = id, ["request"] = new { queue = c.Queue, payload = new { marker = c.Marker }, timeoutSeconds = 10 } },
        ReplyCommand c => new() { ["id"] = id, ["reply"] = new { requestId = c.RequestId, payload = "answer" } },
        AuthCommand c => new() { ["id"] = id, ["auth"] = new { token = c.Token } },
        PingCommand => new() { ["id"] = id, ["ping"] = new { } },
        _ => throw new ArgumentOutOfRangeException(nameof(command)),
    });

    public Answer Decode(ReadOnlySpan<byte> frame)
    {
        using var document = JsonDocument.Parse(frame.ToArray());
        var root = document.RootElement;
        var id = root.TryGetProperty("id", out var idValue) ? idValue.GetString() : null;
        var (kind, body) = root.EnumerateObject().Where(p => p.Name != "id").Select(p => (p.Name, p.Value)).First();
        string? Text(string name) => body.ValueKind == JsonValueKind.Object && body.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;
        return kind switch
        {
            "error" => new Answer(kind, id, Text("code"), Text("message")),
            "message" => new Answer(kind, id, Text: Text("topic"), Payload: body.TryGetProperty("payload", out var payload) ? payload.GetRawText() : null),
            "subscribed" or "unsubscribed" => new Answer(kind, id, Text: Text("subscriptionId")),
            "authenticated" => new Answer(kind, id, Text: Text("principal")),
            "queueMessage" => new Answer(kind, id, MessageId: body.GetProperty("id").GetInt64(), Lease: Text("lease")),
            "ackedBatch" => new Answer(kind, id, MessageId: body.GetProperty("acked").EnumerateArray().Select(e => e.GetInt64()).FirstOrDefault()),
            _ => new Answer(kind, id),
        };
    }
}

internal sealed class ProtoWire : IWire
{
    public static readonly ProtoWire Instance = new();

    public string SubProtocol => "switchboard.v1.proto";

    public WebSocketMessageType MessageType => WebSocketMessageType.Binary;

    public byte[] Encode(string id, Command command) => Frame(id, command).ToByteArray();

    /// <summary>The ClientFrame for a command (also what gRPC Connect carries).</summary>
    public static ClientFrame Frame(string id, Command command)
    {
        var frame = new ClientFrame { Id = id };
        switch (command)
        {
            case PublishCommand c:
                frame.Publish = new PublishRequest { Topic = c.Topic, Payload = Utf8($$"""{"marker": "{{c.Marker}}"}"""), ContentType = "application/json" };
                break;
            case SubscribeCommand c:
                frame.Subscribe = new SubscribeRequest { Topics = { c.Topics }, AfterOffset = 0 };
                break;
            case UnsubscribeCommand c:
                frame.Unsubscribe = new Unsubscribe { SubscriptionId = c.SubscriptionId };
                break;
            case SendCommand c:
                frame.Send = new SendRequest { Queue = c.Queue, Payload = Utf8("\"job\""), ContentType = "application/json" };
                break;
            case ReceiveCommand c:
                frame.Receive = new ReceiveRequest { Queue = c.Queue, Max = c.Max };
                break;
            case SettleCommand { Kind: "ack" } c:
                frame.Ack = new AckRequest { Queue = c.Queue, Id = Id(c.MessageId), Lease = c.Lease };
                break;
            case SettleCommand { Kind: "nack" } c:
                frame.Nack = new NackRequest { Queue = c.Queue, Id = Id(c.MessageId), Lease = c.Lease };
                break;
            case AckBatchCommand c:
                frame.AckBatch = new AckBatchRequest { Queue = c.Queue, Messages = { new AckBatchItem { Id = Id(c.MessageId), Lease = c.Lease } } };
                break;
            case SettleCommand c:
                frame.Extend = new ExtendRequest { Queue = c.Queue, Id = Id(c.MessageId), Lease = c.Lease };
                break;
            case RequestCommand c:
                frame.Request = new RequestRequest { Queue = c.Queue, Payload = Utf8($$"""{"marker": "{{c.Marker}}"}"""), ContentType = "application/json", TimeoutSeconds = 10 };
                break;
            case ReplyCommand c:
                frame.Reply = new ReplyRequest { RequestId = c.RequestId, Payload = Utf8("\"answer\""), ContentType = "application/json" };
                break;
            case AuthCommand c:
                frame.Auth = new Auth { Token = c.Token };
                break;
            case PingCommand:
                frame.Ping = new Ping();
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(command));
        }
        return frame;
    }

    public Answer Decode(ReadOnlySpan<byte> frame) => Answer(ServerFrame.Parser.ParseFrom(frame));

    public static Answer Answer(ServerFrame frame)
    {
        var id = frame.Id.Length > 0 ? frame.Id : null;
        return frame.KindCase switch
        {
            ServerFrame.KindOneofCase.Error => new Answer("error", id, frame.Error.Code, frame.Error.Message),
            ServerFrame.KindOneofCase.Message => new Answer("message", id, Text: frame.Message.Topic, Payload: frame.Message.Payload.ToStringUtf8()),
            ServerFrame.KindOneofCase.Subscribed => new Answer("subscribed", id, Text: frame.Subscribed.SubscriptionId),
            ServerFrame.KindOneofCase.Unsubscribed => new Answer("unsubscribed", id, Text: frame.Unsubscribed.SubscriptionId),
            ServerFrame.KindOneofCase.Authenticated => new Answer("authenticated", id, Text: frame.Authenticated.Principal),
            ServerFrame.KindOneofCase.QueueMessage => new Answer("queueMessage", id, MessageId: long.Parse(frame.QueueMessage.Id, System.Globalization.CultureInfo.InvariantCulture), Lease: frame.QueueMessage.Lease),
            ServerFrame.KindOneofCase.Published => new Answer("published", id),
            ServerFrame.KindOneofCase.Sent => new Answer("sent", id),
            ServerFrame.KindOneofCase.Lease => new Answer("lease", id),
            ServerFrame.KindOneofCase.AckedBatch => new Answer("ackedBatch", id, MessageId: frame.AckedBatch.Acked.Select(a => long.Parse(a, System.Globalization.CultureInfo.InvariantCulture)).FirstOrDefault()),
            ServerFrame.KindOneofCase.Reply => new Answer("reply", id),
            ServerFrame.KindOneofCase.Responded => new Answer("responded", id),
            ServerFrame.KindOneofCase.Pong => new Answer("pong", id),
            var other => new Answer(other.ToString(), id),
        };
    }

    private static ByteString Utf8(string text) => ByteString.CopyFromUtf8(text);

    private static string Id(long id) => id.ToString(System.Globalization.CultureInfo.InvariantCulture);
}
