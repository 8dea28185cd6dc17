using Microsoft.Extensions.Logging;

namespace Switchboard.Redis;

/// <summary>The Redis backplane and node registry log events (ids 4100–4199; see docs/logging.md).</summary>
internal static partial class BackplaneLog
{
    [LoggerMessage(EventId = 4100, Level = LogLevel.Warning, Message = "Could not publish a {Event} to Redis; nodes will recover it from the store by offset")]
    public static partial void PublishFailed(ILogger logger, string @event, Exception exception);

    [LoggerMessage(EventId = 4101, Level = LogLevel.Warning, Message = "Dropped an undecodable backplane event on {Channel} (another hub version on the same prefix?)")]
    public static partial void UndecodableEvent(ILogger logger, string channel, Exception exception);

    [LoggerMessage(EventId = 4102, Level = LogLevel.Error, Message = "Lost the connection to Redis at {EndPoint} ({Failure}); retrying. Publishes answer 503 until it is back")]
    public static partial void ConnectionLost(ILogger logger, string endPoint, string failure, Exception? exception);

    [LoggerMessage(EventId = 4103, Level = LogLevel.Information, Message = "Connection to Redis at {EndPoint} restored")]
    public static partial void ConnectionRestored(ILogger logger, string endPoint);

    [LoggerMessage(EventId = 4104, Level = LogLevel.Error, Message = "Redis at {Configuration} is unreachable; retrying until it answers (is redis-server running there?)")]
    public static partial void Unreachable(ILogger logger, string configuration);

    [LoggerMessage(EventId = 4105, Level = LogLevel.Warning, Message = "Could not answer or read a question between nodes; the asker lists this node as missing")]
    public static partial void QuestionFailed(ILogger logger, Exception exception);
}
