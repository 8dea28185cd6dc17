using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Switchboard.Core;
using Switchboard.Core.Delivery;
using Switchboard.Core.Engines;
using Switchboard.Protocol.V1;
using Switchboard.Server.Connections;
using ProtoMessage = Switchboard.Protocol.V1.Message;

namespace Switchboard.Server.Sessions;

/// <summary>The <c>switchboard.v1.proto</c> subprotocol: one binary frame per ClientFrame / ServerFrame (frames.proto).</summary>
internal sealed class ProtoFrameCodec : IFrameCodec
{
    public static readonly ProtoFrameCodec Instance = new();

    private ProtoFrameCodec()
    {
    }

    public string Name => "switchboard.v1.proto";
    public FrameKind Kind => FrameKind.Binary;
    public MessageEncoding Messages { get; } = new MessageFrameEncoding();

    /// <summary>Protobuf frames are compact already: no second form.</summary>
    public CompactEnvelope? Compact => null;

    public ClientCommand Decode(ReadOnlyMemory<byte> frame)
    {
        ClientFrame parsed;
        try
        {
            parsed = ClientFrame.Parser.ParseFrom(frame.Span);
        }
        catch (InvalidProtocolBufferException ex)
        {
            throw new FrameException(null, new SwitchboardException(ErrorCode.InvalidRequest, $"The frame is not a valid switchboard.v1.ClientFrame: {ex.Message}"));
        }
        var id = parsed.Id.Length > 0 ? parsed.Id : null;
        try
        {
            return parsed.KindCase switch
            {
                ClientFrame.KindOneofCase.Publish => Publish(id, parsed.Publish),
                ClientFrame.KindOneofCase.Subscribe => new SubscribeCommand(id, parsed.Subscribe.Topics, Start(parsed.Subscribe), Resume: Snapshot(parsed.Subscribe)),
                ClientFrame.KindOneofCase.Unsubscribe => new UnsubscribeCommand(id, parsed.Unsubscribe.SubscriptionId.Length > 0 ? parsed.Unsubscribe.SubscriptionId : null, parsed.Unsubscribe.Topics),
                ClientFrame.KindOneofCase.Ping => new PingCommand(id),
                ClientFrame.KindOneofCase.Auth => parsed.Auth.Token.Length > 0 ? new AuthCommand(id, parsed.Auth.Token) : throw new SwitchboardException(ErrorCode.InvalidRequest, "auth.token is empty: send the API key or the JWT."),
                ClientFrame.KindOneofCase.Send => new SendCommand(id, parsed.Send.Queue,
                    new QueueDraft
                    {
                        Message = Draft(parsed.Send.Payload, parsed.Send.Headers, "", parsed.Send.ContentType),
                        ReplyTo = Optional(parsed.Send.ReplyTo),
                        CorrelationId = Optional(parsed.Send.CorrelationId),
                    },
                    Seconds(parsed.Send.DelaySeconds, "send.delay_seconds") ?? TimeSpan.Zero, Optional(parsed.Send.IdempotencyKey)),
                ClientFrame.KindOneofCase.Receive => Receive(id, parsed.Receive),
                ClientFrame.KindOneofCase.Ack => new SettleCommand(id, "ack", parsed.Ack.Queue, MessageId(parsed.Ack.Id), parsed.Ack.Lease, null, null),
                ClientFrame.KindOneofCase.AckBatch => new AckBatchCommand(id, parsed.AckBatch.Queue, Acks(parsed.AckBatch, "ack_batch.messages")),
                ClientFrame.KindOneofCase.Nack => new SettleCommand(id, "nack", parsed.Nack.Queue, MessageId(parsed.Nack.Id), parsed.Nack.Lease, Seconds(parsed.Nack.DelaySeconds, "nack.delay_seconds"), Optional(parsed.Nack.Error)),
                ClientFrame.KindOneofCase.Extend => new SettleCommand(id, "extend", parsed.Extend.Queue, MessageId(parsed.Extend.Id), parsed.Extend.Lease, Seconds(parsed.Extend.LeaseSeconds, "extend.lease_seconds"), null),
                ClientFrame.KindOneofCase.Request => new RequestCommand(id, parsed.Request.Queue, Draft(parsed.Request.Payload, parsed.Request.Headers, "", parsed.Request.ContentType), Seconds(parsed.Request.TimeoutSeconds, "request.timeout_seconds") ?? Hub.DefaultRequestWait),
                ClientFrame.KindOneofCase.Reply => new ReplyCommand(id, parsed.Reply.RequestId.Length > 0 ? parsed.Reply.RequestId : throw new SwitchboardException(ErrorCode.InvalidRequest, "reply.request_id is empty: give the reply_to of the request message you received."), Draft(parsed.Reply.Payload, parsed.Reply.Headers, "", parsed.Reply.ContentType), parsed.Reply.Lease.Length > 0 ? parsed.Reply.Lease : null),
                ClientFrame.KindOneofCase.None => throw new SwitchboardException(ErrorCode.InvalidRequest, $"The frame has no kind (or one this hub does not know); set one of {JsonFrameCodec.ClientKinds}."),
                _ => new UnsupportedCommand(id, parsed.KindCase.ToString().ToLowerInvariant()),
            };
        }
        catch (SwitchboardException ex)
        {
            throw new FrameException(id, ex);
        }
    }

