using System.Buffers;
using Google.Protobuf;
using Grpc.Core;
using Switchboard.Core;
using Switchboard.Protocol.V1;
using QueueMessage = Switchboard.Protocol.V1.QueueMessage;

namespace Switchboard.Server.Grpc;

/// <summary>Bytes already encoded as a protobuf message (a ServerFrame or a Message), written to the stream as they are.</summary>
internal sealed class Encoded(ReadOnlyMemory<byte> bytes)
{
    public ReadOnlyMemory<byte> Bytes { get; } = bytes;
}

/// <summary>A request kept as its bytes, decoded by the session that handles it (as WebSocket frames are).</summary>
internal sealed class Raw(byte[] bytes)
{
    public byte[] Bytes { get; } = bytes;
}

/// <summary>
/// The methods of <c>switchboard.v1.Switchboard</c> (protos/switchboard/v1/switchboard.proto). Streams whose frames
/// are fanned out use pass-through marshallers: a message is encoded once, cached on it, and the same bytes are
/// written to every subscriber; on the wire they are the ordinary protobuf messages the .proto declares.
/// </summary>
internal static class GrpcMethods
{
    public const string Service = "switchboard.v1.Switchboard";

    private static Marshaller<T> Proto<T>(MessageParser<T> parser) where T : class, IMessage<T>
        => Marshallers.Create(message => message.ToByteArray(), bytes =>
        {
            try
            {
                return parser.ParseFrom(bytes);
            }
            catch (InvalidProtocolBufferException ex)
            {
                // The client's mistake: INVALID_ARGUMENT with what was wrong, not INTERNAL (and not logged as a fault).
                throw GrpcErrors.ToRpc(ErrorCode.InvalidRequest, $"The request is not a valid {typeof(T).Name} protobuf message: {ex.Message}");
            }
        });

    private static readonly Marshaller<Encoded> EncodedMarshaller = new(
        (encoded, context) =>
        {
            context.SetPayloadLength(encoded.Bytes.Length);
            var writer = context.GetBufferWriter();
            writer.Write(encoded.Bytes.Span);
            context.Complete();
        },
        context => new Encoded(context.PayloadAsNewBuffer()));

    private static readonly Marshaller<Raw> RawMarshaller = new(
        (raw, context) => context.Complete(raw.Bytes),
        context => new Raw(context.PayloadAsNewBuffer()));

    public static readonly Method<PublishRequest, PublishReply> Publish = new(MethodType.Unary, Service, "Publish", Proto(PublishRequest.Parser), Proto(PublishReply.Parser));
    public static readonly Method<SubscribeRequest, Encoded> Subscribe = new(MethodType.ServerStreaming, Service, "Subscribe", Proto(SubscribeRequest.Parser), EncodedMarshaller);
    public static readonly Method<PublishRequest, PublishSummary> PublishStream = new(MethodType.ClientStreaming, Service, "PublishStream", Proto(PublishRequest.Parser), Proto(PublishSummary.Parser));
    public static readonly Method<Raw, Encoded> Connect = new(MethodType.DuplexStreaming, Service, "Connect", RawMarshaller, EncodedMarshaller);
    public static readonly Method<SendRequest, SendReply> Send = new(MethodType.Unary, Service, "Send", Proto(SendRequest.Parser), Proto(SendReply.Parser));
    public static readonly Method<ReceiveRequest, QueueMessage> Receive = new(MethodType.ServerStreaming, Service, "Receive", Proto(ReceiveRequest.Parser), Proto(QueueMessage.Parser));
    public static readonly Method<AckRequest, LeaseReply> Ack = new(MethodType.Unary, Service, "Ack", Proto(AckRequest.Parser), Proto(LeaseReply.Parser));
    public static readonly Method<AckBatchRequest, AckBatchReply> AckBatch = new(MethodType.Unary, Service, "AckBatch", Proto(AckBatchRequest.Parser), Proto(AckBatchReply.Parser));
    public static readonly Method<NackRequest, LeaseReply> Nack = new(MethodType.Unary, Service, "Nack", Proto(NackRequest.Parser), Proto(LeaseReply.Parser));
    public static readonly Method<ExtendRequest, LeaseReply> Extend = new(MethodType.Unary, Service, "Extend", Proto(ExtendRequest.Parser), Proto(LeaseReply.Parser));
    public static readonly Method<RequestRequest, Reply> Request = new(MethodType.Unary, Service, "Request", Proto(RequestRequest.Parser), Proto(Reply.Parser));
    public static readonly Method<ReplyRequest, Responded> Respond = new(MethodType.Unary, Service, "Respond", Proto(ReplyRequest.Parser), Proto(Responded.Parser));
}
