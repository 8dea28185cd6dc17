using Switchboard.Core.Delivery;

namespace Switchboard.Server.Connections;

/// <summary>
/// A connection's subscriptions by id. A plain dictionary under a lock, created on first use: most connections
/// hold one or two subscriptions, and an idle connection should cost as little as possible. It also counts the topics and
/// patterns they hold together, which is what a connection's limit bounds (FrameSession.MaxSubscribedTopics).
/// </summary>
internal sealed class SubscriptionSet
{
    private readonly Lock _gate = new();
    private Dictionary<string, Subscription>? _items;
    private int _topics;

    /// <summary>The topics and patterns of every subscription together.</summary>
    public int TopicCount
    {
        get
        {
            lock (_gate)
            {
                return _topics;
            }
        }
    }

    public bool ContainsKey(string id)
    {
        lock (_gate)
        {
            return _items?.ContainsKey(id) == true;
        }
    }

    public bool TryAdd(string id, Subscription subscription)
    {
        lock (_gate)
        {
            if (!(_items ??= new(StringComparer.Ordinal)).TryAdd(id, subscription))
            {
                return false;
            }
            _topics += subscription.Patterns.Count;
            return true;
        }
    }

    public bool TryRemove(string id, out Subscription subscription)
    {
        lock (_gate)
        {
            subscription = null!;
            if (_items?.Remove(id, out subscription!) != true)
            {
                return false;
            }
            _topics -= subscription.Patterns.Count;
            return true;
        }
    }

    /// <summary>A copy, for listing.</summary>
    public List<KeyValuePair<string, Subscription>> Snapshot()
    {
        lock (_gate)
        {
            return _items is null ? [] : [.. _items];
        }
    }

    /// <summary>Removes and returns them all.</summary>
    public List<Subscription> TakeAll()
    {
        lock (_gate)
        {
            var all = _items is null ? [] : _items.Values.ToList();
            _items = null;
            _topics = 0;
            return all;
        }
    }
}
