using System.Buffers;
using System.Text.Json;
using Switchboard.Core;
using Switchboard.Core.Delivery;
using Switchboard.Core.Engines;
using Switchboard.Server.Connections;
using Switchboard.Server.Rest.Json;
using Switchboard.Server.Rest.Parsing;

namespace Switchboard.Server.Sessions;

/// <summary>The queue frames of the JSON subprotocol: send, receive, ack, nack, extend, request, reply, and their answers.</summary>
internal sealed partial class JsonFrameCodec
{
    /// <summary>send / request / reply: a message's fields (payload, headers, key, contentType) plus the frame's own.</summary>
    private static ClientCommand ReadMessageFrame(string kind, ref Utf8JsonReader reader, ReadOnlyMemory<byte> frame)
    {
        RequireObject(ref reader, kind, kind == "reply" ? "{\"requestId\": \"…\", \"payload\": {…}}" : "{\"queue\": \"jobs\", \"payload\": {…}}");
        string? queue = null, idempotencyKey = null, requestId = null, replyTo = null, correlationId = null, lease = null;
        TimeSpan? seconds = null;
        var single = new PublishBodyReader.Envelope();
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            var name = reader.GetString()!;
            reader.Read();
            switch (name)
            {
                case "queue" when kind != "reply":
                    queue = String(ref reader, kind + ".queue");
                    break;
                case "idempotencyKey" when kind == "send":
                    idempotencyKey = String(ref reader, "send.idempotencyKey");
                    break;
                case "replyTo" when kind == "send":
                    replyTo = String(ref reader, "send.replyTo");
                    break;
                case "correlationId" when kind == "send":
                    correlationId = String(ref reader, "send.correlationId");
                    break;
                case "delaySeconds" when kind == "send":
                case "timeoutSeconds" when kind == "request":
                    seconds = Seconds(ref reader, kind + "." + name, RangeOf(name));
                    break;
                case "requestId" when kind == "reply":
                    requestId = String(ref reader, "reply.requestId");
                    break;
                case "lease" when kind == "reply":
                    lease = String(ref reader, "reply.lease");
                    break;
                default:
                    single.ReadValue(name, ref reader, frame, kind);
                    break;
            }
        }
        var draft = single.ToDraft(kind);
        if (kind == "reply")
        {
            return new ReplyCommand(null, requestId is { Length: > 0 } ? requestId : throw Invalid("reply needs the \"requestId\" (the replyTo of the request you received)."), draft, lease);
        }
        var name2 = queue ?? throw Invalid($"{kind} needs a \"queue\".");
        return kind == "send"
            ? new SendCommand(null, name2, new QueueDraft { Message = draft, ReplyTo = replyTo, CorrelationId = correlationId }, seconds ?? TimeSpan.Zero, idempotencyKey)
            : new RequestCommand(null, name2, draft, seconds ?? Hub.DefaultRequestWait);
    }

    private static ReceiveCommand ReadReceive(ref Utf8JsonReader reader)
    {
        RequireObject(ref reader, "receive", "{\"queue\": \"jobs\", \"max\": 10, \"leaseSeconds\": 60}");
        string? queue = null;
        var max = 1;
        TimeSpan? lease = null;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            var name = reader.GetString()!;
            reader.Read();
            switch (name)
            {
                case "queue":
                    queue = String(ref reader, "receive.queue");
                    break;
                case "max":
                    max = reader.TokenType == JsonTokenType.Number && reader.TryGetInt32(out var m) && m >= 0 ? m : throw Invalid($"receive.max is the credit window: 1 to {Hub.MaxReceive} messages leased at once (0 stops consuming).");
                    break;
                case "leaseSeconds":
                    lease = Seconds(ref reader, "receive.leaseSeconds", RangeOf("leaseSeconds"));
                    break;
                default:
                    throw Invalid($"receive has no field \"{name}\"; it takes queue, max and leaseSeconds.");
            }
        }
        return new ReceiveCommand(null, queue ?? throw Invalid("receive needs a \"queue\"."), max, lease);
    }

    private static SettleCommand ReadSettle(string kind, ref Utf8JsonReader reader)
    {
        RequireObject(ref reader, kind, $"{{\"queue\": \"jobs\", \"id\": 17, \"lease\": \"…\"}}");
        string? queue = null, lease = null, error = null;
        long? id = null;
        TimeSpan? duration = null;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            var name = reader.GetString()!;
            reader.Read();
            switch (name)
            {
                case "queue":
                    queue = String(ref reader, kind + ".queue");
                    break;
                case "id":
                    id = reader.TokenType == JsonTokenType.Number && reader.TryGetInt64(out var n) ? n
                        : reader.TokenType == JsonTokenType.String && QueryValues.TryParseWhole(reader.GetString(), out var t) ? t
                        : throw Invalid($"{kind}.id is the id of the received message (a whole number).");
                    break;
                case "lease":
                    lease = String(ref reader, kind + ".lease");
                    break;
                case "delaySeconds" when kind == "nack":
                case "leaseSeconds" when kind == "extend":
                    duration = Seconds(ref reader, kind + "." + name, RangeOf(name));
                    break;
                case "error" when kind == "nack":
                    error = String(ref reader, "nack.error");
                    break;
                default:
                    throw Invalid($"{kind} has no field \"{name}\"; see docs/websocket-protocol.md.");
            }
        }
        return new SettleCommand(null, kind, queue ?? throw Invalid($"{kind} needs a \"queue\"."), id ?? throw Invalid($"{kind} needs the message \"id\"."),
            lease ?? throw Invalid($"{kind} needs the \"lease\" token of the received message."), duration, error);
    }

    private static AckBatchCommand ReadAckBatch(ref Utf8JsonReader reader, ReadOnlyMemory<byte> frame)
    {
        const string Shape = "{\"queue\": \"jobs\", \"messages\": [{\"id\": 17, \"lease\": \"…\"}, …]}";
        RequireObject(ref reader, "ackBatch", Shape);
        string? queue = null;
        List<LeaseAck>? acks = null;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            var name = reader.GetString()!;
            reader.Read();
            switch (name)
            {
                case "queue":
                    queue = String(ref reader, "ackBatch.queue");
                    break;
                case "messages" when reader.TokenType == JsonTokenType.StartArray:
                    // The items as REST's ack batch reads them: the same checks, the same words.
                    var start = (int)reader.TokenStartIndex;
                    reader.Skip();
                    using (var items = JsonDocument.Parse(frame[start..(int)reader.BytesConsumed]))
                    {
                        acks = QueueDocuments.AckItems(items.RootElement, "ackBatch.messages");
                    }
                    break;
                case "messages":
                    throw Invalid($"ackBatch.messages must be an array of the received messages' ids and leases: {Shape}.");
                default:
                    throw Invalid($"ackBatch has no field \"{name}\"; it takes queue and messages: {Shape}.");
            }
        }
        return new AckBatchCommand(null, queue ?? throw Invalid("ackBatch needs a \"queue\"."), acks ?? throw Invalid($"ackBatch needs \"messages\": {Shape}."));
    }

    /// <summary>
    /// A number of seconds, read here only as far as its form: the hub checks the range and names it when refusing
    /// (<paramref name="range"/> says it for a value that is not even a number of seconds).
    /// </summary>
    private static TimeSpan Seconds(ref Utf8JsonReader reader, string field, string range)
        => reader.TokenType == JsonTokenType.Number && reader.TryGetDouble(out var seconds) && seconds >= 0 && seconds <= 3650d * 86400
            ? TimeSpan.FromSeconds(seconds)
            : throw Invalid($"{field} must be a number of seconds, {range}.");

    private static string RangeOf(string field) => field switch
    {
        "leaseSeconds" => $"1 to {QueueConfig.MaxLease.TotalSeconds:0} (12 h)",
        "timeoutSeconds" => "from 1 up to the hub's longest wait (60 by default)",
        _ => $"0 to {QueueConfig.MaxDelay.TotalSeconds:0} (7 days)",
    };

    public OutboundFrame Sent(string? id, EnqueueResult result) => Frame(id, "sent", w =>
    {
        w.WriteString("queue", result.Queue);
        w.WriteNumber("id", result.FirstId);
        if (result.Replayed)
        {
            w.WriteBoolean("replayed", true);
        }
    });

    public OutboundFrame QueueMessage(string? id, QueueMessage message) => Frame(id, "queueMessage", w =>
    {
        // The queue's name first, then the message as REST answers it.
        w.WriteString("queue", message.Queue);
        Rest.Json.QueueJson.WriteMessageFields(w, message);
    });

    public OutboundFrame Settled(string? id, long messageId, DateTimeOffset? leaseExpiresAt, NackResult? nacked = null) => Frame(id, "lease", w =>
    {
        w.WriteNumber("id", messageId);
        if (leaseExpiresAt is { } until)
        {
            w.WriteString("leaseExpiresAt", until.UtcDateTime);
        }
        if (nacked is not null)
        {
            Rest.Json.QueueJson.WriteNackFields(w, nacked);
        }
    });

    public OutboundFrame AckedBatch(string? id, string queue, IReadOnlyList<AckOutcome> outcomes) => Frame(id, "ackedBatch", w =>
    {
        w.WriteString("queue", queue);
        w.WriteStartArray("acked");
        foreach (var outcome in outcomes.Where(o => o.Error is null))
        {
            w.WriteNumberValue(outcome.Id);
        }
        w.WriteEndArray();
        w.WriteStartArray("failed");
        foreach (var (messageId, error) in outcomes.Where(o => o.Error is not null))
        {
            w.WriteStartObject();
            w.WriteNumber("id", messageId);
            w.WritePropertyName("error");
            WriteError(w, error!);
            w.WriteEndObject();
        }
        w.WriteEndArray();
    });

    public OutboundFrame Reply(string? id, ReplyRecord slot) => Frame(id, "reply", w => Rest.Json.QueueJson.WriteReplyFields(w, slot, "requestId"));

    public OutboundFrame Responded(string? id, string requestId) => Frame(id, "responded", w => w.WriteString("requestId", requestId));
}
