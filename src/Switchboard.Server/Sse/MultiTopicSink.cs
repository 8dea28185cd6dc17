using Switchboard.Core;
using Switchboard.Core.Delivery;
using Switchboard.Server.Connections;

namespace Switchboard.Server.Sse;

/// <summary>
/// Multi-topic streams: each event's id carries the positions, written before the shared event bytes. While they are few,
/// the id is all of them (<c>p1.</c>); past <see cref="ResumeOptions"/>, a snapshot in the store and the topics moved since
/// (<c>p2.</c>), so writing an id costs the delta, never every topic. A delta grown past its bound, or a snapshot half its
/// retention old, makes the stream write a new snapshot in the background; ids stay on the old one until the new one is
/// durable (up to twice their bound: past that the stream waits for it), then an id-only block (no event) hands the
/// client the id on the new one.
/// </summary>
internal sealed class MultiTopicSink : IOpenableSink, IDisposable
{
    private readonly Connection _connection;
    private readonly Outbox _outbox;
    private readonly Hub _hub;
    private readonly ResumeOptions _options;
    private readonly TaskCompletionSource _open = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Lock _gate = new();
    private readonly Dictionary<string, Position> _positions;
    private readonly Timer _renewal;
    private ResumeBase? _base;
    private Dictionary<string, Position> _delta;
    private Dictionary<string, Position>? _pending; // moved since the snapshot being written was taken
    private Task _snapshot = Task.CompletedTask;
    private int _idLength;

    /// <param name="connection">The stream's connection.</param>
    /// <param name="hub">Where snapshots are written.</param>
    /// <param name="options">When ids turn to snapshots.</param>
    /// <param name="positions">Every topic's position (moved by this sink as it takes messages).</param>
    /// <param name="first">The stream's first id, its snapshot (if any) and the topics moved since it.</param>
    public MultiTopicSink(Connection connection, Hub hub, ResumeOptions options, Dictionary<string, Position> positions,
        (string Id, ResumeBase? Base, Dictionary<string, Position> Delta) first)
    {
        _connection = connection;
        _outbox = connection.Outbox;
        _hub = hub;
        _options = options;
        _positions = positions;
        (_base, _delta, _idLength) = (first.Base, first.Delta, first.Id.Length);
        // A quiet stream's id must not outlive its snapshot: look at its age a few times per half-life.
        var period = hub.Options.ResumeSnapshotRetention / 8;
        _renewal = new Timer(_ => Renew(), null, period, period);
    }

    public void Open() => _open.TrySetResult();

    public bool TryWrite(Message message) => _open.Task.IsCompleted && TryWrite(message.Topic, message.Position, Frame(message, live: true), out _);

    private static OutboundFrame Frame(Message message, bool live) => OutboundFrame.Of(message, message.EncodedAs(SseFormat.DataOnly), FrameKind.Text, live);

    /// <summary>
    /// Queues one event (a message, or a notice) behind the id that moves <paramref name="topic"/> to <paramref name="position"/>;
    /// false when the outbox has no room for it or the stream must first wait for its new snapshot (<paramref name="snapshot"/>).
    /// </summary>
    private bool TryWrite(string topic, Position position, OutboundFrame body, out Task? snapshot)
    {
        snapshot = null;
        lock (_gate)
        {
            if (_pending is not null && (_idLength > 2 * _options.FullBytes || (_base is not null && _delta.Count >= 2 * _options.DeltaTopics)))
            {
                // Ids grew to twice their bound while the new snapshot is written (a fast catch-up): the stream waits for
                // it (a live message not taken now comes from the store), so no id outgrows that.
                snapshot = _snapshot;
                return false;
            }
            var undo = Move(topic, position);
            var id = Id();
            if (_outbox.TryEnqueue(new OutboundFrame(SseFormat.Id(id), FrameKind.Text), body))
            {
                _idLength = id.Length;
                if (SnapshotDue())
                {
                    StartSnapshot();
                }
                return true;
            }
            undo.Restore(this); // not sent: the position stays where it was
            return false;
        }
    }

