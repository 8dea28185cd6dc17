using System.Collections.Concurrent;
using System.Text;
using Microsoft.Extensions.Logging.Abstractions;
using Switchboard.Core;
using Switchboard.Core.Engines;
using Switchboard.Sqlite;

namespace Switchboard.Contract.Tests;

/// <summary>
/// The embedded engine reads on a bounded set of read-only connections (Switchboard:Sqlite:MaxReaders): a burst of
/// concurrent reads is served by at most that many, measured as the process's open descriptors on the database, its
/// log and its index (/proc/self/fd); a read waiting for a connection ends with its token and leaks nothing; a clean
/// stop closes every reader before the writer, so the log is folded into the database.
/// </summary>
public sealed class SqliteReaderTests : IAsyncLifetime
{
    private const int Readers = 2;
    private const int Messages = 400; // past the tail cache's 256 per topic: reads from the start reach SQLite
    private const string Topic = "history";
    private static readonly DateTimeOffset T0 = DateTimeOffset.UtcNow;
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);
    private readonly string _directory = Path.Combine(Path.GetTempPath(), "switchboard-readers-" + Guid.NewGuid().ToString("N")[..12]);
    private SqliteStore _store = null!;

    public async Task InitializeAsync()
    {
        _store = new SqliteStore(new SqliteStoreOptions { DataDirectory = _directory, MaxReaders = Readers }, NullLoggerFactory.Instance);
        await _store.OpenAsync(default);
        var drafts = Enumerable.Range(1, Messages).Select(i => new MessageDraft { Payload = Encoding.UTF8.GetBytes($"m{i}") }).ToList();
        await _store.AppendAsync(new AppendRequest(Topic, drafts) { CreateTopic = new TopicConfig(RetentionPolicy.Unlimited), Timestamp = T0 }, default);
    }

    public async Task DisposeAsync()
    {
        await _store.DisposeAsync();
        Directory.Delete(_directory, recursive: true);
    }

    [Fact]
    public async Task A_burst_of_200_concurrent_reads_is_served_correctly_by_at_most_MaxReaders_connections_and_a_clean_stop_folds_the_log()
    {
        var database = _store.DatabasePath;
        var writers = SqliteDescriptors(database); // the writer's, before any read
        Assert.True(writers > 0, $"no descriptor of {database} is listed in /proc/self/fd: the measure cannot see the database");

        // 25 threads of 8 reads each, released together: far more reads at once than readers.
        const int Threads = 25, ReadsEach = 8;
        var failures = new ConcurrentQueue<string>();
        using var start = new Barrier(Threads + 1);
        var burst = Enumerable.Range(0, Threads).Select(t => Task.Factory.StartNew(() =>
        {
            start.SignalAndWait();
            for (var i = 0; i < ReadsEach; i++)
            {
                var after = (t * ReadsEach + i) % 100;
                try
                {
                    var read = _store.ReadAsync(Topic, after, 100, default).GetAwaiter().GetResult();
                    var expected = Enumerable.Range(after + 1, 100).Select(o => $"{o}=m{o}");
                    var got = read.Messages.Select(m => $"{m.Offset}={Encoding.UTF8.GetString(m.Payload.Span)}");
                    if (!got.SequenceEqual(expected) || read.Topic?.LastOffset != Messages)
                    {
                        failures.Enqueue($"read after {after}: {string.Join(",", got.Take(3))}… ({read.Messages.Count} messages)");
                    }
                }
                catch (Exception ex)
                {
                    failures.Enqueue($"read after {after}: {ex}");
                }
            }
        }, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default)).ToArray();

        // Sample the descriptors on the database's files for as long as the burst runs.
        var most = 0;
        var samples = 0;
        var done = false;
        var sampler = new Thread(() =>
        {
            while (!Volatile.Read(ref done))
            {
                most = Math.Max(most, SqliteDescriptors(database));
                samples++;
            }
        }) { IsBackground = true, Name = "fd-sampler" };
        sampler.Start();
        start.SignalAndWait();
        await Task.WhenAll(burst).WaitAsync(Patience);
        Volatile.Write(ref done, true);
        sampler.Join();

        Assert.True(failures.IsEmpty, string.Join(Environment.NewLine, failures));
        var readers = _store.Readers;
        Assert.True(readers.Waited > 0, "no read had to wait: the burst never outnumbered the readers, so it tested nothing");
        Assert.True(samples > 0);
        Assert.True(most <= writers + Readers * SqliteStoreOptions.DescriptorsPerReader,
            $"{most} descriptors on the database's files during the burst: the writer's {writers} and {Readers} readers × {SqliteStoreOptions.DescriptorsPerReader} at most");
        Assert.InRange(readers.Open, 1, Readers);
        Assert.Equal((0, readers.Open), (readers.Waiting, readers.Idle));

        // A clean stop: every reader closed before the writer, whose close copies the log into the database and deletes it.
        await _store.DisposeAsync();
        Assert.Equal(0, readers.Open);
        Assert.Equal(0, SqliteDescriptors(database));
        AssertLogFolded(database);
    }

    [Fact]
    public async Task A_read_waiting_for_a_reader_ends_with_its_token_and_leaves_every_reader_free()
    {
        var readers = _store.Readers;
        Assert.Equal(Readers, readers.Max);
        await _store.ReadAsync(Topic, 0, 10, default); // one reader opened and kept
        Assert.True(readers.TryTake(out var first));
        Assert.True(readers.TryTake(out var second));
        Assert.False(readers.TryTake(out _));

        using (var cancel = new CancellationTokenSource())
        {
            var history = _store.ReadAsync(Topic, 0, 10, cancel.Token);
            var topics = _store.ListTopicsAsync(null, null, 10, cancel.Token);
            var reply = _store.Queues.GetReplyAsync("r-unknown", cancel.Token);
            Assert.False(history.IsCompleted || topics.IsCompleted || reply.IsCompleted);
            Assert.Equal(3, readers.Waiting);

            cancel.Cancel();
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => history.WaitAsync(Patience));
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => topics.WaitAsync(Patience));
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => reply.WaitAsync(Patience));
        }
        Assert.Equal(0, readers.Waiting);

        // A waiting read is served as soon as a reader comes back.
        var served = _store.ReadAsync(Topic, 0, 10, default);
        Assert.False(served.IsCompleted);
        readers.Return(first);
        Assert.Equal(Enumerable.Range(1, 10).Select(o => (long)o), (await served.WaitAsync(Patience)).Messages.Select(m => m.Offset));
        readers.Return(second);

        // Nothing leaked: both readers are open and free, and both can be taken at once.
        Assert.Equal((Readers, Readers, 0), (readers.Open, readers.Idle, readers.Waiting));
        Assert.True(readers.TryTake(out first));
        Assert.True(readers.TryTake(out second));
        readers.Return(first);
        readers.Return(second);
        Assert.Equal((Readers, Readers), (readers.Open, readers.Idle));
    }

    [Fact]
    public async Task A_clean_stop_waits_for_a_read_still_running_then_folds_the_log_and_refuses_new_reads()
    {
        await _store.ReadAsync(Topic, 0, 10, default);
        var readers = _store.Readers;
        Assert.True(readers.TryTake(out var running)); // a read in progress: its connection has the log open
        using (var command = running.CreateCommand())
        {
            command.CommandText = "SELECT COUNT(*) FROM messages";
            Assert.Equal((long)Messages, command.ExecuteScalar());
        }

        var closing = Task.Run(() => _store.DisposeAsync().AsTask());
        Assert.True(SpinWait.SpinUntil(() => readers.Closed, Patience), "the store did not begin to close");
        var refused = await Assert.ThrowsAsync<SwitchboardException>(() => _store.ReadAsync(Topic, 0, 10, default));
        Assert.Equal(ErrorCode.StorageUnavailable, refused.Code);
        Assert.False(closing.IsCompleted, "the store closed its writer while a read was still running");

        readers.Return(running);
        await closing.WaitAsync(Patience);
        Assert.Equal(0, readers.Open);
        AssertLogFolded(_store.DatabasePath);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(257)]
    public void A_reader_bound_out_of_range_is_refused_when_the_store_is_made(int maxReaders)
    {
        var refused = Assert.Throws<ArgumentOutOfRangeException>(() => new SqliteStore(new SqliteStoreOptions { DataDirectory = _directory, MaxReaders = maxReaders }, NullLoggerFactory.Instance));
        Assert.Contains("Switchboard:Sqlite:MaxReaders", refused.Message, StringComparison.Ordinal);
        Assert.Contains("from 1 to 256", refused.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void The_default_bound_is_twice_the_processors_within_4_and_256()
    {
        Assert.Equal(Math.Clamp(2 * Environment.ProcessorCount, 4, 256), new SqliteStoreOptions().MaxReaders);
    }

    // After a clean stop the database is one self-contained file: its write-ahead log is gone (or empty).
    private static void AssertLogFolded(string database)
    {
        var log = new FileInfo(database + "-wal");
        Assert.True(!log.Exists || log.Length == 0, $"the log {log.FullName} is still there ({(log.Exists ? log.Length : 0)} bytes) after a clean stop");
    }

    // Descriptors this process holds on the database, its log and its index.
    private static int SqliteDescriptors(string database)
    {
        var count = 0;
        foreach (var descriptor in Directory.EnumerateFileSystemEntries("/proc/self/fd"))
        {
            string? target;
            try
            {
                target = new FileInfo(descriptor).LinkTarget;
            }
            catch (IOException)
            {
                continue; // closed since it was listed
            }
            if (target == database || target == database + "-wal" || target == database + "-shm")
            {
                count++;
            }
        }
        return count;
    }
}
