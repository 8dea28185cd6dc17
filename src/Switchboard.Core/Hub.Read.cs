using Switchboard.Core.Engines;

namespace Switchboard.Core;

public sealed partial class Hub
{
    /// <summary>
    /// Reads history after <paramref name="after"/>: polling when <paramref name="wait"/> is zero, long polling
    /// otherwise (answers at once when something is there, else the moment a message is committed, else
    /// an empty page when the wait ends).
    /// </summary>
    /// <exception cref="TopicNotFoundException">The topic does not exist.</exception>
    /// <exception cref="EpochMismatchException">The position names another incarnation.</exception>
    /// <exception cref="SwitchboardException"><see cref="ErrorCode.PositionOutOfRange"/> when the position is past the end.</exception>
    public async Task<ReadPage> ReadAsync(string topic, Position after, int limit, TimeSpan wait, CancellationToken cancellationToken = default)
    {
        EnsureServing();
        TopicName.Validate(topic, allowSystem: true);
        if (limit < 1 || limit > Options.MaxReadLimit)
        {
            throw new SwitchboardException(ErrorCode.ValidationFailed, $"limit is {limit}; use 1 to {Options.MaxReadLimit}.");
        }
        if (wait < TimeSpan.Zero || wait > Options.MaxWait)
        {
            throw new SwitchboardException(ErrorCode.ValidationFailed, $"wait is {wait.TotalSeconds:0.###} seconds; use 0 to {Options.MaxWait.TotalSeconds:0} seconds.");
        }
        if (after.Offset < 0)
        {
            throw new SwitchboardException(ErrorCode.InvalidPosition, $"after is {after.Offset}; offsets start at 1, so use 0 or more.");
        }

        var read = await _store.ReadAsync(topic, after.Offset, limit, cancellationToken);
        var info = Check(topic, after, read.Topic);
        if (read.Messages.Count > 0 || wait == TimeSpan.Zero || _state != HubState.Ready)
        {
            return Page(info, after, read.Messages);
        }

        // Listen and register first, then read again: a commit between the first read and the wait is not missed.
        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        var subject = new BackplaneSubject(BackplaneSubjectKind.Topic, topic);
        var waiter = _dispatcher.Waiters.Register(topic, after.Offset);
        try
        {
            await _interests.AcquireAsync(subject, cancellationToken);
            while (true)
            {
                read = await _store.ReadAsync(topic, after.Offset, limit, cancellationToken);
                info = Check(topic, after, read.Topic);
                var left = wait - System.Diagnostics.Stopwatch.GetElapsedTime(started);
                if (read.Messages.Count > 0 || _state != HubState.Ready || left <= TimeSpan.Zero)
                {
                    return Page(info, after, read.Messages);
                }
                try
                {
                    await waiter.Signaled.WaitAsync(left, cancellationToken); // one timer, no linked token source per poll
                }
                catch (TimeoutException)
                {
                    return Page(info, after, []); // the wait ran out: an empty page
                }
                // Woken by a commit, a deletion (the read says so), the drain, or a resync after lost backplane events:
                // read again. A resync that finds nothing new is no answer; wait on, registered again before that read.
                _dispatcher.Waiters.Remove(waiter);
                waiter = _dispatcher.Waiters.Register(topic, after.Offset);
            }
        }
        finally
        {
            _dispatcher.Waiters.Remove(waiter);
            _interests.Release(subject);
        }
    }

    /// <summary>One message by offset; messages are immutable, so the answer never changes for a given epoch.</summary>
    /// <exception cref="SwitchboardException">Not found, removed by retention (<see cref="ErrorCode.MessageExpired"/>), or another epoch.</exception>
    public async Task<Message> GetMessageAsync(string topic, long offset, string? epoch, CancellationToken cancellationToken = default)
    {
        EnsureServing();
        TopicName.Validate(topic, allowSystem: true);
        if (offset < 1)
        {
            throw new SwitchboardException(ErrorCode.InvalidPosition, $"Offset {offset} does not exist: offsets start at 1.");
        }
        var read = await _store.ReadAsync(topic, offset - 1, 1, cancellationToken);
        var info = read.Topic ?? throw new TopicNotFoundException(topic);
        if (epoch is not null && epoch != info.Epoch)
        {
            throw new EpochMismatchException(topic, epoch, info.Epoch, info.FirstOffset);
        }
        if (read.Messages.Count == 1 && read.Messages[0].Offset == offset)
        {
            return read.Messages[0];
        }
        if (offset < info.FirstOffset)
        {
            throw new SwitchboardException(ErrorCode.MessageExpired, $"Message {offset} of topic '{topic}' was removed by retention; the oldest retained message is {info.FirstOffset}.")
            {
                Extensions = new Dictionary<string, object?> { ["firstOffset"] = info.FirstOffset },
            };
        }
        throw new SwitchboardException(ErrorCode.MessageNotFound, $"Topic '{topic}' has no message {offset} yet; its last offset is {info.LastOffset}.")
        {
            Extensions = new Dictionary<string, object?> { ["lastOffset"] = info.LastOffset },
        };
    }

    private static TopicInfo Check(string topic, Position after, TopicInfo? info)
    {
        if (info is null)
        {
            throw new TopicNotFoundException(topic);
        }
        if (after.Epoch is not null && after.Epoch != info.Epoch)
        {
            throw new EpochMismatchException(topic, after.Epoch, info.Epoch, info.FirstOffset);
        }
        if (after.Offset > info.LastOffset)
        {
            throw new SwitchboardException(ErrorCode.PositionOutOfRange,
                $"after={after.Offset} is beyond the last offset of topic '{topic}' ({info.LastOffset}, epoch '{info.Epoch}'). Was the topic recreated? Resume from '{info.Epoch}:{info.LastOffset}' for new messages only, or '{info.Epoch}:{info.FirstOffset - 1}' for everything retained.")
            {
                Extensions = new Dictionary<string, object?> { ["epoch"] = info.Epoch, ["firstOffset"] = info.FirstOffset, ["lastOffset"] = info.LastOffset },
            };
        }
        return info;
    }

    private static ReadPage Page(TopicInfo info, Position after, IReadOnlyList<Message> messages)
    {
        // Messages between the position and the oldest retained one are gone: say so instead of skipping silently.
        var missed = after.Offset + 1 < info.FirstOffset && info.FirstOffset <= info.LastOffset + 1
            ? (after.Offset + 1, Math.Min(info.FirstOffset - 1, info.LastOffset))
            : ((long, long)?)null;
        var next = messages.Count > 0 ? messages[^1].Offset : Math.Max(after.Offset, missed?.Item2 ?? 0);
        return new ReadPage { Topic = info, Messages = messages, Next = new Position(info.Epoch, next), Missed = missed };
    }
}
