using Microsoft.Extensions.Logging;

namespace Switchboard.Core;

// Event ids 1000-1099 belong to the hub (see docs/logging.md for every component's range).
internal static partial class HubLog
{
    [LoggerMessage(EventId = 1000, Level = LogLevel.Information, Message = "Hub is ready")]
    public static partial void Ready(ILogger logger);

    [LoggerMessage(EventId = 1001, Level = LogLevel.Information, Message = "Hub is draining: readiness is off, waits end early")]
    public static partial void Draining(ILogger logger);

    [LoggerMessage(EventId = 1002, Level = LogLevel.Information, Message = "Topic {Topic} (epoch {Epoch}) deleted with {MessageCount} messages")]
    public static partial void TopicDeleted(ILogger logger, string topic, string epoch, long messageCount);

    [LoggerMessage(EventId = 1003, Level = LogLevel.Debug, Message = "Retention sweep dropped {Count} messages")]
    public static partial void Swept(ILogger logger, long count);

    [LoggerMessage(EventId = 1005, Level = LogLevel.Warning, Message = "Announcing presence on {Topic} failed")]
    public static partial void PresenceFailed(ILogger logger, string topic, Exception exception);

    [LoggerMessage(EventId = 1004, Level = LogLevel.Error, Message = "Retention sweep failed")]
    public static partial void SweepFailed(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 1006, Level = LogLevel.Information, Message = "The backplane reconnected: subscriptions read back what they may have missed, waits look again")]
    public static partial void Resynced(ILogger logger);

    [LoggerMessage(EventId = 1007, Level = LogLevel.Debug, Message = "A receive on queue {Queue} was cancelled holding {Count} leased messages: {Released} given back, ready again")]
    public static partial void GaveBack(ILogger logger, string queue, int released, int count);

    [LoggerMessage(EventId = 1008, Level = LogLevel.Warning, Message = "A receive on queue {Queue} was cancelled holding {Count} leased messages and could not give them back: they are delivered again when their leases run out")]
    public static partial void GiveBackFailed(ILogger logger, string queue, int count, Exception exception);

    [LoggerMessage(EventId = 1009, Level = LogLevel.Information, Message = "Resume snapshots now kept {Retention}, at most {MaxCount}: the settings changed since the snapshot topic was created")]
    public static partial void ResumeRetentionApplied(ILogger logger, string retention, string maxCount);

    [LoggerMessage(EventId = 1010, Level = LogLevel.Warning, Message = "Queue {Queue} dropped {Dropped} of its oldest dead letters to stay within its maxDeadLetters ({Total} dropped since it was created); look at why its messages fail, redrive or purge them, or raise maxDeadLetters")]
    public static partial void DeadLettersDropped(ILogger logger, string queue, long dropped, long total);
}
