using System.Runtime.CompilerServices;
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
/// "subscribed" answer before the first message. With an <see cref="EpochAnnouncer"/> (encodings that leave the epoch
/// out of each message) messages are queued through it, so the connection is told each topic's epoch first.
/// </summary>
internal sealed class OutboxSink(Outbox outbox, MessageEncoding encoding, FrameKind kind, Func<SubscriptionNotice, OutboundFrame> notice,
    Action<SwitchboardException> failed, EpochAnnouncer? epochs = null) : IOpenableSink
{
    private readonly TaskCompletionSource _open = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public void Open() => _open.TrySetResult();

    public bool TryWrite(Message message)
    {
        if (!_open.Task.IsCompleted)
        {
            return false;
        }
        var frame = LiveFrame(message);
        return epochs is null ? outbox.TryEnqueue(frame) : epochs.TryWrite(message, frame);
    }

    // A run of one (each publish of one message is an append of its own) takes the single path: the stack chunk would be
    // zeroed on every call, and of the caller too once this is inlined into it.
    public int TryWrite(IReadOnlyList<Message> messages, int start, int count)
        => count == 1 ? (TryWrite(messages[start]) ? 1 : 0) : TryWriteRun(messages, start, count);

    [MethodImpl(MethodImplOptions.NoInlining)]
    private int TryWriteRun(IReadOnlyList<Message> messages, int start, int count)
    {
        if (!_open.Task.IsCompleted)
        {
            return 0;
        }
        // The frames of a run go to the outbox together (one lock for all), built first on the stack in chunks.
        var chunk = new FrameChunk();
        var written = 0;
        while (written < count)
        {
            Span<OutboundFrame> frames = chunk;
            frames = frames[..Math.Min(count - written, frames.Length)];
            for (var i = 0; i < frames.Length; i++)
            {
                frames[i] = LiveFrame(messages[start + written + i]);
            }
            var taken = epochs is null ? outbox.TryEnqueueMany(frames) : epochs.TryWrite(messages[start + written], frames);
            written += taken;
            if (taken < frames.Length)
            {
                break;
            }
        }
        return written;
    }

    private OutboundFrame LiveFrame(Message message) => OutboundFrame.Of(message, message.EncodedAs(encoding), kind, live: true);

    public async ValueTask WriteAsync(Message message, CancellationToken cancellationToken)
    {
        await _open.Task.WaitAsync(cancellationToken);
        var frame = OutboundFrame.Of(message, message.EncodedAs(encoding), kind, live: false);
        if (epochs is null)
        {
            await outbox.EnqueueAsync(frame, cancellationToken);
        }
        else
        {
            await epochs.WriteAsync(message, frame, cancellationToken);
        }
    }

    public async ValueTask WriteNoticeAsync(SubscriptionNotice subscriptionNotice, CancellationToken cancellationToken)
    {
        await _open.Task.WaitAsync(cancellationToken);
        await outbox.EnqueueAsync(notice(subscriptionNotice), cancellationToken);
    }

    public void Fail(SwitchboardException error) => failed(error);
}

/// <summary>Room on the stack for the frames of a run of live messages.</summary>
[InlineArray(16)]
internal struct FrameChunk
{
    private OutboundFrame _frame;
}
