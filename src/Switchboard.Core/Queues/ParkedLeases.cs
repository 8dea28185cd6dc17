namespace Switchboard.Core.Engines;

/// <summary>
/// A receive waiting on an empty queue, parked with the engine: the next send to the queue leases its messages to
/// the receive in the same commit that stores them. A waiting consumer (a long poll, a streaming consumer, a
/// request/reply responder) then costs no second commit per message, the way a broker pushes to a waiting
/// consumer. The receive still watches the queue itself for everything else that makes messages visible.
/// </summary>
public sealed class ParkedLease
{
    private const int Waiting = 0, Claimed = 1, Withdrawn = 2;

    private readonly TaskCompletionSource<IReadOnlyList<QueueMessage>> _taken = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly ParkedLeases _owner;
    private int _state;

    internal ParkedLease(ParkedLeases owner, string queue, int max, TimeSpan? lease)
    {
        _owner = owner;
        Queue = queue;
        Max = max;
        Lease = lease;
    }

    /// <summary>The queue waited on.</summary>
    public string Queue { get; }

    /// <summary>The most messages it takes.</summary>
    public int Max { get; }

    /// <summary>The lease length asked for (null: the queue's).</summary>
    public TimeSpan? Lease { get; }

    internal LinkedListNode<ParkedLease>? Node { get; set; }

    /// <summary>
    /// The messages leased to it, once their commit is written (an engine may answer before its flush); empty when the handoff failed (the commit did
    /// not happen, so nothing was leased: receive again).
    /// </summary>
    public Task<IReadOnlyList<QueueMessage>> Taken => _taken.Task;

    /// <summary>
    /// For the receive: stop waiting here. False when a send already claimed it; <see cref="Taken"/> then completes
    /// with what it leased, and the receive must deliver that.
    /// </summary>
    public bool TryWithdraw()
    {
        if (Interlocked.CompareExchange(ref _state, Withdrawn, Waiting) != Waiting)
        {
            return Volatile.Read(ref _state) == Withdrawn;
        }
        _owner.Remove(this);
        return true;
    }

    internal bool TryClaim() => Interlocked.CompareExchange(ref _state, Claimed, Waiting) == Waiting;

    /// <summary>For the engine: the claimed receive gets its messages (after the commit), or none.</summary>
    public void Complete(IReadOnlyList<QueueMessage> messages) => _taken.TrySetResult(messages);
}

/// <summary>The receives parked on each queue, oldest first; shared by the engines that hand off.</summary>
public sealed class ParkedLeases
{
    private readonly Lock _gate = new();
    private readonly Dictionary<string, LinkedList<ParkedLease>> _byQueue = new(StringComparer.Ordinal);

    /// <summary>Parks a receive on <paramref name="queue"/>.</summary>
    public ParkedLease Park(string queue, int max, TimeSpan? lease)
    {
        var parked = new ParkedLease(this, queue, max, lease);
        lock (_gate)
        {
            if (!_byQueue.TryGetValue(queue, out var list))
            {
                list = _byQueue[queue] = new LinkedList<ParkedLease>();
            }
            parked.Node = list.AddLast(parked);
        }
        return parked;
    }

    /// <summary>
    /// The parked receives that take <paramref name="available"/> messages, oldest first, each claimed (it can no longer
    /// withdraw) and removed. For engines that lease in their own store (not in a <see cref="QueueBook"/>): the caller
    /// must <see cref="ParkedLease.Complete"/> every receive it claims, with what it leased or with nothing.
    /// </summary>
    public List<ParkedLease> Claim(string queue, int available)
    {
        var claimed = new List<ParkedLease>();
        lock (_gate)
        {
            if (!_byQueue.TryGetValue(queue, out var list))
            {
                return claimed;
            }
            while (available > 0 && list.First is { } node)
            {
                list.RemoveFirst();
                node.Value.Node = null;
                if (node.Value.TryClaim())
                {
                    claimed.Add(node.Value);
                    available -= node.Value.Max;
                }
            }
            if (list.Count == 0)
            {
                _byQueue.Remove(queue);
            }
        }
        return claimed;
    }

    /// <summary>
    /// The rule both engines share, for a send that made <paramref name="available"/> messages of <paramref name="book"/>
    /// visible: each parked receive that takes them is leased up to its max, oldest first. The caller stores
    /// <paramref name="changed"/> in the send's transaction and completes each handoff once that is durable.
    /// </summary>
    public List<Handoff> HandOff(QueueBook book, int available, DateTimeOffset now, List<QueueEntry> changed, Func<QueueEntry, QueueMessage> message)
    {
        ArgumentNullException.ThrowIfNull(book);
        var handoffs = new List<Handoff>();
        foreach (var receive in Claim(book.Name, available))
        {
            var leased = book.Lease(receive.Max, receive.Lease ?? book.Config.Lease, now, changed);
            handoffs.Add(new Handoff(receive, [.. leased.Select(message)]));
        }
        return handoffs;
    }

    internal void Remove(ParkedLease parked)
    {
        lock (_gate)
        {
            if (parked.Node is { } node && _byQueue.TryGetValue(parked.Queue, out var list))
            {
                list.Remove(node);
                parked.Node = null;
                if (list.Count == 0)
                {
                    _byQueue.Remove(parked.Queue);
                }
            }
        }
    }
}

/// <summary>Messages leased to a parked receive by a send, to hand over once the send is durable.</summary>
public readonly record struct Handoff(ParkedLease Receive, IReadOnlyList<QueueMessage> Messages)
{
    /// <summary>Gives the receive its messages, or none when the send's commit failed (nothing was leased then).</summary>
    public void Complete(bool committed = true) => Receive.Complete(committed ? Messages : []);
}
