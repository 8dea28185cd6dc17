using Microsoft.Extensions.Logging;

namespace Switchboard.Sqlite;

// Event ids 2000-2099 belong to the SQLite engine (see docs/logging.md).
internal static partial class SqliteLog
{
    [LoggerMessage(EventId = 2000, Level = LogLevel.Information, Message = "Opened SQLite store {Path} ({TopicCount} topics, schema {SchemaVersion}, SQLite {SqliteVersion})")]
    public static partial void Opened(ILogger logger, string path, int topicCount, int schemaVersion, string sqliteVersion);

    [LoggerMessage(EventId = 2001, Level = LogLevel.Information, Message = "Checked SQLite store {Path} in {ElapsedMs} ms: ok")]
    public static partial void Checked(ILogger logger, string path, long elapsedMs);

    [LoggerMessage(EventId = 2002, Level = LogLevel.Error, Message = "Commit of {OperationCount} operations to {Path} failed; all were rolled back and reported as failed ({EarlierFailures} other commits failed since the last report, at most every 10 s)")]
    public static partial void CommitFailed(ILogger logger, int operationCount, int earlierFailures, string path, Exception exception);

    [LoggerMessage(EventId = 2003, Level = LogLevel.Debug, Message = "Committed {OperationCount} operations ({MessageCount} messages) in {ElapsedMs:0.00} ms")]
    public static partial void Committed(ILogger logger, int operationCount, int messageCount, double elapsedMs);

    [LoggerMessage(EventId = 2005, Level = LogLevel.Error, Message = "Announcing a commit failed; the commit stands and subscribers recover by offset")]
    public static partial void NotifyFailed(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 2006, Level = LogLevel.Critical, Message = "Flushing the write-ahead log {Path} to disk failed; no change is confirmed from now on until the server restarts")]
    public static partial void SyncFailed(ILogger logger, string path, Exception exception);

    [LoggerMessage(EventId = 2004, Level = LogLevel.Information, Message = "Closed SQLite store {Path}")]
    public static partial void Closed(ILogger logger, string path);
}
