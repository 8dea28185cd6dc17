using System.Threading.Tasks.Sources;
using Switchboard.Server.Observability;

namespace Switchboard.Server.Connections;

/// <summary>What a frame is, for the transport that writes it.</summary>
internal enum FrameKind
{
    /// <summary>A UTF-8 text message (WebSocket text frame, SSE text).</summary>
    Text,
    /// <summary>A binary message (WebSocket binary frame).</summary>
    Binary,
}

/// <summary>One encoded frame waiting to be written; the bytes may be shared with other connections.</summary>
/// <param name="Data">The bytes.</param>
/// <param name="Kind">Text or binary.</param>
/// <param name="Stamp">
/// For the delivery meters: 0 for a frame that carries no message (an answer, a notice, a heartbeat); for a message, the
/// UTC ticks of its publish when it is delivered live (so its latency is measured), or <see cref="CatchingUp"/> when it is
/// read back from the store (counted, but its age says nothing about the hub's latency).
/// </param>
/// <param name="Message">The message the frame carries (for the delivery span in its trace), or null.</param>
internal readonly record struct OutboundFrame(ReadOnlyMemory<byte> Data, FrameKind Kind, long Stamp = 0, Core.Message? Message = null)
{
    /// <summary>The stamp of a message delivered by a catching-up read.</summary>
    public const long CatchingUp = -1;

    /// <summary>A frame carrying <paramref name="message"/>, stamped for the delivery meters.</summary>
    public static OutboundFrame Of(Core.Message message, ReadOnlyMemory<byte> data, FrameKind kind, bool live)
        => new(data, kind, live ? message.Timestamp.UtcTicks : CatchingUp, message);
}

/// <summary>
/// What goes before a run of frames, decided under the outbox's lock (<see cref="Outbox.TryEnqueueMany{TLead}"/>): a
/// frame the connection must be told first, such as a topic's epoch, kept in order with the frames it leads.
/// </summary>
internal interface IOutboxLead
{
    /// <summary>Whether a frame must lead the run, and which.</summary>
    bool Needed(out OutboundFrame frame);

    /// <summary>The lead frame was queued (with the first frame of the run).</summary>
    void Queued();
}

/// <summary>
/// A connection's bounded outbound buffer, counted in bytes, drained by the connection's own writer.
/// Live messages that do not fit are refused (the subscription then reads them back from the store when there
/// is room), so a slow reader costs at most its capacity in memory and never slows a publisher. How long it
/// has been full is tracked, for the slow-consumer cut. The frames sit in a plain queue under the lock the byte
/// count needs anyway: an idle connection holds an empty queue, not a channel's preallocated segment. The writer waits
/// on the outbox itself (one reusable wait, <see cref="IValueTaskSource{TResult}"/>): a wait allocates nothing, and an
/// idle connection holds no task for it.
/// </summary>
internal sealed class Outbox : IValueTaskSource<(bool Ok, OutboundFrame Frame)>
{
    // Past this many slots, a drained queue is replaced by a fresh one, so one burst does not pin its array.
    private const int KeptCapacity = 64;

    private readonly Lock _gate = new();
    private Queue<OutboundFrame> _frames = new();
    // The writer's wait for a frame: armed by ReadAsync (under _gate), set by the first frame, Complete or Interrupt.
    // One writer per outbox, so one wait at a time.
    private ManualResetValueTaskSourceCore<bool> _readable = new() { RunContinuationsAsynchronously = true };
    private bool _reading;
    private CancellationToken _readingClosing;
    private bool _completed;
    private readonly long _capacity;
    private readonly TimeProvider _time;
    private long _bytes;
    private long _fullSince; // timestamp (TimeProvider ticks) when it first could not take a frame; 0 = has room
    private long _lastTaken; // timestamp of the writer's last frame (or of creation)
    private TaskCompletionSource? _room;
    private readonly DeliveryMeter? _meter;
    private int _uncounted; // messages of the writer's current burst, counted once it comes back for more (writer only)

