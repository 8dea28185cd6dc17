using Switchboard.Core.Engines;

namespace Switchboard.Sqlite;

internal sealed partial class SqliteWriter
{
    /// <summary>
    /// A cancelled receive's messages given back (<see cref="QueueBook.Release"/>), their rows written in the batch's
    /// transaction; waiting receives are woken after the commit. Nothing for a queue deleted meanwhile.
    /// </summary>
    public int Release(string name, IReadOnlyList<(long Id, string Lease)> leases, DateTimeOffset now)
    {
        if (!_queues.TryGetValue(name, out var queue))
        {
            return 0;
        }
        var changed = new List<QueueEntry>();
        var released = queue.Book.Release(leases, now, changed).Count;
        Save(queue, changed);
        if (released > 0)
        {
            _enqueued.Add(name);
        }
        return released;
    }
}