    /// <summary>A PublishRequest as a command (shared by the WebSocket subprotocol and gRPC).</summary>
    public static PublishCommand Publish(string? id, PublishRequest request)
    {
        if (request.Messages.Count > 0)
        {
            if (!request.Payload.IsEmpty || request.Headers.Count > 0 || request.Key.Length > 0 || request.ContentType.Length > 0)
            {
                throw new SwitchboardException(ErrorCode.InvalidRequest, "publish has both messages and the fields of a single message; put every message inside messages.");
            }
            return new PublishCommand(id, request.Topic, [.. request.Messages.Select(m => Draft(m.Payload, m.Headers, m.Key, m.ContentType))], true, Optional(request.IdempotencyKey));
        }
        return new PublishCommand(id, request.Topic, [Draft(request.Payload, request.Headers, request.Key, request.ContentType)], false, Optional(request.IdempotencyKey));
    }

    internal static Core.MessageDraft Draft(ByteString payload, IDictionary<string, string> headers, string key, string contentType) => new()
    {
        Payload = payload.Memory,
        Headers = new Dictionary<string, string>(headers, StringComparer.Ordinal),
        Key = Optional(key),
        ContentType = contentType.Length > 0 ? contentType : Core.MessageDraft.JsonContentType,
    };

    private static string? Optional(string text) => text.Length > 0 ? text : null;

    /// <summary>
    /// A SubscribeRequest as a start position (shared by the WebSocket subprotocol and gRPC). A positions token that names
    /// a snapshot (<see cref="Snapshot"/>) is read by <see cref="ResumeAsync"/> instead; this start is then not used.
    /// </summary>
    public static SubscribeStart Start(SubscribeRequest request)
    {
        if (request.Positions.Length > 0)
        {
            if (request.HasAfterOffset || request.Epoch.Length > 0)
            {
                throw new SwitchboardException(ErrorCode.InvalidRequest, "positions holds several topics' positions (p1.… or p2.…); give it without after_offset or epoch.");
            }
            return Snapshot(request) is null ? SubscribeStart.AfterPositions(DecodePositions(request.Positions, "positions")) : SubscribeStart.Now;
        }
        return request.HasAfterOffset
            ? SubscribeStart.AfterPosition(new Position(request.Epoch.Length > 0 ? CheckEpoch(request.Epoch) : null, NonNegative(request.AfterOffset)))
            : SubscribeStart.Now;
    }

    /// <summary>
    /// A multi-topic positions token (<c>p1.…</c>) of a subscribe; a bad one is refused naming <paramref name="field"/>, not
    /// in the words of the SSE stream whose ids have this form (shared by both subprotocols and gRPC).
    /// </summary>
    internal static Dictionary<string, Position> DecodePositions(string token, string field) => Sse.StreamPositions.Decode(token, Refusal(field));

    /// <summary>The positions token of a request when it names a stored snapshot (<c>p2.</c>), for <see cref="ResumeAsync"/>.</summary>
    public static (string Token, string Field)? Snapshot(SubscribeRequest request)
        => request.Positions.StartsWith(SnapshotPrefix, StringComparison.Ordinal) ? (request.Positions, "positions") : null;

    /// <summary>The prefix of a positions token that names a stored snapshot of a stream's positions.</summary>
    internal const string SnapshotPrefix = "p2.";

