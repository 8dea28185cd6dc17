using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using Microsoft.Win32.SafeHandles;
using Switchboard.Core;

namespace Switchboard.Sqlite;

/// <summary>
/// The second stage of the group commit. The writer commits each batch with <c>synchronous=NORMAL</c> (the frames are
/// written to the write-ahead log, not yet flushed) and hands what must wait for the disk to this stage; here one
/// <c>fsync</c> of the log makes every batch committed before it durable, and only then are their callers answered,
/// their topics' tails and durable heads advanced and their messages fanned out. Meanwhile the writer commits the
/// next batch: the flush no longer stands between two commits, so a request and its reply (or a send and its ack)
/// need not wait for two flushes in a row.
/// </summary>
/// <remarks>
/// Why a flush of the log file from here is enough: fsync covers every write made to the file before it starts,
/// whichever descriptor made it, and SQLite in WAL mode with <c>synchronous=NORMAL</c> itself flushes the log before
/// copying it into the database and the database before reusing the log (its checkpoint), so a committed batch is
/// either in the flushed log or in the flushed database. A process crash loses nothing either way (written frames
/// are in the kernel's cache); the flush is what survives a power cut.
/// </remarks>
internal sealed class WalSync : IDisposable
{
    private readonly string _walPath;
    private readonly ILogger _logger;
    private readonly Action? _beforeSync;
    private readonly Channel<Action<Exception?>> _queue = Channel.CreateUnbounded<Action<Exception?>>(new UnboundedChannelOptions { SingleReader = true, SingleWriter = true });
    private readonly Thread _thread;
    // Opened with the store, not at the first flush: a flush that had to open the file could fail for want of a
    // descriptor (a flood of connections at the open-file limit), and a failed flush stops every later write.
    private readonly SafeFileHandle _wal;
    private volatile SwitchboardException? _broken;

    public WalSync(string databasePath, ILogger logger, Action? beforeSync)
    {
        _walPath = databasePath + "-wal";
        _logger = logger;
        _beforeSync = beforeSync;
        // SQLite created the log when the database opened in WAL mode (and keeps it while a connection is open).
        _wal = File.OpenHandle(_walPath, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.ReadWrite | FileShare.Delete);
        _thread = new Thread(Run) { IsBackground = true, Name = "switchboard-sqlite-sync" };
        _thread.Start();
    }

    /// <summary>
    /// Set once a flush failed: what was committed since the last good flush may not be on disk, and the kernel may
    /// have dropped those pages, so no later write can be confirmed durable either. Writes are refused until a restart.
    /// </summary>
    public SwitchboardException? Broken => _broken;

    /// <summary>
    /// Writer thread, after a commit: <paramref name="durable"/> runs on this stage's thread, in commit order, once a
    /// flush covers the commit — with null, or with the error when the flush failed.
    /// </summary>
    public void After(Action<Exception?> durable)
    {
        if (!_queue.Writer.TryWrite(durable))
        {
            durable(new SwitchboardException(ErrorCode.ShuttingDown, "The store closed before this change reached the disk."));
        }
    }

    private void Run()
    {
        var reader = _queue.Reader;
        var due = new List<Action<Exception?>>(64);
        while (reader.WaitToReadAsync().AsTask().GetAwaiter().GetResult())
        {
            while (reader.TryRead(out var next))
            {
                due.Add(next);
            }
            var error = _broken ?? Flush();
            foreach (var durable in due)
            {
                try
                {
                    durable(error);
                }
                catch (Exception ex)
                {
                    // The flush stands; a fault in one caller's continuation must neither skip the others nor stop this thread.
                    SqliteLog.NotifyFailed(_logger, ex);
                }
            }
            due.Clear();
        }
    }

    private SwitchboardException? Flush()
    {
        try
        {
            _beforeSync?.Invoke();
            RandomAccess.FlushToDisk(_wal);
            return null;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            SqliteLog.SyncFailed(_logger, _walPath, ex);
            return _broken = new SwitchboardException(ErrorCode.StorageUnavailable,
                $"The server could not flush its write-ahead log to disk ({ex.Message}); changes since the last flush may not be durable, so none is confirmed. Check the disk, then restart the server.", ex)
            { RetryAfterSeconds = 5 };
        }
    }

    /// <summary>Flushes and answers everything already handed over, then stops.</summary>
    public void Dispose()
    {
        _queue.Writer.TryComplete();
        _thread.Join();
        _wal.Dispose();
    }
}
