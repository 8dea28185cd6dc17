using System.Collections.Concurrent;
using Switchboard.Core.Engines;

namespace Switchboard.Core.Delivery;

/// <summary>
/// The one fan-out path on a node: every backplane event goes from here to the local subscriptions that
/// match it (whatever their transport) and wakes the long polls waiting on its topic.
/// </summary>
internal sealed class Dispatcher(Interests interests)
{
    // Exact-topic subscriptions: a lookup per event. Each topic's array is replaced (copy-on-write) under a lock,
    // so the hot path reads it without locking.
    private readonly ConcurrentDictionary<string, Subscription[]> _exact = new(StringComparer.Ordinal);
    // Wildcard subscriptions: indexed by their patterns' tokens for the fan-out (an event walks its topic's tokens, whatever
    // their number), and listed for what visits each once (presence, resync).
    private readonly WildcardIndex<Subscription> _index = new();
    private Subscription[] _wildcards = [];
    private readonly Lock _gate = new();

    public TopicWaiters Waiters { get; } = new();

    /// <summary>What this node listens to on the backplane.</summary>
    public Interests Interests { get; } = interests;

    public int SubscriptionCount { get; private set; }

    public void Add(Subscription subscription)
    {
        lock (_gate)
        {
            foreach (var pattern in subscription.Patterns)
            {
                if (!pattern.IsWildcard)
                {
                    _exact[pattern.Text] = _exact.TryGetValue(pattern.Text, out var current) ? [.. current, subscription] : [subscription];
                }
            }
            // Listed once however many wildcards it has: presence tries them all (MatchesWildcard) and counts each entry, so
            // one subscription to "a.*" and "a.>" must not count as two subscribers. The index holds it once per pattern.
            if (subscription.Patterns.Any(p => p.IsWildcard))
            {
                _wildcards = [.. _wildcards, subscription];
                _index.Add(subscription, subscription.Patterns);
            }
            SubscriptionCount++;
        }
    }

    public void Remove(Subscription subscription)
    {
        lock (_gate)
        {
            if (subscription.Patterns.Any(p => p.IsWildcard))
            {
                _wildcards = Without(_wildcards, subscription);
                _index.Remove(subscription, subscription.Patterns);
            }
            foreach (var pattern in subscription.Patterns)
            {
                if (!pattern.IsWildcard && _exact.TryGetValue(pattern.Text, out var current))
                {
                    var rest = Without(current, subscription);
                    if (rest.Length == 0)
                    {
                        _exact.TryRemove(pattern.Text, out _);
                    }
                    else
                    {
                        _exact[pattern.Text] = rest;
                    }
                }
            }
            SubscriptionCount--;
        }
    }

    /// <summary>
    /// Subscriptions matching <paramref name="topic"/>: counted in full, the oldest <paramref name="limit"/> listed, oldest
    /// first (<see cref="Oldest"/>). The index keeps exact-topic subscriptions apart from wildcards, so the ones met
    /// first are not the oldest: a heap of at most <paramref name="limit"/> (the newest on top) keeps the oldest seen.
    /// </summary>
    public PresenceSnapshot Presence(string topic, int limit)
    {
        var oldest = new PriorityQueue<Subscriber, Subscriber>(Math.Min(limit, 64), NewestFirst);
        var count = 0;
        void Visit(Subscription subscription)
        {
            if (subscription.Subscriber is not { } subscriber)
            {
                return; // internal subscriptions are not presence
            }
            count++;
            if (oldest.Count < limit)
            {
                oldest.Enqueue(subscriber, subscriber);
            }
            else if (limit > 0 && Oldest(subscriber, oldest.Peek()) < 0)
            {
                oldest.DequeueEnqueue(subscriber, subscriber);
            }
        }
        if (_exact.TryGetValue(topic, out var exact))
        {
            foreach (var subscription in exact)
            {
                Visit(subscription);
            }
        }
        foreach (var subscription in Volatile.Read(ref _wildcards))
        {
            // One that also names the topic exactly was counted above: a subscriber is one, whatever matched it.
            if (subscription.MatchesWildcard(topic) && !NamesExactly(subscription, topic))
            {
                Visit(subscription);
            }
        }
        var listed = new Subscriber[oldest.Count];
        for (var i = listed.Length - 1; i >= 0; i--)
        {
            listed[i] = oldest.Dequeue();
        }
        return new PresenceSnapshot(topic, count, listed);
    }

    /// <summary>
    /// The order presence lists subscribers in: by when they subscribed, then by connection id, so that equal times
    /// list the same way every time (and across nodes, which merge their answers in this order).
    /// </summary>
    private static int Oldest(Subscriber a, Subscriber b)
    {
        var since = a.Since.CompareTo(b.Since);
        return since != 0 ? since : string.CompareOrdinal(a.ConnectionId, b.ConnectionId);
    }

    private static readonly Comparer<Subscriber> NewestFirst = Comparer<Subscriber>.Create((a, b) => Oldest(b, a));

    /// <summary>Backplane events may have been lost: every subscription checks the store, every long poll reads again.</summary>
    public void Resync()
    {
        Subscription[] all;
        lock (_gate)
        {
            all = [.. _exact.Values.SelectMany(s => s).Concat(_wildcards).Distinct()];
        }
        foreach (var subscription in all)
        {
            subscription.Resync();
        }
        Waiters.WakeAll(draining: false);
    }

    public void OnEvent(TopicEvent topicEvent)
    {
        switch (topicEvent)
        {
            case MessagesAppended appended when appended.Messages.Count > 0:
                Waiters.Notify(appended.Topic, appended.LastOffset, deleted: false);
                ForEachMatch(appended.Topic, appended, static (s, e) => s.OnLive(e.Messages));
                break;
            case TopicDeleted deleted:
                Waiters.Notify(deleted.Topic, 0, deleted: true);
                ForEachMatch(deleted.Topic, deleted, static (s, e) => s.OnDeleted(e.Topic, e.Epoch));
                break;
        }
    }

    private void ForEachMatch<T>(string topic, T topicEvent, Action<Subscription, T> action)
    {
        if (_exact.TryGetValue(topic, out var exact))
        {
            foreach (var subscription in exact)
            {
                Deliver(subscription, topicEvent, action);
            }
        }
        if (!_index.IsEmpty)
        {
            // A subscription matching through several patterns is called more than once; its cursor drops the repeats.
            _index.ForEachMatch(topic, (topicEvent, action), static (subscription, e) => Deliver(subscription, e.topicEvent, e.action));
        }
    }

    private static void Deliver<T>(Subscription subscription, T topicEvent, Action<Subscription, T> action)
    {
        try
        {
            action(subscription, topicEvent);
        }
        catch (Exception ex)
        {
            // One subscriber's faulty sink must not cost the others their messages (or the publisher its ack).
            subscription.OnSinkFault(ex);
        }
    }

    private static bool NamesExactly(Subscription subscription, string topic)
    {
        foreach (var pattern in subscription.Patterns)
        {
            if (!pattern.IsWildcard && string.Equals(pattern.Text, topic, StringComparison.Ordinal))
            {
                return true;
            }
        }
        return false;
    }

    private static Subscription[] Without(Subscription[] items, Subscription item)
    {
        var index = Array.IndexOf(items, item);
        return index < 0 ? items : [.. items[..index], .. items[(index + 1)..]];
    }
}
