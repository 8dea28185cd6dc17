using Switchboard.Core;
using Switchboard.Core.Delivery;

namespace Switchboard.Server.Sessions;

/// <summary>A decoded client frame, whatever its wire format (JSON text, protobuf binary, gRPC).</summary>
/// <param name="Id">The frame's id, echoed in the answer.</param>
internal abstract record ClientCommand(string? Id);

internal sealed record PublishCommand(string? Id, string Topic, IReadOnlyList<MessageDraft> Messages, bool IsBatch, string? IdempotencyKey) : ClientCommand(Id);

/// <summary>Subscribe to topics or patterns from a start.</summary>
/// <param name="Id">The frame's id: the subscription's id unless absent.</param>
/// <param name="Topics">Topic names or patterns.</param>
/// <param name="Start">Where delivery starts.</param>
/// <param name="Compact">Messages in the compact envelope (JSON only): no epoch or timestamp in each, the epoch announced once per topic.</param>
/// <param name="Resume">
/// A positions token that names a stored snapshot (<c>p2.</c>), with the field it came in: read from the store before
/// subscribing (<see cref="ProtoFrameCodec.ResumeAsync"/>), in place of <paramref name="Start"/>. A codec does not wait on the store.
/// </param>
internal sealed record SubscribeCommand(string? Id, IReadOnlyList<string> Topics, SubscribeStart Start, bool Compact = false, (string Token, string Field)? Resume = null) : ClientCommand(Id);

internal sealed record UnsubscribeCommand(string? Id, string? SubscriptionId, IReadOnlyList<string> Topics) : ClientCommand(Id);

internal sealed record PingCommand(string? Id) : ClientCommand(Id);

/// <summary>A credential sent over the connection: the first frame (browsers), or a refresh before it expires.</summary>
internal sealed record AuthCommand(string? Id, string Token) : ClientCommand(Id);

/// <summary>A frame kind this version of the hub does not serve.</summary>
internal sealed record UnsupportedCommand(string? Id, string Kind) : ClientCommand(Id);

internal sealed record SendCommand(string? Id, string Queue, QueueDraft Message, TimeSpan Delay, string? IdempotencyKey) : ClientCommand(Id);

/// <summary>Start consuming a queue on this connection, with at most <paramref name="Max"/> messages leased at once (0 stops).</summary>
internal sealed record ReceiveCommand(string? Id, string Queue, int Max, TimeSpan? Lease) : ClientCommand(Id);

/// <summary>ack, nack or extend of a leased message.</summary>
internal sealed record SettleCommand(string? Id, string Kind, string Queue, long MessageId, string Lease, TimeSpan? Duration, string? Error) : ClientCommand(Id);

/// <summary>Acks of several received messages of one queue at once (checked whole by the hub, then each stands alone).</summary>
internal sealed record AckBatchCommand(string? Id, string Queue, IReadOnlyList<LeaseAck> Acks) : ClientCommand(Id);

internal sealed record RequestCommand(string? Id, string Queue, MessageDraft Message, TimeSpan Timeout) : ClientCommand(Id);

/// <summary>Answers a request; with <paramref name="Lease"/> (the request message's) also acks the request.</summary>
internal sealed record ReplyCommand(string? Id, string RequestId, MessageDraft Message, string? Lease = null) : ClientCommand(Id);

/// <summary>A frame that could not be decoded; answered with an error carrying its id when the id was readable.</summary>
internal sealed class FrameException(string? id, SwitchboardException error) : Exception(error.Message, error)
{
    public string? Id { get; } = id;
    public SwitchboardException Error { get; } = error;
}