    /// <summary>
    /// Reads a <c>p2.</c> positions token from the store (its snapshot plus its delta). One whose snapshot retention removed
    /// is refused as <see cref="ErrorCode.MessageExpired"/> naming what to do: a subscriber holds no stream that could go on
    /// and say so, as an event stream does.
    /// </summary>
    internal static async Task<SubscribeStart> ResumeAsync(Hub hub, (string Token, string Field) resume, CancellationToken cancellationToken)
    {
        var point = await Sse.ResumeTokens.DecodeAsync(hub, resume.Token, Refusal(resume.Field), cancellationToken);
        return point.ExpiredSnapshot is { } expired
            ? throw new SwitchboardException(ErrorCode.MessageExpired,
                $"{resume.Field} stands on a snapshot of positions ({expired}) that retention removed (snapshots are kept {DurationText.Format(hub.Options.ResumeSnapshotRetention)}); " +
                "subscribe without it to start from now, or after=0 for every retained message.")
            : SubscribeStart.AfterPositions(point.Positions);
    }

    private static Func<string, string> Refusal(string field) => shown =>
        $"{field} '{shown}' is not a positions token the hub issued: give it as the hub gave it (a multi-topic event stream's id, or the positions a client kept), or leave it out to start from now.";

    private static long NonNegative(long offset) => offset >= 0
        ? offset
        : throw new SwitchboardException(ErrorCode.InvalidPosition, $"after_offset is {offset}; use 0 or more (0 = every retained message).");

    private static string CheckEpoch(string epoch) => Core.Epoch.IsWellFormed(epoch)
        ? epoch
        : throw new SwitchboardException(ErrorCode.InvalidPosition, $"epoch '{epoch}' is not an epoch the hub issued.");

    public OutboundFrame Published(string? id, AppendResult result, bool batch) => Frame(new ServerFrame
    {
        Id = id ?? "",
        Published = ToReply(result, batch),
    });

    public static PublishReply ToReply(AppendResult result, bool batch) => new()
    {
        Topic = result.Topic,
        Epoch = result.Epoch,
        Offset = batch ? 0 : result.FirstOffset,
        FirstOffset = result.FirstOffset,
        LastOffset = result.LastOffset,
        Count = result.Count,
        Timestamp = Timestamp.FromDateTimeOffset(result.Timestamp),
        Replayed = result.Replayed,
    };

    public OutboundFrame Subscribed(string? id, string subscriptionId, IReadOnlyList<string> topics)
        => Frame(new ServerFrame { Id = id ?? "", Subscribed = new Subscribed { SubscriptionId = subscriptionId, Topics = { topics } } });

    public OutboundFrame Unsubscribed(string? id, string subscriptionId)
        => Frame(new ServerFrame { Id = id ?? "", Unsubscribed = new Unsubscribed { SubscriptionId = subscriptionId } });

    public OutboundFrame Notice(string subscriptionId, SubscriptionNotice notice) => Frame(new ServerFrame { Notice = ToNotice(subscriptionId, notice) });

    public static Protocol.V1.Notice ToNotice(string subscriptionId, SubscriptionNotice notice) => notice switch
    {
        MessagesMissed m => new Protocol.V1.Notice { Kind = Protocol.V1.Notice.Types.Kind.Missed, SubscriptionId = subscriptionId, Topic = m.Topic, Epoch = m.Epoch, FromOffset = m.FromOffset, ToOffset = m.ToOffset },
        EpochChanged c => new Protocol.V1.Notice { Kind = Protocol.V1.Notice.Types.Kind.EpochChanged, SubscriptionId = subscriptionId, Topic = c.Topic, Epoch = c.Epoch, PreviousEpoch = c.PreviousEpoch ?? "" },
        TopicWasDeleted d => new Protocol.V1.Notice { Kind = Protocol.V1.Notice.Types.Kind.TopicDeleted, SubscriptionId = subscriptionId, Topic = d.Topic, Epoch = d.Epoch },
        _ => new Protocol.V1.Notice { SubscriptionId = subscriptionId, Topic = notice.Topic },
    };

    public OutboundFrame Error(string? id, SwitchboardException error) => Frame(new ServerFrame { Id = id ?? "", Error = ToError(error) });

    public static Protocol.V1.Error ToError(SwitchboardException error)
    {
        var result = new Protocol.V1.Error { Code = error.Info.Name, Message = error.Message, Status = error.Info.HttpStatus };
        if (error.RetryAfterSeconds is { } retryAfter)
        {
            result.Details["retryAfter"] = retryAfter.ToString(System.Globalization.CultureInfo.InvariantCulture);
        }
        foreach (var (name, value) in error.Extensions)
        {
            if (value is not null)
            {
                result.Details[name] = Convert.ToString(value, System.Globalization.CultureInfo.InvariantCulture) ?? "";
            }
        }
        return result;
    }

