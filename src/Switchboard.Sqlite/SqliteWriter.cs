using System.Diagnostics;
using System.Threading.Channels;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging;
using Switchboard.Core;
using Switchboard.Core.Engines;

namespace Switchboard.Sqlite;

/// <summary>
/// The single writer of the embedded engine, on its own thread. Group commit: it takes every request queued
/// (up to a bound), runs them in one transaction and commits once; the <see cref="WalSync"/> stage then flushes the
/// log — one fsync for every batch committed meanwhile — and only then tells the listener, in commit order, and
/// completes the requests. Offsets are handed out here, so they never collide.
/// </summary>
internal sealed partial class SqliteWriter : IDisposable
{
    private readonly SqliteConnection _connection;
    private readonly Channel<WriteOp> _queue;
    private readonly SqliteStoreOptions _options;
    private readonly ILogger _logger;
    private readonly Func<IStoreListener?> _listener;
    private readonly Dictionary<string, TopicState> _topics = new(StringComparer.Ordinal);
    private long _clientTopics; // the topics of _topics that count against SqliteStoreOptions.MaxTopics (TopicLimit.Counts)
    private readonly HashSet<TopicState> _touched = [];
    private readonly List<string> _deleted = [];
    private readonly TailCache _tails;
    private readonly ReplyCache _recentReplies;
    private readonly Thread _thread;
    private readonly WalSync _sync;
    private bool _inTransaction;
    private readonly Core.Observability.HubMeters? _meters;
    internal static readonly KeyValuePair<string, object?> EngineTag = new("engine", "sqlite");

    public SqliteWriter(SqliteConnection connection, SqliteStoreOptions options, ILogger logger, Func<IStoreListener?> listener, TailCache tails, ReplyCache replies, Core.Observability.HubMeters? meters = null)
    {
        _recentReplies = replies;
        _meters = meters;
        _tails = tails;
        _connection = connection;
        _options = options;
        _logger = logger;
        _listener = listener;
        _queue = Channel.CreateBounded<WriteOp>(new BoundedChannelOptions(options.QueueCapacity)
        {
            SingleReader = true,
            FullMode = BoundedChannelFullMode.Wait,
        });
        Prepare();
        PrepareQueues();
        LoadTopics();
        foreach (var topic in _topics.Values)
        {
            tails.SetDurable(topic.Name, topic.LastOffset); // all of it: the log was flushed when the database opened
        }
        LoadQueues();
        _sync = new WalSync(connection.DataSource, logger, options.BeforeSync);
        _thread = new Thread(Run) { IsBackground = true, Name = "switchboard-sqlite-writer" };
        _thread.Start();
    }

    public int TopicCount => _topics.Count;

    // What the callers of a failed commit hear. A full disk is said as such (the operator must act; until then every
    // write fails alike); its path is in the log, not in the answer.
    private static SwitchboardException CommitError(Exception ex) => ex is SqliteException { SqliteErrorCode: SqliteFull }
        ? new SwitchboardException(ErrorCode.StorageUnavailable,
            "The hub's disk is full: nothing was stored. Reads go on; writes resume once the hub's operator frees space on the disk of its data directory.", ex)
        { RetryAfterSeconds = 5 }
        : new SwitchboardException(ErrorCode.StorageUnavailable,
            "The storage engine could not commit this request (nothing was stored). Retry shortly; if it persists, check the server's disk and logs.", ex)
        { RetryAfterSeconds = 1 };

    private const int SqliteFull = 13; // SQLITE_FULL: "database or disk is full"
    private const long FailureLogEvery = 10_000; // ms
    private long _failureLoggedAt; // Environment.TickCount64 of the last failure logged; 0 once a commit succeeded
    private int _failuresUnlogged;

    // A failure that lasts (a full disk) fails every commit: the first is logged with its exception, then one line at most
    // every 10 s with how many failed meanwhile, so the log (often on the same disk) is not flooded.
    private void LogCommitFailure(int operations, Exception ex)
    {
        var now = Environment.TickCount64;
        if (_failureLoggedAt != 0 && now - _failureLoggedAt < FailureLogEvery)
        {
            _failuresUnlogged++;
            return;
        }
        SqliteLog.CommitFailed(_logger, operations, _failuresUnlogged, _connection.DataSource, ex);
        _failureLoggedAt = now;
        _failuresUnlogged = 0;
    }

    /// <summary>Why no write can be confirmed any more (a flush of the log failed), or null.</summary>
    public SwitchboardException? Broken => _sync.Broken;

    private long _queuedBytes;

