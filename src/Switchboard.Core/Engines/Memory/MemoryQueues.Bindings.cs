namespace Switchboard.Core.Engines.Memory;

/// <summary>The memory engine's binding fan-in and its queues' limits.</summary>
internal sealed partial class MemoryQueues
{
    /// <summary>
    /// Binding fan-in, begun inside a topic's append before any message is added: takes the queues' gate (held until the
    /// returned fan-in is disposed) and refuses the whole publish with <see cref="QueueEngine.Full"/> when a bound queue
    /// has no room for <paramref name="count"/> more, so the topic gets nothing either. Holding the gate from the check to
    /// the enqueue keeps a concurrent send from taking the room meanwhile.
    /// </summary>
    public FanIn BeginAppend(string topic, int count)
    {
        // No binding (the common case): nothing to check or feed, so a publish does not take the queues' gate. A binding
        // made meanwhile applies from the next publish, as if it had been made just after this one.
        if (Volatile.Read(ref _bindingCount) == 0)
        {
            return FanIn.Unbound;
        }
        _gate.Enter();
        try
        {
            List<string> queues = [.. QueueMessages.BoundQueues(_bindings, topic)];
            foreach (var name in queues)
            {
                if (_queues.TryGetValue(name, out var book))
                {
                    book.EnsureRoom(count);
                }
                else
                {
                    QueueEngine.EnsureLength(name, 0, _limits.For(QueueConfig.Default).MaxLength, count);
                }
            }
            return new FanIn(this, queues);
        }
        catch
        {
            _gate.Exit();
            throw;
        }
    }

    private IStoreListener? Listener => listener();

    // The bindings' count, for BeginAppend's look without the gate (set under it whenever the bindings change).
    private int _bindingCount;

    private void BindingsChanged() => Volatile.Write(ref _bindingCount, _bindings.Count);

    private QueueBook NewBook(string name, QueueConfig config, DateTimeOffset now) => new(name, config, 1, now) { Defaults = _limits };

    /// <summary>Under the gate: tells the listener about dead letters the last call dropped (the hub logs them).</summary>
    private void ReportDropped(QueueBook book)
    {
        if (book.TakeDropped() is > 0 and var dropped)
        {
            listener()?.OnDeadLettersDropped(book.Name, dropped, book.DeadDropped);
        }
    }

    /// <summary>A publish's enqueue into its bound queues, under the gate <see cref="BeginAppend"/> took.</summary>
    internal sealed class FanIn(MemoryQueues? owner, List<string> queues) : IDisposable
    {
        /// <summary>The fan-in of a publish when no binding exists: nothing to enqueue, no gate held.</summary>
        public static readonly FanIn Unbound = new(null, []);

        private List<Handoff> _handoffs = [];
        private bool _enqueued;
        private bool _done;

        /// <summary>Enqueues the appended messages into every bound queue (checked for room when the fan-in began).</summary>
        public void Enqueue(AppendResult appended)
        {
            if (owner is null)
            {
                return;
            }
            foreach (var name in queues)
            {
                if (!owner._queues.TryGetValue(name, out var book))
                {
                    book = owner._queues[name] = owner.NewBook(name, QueueConfig.Default, appended.Timestamp);
                }
                var entries = book.Enqueue(appended.Messages.Count, appended.Timestamp, TimeSpan.Zero);
                for (var i = 0; i < entries.Count; i++)
                {
                    entries[i].Body = QueueMessages.FromTopic(appended.Messages[i]);
                }
                _handoffs.AddRange(owner.HandOff(book, entries.Count, appended.Timestamp));
            }
            _enqueued = true;
        }

        /// <summary>Lets go of the gate, then completes the handoffs and wakes the receives (never under the gate).</summary>
        public void Dispose()
        {
            if (owner is null || _done)
            {
                return;
            }
            _done = true;
            owner._gate.Exit();
            var handoffs = _handoffs;
            _handoffs = [];
            handoffs.ForEach(h => h.Complete());
            if (_enqueued)
            {
                foreach (var name in queues)
                {
                    owner.Listener?.OnEnqueued(name);
                }
            }
        }
    }
}
