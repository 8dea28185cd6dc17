using Switchboard.Core;
using Switchboard.Core.Engines;

namespace Switchboard.Sqlite;

internal sealed partial class SqliteWriter
{
    /// <summary>Peek: the book says which entries and in what state (reading only), the database gives their bodies. Nothing is written.</summary>
    public QueuePeekPage Peek(string name, QueuePeekStates states, long afterId, int limit, DateTimeOffset now)
    {
        var queue = Queue(name);
        var found = queue.Book.Peek(states, afterId, limit + 1, now);
        var page = found.Take(limit).Select(f => QueueMessages.Peeked(name, f.Entry, Body(queue.Id, f.Entry.Id), f.State)).ToList();
        return new QueuePeekPage(page, found.Count > limit ? page[^1].Id : null);
    }
}