    public async Task<T> EnqueueAsync<T>(WriteOp<T> op, CancellationToken cancellationToken)
    {
        if (_sync.Broken is { } broken)
        {
            throw broken;
        }
        var bytes = op.ByteCount;
        if (bytes > 0)
        {
            // New messages are shed, not queued, once the backlog is full: waiting would hold their payloads in memory
            // for as long as the overload lasts.
            var queued = Interlocked.Add(ref _queuedBytes, bytes);
            if (queued - bytes > 0 && (queued > _options.MaxQueuedBytes || _queue.Reader.Count >= _options.QueueCapacity))
            {
                Interlocked.Add(ref _queuedBytes, -bytes);
                throw new SwitchboardException(ErrorCode.Overloaded,
                    $"The storage engine is behind: {(queued - bytes) / (1024 * 1024)} MiB in {_queue.Reader.Count} requests are waiting to be written (Switchboard:Sqlite:MaxQueuedBytes). Retry after a moment.")
                {
                    RetryAfterSeconds = 1,
                };
            }
        }
        if (!_queue.Writer.TryWrite(op))
        {
            try
            {
                await _queue.Writer.WriteAsync(op, cancellationToken);
            }
            catch (Exception ex) when (ex is ChannelClosedException or OperationCanceledException)
            {
                // Never queued, so the writer will never count its bytes off: this caller does (a message that passed the
                // backlog check just before the queue filled, and whose caller then went away or the store closed).
                Interlocked.Add(ref _queuedBytes, -bytes);
                if (ex is OperationCanceledException)
                {
                    throw;
                }
                throw new SwitchboardException(ErrorCode.ShuttingDown, "The store is closing; retry against another node or after the restart.") { RetryAfterSeconds = 1 };
            }
        }
        // Once queued, the request will be committed or failed; cancelling only stops this caller's wait.
        return await op.Task.WaitAsync(cancellationToken);
    }

    private void Run()
    {
        var batch = new List<WriteOp>(256);
        var reader = _queue.Reader;
        while (true)
        {
            if (!reader.TryRead(out var first))
            {
                if (!reader.WaitToReadAsync().AsTask().GetAwaiter().GetResult())
                {
                    return;
                }
                continue;
            }
            batch.Add(first);
            var messages = first.MessageCount;
            var bytes = first.ByteCount;
            while (messages < _options.MaxBatchMessages && bytes < _options.MaxBatchBytes && reader.TryRead(out var next))
            {
                batch.Add(next);
                messages += next.MessageCount;
                bytes += next.ByteCount;
            }
            Interlocked.Add(ref _queuedBytes, -bytes);
            Commit(batch, messages);
            batch.Clear();
        }
    }

    private void Commit(List<WriteOp> batch, int messageCount)
    {
        var started = Stopwatch.GetTimestamp();
        try
        {
            _begin.ExecuteNonQuery();
            _inTransaction = true;
            foreach (var op in batch)
            {
                try
                {
                    op.Execute(this);
                }
                catch (SwitchboardException ex)
                {
                    op.Error = ex; // refused before it wrote anything
                }
            }
            FlushTopics();
            FlushNextIds();
            _commit.ExecuteNonQuery();
            _inTransaction = false;
            _failureLoggedAt = 0; // the next failure is news again
        }
        catch (Exception ex)
        {
            LogCommitFailure(batch.Count, ex);
            TraceCommit(batch, messageCount, Stopwatch.GetElapsedTime(started), ex);
            try
            {
                if (_inTransaction)
                {
                    _rollback.ExecuteNonQuery();
                }
            }
            catch (SqliteException)
            {
                // the rollback failed too (e.g. the disk is gone, or a failed COMMIT already ended the transaction);
                // SQLite rolls back on the next open
            }
            var error = ex as SwitchboardException ?? CommitError(ex);
            foreach (var op in batch)
            {
                op.Fail(error);
            }
            ReloadTopics();
            ReloadQueues();
            CompleteHandoffs(committed: false);
            _enqueued.Clear();
            _replied.Clear();
            _droppedDead.Clear();
            _sync.After(_ => _tails.Clear()); // after the tails of the batches still waiting for their flush
            _touched.Clear();
            _deleted.Clear();
            _nextIds.Clear();
            return;
        }
        finally
        {
            _inTransaction = false;
        }

        // Committed, not yet flushed. What only hands out work may go now — the leases this batch gave (to parked
        // receives or asked for), the wake-ups of receives and of requesters waiting for a reply — since nothing is
        // confirmed by it: a sender, an acker, a replier hears only after the flush, and a power cut before it can only make a
        // consumer see a message again, which at-least-once allows.
        var listener = _listener();
        CompleteHandoffs(committed: true);
        foreach (var op in batch)
        {
            if (op.AnswersAtCommit)
            {
                op.Complete();
            }
        }
        foreach (var queue in TakeEnqueued())
        {
            listener?.OnEnqueued(queue);
        }
        foreach (var reply in TakeReplied())
        {
            listener?.OnReplied(reply);
        }
        ReportDropped(listener);
        var tails = TakeTails(batch);
        var ops = batch.ToArray();
        _sync.After(error => Durable(ops, tails, messageCount, started, error));
    }