    public Outbox(long capacity, TimeProvider time, DeliveryMeter? meter = null)
    {
        _capacity = capacity;
        _time = time;
        _meter = meter;
        _lastTaken = time.GetTimestamp();
    }

    /// <summary>How long since the writer last took a frame (for heartbeats on idle streams).</summary>
    public TimeSpan IdleFor => _time.GetElapsedTime(Interlocked.Read(ref _lastTaken));

    /// <summary>Bytes queued and not yet written.</summary>
    public long Bytes => Interlocked.Read(ref _bytes);

    /// <summary>Whether more than the capacity is queued (answers to the client's own frames may pass it; see <see cref="Enqueue"/>).</summary>
    public bool OverCapacity => Interlocked.Read(ref _bytes) > _capacity;

    /// <summary>How long the buffer has been full without interruption (zero when it has room).</summary>
    public TimeSpan FullFor
    {
        get
        {
            var since = Interlocked.Read(ref _fullSince);
            return since == 0 ? TimeSpan.Zero : _time.GetElapsedTime(since);
        }
    }

    /// <summary>Queues a frame if it fits (an empty buffer takes any frame, so one large message is never stuck).</summary>
    public bool TryEnqueue(OutboundFrame frame) => TryEnqueueMany(new ReadOnlySpan<OutboundFrame>(in frame)) == 1;

    /// <summary>Queues two frames together or neither (an SSE id line and the shared event after it).</summary>
    public bool TryEnqueue(OutboundFrame first, OutboundFrame second)
    {
        var lead = new FixedLead(first);
        return TryEnqueueMany(new ReadOnlySpan<OutboundFrame>(in second), ref lead) == 1;
    }

    /// <summary>Queues <paramref name="frames"/> in order, as many as fit (an empty buffer takes the first whatever its size), under one lock for the whole run. Returns how many were queued.</summary>
    public int TryEnqueueMany(ReadOnlySpan<OutboundFrame> frames)
    {
        var lead = default(NoLead);
        return TryEnqueueMany(frames, ref lead);
    }

    /// <summary>
    /// Queues <paramref name="frames"/> in order, as many as fit (an empty buffer takes the first whatever its size), under
    /// one lock for the whole run; the frame <paramref name="lead"/> asks for, when it asks for one, goes just before the
    /// first frame and only with it — decided under the same lock, so the lead's own state needs no lock of its own.
    /// Returns how many of <paramref name="frames"/> were queued.
    /// </summary>
    public int TryEnqueueMany<TLead>(ReadOnlySpan<OutboundFrame> frames, ref TLead lead) where TLead : struct, IOutboxLead
    {
        var count = 0;
        lock (_gate)
        {
            if (_completed || frames.IsEmpty)
            {
                return 0;
            }
            var leads = lead.Needed(out var leading);
            var leadSize = leads ? leading.Data.Length : 0;
            foreach (var frame in frames)
            {
                var size = frame.Data.Length + (count == 0 ? leadSize : 0);
                if (_bytes > 0 && _bytes + size > _capacity)
                {
                    MarkFull();
                    break;
                }
                if (count == 0 && leads)
                {
                    _frames.Enqueue(leading);
                    lead.Queued();
                }
                _bytes += size;
                _frames.Enqueue(frame);
                count++;
            }
            if (count > 0)
            {
                WakeReader();
            }
        }
        return count;
    }

    private readonly struct NoLead : IOutboxLead
    {
        public bool Needed(out OutboundFrame frame)
        {
            frame = default;
            return false;
        }

        public void Queued()
        {
        }
    }

    private readonly struct FixedLead(OutboundFrame lead) : IOutboxLead
    {
        public bool Needed(out OutboundFrame frame)
        {
            frame = lead;
            return true;
        }

        public void Queued()
        {
        }
    }

