using Microsoft.Extensions.Logging;

namespace Switchboard.Core.Delivery;

public sealed partial class Subscription
{
    // One runner per subscription visits the topics that are behind, one at a time: a wildcard subscription
    // over thousands of topics costs one task, not thousands, and the sink is the bottleneck anyway.
    private async Task RunAsync()
    {
        var token = _stopping.Token;
        try
        {
            while (true)
            {
                Cursor cursor;
                lock (_gate)
                {
                    if (_disposed || !_behind.TryDequeue(out cursor!))
                    {
                        _running = false;
                        _caughtUp?.TrySetResult();
                        _caughtUp = null;
                        return;
                    }
                    cursor.Queued = false;
                    // Queued again while an earlier visit ran (a resync), that visit may have gone live since: live
                    // messages must wait again, or one could reach the sink live and once more from this visit's read.
                    cursor.CatchingUp = true;
                }
                try
                {
                    await CatchUpAsync(cursor, token);
                }
                catch (SwitchboardException ex) when (ex.Code is ErrorCode.StorageUnavailable or ErrorCode.Overloaded or ErrorCode.NotReady)
                {
                    // The store is away for a moment (Redis restarting): this topic is still behind. Try again shortly
                    // rather than stop; live events only note what they missed while a topic catches up, so a stopped
                    // runner would leave the subscription silent for good.
                    SubscriptionLog.CatchUpRetrying(_logger, cursor.Topic, ex.Message);
                    lock (_gate)
                    {
                        Behind(cursor, startRunner: false);
                    }
                    await Task.Delay(TimeSpan.FromSeconds(1), token);
                }
            }
        }
        catch (OperationCanceledException) when (token.IsCancellationRequested)
        {
            // disposed
        }
        catch (Exception ex)
        {
            // The sink failed (its connection is gone) or the store did in a way not worth retrying: this subscription
            // cannot continue. Left registered, it would stay silent for good (its topics catching up, their live messages
            // only noted): it leaves the fan-out, and the sink is told, so the transport ends the subscriber's stream with
            // an error and the client subscribes again from its last position. Logged, so a store fault is visible.
            SubscriptionLog.CatchUpFailed(_logger, string.Join(",", Patterns), ex);
            var error = ex as SwitchboardException ?? new SwitchboardException(ErrorCode.StorageUnavailable,
                "Reading a topic's history failed on the hub (its log says why); subscribe again from your last position.");
            lock (_gate)
            {
                _running = false;
                _faulted = true;
                _failure = error;
                _caughtUp?.TrySetException(error);
                _caughtUp = null;
            }
            Unregister();
            _sink.Fail(error);
        }
    }

    private async Task CatchUpAsync(Cursor cursor, CancellationToken token)
    {
        while (true)
        {
            long after;
            string? epoch;
            SubscriptionNotice? notice;
            lock (_gate)
            {
                cursor.Notices.TryDequeue(out notice);
                after = cursor.Next - 1;
                epoch = cursor.Epoch;
                if (notice is null)
                {
                    // The read below sees every commit announced so far (a commit is visible before it is announced).
                    cursor.ReadAgain = false;
                }
            }
            if (notice is not null)
            {
                await _sink.WriteNoticeAsync(notice, token);
                continue;
            }

            var read = await _store.ReadAsync(cursor.Topic, after, CatchUpBatch, token);
            var topic = read.Topic;
            if (topic is null)
            {
                lock (_gate)
                {
                    // Nothing to read: whatever incarnation comes next starts at offset 1.
                    cursor.Next = 1;
                    if (cursor.Epoch is { } gone && cursor.Deleted != gone)
                    {
                        // Started on a position of an incarnation deleted before (a resume while it was away): told, as a
                        // deletion while subscribed is, rather than left silent until a new incarnation shows.
                        cursor.Deleted = gone;
                        cursor.Notices.Enqueue(new TopicWasDeleted(cursor.Topic, gone));
                        continue;
                    }
                    if (cursor.Notices.Count == 0)
                    {
                        if (cursor.Pending == 0 && !cursor.ReadAgain)
                        {
                            cursor.CatchingUp = false;
                            return;
                        }
                        // A commit was seen live while we were catching up (the topic may have been created after
                        // our read): read again rather than go live and strand it. Pending restarts from this read.
                        cursor.Pending = 0;
                    }
                }
                continue;
            }
            if (epoch is null || epoch != topic.Epoch)
            {
                lock (_gate)
                {
                    if (epoch is not null)
                    {
                        cursor.Notices.Enqueue(new EpochChanged(cursor.Topic, epoch, topic.Epoch));
                        cursor.Next = 1;
                    }
                    cursor.Epoch = topic.Epoch;
                    // Offsets seen live may belong to the old incarnation; the reads that follow reach the live edge anyway.
                    cursor.Pending = 0;
                }
                continue;
            }
            if (cursor.ClampToEnd && after > topic.LastOffset)
            {
                // A wildcard's "after N" on a topic with fewer messages: start at its end.
                lock (_gate)
                {
                    cursor.Next = topic.LastOffset + 1;
                    cursor.ClampToEnd = false;
                }
                continue;
            }
            cursor.ClampToEnd = false;

            if (after + 1 < topic.FirstOffset)
            {
                await _sink.WriteNoticeAsync(new MessagesMissed(cursor.Topic, topic.Epoch, after + 1, topic.FirstOffset - 1), token);
                lock (_gate)
                {
                    cursor.Next = Math.Max(cursor.Next, topic.FirstOffset);
                }
            }
            foreach (var message in read.Messages)
            {
                await _sink.WriteAsync(message, token);
                lock (_gate)
                {
                    cursor.Next = message.Offset + 1;
                }
            }
            lock (_gate)
            {
                // Caught up when the store had nothing more at read time and no later commit was seen live since:
                // a commit after our read is announced after it is visible, so it either raised Pending already
                // or will find the cursor live.
                if (read.Messages.Count < CatchUpBatch && cursor.Pending < cursor.Next && !cursor.ReadAgain && cursor.Notices.Count == 0)
                {
                    cursor.CatchingUp = false;
                    cursor.Pending = 0;
                    return;
                }
            }
        }
    }
}

internal static partial class SubscriptionLog
{
    [LoggerMessage(EventId = 1101, Level = LogLevel.Warning, Message = "Subscription to {Patterns} stopped catching up")]
    public static partial void CatchUpFailed(ILogger logger, string patterns, Exception exception);

    [LoggerMessage(EventId = 1102, Level = LogLevel.Error, Message = "Subscription to {Patterns} stopped: its sink failed on live delivery")]
    public static partial void SinkFailed(ILogger logger, string patterns, Exception exception);

    [LoggerMessage(EventId = 1103, Level = LogLevel.Warning, Message = "Catching up {Topic} paused: {Reason}; trying again in a second")]
    public static partial void CatchUpRetrying(ILogger logger, string topic, string reason);
}