    /// <summary>
    /// The sync stage, once the batch is on disk: the tail cache and the durable heads first, then the announcements
    /// (whoever an announcement wakes finds the messages there), then the callers' answers.
    /// </summary>
    private void Durable(WriteOp[] batch, TailChanges tails, int messageCount, long started, Exception? error)
    {
        if (error is not null)
        {
            foreach (var op in batch)
            {
                op.Fail(error);
            }
            return;
        }
        tails.Apply(_tails);
        // The commit is durable now: its span is recorded before anyone hears of it, so whoever is answered or sent a
        // message from this batch finds the span already there.
        var took = Stopwatch.GetElapsedTime(started);
        TraceCommit(batch, messageCount, took, error: null);
        var listener = _listener();
        foreach (var op in batch)
        {
            if (listener is not null)
            {
                try
                {
                    op.Notify(listener);
                }
                catch (Exception ex)
                {
                    // The commit stands; a fault in fan-out must neither fail the publisher nor stop this thread.
                    SqliteLog.NotifyFailed(_logger, ex);
                }
            }
            if (!op.AnswersAtCommit)
            {
                op.Complete();
            }
        }
        SqliteLog.Committed(_logger, batch.Length, messageCount, took.TotalMilliseconds);
        if (_meters is not null)
        {
            _meters.CommitDuration.Record(took.TotalSeconds, EngineTag);
            _meters.CommitMessages.Record(messageCount, EngineTag);
        }
    }

    /// <summary>The commit as a span in the traces of the operations it made durable (nothing when untraced).</summary>
    private static void TraceCommit(IReadOnlyList<WriteOp> batch, int messageCount, TimeSpan took, Exception? error)
    {
        if (!Core.Observability.HubTracing.Source.HasListeners())
        {
            return;
        }
        var parents = new List<ActivityContext>();
        foreach (var op in batch)
        {
            if (op.Trace != default)
            {
                parents.Add(op.Trace);
            }
        }
        var now = DateTimeOffset.UtcNow;
        using var span = Core.Observability.HubTracing.StartCommit("sqlite", parents, batch.Count, messageCount, now - took);
        if (span is not null && error is not null)
        {
            span.SetStatus(ActivityStatusCode.Error, error.Message);
        }
    }

    /// <summary>Writer thread, after the commit: what the batch changed in each topic's tail, applied once it is durable.</summary>
    private TailChanges TakeTails(List<WriteOp> batch)
    {
        Dictionary<string, List<Message>>? added = null;
        foreach (var op in batch)
        {
            if (op is AppendOp { Committed: { } result })
            {
                added ??= new(StringComparer.Ordinal);
                if (!added.TryGetValue(result.Topic, out var list))
                {
                    added[result.Topic] = list = [];
                }
                list.AddRange(result.Messages);
            }
        }
        if (_touched.Count == 0 && _deleted.Count == 0)
        {
            return TailChanges.None; // a batch of queue calls only
        }
        var changes = new TailChanges(_deleted.Count == 0 ? [] : [.. _deleted], []);
        foreach (var topic in _touched)
        {
            if (_topics.TryGetValue(topic.Name, out var current) && ReferenceEquals(current, topic))
            {
                changes.Touched.Add((topic.Snapshot(), added?.GetValueOrDefault(topic.Name) ?? (IReadOnlyList<Message>)[]));
            }
        }
        _touched.Clear();
        _deleted.Clear();
        return changes;
    }

    private sealed record TailChanges(string[] Deleted, List<(TopicInfo Info, IReadOnlyList<Message> Added)> Touched)
    {
        public static readonly TailChanges None = new([], []);

        public void Apply(TailCache tails)
        {
            foreach (var name in Deleted)
            {
                tails.Remove(name);
            }
            foreach (var (info, added) in Touched)
            {
                tails.Append(info, added);
            }
        }
    }

    public void Dispose()
    {
        _queue.Writer.TryComplete();
        _thread.Join();
        while (_queue.Reader.TryRead(out var op))
        {
            op.Fail(new SwitchboardException(ErrorCode.ShuttingDown, "The store closed before this request ran (nothing was stored)."));
        }
        _sync.Dispose(); // the last flush: every commit made is answered
        DisposeStatements();
        foreach (var command in new[] { _insertQueueMessage, _updateQueueMessage, _selectQueueBody, _deleteQueueMessage, _selectReply }.Concat(_statements.Values))
        {
            command?.Dispose();
        }
    }

    private void ReloadQueues()
    {
        try
        {
            LoadQueues();
        }
        catch (SqliteException)
        {
            // the database is unreachable; the next batch fails the same way and retries the reload
            _queues.Clear();
        }
    }
}
