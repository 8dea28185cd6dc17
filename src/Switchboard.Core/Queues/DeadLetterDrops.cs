using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace Switchboard.Core.Engines;

/// <summary>
/// The hub's log of dead letters dropped past a queue's maxDeadLetters, throttled: a poison stream drops one per failed
/// message, so each queue is logged at most once per <see cref="Interval"/>, with what was dropped since its last line.
/// </summary>
internal sealed class DeadLetterDrops(ILogger logger, TimeProvider time)
{
    /// <summary>A minute: often enough to see a queue losing dead letters, seldom enough not to flood the log.</summary>
    public static readonly TimeSpan Interval = TimeSpan.FromMinutes(1);

    // Queues are bounded (Switchboard:Queues:MaxCount); a deleted queue's line is forgotten when the table is cleared.
    private const int MaxTracked = 10_000;

    private readonly ConcurrentDictionary<string, (long LoggedAt, long Unlogged)> _queues = new(StringComparer.Ordinal);

    public void Dropped(string queue, long dropped, long total)
    {
        var now = time.GetTimestamp();
        if (_queues.Count > MaxTracked)
        {
            _queues.Clear();
        }
        var logNow = false;
        long count = 0;
        _queues.AddOrUpdate(queue,
            _ => { logNow = true; count = dropped; return (now, 0); },
            (_, seen) =>
            {
                if (time.GetElapsedTime(seen.LoggedAt, now) >= Interval)
                {
                    logNow = true;
                    count = seen.Unlogged + dropped;
                    return (now, 0);
                }
                logNow = false;
                return (seen.LoggedAt, seen.Unlogged + dropped);
            });
        if (logNow)
        {
            HubLog.DeadLettersDropped(logger, queue, count, total);
        }
    }
}
