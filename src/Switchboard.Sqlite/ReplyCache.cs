using System.Collections.Concurrent;
using Switchboard.Core;

namespace Switchboard.Sqlite;

/// <summary>
/// The replies committed in the last minute (at most 4,096), kept in memory so that the requester a reply wakes reads
/// it without a round trip to SQLite — the same record the database holds. Older or evicted replies are read from
/// the database as before. The writer adds, any thread reads.
/// </summary>
internal sealed class ReplyCache
{
    private const int Capacity = 4096;
    private static readonly TimeSpan KeptFor = TimeSpan.FromMinutes(1);

    private readonly ConcurrentDictionary<string, (ReplyRecord Slot, long At)> _replies = new(StringComparer.Ordinal);
    private readonly ConcurrentQueue<string> _order = new();

    /// <summary>Writer thread, after the commit that stored the reply.</summary>
    public void Add(ReplyRecord slot)
    {
        _replies[slot.Id] = (slot, Environment.TickCount64);
        _order.Enqueue(slot.Id);
        while (_order.Count > Capacity && _order.TryDequeue(out var oldest))
        {
            _replies.TryRemove(oldest, out _);
        }
    }

    /// <summary>Writer thread: a slot opened again (a request retried under the same reply id) forgets its old reply.</summary>
    public void Remove(string id) => _replies.TryRemove(id, out _);

    public bool TryGet(string id, out ReplyRecord slot)
    {
        if (_replies.TryGetValue(id, out var entry) && Environment.TickCount64 - entry.At < KeptFor.TotalMilliseconds)
        {
            slot = entry.Slot;
            return true;
        }
        slot = null!;
        return false;
    }

    /// <summary>At close.</summary>
    public void Clear()
    {
        _replies.Clear();
        _order.Clear();
    }
}
