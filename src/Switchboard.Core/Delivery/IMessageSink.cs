namespace Switchboard.Core.Delivery;

/// <summary>
/// Where a subscription delivers: a transport's bounded outbound buffer. Writes for one topic arrive in
/// offset order; a sink may be written from several threads (one per topic at most at a time).
/// </summary>
public interface IMessageSink
{
    /// <summary>
    /// Queues a live message without waiting. Returns false when the buffer is full; the subscription then
    /// reads the message back from the store once the sink has room, so nothing is lost and memory stays bounded.
    /// </summary>
    bool TryWrite(Message message);

    /// <summary>
    /// Queues <paramref name="count"/> live messages of one topic incarnation (one append), in offset order from <paramref name="start"/>, without
    /// waiting: as many as fit, in order. Returns how many were taken (the rest are read back from the store like a refused
    /// <see cref="TryWrite(Message)"/>). A sink that can take a run at once (one lock, not one per message) overrides it.
    /// </summary>
    int TryWrite(IReadOnlyList<Message> messages, int start, int count)
    {
        var written = 0;
        while (written < count && TryWrite(messages[start + written]))
        {
            written++;
        }
        return written;
    }

    /// <summary>Queues a message, waiting for room (used while catching up from history).</summary>
    ValueTask WriteAsync(Message message, CancellationToken cancellationToken);

    /// <summary>Queues a notice (a gap, a new incarnation, a deletion) in order with the messages.</summary>
    ValueTask WriteNoticeAsync(SubscriptionNotice notice, CancellationToken cancellationToken);

    /// <summary>
    /// The subscription stopped and will deliver nothing more: reading history failed in a way it does not retry (a
    /// store that is merely away is retried, not reported). A transport's sink ends the subscriber's stream with
    /// <paramref name="error"/> (a close code, a final event, a status), so the client subscribes again from its last
    /// position instead of waiting on a stream that stays silent. Called at most once, never concurrently with a write.
    /// No default: a sink that did nothing here would leave its subscriber waiting for good.
    /// </summary>
    void Fail(SwitchboardException error);
}

/// <summary>Something a subscriber must be told instead of a message: never a silent skip.</summary>
/// <param name="Topic">The topic it concerns.</param>
public abstract record SubscriptionNotice(string Topic)
{
    /// <summary>
    /// The topic's position once the subscriber has been told: a resume from it goes on after the notice instead of
    /// being told it again (a multi-topic stream's id and a poll's <c>next</c> move there, as they do past a message).
    /// </summary>
    public abstract Position ResumeAfter { get; }
}

/// <summary>
/// Messages <paramref name="FromOffset"/>..<paramref name="ToOffset"/> were removed by retention before they could be
/// delivered; delivery continues at <paramref name="ToOffset"/> + 1.
/// </summary>
public sealed record MessagesMissed(string Topic, string Epoch, long FromOffset, long ToOffset) : SubscriptionNotice(Topic)
{
    /// <inheritdoc/>
    public override Position ResumeAfter => new(Epoch, ToOffset);
}

/// <summary>
/// The position's incarnation (<paramref name="PreviousEpoch"/>) is not the topic's current one
/// (<paramref name="Epoch"/>); delivery continues from the start of the current incarnation.
/// </summary>
public sealed record EpochChanged(string Topic, string? PreviousEpoch, string Epoch) : SubscriptionNotice(Topic)
{
    /// <inheritdoc/>
    public override Position ResumeAfter => new(Epoch, 0);
}

/// <summary>
/// The topic incarnation <paramref name="Epoch"/> was deleted (while subscribed, or before a resume from one of its
/// positions); whatever incarnation comes next is delivered from its first message.
/// </summary>
public sealed record TopicWasDeleted(string Topic, string Epoch) : SubscriptionNotice(Topic)
{
    /// <inheritdoc/>
    /// <remarks>No epoch: any incarnation, from its start (a resume no longer names the deleted one, so it is not told again).</remarks>
    public override Position ResumeAfter => new(null, 0);
}
