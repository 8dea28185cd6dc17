using Microsoft.Extensions.Logging;

namespace Switchboard.Redis;

// Event ids 2100-2149 belong to the Redis store (see docs/logging.md).
internal static partial class RedisStoreLog
{
    [LoggerMessage(EventId = 2100, Level = LogLevel.Information, Message = "Opened Redis store at {Address} (key prefix '{Prefix}', Redis {Version})")]
    public static partial void Opened(ILogger logger, string address, string prefix, Version version);

    [LoggerMessage(EventId = 2101, Level = LogLevel.Warning, Message = "Waiting for Redis at {Address} (attempt {Attempt}): {Reason}. The hub starts serving once it answers")]
    public static partial void Waiting(ILogger logger, string address, int attempt, string reason);

    [LoggerMessage(EventId = 2102, Level = LogLevel.Error, Message = "Redis at {Address} cannot be reached or written: {Reason}. Operations answer storage-unavailable until it is back")]
    public static partial void Unavailable(ILogger logger, string address, string reason);

    [LoggerMessage(EventId = 2103, Level = LogLevel.Information, Message = "Redis at {Address} answers again")]
    public static partial void Recovered(ILogger logger, string address);

    [LoggerMessage(EventId = 2104, Level = LogLevel.Error, Message = "Announcing a commit failed; the commit stands and subscribers recover by offset")]
    public static partial void AnnounceFailed(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 2105, Level = LogLevel.Warning, Message = "Handing messages of queue '{Queue}' to waiting receives failed; they are still in the queue and the receives look again")]
    public static partial void HandOffFailed(ILogger logger, string queue, Exception exception);
}
