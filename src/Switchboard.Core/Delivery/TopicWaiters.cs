using System.Collections.Concurrent;

namespace Switchboard.Core.Delivery;

/// <summary>
/// Long-poll waits: a reader that found nothing after offset N waits here until a commit passes N, the
/// topic is deleted, the hub drains, or its time runs out. Woken by the fan-out, not by a timer.
/// </summary>
internal sealed class TopicWaiters
{
    private readonly ConcurrentDictionary<string, WaiterList> _byTopic = new(StringComparer.Ordinal);
    private volatile bool _draining;

    /// <summary>Registers before the caller re-reads, so a commit between read and wait is not missed.</summary>
    public Waiter Register(string topic, long afterOffset)
    {
        var waiter = new Waiter(topic, afterOffset);
        while (true)
        {
            var list = _byTopic.GetOrAdd(topic, static _ => new WaiterList());
            lock (list)
            {
                if (list.Retired)
                {
                    continue; // emptied and dropped by a Remove just now: take the next one
                }
                list.Add(waiter);
                break;
            }
        }
        if (_draining)
        {
            waiter.Wake();
        }
        return waiter;
    }

    public void Remove(Waiter waiter)
    {
        if (_byTopic.TryGetValue(waiter.Topic, out var list))
        {
            lock (list)
            {
                list.Remove(waiter);
                if (list.Count == 0)
                {
                    // Dropped when empty, or every request's reply id ever waited on would stay. Retired under the
                    // lock, so a Register that found this list goes round again and adds to a fresh one.
                    list.Retired = true;
                    _byTopic.TryRemove(new KeyValuePair<string, WaiterList>(waiter.Topic, list));
                }
            }
        }
    }

    public void Notify(string topic, long lastOffset, bool deleted)
    {
        if (!_byTopic.TryGetValue(topic, out var list))
        {
            return;
        }
        lock (list)
        {
            foreach (var waiter in list)
            {
                if (deleted || waiter.AfterOffset < lastOffset)
                {
                    waiter.Wake();
                }
            }
        }
    }

    /// <summary>Wakes every waiter; when draining, later waiters are woken as they register, too.</summary>
    public void WakeAll(bool draining)
    {
        if (draining)
        {
            _draining = true;
        }
        foreach (var list in _byTopic.Values)
        {
            lock (list)
            {
                foreach (var waiter in list)
                {
                    waiter.Wake();
                }
            }
        }
    }

    /// <summary>How many keys have waiters now (for tests: empty lists do not stay).</summary>
    internal int Keys => _byTopic.Count;

    // A set, not a list: ten thousand idle long polls on one topic each leave it at every renewal, and a list would
    // search for each one.
    private sealed class WaiterList() : HashSet<Waiter>(ReferenceEqualityComparer.Instance)
    {
        public bool Retired { get; set; }
    }

    internal sealed class Waiter(string topic, long afterOffset)
    {
        // Continuations run on the thread pool, never on the committing thread that wakes them.
        private readonly TaskCompletionSource _signal = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public string Topic { get; } = topic;
        public long AfterOffset { get; } = afterOffset;
        public Task Signaled => _signal.Task;
        public void Wake() => _signal.TrySetResult();
    }
}