    /// <summary>Waits until <paramref name="size"/> more bytes would fit (no reservation: callers retry their TryEnqueue).</summary>
    public async ValueTask WaitForRoomAsync(int size, CancellationToken cancellationToken)
    {
        Task room;
        lock (_gate)
        {
            // A completed outbox never has room again: wait for the caller's cancellation (its connection is
            // ending) rather than let it spin on TryEnqueue.
            if (!_completed)
            {
                if (_bytes == 0 || _bytes + size <= _capacity)
                {
                    return;
                }
                MarkFull();
            }
            _room ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            room = _room.Task;
        }
        await room.WaitAsync(cancellationToken);
    }

    /// <summary>Queues a frame, waiting for room.</summary>
    public async ValueTask EnqueueAsync(OutboundFrame frame, CancellationToken cancellationToken)
    {
        while (true)
        {
            Task room;
            lock (_gate)
            {
                // Checked under the same lock that frees room, so a wake-up cannot slip between check and wait.
                // A completed outbox never has room: the caller waits until it is cancelled (its connection is ending).
                if (!_completed && (_bytes == 0 || _bytes + frame.Data.Length <= _capacity))
                {
                    _bytes += frame.Data.Length;
                    Add(frame);
                    return;
                }
                if (!_completed)
                {
                    MarkFull();
                }
                _room ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                room = _room.Task;
            }
            await room.WaitAsync(cancellationToken);
        }
    }

    /// <summary>
    /// Queues a small control frame (an acknowledgement, an error, a pong) even when full: answers to the
    /// client's own requests are bounded by the requests it sends — the session takes no next frame while the outbox is
    /// <see cref="OverCapacity"/> (FrameSession.HandleAsync) — and the slow-consumer cut still applies.
    /// </summary>
    public void Enqueue(OutboundFrame frame)
    {
        lock (_gate)
        {
            if (_completed)
            {
                return;
            }
            _bytes += frame.Data.Length;
            if (_bytes > _capacity)
            {
                MarkFull();
            }
            Add(frame);
        }
    }

    /// <summary>
    /// For the writer: the next frame, or false when the outbox was completed and is empty. <paramref name="closing"/>
    /// is the connection's <see cref="Connection.Closing"/>: the connection calls <see cref="Interrupt"/> when it cancels
    /// it, so a waiting read ends (OperationCanceledException) without registering on the token for every wait.
    /// Await each read before the next (one writer).
    /// </summary>
    public ValueTask<(bool Ok, OutboundFrame Frame)> ReadAsync(CancellationToken closing)
    {
        // The burst the writer took since its last read has been written: count it now, once.
        CountBurst();
        lock (_gate)
        {
            if (TryTakeFirst(out var ready))
            {
                return new(ready);
            }
            // Checked under the lock Interrupt takes: a cancel either is seen here or ends the wait below.
            closing.ThrowIfCancellationRequested();
            _readable.Reset();
            _reading = true;
            _readingClosing = closing;
            return new(this, _readable.Version);
        }
    }

    (bool Ok, OutboundFrame Frame) IValueTaskSource<(bool Ok, OutboundFrame Frame)>.GetResult(short token)
    {
        _readable.GetResult(token);
        lock (_gate)
        {
            if (TryTakeFirst(out var ready))
            {
                return ready;
            }
        }
        // Woken with nothing to read and not completed: Interrupt, after the connection cancelled Closing.
        throw new OperationCanceledException(_readingClosing);
    }

    ValueTaskSourceStatus IValueTaskSource<(bool Ok, OutboundFrame Frame)>.GetStatus(short token) => _readable.GetStatus(token);

