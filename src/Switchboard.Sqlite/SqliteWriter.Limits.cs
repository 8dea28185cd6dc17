using Switchboard.Core;
using Switchboard.Core.Engines;

namespace Switchboard.Sqlite;

/// <summary>
/// Queue limits in the writer: a publish whose bound queue is full is refused before it writes anything, and dead
/// letters dropped past maxDeadLetters are deleted and counted (<c>queues.dead_dropped</c>) in the call's transaction.
/// </summary>
internal sealed partial class SqliteWriter
{
    private readonly List<(string Queue, long Dropped, long Total)> _droppedDead = [];

    /// <summary>
    /// Refuses a publish of <paramref name="count"/> messages to <paramref name="topic"/> when a bound queue has no room
    /// for them (<see cref="QueueEngine.Full"/>): checked on the writer thread before the append writes a row, so the
    /// publish is refused whole and no send can take the room before the enqueue.
    /// </summary>
    private void EnsureBoundRoom(string topic, int count)
    {
        if (_bindings.Count == 0)
        {
            return;
        }
        foreach (var name in QueueMessages.BoundQueues(_bindings, topic))
        {
            if (_queues.TryGetValue(name, out var queue))
            {
                queue.Book.EnsureRoom(count);
            }
            else
            {
                QueueEngine.EnsureLength(name, 0, _options.QueueLimits.For(QueueConfig.Default).MaxLength, count);
            }
        }
    }

    /// <summary>
    /// Stores what a book call changed: each entry's row updated, or deleted when the book no longer holds it (a dead
    /// letter dropped past maxDeadLetters); the queue's dropped count with them.
    /// </summary>
    private void Save((long Id, QueueBook Book) queue, List<QueueEntry> changed)
    {
        foreach (var e in changed)
        {
            if (!queue.Book.Holds(e.Id))
            {
                Execute(_deleteQueueMessage, ("$q", queue.Id), ("$id", e.Id));
                continue;
            }
            Execute(_updateQueueMessage, ("$q", queue.Id), ("$id", e.Id), ("$state", (int)e.State), ("$attempts", e.Attempts), ("$visible", e.VisibleAt.UtcTicks),
                ("$lease", e.Lease), ("$expires", e.LeaseExpiresAt?.UtcTicks), ("$error", e.LastError), ("$reason", e.DeadReason), ("$dead", e.DeadAt?.UtcTicks));
        }
        if (queue.Book.TakeDropped() is > 0 and var dropped)
        {
            Run("UPDATE queues SET dead_dropped = $n WHERE id = $id", ("$n", queue.Book.DeadDropped), ("$id", queue.Id));
            _droppedDead.Add((queue.Book.Name, dropped, queue.Book.DeadDropped));
        }
    }

    /// <summary>After the commit: the drops of this batch, for the hub's log.</summary>
    private void ReportDropped(IStoreListener? listener)
    {
        foreach (var (queue, dropped, total) in _droppedDead)
        {
            listener?.OnDeadLettersDropped(queue, dropped, total);
        }
        _droppedDead.Clear();
    }
}