    public OutboundFrame Pong(string? id) => Frame(new ServerFrame { Id = id ?? "", Pong = new Pong() });

    public OutboundFrame Authenticated(string? id, Auth.Caller caller)
    {
        var authenticated = new Authenticated { Principal = caller.Name ?? "", Scopes = { caller.Grants.Scopes } };
        if (caller.ExpiresAt is { } expires)
        {
            authenticated.ExpiresAt = Google.Protobuf.WellKnownTypes.Timestamp.FromDateTimeOffset(expires);
        }
        return Frame(new ServerFrame { Id = id ?? "", Authenticated = authenticated });
    }

    public OutboundFrame Sent(string? id, EnqueueResult result)
        => Frame(new ServerFrame { Id = id ?? "", Sent = new SendReply { Queue = result.Queue, Id = result.FirstId.ToString(System.Globalization.CultureInfo.InvariantCulture), Replayed = result.Replayed } });

    public OutboundFrame QueueMessage(string? id, Core.QueueMessage message)
        => Frame(new ServerFrame { Id = id ?? "", QueueMessage = Grpc.SwitchboardGrpcService.ToProto(message) });

    public OutboundFrame Settled(string? id, long messageId, DateTimeOffset? leaseExpiresAt, NackResult? nacked = null)
        => Frame(new ServerFrame { Id = id ?? "", Lease = Grpc.SwitchboardGrpcService.LeaseReply(messageId.ToString(System.Globalization.CultureInfo.InvariantCulture), leaseExpiresAt, nacked) });

    public OutboundFrame AckedBatch(string? id, string queue, IReadOnlyList<AckOutcome> outcomes)
        => Frame(new ServerFrame { Id = id ?? "", AckedBatch = AckedBatch(queue, outcomes) });

    /// <summary>The acks of an AckBatchRequest (shared by the WebSocket subprotocol and gRPC); <paramref name="field"/> names the list in errors.</summary>
    public static List<LeaseAck> Acks(AckBatchRequest request, string field)
        => [.. request.Messages.Select((item, i) => new LeaseAck(MessageId(item.Id, $"{field}[{i}].id"), item.Lease))];

    /// <summary>What an ack batch did: the ids acked, and each one not acked with the error its own ack would have had.</summary>
    public static AckBatchReply AckedBatch(string queue, IReadOnlyList<AckOutcome> outcomes)
    {
        var reply = new AckBatchReply { Queue = queue };
        foreach (var (messageId, error) in outcomes)
        {
            var text = messageId.ToString(System.Globalization.CultureInfo.InvariantCulture);
            if (error is null)
            {
                reply.Acked.Add(text);
            }
            else
            {
                reply.Failed.Add(new AckBatchFailure { Id = text, Error = ToError(error) });
            }
        }
        return reply;
    }

    public OutboundFrame Reply(string? id, ReplyRecord slot)
    {
        var reply = new Reply { RequestId = slot.Id };
        if (slot.Reply is { } answer)
        {
            reply.Payload = ByteString.CopyFrom(answer.Payload.Span);
            reply.ContentType = answer.ContentType == Core.MessageDraft.JsonContentType ? "" : answer.ContentType;
            foreach (var (name, value) in answer.Headers)
            {
                reply.Headers[name] = value;
            }
        }
        return Frame(new ServerFrame { Id = id ?? "", Reply = reply });
    }

    public OutboundFrame Responded(string? id, string requestId) => Frame(new ServerFrame { Id = id ?? "", Responded = new Responded { RequestId = requestId } });

    /// <summary>A QueueMessage id as protobuf carries it (a string of digits); <paramref name="field"/> names it in the refusal (shared with gRPC).</summary>
    internal static long MessageId(string text, string field = "id") => Rest.Parsing.QueryValues.TryParseWhole(text, out var id) && id > 0
        ? id
        : throw new SwitchboardException(ErrorCode.InvalidRequest, $"{field} '{SwitchboardException.Echo(text)}' is not a message id; use the id of the received QueueMessage.");

    private static ReceiveCommand Receive(string? id, ReceiveRequest receive)
    {
        NoWait(receive, "receive.wait_seconds");
        return new ReceiveCommand(id, receive.Queue, ReceiveMax(receive), Seconds(receive.LeaseSeconds, "receive.lease_seconds"));
    }

