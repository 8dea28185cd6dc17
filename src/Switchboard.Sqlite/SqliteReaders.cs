using System.Diagnostics;
using System.Diagnostics.CodeAnalysis;
using Microsoft.Data.Sqlite;
using Switchboard.Core;

namespace Switchboard.Sqlite;

/// <summary>
/// The store's read-only connections: at most <see cref="Max"/> open at once, kept open and lent out one read at a time.
/// Microsoft.Data.Sqlite's own pool has no upper bound: a burst of concurrent reads (long polls, history, replies) opened
/// a connection each, every one holding descriptors (database, log, index) and a thread for its read, until the process
/// ran out of descriptors and the writer could no longer open its files. Here a permit is taken before a connection is
/// lent or opened and given back only after the connection is back on the idle stack (or closed), so the connections
/// open never outnumber the permits: lent ones hold one each, idle ones were put back by a holder. A read that finds no
/// permit waits for one asynchronously: no more threads block on reads than there are readers.
/// </summary>
#pragma warning disable CA1001 // _permits: SemaphoreSlim holds nothing to dispose unless its wait handle is asked for (never here), and a disposed one would fail a late read with ObjectDisposedException instead of the closing error
internal sealed class SqliteReaders
#pragma warning restore CA1001
{
    private readonly string _connectionString;
    private readonly SemaphoreSlim _permits;
    private readonly Stack<SqliteConnection> _idle; // and the lock for it and for _closed's meaning to Return
    private volatile bool _closed;
    private int _open;
    private int _waiting;
    private long _waited;

    public SqliteReaders(string databasePath, int max)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(max, 1);
        _connectionString = new SqliteConnectionStringBuilder { DataSource = databasePath, Mode = SqliteOpenMode.ReadOnly, Pooling = false }.ConnectionString;
        Max = max;
        _permits = new SemaphoreSlim(max, max);
        _idle = new Stack<SqliteConnection>(max);
    }

    /// <summary>The most connections open at once.</summary>
    public int Max { get; }

    /// <summary>Connections open now, lent or idle.</summary>
    public int Open => Volatile.Read(ref _open);

    /// <summary>Connections open and not lent.</summary>
    public int Idle
    {
        get
        {
            lock (_idle)
            {
                return _idle.Count;
            }
        }
    }

    /// <summary>Reads waiting for a connection now.</summary>
    public int Waiting => Volatile.Read(ref _waiting);

    /// <summary>Reads that had to wait for a connection, since the set was made.</summary>
    public long Waited => Interlocked.Read(ref _waited);

    /// <summary>Whether <see cref="Close"/> has begun: nothing is lent from then on.</summary>
    public bool Closed => _closed;

    /// <summary>Lends a connection at once if one is free or may be opened; false when all <see cref="Max"/> are lent.</summary>
    public bool TryTake([NotNullWhen(true)] out SqliteConnection? connection)
    {
        if (_closed)
        {
            throw Closing();
        }
        if (!_permits.Wait(0))
        {
            connection = null;
            return false;
        }
        connection = Lend();
        return true;
    }

    /// <summary>Lends a connection once one is free (call after <see cref="TryTake"/> found none).</summary>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled first.</exception>
    public async Task<SqliteConnection> TakeAsync(CancellationToken cancellationToken)
    {
        if (_closed)
        {
            throw Closing();
        }
        Interlocked.Increment(ref _waiting);
        Interlocked.Increment(ref _waited);
        try
        {
            await _permits.WaitAsync(cancellationToken);
        }
        finally
        {
            Interlocked.Decrement(ref _waiting);
        }
        return Lend();
    }

    /// <summary>
    /// Gives back a connection <see cref="TryTake"/> or <see cref="TakeAsync"/> lent. One whose read failed in SQLite is
    /// closed instead of kept (<paramref name="discard"/>): the next read opens a fresh one.
    /// </summary>
    public void Return(SqliteConnection connection, bool discard = false)
    {
        var kept = false;
        lock (_idle)
        {
            if (!discard && !_closed)
            {
                _idle.Push(connection);
                kept = true;
            }
        }
        if (!kept)
        {
            Dispose(connection);
        }
        _permits.Release(); // after the connection is idle or closed: a permit never stands for a connection in limbo
    }

    /// <summary>
    /// Closes every connection: lends no more, waits up to <paramref name="patience"/> for the lent ones to come back
    /// (a read takes milliseconds; a backup may take longer), closes the idle ones, and wakes the reads still waiting,
    /// which fail with <c>storage-unavailable</c>. A connection that comes back later is closed on its return.
    /// </summary>
    public void Close(TimeSpan patience)
    {
        _closed = true;
        var deadline = Stopwatch.GetTimestamp() + (long)(patience.TotalSeconds * Stopwatch.Frequency);
        var held = 0;
        while (held < Max && _permits.Wait(Remaining(deadline)))
        {
            held++;
        }
        SqliteConnection[] idle;
        lock (_idle)
        {
            idle = [.. _idle];
            _idle.Clear();
        }
        foreach (var connection in idle)
        {
            Dispose(connection);
        }
        if (held > 0)
        {
            _permits.Release(held);
        }
    }

    // Holding a permit: the newest idle connection (its pages are the likeliest still cached), or a new one.
    private SqliteConnection Lend()
    {
        try
        {
            lock (_idle)
            {
                if (_closed)
                {
                    throw Closing();
                }
                if (_idle.TryPop(out var idle))
                {
                    return idle;
                }
            }
            var connection = new SqliteConnection(_connectionString);
            try
            {
                connection.Open();
            }
            catch (SqliteException ex)
            {
                connection.Dispose();
                throw new SwitchboardException(ErrorCode.StorageUnavailable, "The storage engine cannot be read right now; retry shortly.", ex) { RetryAfterSeconds = 1 };
            }
            Interlocked.Increment(ref _open);
            return connection;
        }
        catch
        {
            _permits.Release();
            throw;
        }
    }

    private void Dispose(SqliteConnection connection)
    {
        connection.Dispose();
        Interlocked.Decrement(ref _open);
    }

    private static TimeSpan Remaining(long deadline)
    {
        var left = deadline - Stopwatch.GetTimestamp();
        return left <= 0 ? TimeSpan.Zero : TimeSpan.FromSeconds((double)left / Stopwatch.Frequency);
    }

    private static SwitchboardException Closing() => new(ErrorCode.StorageUnavailable, "The storage engine is closed: the hub is stopping.") { RetryAfterSeconds = 1 };
}
