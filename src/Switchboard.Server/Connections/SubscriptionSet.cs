using Switchboard.Core.Delivery;

namespace Switchboard.Server.Connections;

/// <summary>
/// A connection's subscriptions by id. A plain dictionary under a lock, created on first use: most connections
/// hold one or two subscriptions, and an idle connection should cost as little as possible.
/// </summary>
internal sealed class SubscriptionSet
{
    private readonly Lock _gate = new();
    private Dictionary<string, Subscription>? _items;

    public int Count
    {
        get
        {
            lock (_gate)
            {
                return _items?.Count ?? 0;
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
            return (_items ??= new(StringComparer.Ordinal)).TryAdd(id, subscription);
        }
    }

    public bool TryRemove(string id, out Subscription subscription)
    {
        lock (_gate)
        {
            subscription = null!;
            return _items?.Remove(id, out subscription!) == true;
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
            return all;
        }
    }
}
