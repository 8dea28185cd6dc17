using Switchboard.Core;

namespace Switchboard.Server.Connections;

/// <summary>
/// Told to a connection before a compact message whose topic's epoch the connection was not told last (its first
/// message there, or another incarnation): the compact messages of <paramref name="Topic"/> that follow on this
/// connection belong to <paramref name="Epoch"/>. Compact messages carry only their offset.
/// </summary>
internal sealed record EpochAnnounced(string Topic, string Epoch);

/// <summary>
/// The compact envelope's epochs, per connection. Compact frames carry no subscription id, and every subscription of
/// the connection that matches a topic reads them, so the epoch is announced for the connection as a whole, in outbox
/// order: each compact frame is queued together with the announcement it needs, decided under the outbox's lock (what
/// the connection was told is kept under that lock too), so no other subscription's frame of another incarnation can
/// come between them.
/// </summary>
internal sealed class EpochAnnouncer(Outbox outbox, Func<EpochAnnounced, OutboundFrame> announcement)
{
    // A connection following very many topics starts over rather than grow without end (it is only told again).
    private const int MaxTopics = 10_000;

    // Under the outbox's lock.
    private readonly Dictionary<string, string> _told = new(StringComparer.Ordinal);
    private string? _lastTopic, _lastEpoch; // the last told, checked before the dictionary (most connections follow one topic)

    /// <summary>Queues the message's frame (after an announcement when needed) without waiting; false when there is no room.</summary>
    public bool TryWrite(Message message, OutboundFrame frame) => TryWrite(message, new ReadOnlySpan<OutboundFrame>(in frame)) == 1;

    /// <summary>
    /// Queues the frames of a run of messages of one topic incarnation (one append), <paramref name="first"/> being the
    /// first: after the incarnation's announcement when the connection was not told it last, as many as fit. Returns how many.
    /// </summary>
    public int TryWrite(Message first, ReadOnlySpan<OutboundFrame> frames)
    {
        var lead = new Announcing(this, first);
        return outbox.TryEnqueueMany(frames, ref lead);
    }

    /// <summary>Queues the message's frame (after an announcement when needed), waiting for room.</summary>
    public async ValueTask WriteAsync(Message message, OutboundFrame frame, CancellationToken cancellationToken)
    {
        // Room for the frame and an announcement (each a few dozen bytes more than the topic and epoch).
        var size = frame.Data.Length + 64 + 2 * (message.Topic.Length + message.Epoch.Length);
        while (!TryWrite(message, frame))
        {
            await outbox.WaitForRoomAsync(size, cancellationToken);
        }
    }

    private OutboundFrame Announcement(Message message) => announcement(new EpochAnnounced(message.Topic, message.Epoch));

    // Under the outbox's lock.
    private bool IsTold(Message message)
        => string.Equals(_lastTopic, message.Topic, StringComparison.Ordinal) && string.Equals(_lastEpoch, message.Epoch, StringComparison.Ordinal)
            || _told.TryGetValue(message.Topic, out var epoch) && string.Equals(epoch, message.Epoch, StringComparison.Ordinal);

    // Under the outbox's lock.
    private void Tell(Message message)
    {
        if (_told.Count >= MaxTopics && !_told.ContainsKey(message.Topic))
        {
            _told.Clear();
        }
        _told[message.Topic] = message.Epoch;
        (_lastTopic, _lastEpoch) = (message.Topic, message.Epoch);
    }

    private readonly struct Announcing(EpochAnnouncer owner, Message first) : IOutboxLead
    {
        public bool Needed(out OutboundFrame frame)
        {
            if (owner.IsTold(first))
            {
                frame = default;
                return false;
            }
            frame = owner.Announcement(first);
            return true;
        }

        public void Queued() => owner.Tell(first);
    }
}
