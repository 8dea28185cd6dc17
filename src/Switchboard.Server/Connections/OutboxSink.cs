using Switchboard.Core;
using Switchboard.Core.Delivery;

namespace Switchboard.Server.Connections;

/// <summary>A sink that takes no message until the transport has sent what must come first.</summary>
internal interface IOpenableSink : IMessageSink
{
    void Open();
}

/// <summary>
/// Told to a compact subscriber before the first message of a topic, and before the first message of a new incarnation
/// that no <see cref="EpochChanged"/> or <see cref="MessagesMissed"/> notice announced: the messages of
/// <paramref name="Topic"/> that follow belong to <paramref name="Epoch"/>. Compact messages carry only their offset.
/// </summary>
internal sealed record EpochAnnounced(string Topic, string Epoch) : SubscriptionNotice(Topic);

/// <summary>
/// Delivers a subscription into a connection's outbox in one wire format: messages as their shared encoded
/// bytes, notices through the transport's own encoder. Until <see cref="Open"/> is called the sink takes no
/// live message (the subscription reads them back from the store), so a transport can send its
/// "subscribed" answer before the first message.
/// </summary>
/// <remarks>
/// With <paramref name="announceEpochs"/> (encodings that leave the epoch out of each message) the sink sends an
/// <see cref="EpochAnnounced"/> notice before a message whose topic's epoch this subscriber has not been told yet.
/// A subscription writes one topic from one thread at a time, in offset order, so each topic's announcement precedes its
/// messages; the table is locked only when the topic is not the last one announced.
/// </remarks>
internal sealed class OutboxSink(Outbox outbox, MessageEncoding encoding, FrameKind kind, Func<SubscriptionNotice, OutboundFrame> notice, bool announceEpochs = false) : IOpenableSink
{
    private readonly TaskCompletionSource _open = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Dictionary<string, string>? _epochs = announceEpochs ? new(StringComparer.Ordinal) : null;
    private Announced? _last;

    public void Open() => _open.TrySetResult();

    public bool TryWrite(Message message)
    {
        if (!_open.Task.IsCompleted)
        {
            return false;
        }
        if (_epochs is not null && !IsAnnounced(message) && !(outbox.TryEnqueue(notice(new EpochAnnounced(message.Topic, message.Epoch))) && Remember(message.Topic, message.Epoch)))
        {
            return false;
        }
        return outbox.TryEnqueue(OutboundFrame.Of(message, message.EncodedAs(encoding), kind, live: true));
    }

    public async ValueTask WriteAsync(Message message, CancellationToken cancellationToken)
    {
        await _open.Task.WaitAsync(cancellationToken);
        if (_epochs is not null && !IsAnnounced(message))
        {
            await outbox.EnqueueAsync(notice(new EpochAnnounced(message.Topic, message.Epoch)), cancellationToken);
            Remember(message.Topic, message.Epoch);
        }
        await outbox.EnqueueAsync(OutboundFrame.Of(message, message.EncodedAs(encoding), kind, live: false), cancellationToken);
    }

    public async ValueTask WriteNoticeAsync(SubscriptionNotice subscriptionNotice, CancellationToken cancellationToken)
    {
        await _open.Task.WaitAsync(cancellationToken);
        await outbox.EnqueueAsync(notice(subscriptionNotice), cancellationToken);
        if (_epochs is not null)
        {
            // These notices name the epoch the topic's next messages belong to: no announcement needed after them.
            switch (subscriptionNotice)
            {
                case EpochChanged changed:
                    Remember(changed.Topic, changed.Epoch);
                    break;
                case MessagesMissed missed:
                    Remember(missed.Topic, missed.Epoch);
                    break;
            }
        }
    }

    private bool IsAnnounced(Message message)
    {
        var last = Volatile.Read(ref _last);
        if (last is not null && string.Equals(last.Topic, message.Topic, StringComparison.Ordinal) && string.Equals(last.Epoch, message.Epoch, StringComparison.Ordinal))
        {
            return true;
        }
        lock (_epochs!)
        {
            return _epochs.TryGetValue(message.Topic, out var epoch) && string.Equals(epoch, message.Epoch, StringComparison.Ordinal);
        }
    }

    private bool Remember(string topic, string epoch)
    {
        lock (_epochs!)
        {
            _epochs[topic] = epoch;
        }
        Volatile.Write(ref _last, new Announced(topic, epoch));
        return true;
    }

    private sealed record Announced(string Topic, string Epoch);
}
