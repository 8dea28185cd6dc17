using Switchboard.Core;
using Switchboard.Core.Delivery;
using Switchboard.Core.Engines;
using Switchboard.Server.Connections;

namespace Switchboard.Server.Sessions;

/// <summary>A compact form of messages: how they are encoded, and how the connection is told a topic's epoch they leave out.</summary>
internal sealed record CompactEnvelope(MessageEncoding Messages, Func<EpochAnnounced, OutboundFrame> Announce);

/// <summary>One wire format of the multiplexed protocol: decodes client frames, encodes the hub's answers.</summary>
internal interface IFrameCodec
{
    /// <summary>The subprotocol name, e.g. <c>switchboard.v1.json</c>.</summary>
    string Name { get; }

    /// <summary>Text or binary frames.</summary>
    FrameKind Kind { get; }

    /// <summary>How messages are encoded (once per message, shared by every connection of this format).</summary>
    MessageEncoding Messages { get; }

    /// <summary>The compact message form subscriptions may ask for (<c>"envelope": "compact"</c>); null when the format has none.</summary>
    CompactEnvelope? Compact { get; }

    /// <summary>Decodes one complete frame; throws <see cref="FrameException"/> with what to fix.</summary>
    ClientCommand Decode(ReadOnlyMemory<byte> frame);

    OutboundFrame Published(string? id, AppendResult result, bool batch);
    OutboundFrame Subscribed(string? id, string subscriptionId, IReadOnlyList<string> topics);
    OutboundFrame Unsubscribed(string? id, string subscriptionId);
    OutboundFrame Notice(string subscriptionId, SubscriptionNotice notice);
    OutboundFrame Error(string? id, SwitchboardException error);
    OutboundFrame Pong(string? id);
    OutboundFrame Authenticated(string? id, Auth.Caller caller);
    OutboundFrame Sent(string? id, EnqueueResult result);
    OutboundFrame QueueMessage(string? id, QueueMessage message);
    OutboundFrame Settled(string? id, long messageId, DateTimeOffset? leaseExpiresAt, NackResult? nacked = null);
    OutboundFrame AckedBatch(string? id, string queue, IReadOnlyList<AckOutcome> outcomes);
    OutboundFrame Reply(string? id, ReplyRecord slot);
    OutboundFrame Responded(string? id, string requestId);
}
