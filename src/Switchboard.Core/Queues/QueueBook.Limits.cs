namespace Switchboard.Core.Engines;

/// <summary>A queue's bounds: maxLength refuses what would pass it; maxDeadLetters drops the oldest dead letters.</summary>
public sealed partial class QueueBook
{
    private long _droppedUntaken;

    /// <summary>The hub's default limits (the engine's), for the settings the queue's <see cref="Config"/> leaves out.</summary>
    public QueueLimits Defaults { get; set; } = QueueLimits.Default;

    /// <summary>The limits in force: the queue's own, else <see cref="Defaults"/>.</summary>
    public QueueLimits Limits => Defaults.For(Config);

    /// <summary>The messages that count against maxLength: every one that is not dead (ready, delayed, leased).</summary>
    public long Length => _entries.Count - _dead.Count;

    /// <summary>Dead letters dropped since the queue was created (engines store it; an engine loading a book sets it).</summary>
    public long DeadDropped { get; set; }

    /// <summary>Whether the book still holds message <paramref name="id"/> (a dropped dead letter is gone: its row goes too).</summary>
    public bool Holds(long id) => _entries.ContainsKey(id);

    /// <summary>Throws <see cref="QueueEngine.Full"/> when <paramref name="adding"/> more messages would put the queue past its maxLength.</summary>
    public void EnsureRoom(int adding) => QueueEngine.EnsureLength(Name, Length, Limits.MaxLength, adding);

    /// <summary>How many dead letters were dropped since the last call (for the engine's log), then zero.</summary>
    public long TakeDropped()
    {
        var dropped = _droppedUntaken;
        _droppedUntaken = 0;
        return dropped;
    }

    /// <summary>
    /// Past maxDeadLetters, the oldest dead letters (lowest ids, the head of the list) are removed and counted, into
    /// <paramref name="changed"/> (no longer held: an engine deletes them). Dropped rather than the move refused: a dead
    /// letter is already a failed message, and keeping it alive would redeliver a poison message for ever.
    /// </summary>
    private void DropOldestDead(List<QueueEntry> changed)
    {
        if (Limits.MaxDeadLetters is not { } max)
        {
            return;
        }
        while (_dead.Count > max)
        {
            var oldest = _entries[_dead.Min];
            Remove(oldest);
            DeadDropped++;
            _droppedUntaken++;
            changed.Add(oldest);
        }
    }
}