    void IValueTaskSource<(bool Ok, OutboundFrame Frame)>.OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags)
        => _readable.OnCompleted(continuation, state, token, flags);

    // Under _gate: the first frame of a burst, or (false, default) once completed and empty; false when the writer must wait.
    private bool TryTakeFirst(out (bool Ok, OutboundFrame Frame) result)
    {
        if (_frames.TryDequeue(out var frame))
        {
            var now = Taken(frame.Data.Length);
            _uncounted += _meter?.Take(frame, now, firstOfBurst: true) ?? 0;
            result = (true, frame);
            return true;
        }
        result = default;
        return _completed;
    }

    /// <summary>Wakes a waiting read so it sees its connection's Closing token cancelled.</summary>
    public void Interrupt()
    {
        lock (_gate)
        {
            WakeReader();
        }
    }

    /// <summary>For the writer: another frame if one is ready now (to batch writes before a flush); false ends the burst, and <see cref="ReadAsync"/> takes whatever came meanwhile.</summary>
    public bool TryRead(out OutboundFrame frame)
    {
        frame = default;
        return TryReadMany(new Span<OutboundFrame>(ref frame), int.MaxValue) == 1;
    }

    /// <summary>
    /// For the writer: the frames ready now, into <paramref name="frames"/>, up to about <paramref name="maxBytes"/> (always
    /// at least one when any is ready) — a whole burst under one lock and one clock read, where <see cref="TryRead"/> takes
    /// both per frame (and contends with the fan-out for the lock at each). Returns how many; 0 ends the burst (none was
    /// seen ready: a frame queued meanwhile is the next <see cref="ReadAsync"/>'s).
    /// </summary>
    public int TryReadMany(Span<OutboundFrame> frames, int maxBytes)
    {
        var count = 0;
        // Nothing queued, by the byte count (the common case after a writer's first frame at a modest rate): no lock. A
        // frame queued meanwhile, or one of no bytes, is not lost: the writer comes back to ReadAsync for it.
        if (Interlocked.Read(ref _bytes) == 0)
        {
            CountBurst();
            return 0;
        }
        lock (_gate)
        {
            var bytes = 0;
            while (count < frames.Length && _frames.TryPeek(out var next) && (count == 0 || bytes + next.Data.Length <= maxBytes))
            {
                frames[count++] = _frames.Dequeue();
                bytes += next.Data.Length;
            }
            if (count > 0)
            {
                var now = Taken(bytes);
                for (var i = 0; i < count; i++)
                {
                    _uncounted += _meter?.Take(frames[i], now, firstOfBurst: false) ?? 0;
                }
            }
        }
        if (count == 0)
        {
            CountBurst();
        }
        return count;
    }

    // Writer only. Nothing more ready: the burst is complete, count it now (a writer that stops short of this, at its
    // burst's byte limit, has it counted when it comes back to ReadAsync).
    private void CountBurst()
    {
        if (_uncounted > 0)
        {
            _meter?.Count(_uncounted);
            _uncounted = 0;
        }
    }

    /// <summary>No more frames will be queued; the writer finishes what is there.</summary>
    public void Complete()
    {
        lock (_gate)
        {
            _completed = true;
            WakeReader();
        }
    }

    // Under _gate: queue a frame and wake the writer if it waits.
    private void Add(OutboundFrame frame)
    {
        _frames.Enqueue(frame);
        WakeReader();
    }

    // Under _gate: ends the writer's wait, if it waits; its continuation runs elsewhere (RunContinuationsAsynchronously).
    private void WakeReader()
    {
        if (_reading)
        {
            _reading = false;
            _readable.SetResult(true);
        }
    }

    // Under _gate: a frame left for the socket. Returns when (a timestamp of the outbox's TimeProvider).
    private long Taken(int length)
    {
        var now = _time.GetTimestamp();
        Interlocked.Exchange(ref _lastTaken, now);
        _bytes -= length;
        if (_bytes < _capacity && _room is { } room)
        {
            _room = null;
            room.TrySetResult();
        }
        // Hysteresis: a reader that takes a frame now and then while the buffer stays nearly full is still not
        // keeping up; only draining to half the capacity counts as having caught up.
        if (_bytes <= _capacity / 2)
        {
            _fullSince = 0;
        }
        if (_frames.Count == 0 && _frames.EnsureCapacity(0) > KeptCapacity)
        {
            _frames = new Queue<OutboundFrame>();
        }
        return now;
    }

    // Under _gate.
    private void MarkFull()
    {
        if (_fullSince == 0)
        {
            _fullSince = _time.GetTimestamp();
        }
    }
}