    /// <summary>
    /// A consumer stream (a receive frame, the Receive call) waits for as long as it is open: a wait given for it would
    /// be silently ignored, so it is refused under <paramref name="field"/> (a JSON receive frame has no such field).
    /// </summary>
    internal static void NoWait(ReceiveRequest receive, string field)
    {
        if (receive.WaitSeconds != 0)
        {
            throw new SwitchboardException(ErrorCode.InvalidRequest,
                $"{field} is {receive.WaitSeconds}; a receive stream waits for messages for as long as it is open, so leave it 0. For one receive that waits a bounded time, use POST /v1/queues/{{queue}}/receive?wait=SECONDS.");
        }
    }

    /// <summary>The credit window: 1 when unset, as a JSON receive without "max"; an explicit 0 stops consuming.</summary>
    private static int ReceiveMax(ReceiveRequest receive) => !receive.HasMax ? 1
        : receive.Max >= 0 ? receive.Max
        : throw new SwitchboardException(ErrorCode.InvalidRequest, $"receive.max is {receive.Max}; it is the credit window, 1 to {Hub.MaxReceive} messages leased at once (0 stops consuming).");

    /// <summary>
    /// A frame's count of seconds (0: unset): negative refused; the range is the hub's check, under the field's name the
    /// session hands it, as for JSON frames (a decoded frame says what the client asked for). Past ten years is held as ten years, past every range.
    /// </summary>
    private static TimeSpan? Seconds(long seconds, string name) => seconds switch
    {
        0 => null,
        < 0 => throw new SwitchboardException(ErrorCode.InvalidRequest, $"{name} is {seconds}; it cannot be negative."),
        _ => TimeSpan.FromSeconds(Math.Min(seconds, 3650L * 24 * 3600)),
    };

    /// <summary>
    /// A count of seconds in a unary gRPC call (0: unset), refused under its protobuf field name with the value as sent
    /// when negative or over <paramref name="max"/> (the hub's own range checks would name the JSON spelling, and show
    /// a value already clamped).
    /// </summary>
    internal static TimeSpan? Seconds(long seconds, string field, TimeSpan max)
    {
        if (seconds < 0 || seconds > max.TotalSeconds)
        {
            throw new SwitchboardException(ErrorCode.InvalidRequest, seconds < 0
                ? $"{field} is {seconds}; it cannot be negative."
                : $"{field} is {seconds}; the most is {max.TotalSeconds:0} ({DurationText.Format(max)}).");
        }
        return seconds == 0 ? null : TimeSpan.FromSeconds(seconds);
    }

    /// <summary>A delay (send, nack): 0 to 7 days; 0 is none (send) or the backoff (nack).</summary>
    internal static TimeSpan? Delay(long seconds, string field) => Seconds(seconds, field, QueueConfig.MaxDelay);

    /// <summary>A lease (receive, extend): 1 s to 12 h; 0 is the queue's own.</summary>
    internal static TimeSpan? Lease(long seconds, string field) => Seconds(seconds, field, QueueConfig.MaxLease);

    /// <summary>
    /// A request's wait for its reply: negative refused here; the range (1 s to the hub's longest wait) is the hub's
    /// check, which names the field too. Ten years stands for "more than any wait".
    /// </summary>
    internal static TimeSpan? Timeout(long seconds, string field) => Seconds(Math.Min(seconds, 3650L * 24 * 3600), field, TimeSpan.FromDays(3650));

    private static OutboundFrame Frame(ServerFrame frame) => new(frame.ToByteArray(), FrameKind.Binary);

    public static ProtoMessage ToProto(Core.Message message)
    {
        var proto = new ProtoMessage
        {
            Topic = message.Topic,
            Epoch = message.Epoch,
            Offset = message.Offset,
            Timestamp = Timestamp.FromDateTimeOffset(message.Timestamp),
            Key = message.Key ?? "",
            ContentType = message.ContentType == Core.MessageDraft.JsonContentType ? "" : message.ContentType, // empty = application/json
            Payload = UnsafeByteOperations.UnsafeWrap(message.Payload), // messages are immutable: no copy
        };
        foreach (var (name, value) in message.Headers)
        {
            proto.Headers[name] = value;
        }
        return proto;
    }

    /// <summary>A ServerFrame holding the message: the same bytes for every protobuf subscriber.</summary>
    private sealed class MessageFrameEncoding : MessageEncoding
    {
        protected override byte[] Encode(Core.Message message) => new ServerFrame { Message = ToProto(message) }.ToByteArray();
    }
}