    // Encoded once: a message of old history caches no encoding, and each try would encode it again.
    public ValueTask WriteAsync(Message message, CancellationToken cancellationToken)
        => WriteAsync(message.Topic, message.Position, Frame(message, live: false), cancellationToken);

    /// <summary>
    /// A notice moves its topic's position as a message does (<see cref="SubscriptionNotice.ResumeAfter"/>), as the
    /// multi-topic poll's <c>next</c> does: a reconnect after it is not told it again.
    /// </summary>
    public ValueTask WriteNoticeAsync(SubscriptionNotice notice, CancellationToken cancellationToken)
        => WriteAsync(notice.Topic, notice.ResumeAfter, new OutboundFrame(SseFormat.Notice(notice, id: null), FrameKind.Text), cancellationToken);

    private async ValueTask WriteAsync(string topic, Position position, OutboundFrame body, CancellationToken cancellationToken)
    {
        await _open.Task.WaitAsync(cancellationToken);
        while (!TryWrite(topic, position, body, out var snapshot))
        {
            if (snapshot is not null)
            {
                await snapshot.WaitAsync(cancellationToken);
                continue;
            }
            await _outbox.WaitForRoomAsync(body.Data.Length + 256, cancellationToken);
        }
    }

    public void Fail(SwitchboardException error) => _connection.SubscriptionFailed(error);

    public void Dispose() => _renewal.Dispose();

    private string Id() => _base is null ? StreamPositions.Encode(_positions) : ResumeTokens.Encode(_base, _delta);

    private Undo Move(string topic, Position position)
    {
        var undo = new Undo(topic, Before(_positions), _base is null ? null : Before(_delta), _pending is null ? null : Before(_pending));
        _positions[topic] = position;
        if (_base is not null)
        {
            _delta[topic] = position;
        }
        if (_pending is not null)
        {
            _pending[topic] = position;
        }
        return undo;

        Position? Before(Dictionary<string, Position> positions) => positions.TryGetValue(topic, out var before) ? before : null;
    }

    private bool SnapshotDue() => _pending is null && (_base is null
        ? _positions.Count > _options.FullTopics || _idLength > _options.FullBytes
        : ResumeTokens.Outgrown(_options, _hub.Options, _base, _delta.Count, _idLength));

    private void Renew()
    {
        lock (_gate)
        {
            if (_base is not null && SnapshotDue())
            {
                StartSnapshot();
            }
        }
    }

    private void StartSnapshot()
    {
        _pending = new Dictionary<string, Position>(StringComparer.Ordinal);
        _snapshot = SnapshotAsync(new Dictionary<string, Position>(_positions, StringComparer.Ordinal));
    }

    private async Task SnapshotAsync(Dictionary<string, Position> positions)
    {
        ResumeBase fresh;
        try
        {
            fresh = await ResumeTokens.SnapshotAsync(_hub, positions, _connection.Closing);
        }
        catch (Exception ex) when (ex is SwitchboardException or OperationCanceledException)
        {
            lock (_gate)
            {
                _pending = null; // ids stay on the old snapshot (or whole); the next event tries again
            }
            return;
        }
        lock (_gate)
        {
            (_base, _delta, _pending) = (fresh, _pending!, null);
            var id = ResumeTokens.Encode(fresh, _delta);
            // An id-only block moves the client's last id without an event (a full outbox: the next event carries it).
            if (_open.Task.IsCompleted && _outbox.TryEnqueue(new OutboundFrame(SseFormat.IdOnly(id), FrameKind.Text)))
            {
                _idLength = id.Length;
            }
        }
    }

    /// <summary>Where one move found the positions, to put them back when its event could not be queued.</summary>
    private readonly record struct Undo(string Topic, Position? Position, Position? Delta, Position? Pending)
    {
        public void Restore(MultiTopicSink sink)
        {
            Set(sink._positions, Position);
            if (sink._base is not null)
            {
                Set(sink._delta, Delta);
            }
            if (sink._pending is not null)
            {
                Set(sink._pending, Pending);
            }
        }

        private void Set(Dictionary<string, Position> positions, Position? before)
        {
            if (before is { } position)
            {
                positions[Topic] = position;
            }
            else
            {
                positions.Remove(Topic);
            }
        }
    }
}
