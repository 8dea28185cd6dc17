using Switchboard.Core;
using Switchboard.Core.Delivery;

namespace Switchboard.Server.Connections;

/// <summary>A sink that takes no message until the transport has sent what must come first.</summary>
internal interface IOpenableSink : IMessageSink
{
    void Open();
}

/// <summary>
/// Delivers a subscription into a connection's outbox in one wire format: messages as their shared encoded
/// bytes, notices through the transport's own encoder. Until <see cref="Open"/> is called the sink takes no
/// live message (the subscription reads them back from the store), so a transport can send its
/// "subscribed" answer before the first message.
/// </summary>
internal sealed class OutboxSink(Outbox outbox, MessageEncoding encoding, FrameKind kind, Func<SubscriptionNotice, OutboundFrame> notice) : IOpenableSink
{
    private readonly TaskCompletionSource _open = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public void Open() => _open.TrySetResult();

    public bool TryWrite(Message message)
        => _open.Task.IsCompleted && outbox.TryEnqueue(OutboundFrame.Of(message, message.EncodedAs(encoding), kind, live: true));

    public async ValueTask WriteAsync(Message message, CancellationToken cancellationToken)
    {
        await _open.Task.WaitAsync(cancellationToken);
        await outbox.EnqueueAsync(OutboundFrame.Of(message, message.EncodedAs(encoding), kind, live: false), cancellationToken);
    }

    public async ValueTask WriteNoticeAsync(SubscriptionNotice subscriptionNotice, CancellationToken cancellationToken)
    {
        await _open.Task.WaitAsync(cancellationToken);
        await outbox.EnqueueAsync(notice(subscriptionNotice), cancellationToken);
    }
}
