using System.Diagnostics;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging;
using Switchboard.Core;
using Switchboard.Core.Engines;

namespace Switchboard.Sqlite;

/// <summary>
/// The embedded durable engine: one SQLite database in WAL mode; a commit is on disk (its log fsync'd) before any
/// publisher is answered. One writer thread commits in groups and a second stage flushes the log for every group
/// committed meanwhile (<see cref="WalSync"/>); reads run concurrently on a bounded set of read-only connections
/// (<see cref="SqliteReaders"/>, <see cref="SqliteStoreOptions.MaxReaders"/>), each in its own snapshot.
/// </summary>
public sealed partial class SqliteStore : IStore
{
    private readonly SqliteStoreOptions _options;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private readonly Core.Observability.HubMeters? _meters; // commit duration and batch size
    private IStoreListener? _listener;
    private DataDirectoryLock? _lock;
    private SqliteConnection? _writerConnection;
    private SqliteWriter? _writer;
    private SqliteReaders? _readers;
    private readonly TailCache _tails = new();
    private readonly ReplyCache _replies = new();

    /// <summary>Creates the engine; nothing touches the disk until <see cref="OpenAsync"/>. With <paramref name="meters"/>, each commit is recorded on them.</summary>
    public SqliteStore(SqliteStoreOptions options, ILoggerFactory loggerFactory, TimeProvider? time = null, Core.Observability.HubMeters? meters = null)
    {
        _meters = meters;
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(loggerFactory);
        if (options.MaxReaders is < 1 or > SqliteStoreOptions.MaxReadersLimit)
        {
            throw new ArgumentOutOfRangeException(nameof(options), options.MaxReaders, $"SqliteStoreOptions.MaxReaders (Switchboard:Sqlite:MaxReaders) must be from 1 to {SqliteStoreOptions.MaxReadersLimit}.");
        }
        _options = options;
        _logger = loggerFactory.CreateLogger<SqliteStore>();
        _time = time ?? TimeProvider.System;
        DatabasePath = Path.GetFullPath(Path.Combine(options.DataDirectory, "switchboard.db"));
        if (meters is not null)
        {
            ObserveReaders(meters);
        }
    }

    /// <summary>The database file.</summary>
    public string DatabasePath { get; }

    /// <inheritdoc />
    public void SetListener(IStoreListener listener) => _listener = listener;

    /// <inheritdoc />
    public string? Unavailable => _writer?.Broken?.Message;

    /// <inheritdoc />
    public Task OpenAsync(CancellationToken cancellationToken)
    {
        var directory = Path.GetDirectoryName(DatabasePath)!;
        Directory.CreateDirectory(directory);
        _lock = DataDirectoryLock.Acquire(directory);
        try
        {
            var builder = new SqliteConnectionStringBuilder { DataSource = DatabasePath, Mode = SqliteOpenMode.ReadWriteCreate, Pooling = false };
            _writerConnection = new SqliteConnection(builder.ConnectionString);
            _writerConnection.Open();
            Pragma("journal_mode = WAL", expect: "wal");
            // FULL while opening: the schema's changes are on disk before the writer starts.
            Pragma("synchronous = FULL");
            if (_options.CheckOnOpen)
            {
                var started = Stopwatch.GetTimestamp();
                var check = SqliteSchema.Scalar(_writerConnection, "PRAGMA quick_check") as string;
                if (check != "ok")
                {
                    throw Corrupt($"SQLite's integrity check reports: {check}");
                }
                SqliteLog.Checked(_logger, DatabasePath, (long)Stopwatch.GetElapsedTime(started).TotalMilliseconds);
            }
            SqliteSchema.Apply(_writerConnection, DatabasePath);
            // From here commits only write the log; the writer's sync stage flushes it before anyone is answered.
            Pragma("synchronous = NORMAL");
            _writer = new SqliteWriter(_writerConnection, _options, _logger, () => _listener, _tails, _replies, _meters);
            _readers = new SqliteReaders(DatabasePath, _options.MaxReaders);
            var sqliteVersion = SqliteSchema.Scalar(_writerConnection, "SELECT sqlite_version()") as string ?? "?";
            SqliteLog.Opened(_logger, DatabasePath, _writer.TopicCount, SqliteSchema.Version, sqliteVersion);
        }
        catch (SqliteException ex) when (ex.SqliteErrorCode is 11 or 26) // SQLITE_CORRUPT, SQLITE_NOTADB
        {
            Close();
            throw Corrupt(ex.Message, ex);
        }
        catch
        {
            Close();
            throw;
        }
        return Task.CompletedTask;
    }

    /// <inheritdoc />
    public Task<AppendResult> AppendAsync(AppendRequest request, CancellationToken cancellationToken)
        => Writer.EnqueueAsync(new AppendOp(request), cancellationToken);

    /// <inheritdoc />
    public Task<PutTopicResult> PutTopicAsync(string topic, TopicConfig config, long? expectedConfigVersion, CancellationToken cancellationToken)
        => Writer.EnqueueAsync(new PutTopicOp(topic, config, expectedConfigVersion, _time.GetUtcNow()), cancellationToken);

    /// <inheritdoc />
    public Task<TopicInfo?> DeleteTopicAsync(string topic, long? expectedConfigVersion, CancellationToken cancellationToken)
        => Writer.EnqueueAsync(new DeleteTopicOp(topic, expectedConfigVersion), cancellationToken);

    /// <inheritdoc />
    public Task<long> SweepAsync(DateTimeOffset now, CancellationToken cancellationToken)
        => Writer.EnqueueAsync(new SweepOp(now), cancellationToken);

    /// <inheritdoc />
    public ValueTask DisposeAsync()
    {
        Close();
        return ValueTask.CompletedTask;
    }

    private SqliteWriter Writer => _writer ?? throw new InvalidOperationException("The store is not open; call OpenAsync first.");

    private void Close()
    {
        var wasOpen = _writer is not null;
        _writer?.Dispose();
        _writer = null;
        _tails.Clear();
        _replies.Clear();
        // Readers hold the file open; close them so the directory can be moved or deleted — and before the writer, so
        // that the writer's is the last connection to close: only then does SQLite copy the log into the database and
        // delete it (a read-only connection cannot), leaving one self-contained file after a clean stop. A read still
        // running is waited for, briefly: past that the store closes anyway (the log is then folded at the next open).
        _readers?.Close(ReaderPatience);
        _writerConnection?.Dispose();
        _writerConnection = null;
        _lock?.Dispose();
        _lock = null;
        if (wasOpen)
        {
            SqliteLog.Closed(_logger, DatabasePath);
        }
    }

    private void Pragma(string pragma, string? expect = null)
    {
        var result = SqliteSchema.Scalar(_writerConnection!, "PRAGMA " + pragma);
        if (expect is not null && !string.Equals(result as string, expect, StringComparison.OrdinalIgnoreCase))
        {
            throw new InvalidOperationException($"SQLite refused 'PRAGMA {pragma}' (answered '{result}'); the data directory must be on a local file system that supports shared memory.");
        }
    }

    private StoreCorruptException Corrupt(string detail, Exception? inner = null) => new(
        $"The database {DatabasePath} is damaged ({detail}). Switchboard will not serve from it. Restore it from a backup, or move the data directory away to start empty (every topic then starts a new epoch).",
        inner);
}
