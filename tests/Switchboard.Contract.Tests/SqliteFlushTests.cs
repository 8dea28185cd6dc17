using System.Collections.Concurrent;
using System.Text;
using Microsoft.Extensions.Logging.Abstractions;
using Switchboard.Core;
using Switchboard.Core.Engines;
using Switchboard.Sqlite;

namespace Switchboard.Contract.Tests;

/// <summary>
/// The embedded engine's two-stage commit: the writer commits, a second stage flushes the log. Nothing is confirmed,
/// announced to subscribers or shown to readers before its flush; what only hands out work (a lease to a parked
/// receive, a reply to a waiting requester) goes at the commit. The flush is held back (or failed) through the
/// engine's test hook, on a real database.
/// </summary>
public sealed class SqliteFlushTests : IAsyncLifetime
{
    private static readonly DateTimeOffset T0 = DateTimeOffset.UtcNow;
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(10);
    private readonly string _directory = Path.Combine(Path.GetTempPath(), "switchboard-flush-" + Guid.NewGuid().ToString("N")[..12]);
    private readonly ManualResetEventSlim _flushes = new(initialState: true);
    private readonly Listener _listener = new();
    private volatile bool _failFlush;
    private int _flushesStarted;
    private readonly SemaphoreSlim _flushStarted = new(0); // released as each flush begins
    private SqliteStore _store = null!;

    public async Task InitializeAsync()
    {
        _store = new SqliteStore(new SqliteStoreOptions
        {
            DataDirectory = _directory,
            BeforeSync = () =>
            {
                Interlocked.Increment(ref _flushesStarted);
                _flushStarted.Release();
                _flushes.Wait();
                if (_failFlush)
                {
                    throw new IOException("Input/output error (the test's disk)");
                }
            },
        }, NullLoggerFactory.Instance);
        _store.SetListener(_listener);
        await _store.OpenAsync(default);
        await _store.Queues.PutQueueAsync("work", new QueueConfig(TimeSpan.FromSeconds(30), 3, TimeSpan.Zero, TimeSpan.Zero), null, T0, default);
        _flushesStarted = 0; // the queue's own
    }

    public async Task DisposeAsync()
    {
        _flushes.Set();
        await _store.DisposeAsync();
        _flushes.Dispose();
        _flushStarted.Dispose();
        Directory.Delete(_directory, recursive: true);
    }

    [Fact]
    public async Task A_publish_is_confirmed_announced_and_readable_only_after_its_flush()
    {
        _flushes.Reset();
        var publish = _store.AppendAsync(Append("held", "a"), default);
        await WaitForFlushAsync(1);

        // Committed (SQLite shows it to a fresh read connection), but neither confirmed, announced nor readable.
        Assert.Equal(1L, CountOnDisk("held"));
        Assert.False(publish.IsCompleted);
        Assert.Empty(_listener.Appended);
        Assert.Empty((await _store.ReadAsync("held", 0, 10, default)).Messages);
        Assert.Equal(0L, (await _store.GetTopicAsync("held", default))!.LastOffset);

        _flushes.Set();
        var done = await publish.WaitAsync(Patience);
        Assert.Equal(1L, done.FirstOffset);
        Assert.Equal(["a"], (await _store.ReadAsync("held", 0, 10, default)).Messages.Select(m => Encoding.UTF8.GetString(m.Payload.Span)));
        Assert.Equal(1L, (await _store.GetTopicAsync("held", default))!.LastOffset);
        Assert.Single(_listener.Appended);
    }

    [Fact]
    public async Task The_writer_commits_the_next_batch_while_a_flush_is_under_way_and_one_flush_answers_both()
    {
        _flushes.Reset();
        var first = _store.AppendAsync(Append("pipe", "1"), default);
        await WaitForFlushAsync(1);
        var second = _store.AppendAsync(Append("pipe", "2"), default);
        await WaitUntilAsync(() => CountOnDisk("pipe") == 2); // committed behind the held flush
        Assert.False(first.IsCompleted || second.IsCompleted);

        _flushes.Set();
        Assert.Equal([1L, 2L], (await Task.WhenAll(first, second).WaitAsync(Patience)).Select(r => r.FirstOffset));
        Assert.Equal(2, Volatile.Read(ref _flushesStarted)); // the first flush, then one for the second
    }

    [Fact]
    public async Task A_parked_receive_gets_a_send_at_its_commit_and_the_sender_and_acker_hear_after_the_flush()
    {
        var parked = _store.Queues.Park("work", 1, null)!;
        _flushes.Reset();
        var send = _store.Queues.EnqueueAsync(Send("work", "job"), default);

        var leased = Assert.Single(await parked.Taken.WaitAsync(Patience));
        Assert.Equal("job", Encoding.UTF8.GetString(leased.Payload.Span));
        Assert.False(send.IsCompleted);
        var ack = _store.Queues.AckAsync("work", leased.Id, leased.Lease!, T0, default);
        await WaitForFlushAsync(1);
        Assert.False(ack.IsCompleted);

        _flushes.Set();
        await Task.WhenAll(send, ack).WaitAsync(Patience);
        Assert.Equal(0L, (await _store.Queues.GetQueueAsync("work", T0, default))!.Stats.Leased);
    }

    [Fact]
    public async Task A_lease_is_answered_at_its_commit_and_a_queue_read_after_the_flush()
    {
        await _store.Queues.EnqueueAsync(Send("work", "job"), default);
        _flushes.Reset();
        var leased = await _store.Queues.LeaseAsync("work", 1, null, T0, default).WaitAsync(Patience); // while its flush is held
        Assert.Equal("job", Encoding.UTF8.GetString(Assert.Single(leased.Messages).Payload.Span));
        var stats = _store.Queues.GetQueueAsync("work", T0, default);
        await WaitForFlushAsync(2);
        Assert.False(stats.IsCompleted);

        _flushes.Set();
        Assert.Equal(1L, (await stats.WaitAsync(Patience))!.Stats.Leased);
    }

    [Fact]
    public async Task A_reply_reaches_the_waiting_requester_at_its_commit_and_the_responder_hears_after_the_flush()
    {
        var parked = _store.Queues.Park("work", 1, null)!;
        await _store.Queues.EnqueueAsync(Send("work", "ping") with { Reply = ("r1", T0.AddMinutes(1)) }, default);
        var request = Assert.Single(await parked.Taken.WaitAsync(Patience));

        _flushes.Reset();
        var reply = _store.Queues.PostReplyAsync("r1", new MessageDraft { Payload = "\"pong\""u8.ToArray() }, request.Lease, T0, default);
        await _listener.Replied.Reader.ReadAsync().AsTask().WaitAsync(Patience);
        var slot = (await _store.Queues.GetReplyAsync("r1", default))!;
        Assert.Equal("\"pong\"", Encoding.UTF8.GetString(slot.Reply!.Payload.Span));
        Assert.False(reply.IsCompleted);

        _flushes.Set();
        await reply.WaitAsync(Patience);
        Assert.Equal(0L, (await _store.Queues.GetQueueAsync("work", T0, default))!.Stats.Leased); // the reply acked the request
    }

    [Fact]
    public async Task A_reply_read_from_memory_is_the_record_the_database_holds()
    {
        await _store.Queues.EnqueueAsync(Send("work", "ping") with { Reply = ("r2", T0.AddMinutes(1)) }, default);
        var reply = new MessageDraft { Key = "k", ContentType = "text/plain", Headers = new Dictionary<string, string> { ["h"] = "v" }, Payload = "pong"u8.ToArray() };
        await _store.Queues.PostReplyAsync("r2", reply, null, T0.AddSeconds(1), default);

        var fromMemory = (await _store.Queues.GetReplyAsync("r2", default))!;
        using var connection = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={_store.DatabasePath};Mode=ReadOnly;Pooling=False");
        connection.Open();
        var fromDisk = SqliteWriter.ReadReply(connection, "r2")!;
        Assert.Equal(
            (fromDisk.Id, fromDisk.Queue, fromDisk.MessageId, fromDisk.ExpiresAt, fromDisk.RepliedAt, fromDisk.Reply!.Key, fromDisk.Reply.ContentType, fromDisk.Reply.Headers["h"], Encoding.UTF8.GetString(fromDisk.Reply.Payload.Span)),
            (fromMemory.Id, fromMemory.Queue, fromMemory.MessageId, fromMemory.ExpiresAt, fromMemory.RepliedAt, fromMemory.Reply!.Key, fromMemory.Reply.ContentType, fromMemory.Reply.Headers["h"], Encoding.UTF8.GetString(fromMemory.Reply.Payload.Span)));
        Assert.Equal(fromDisk.Reply.Headers.Count, fromMemory.Reply.Headers.Count);
    }

    [Fact]
    public async Task A_failed_flush_fails_what_it_covered_and_the_store_refuses_writes_until_restarted()
    {
        _failFlush = true;
        var publish = await Assert.ThrowsAsync<SwitchboardException>(() => _store.AppendAsync(Append("lost", "a"), default).WaitAsync(Patience));
        Assert.Equal(ErrorCode.StorageUnavailable, publish.Code);
        Assert.Contains("restart", publish.Message, StringComparison.Ordinal);
        Assert.Empty(_listener.Appended);

        var later = await Assert.ThrowsAsync<SwitchboardException>(() => _store.AppendAsync(Append("other", "b"), default));
        Assert.Equal(ErrorCode.StorageUnavailable, later.Code);
        Assert.Equal(0L, CountOnDisk("other")); // refused before it was queued
        Assert.Contains("could not flush", ((IStore)_store).Unavailable, StringComparison.Ordinal); // what /readyz answers 503 with
        Assert.Equal(1, Volatile.Read(ref _flushesStarted)); // no flush is tried again
    }

    [Fact]
    public async Task A_requester_holding_its_call_gets_a_reply_written_before_its_request_was_flushed()
    {
        await _store.DisposeAsync(); // the hub opens the engine itself
        await using var hub = new Hub(_store, new Core.Engines.Memory.LocalBackplane(), new HubOptions(), NullLoggerFactory.Instance);
        await hub.StartAsync(default);
        static MessageDraft Draft(string text) => new() { Payload = Encoding.UTF8.GetBytes($"\"{text}\"") };

        _flushes.Reset(); // from here nothing reaches the disk until the end
        var requesting = hub.RequestAndAwaitAsync("rpc", new QueueDraft { Message = Draft("ping") }, TimeSpan.FromSeconds(30), null, null, System.Diagnostics.Stopwatch.GetTimestamp(), default);
        var request = Assert.Single(await hub.ReceiveAsync("rpc", 1, null, Patience, default).WaitAsync(Patience));
        var replying = hub.ReplyAsync(request.ReplyTo!, Draft("pong"), request.Lease, default);

        var answer = await requesting.WaitAsync(Patience);
        Assert.Equal("\"pong\"", Encoding.UTF8.GetString(answer.Reply!.Payload.Span));
        Assert.False(replying.IsCompleted); // the responder hears only once request, reply and ack are on disk

        _flushes.Set();
        await replying.WaitAsync(Patience);
    }

    [Fact]
    public async Task A_request_whose_flush_fails_is_answered_with_the_failure_not_a_timeout()
    {
        await _store.DisposeAsync();
        await using var hub = new Hub(_store, new Core.Engines.Memory.LocalBackplane(), new HubOptions(), NullLoggerFactory.Instance);
        await hub.StartAsync(default);
        _failFlush = true;

        var failed = await Assert.ThrowsAsync<SwitchboardException>(() => hub.RequestAndAwaitAsync("rpc", new QueueDraft { Message = new MessageDraft { Payload = "1"u8.ToArray() } },
            TimeSpan.FromSeconds(30), null, null, System.Diagnostics.Stopwatch.GetTimestamp(), default).WaitAsync(Patience));
        Assert.Equal(ErrorCode.StorageUnavailable, failed.Code);
    }

    private static AppendRequest Append(string topic, string text)
        => new(topic, [new MessageDraft { Payload = Encoding.UTF8.GetBytes(text) }]) { CreateTopic = new TopicConfig(RetentionPolicy.Unlimited), Timestamp = T0 };

    private static EnqueueRequest Send(string queue, string text)
        => new(queue, [new QueueDraft { Message = new MessageDraft { Payload = Encoding.UTF8.GetBytes(text) } }]) { Timestamp = T0 };

    private long CountOnDisk(string topic)
    {
        using var connection = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={_store.DatabasePath};Mode=ReadOnly;Pooling=False");
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT count(*) FROM messages m JOIN topics t ON t.id = m.topic_id WHERE t.name = $name";
        command.Parameters.AddWithValue("$name", topic);
        return (long)command.ExecuteScalar()!;
    }

    private async Task WaitForFlushAsync(int count)
    {
        while (Volatile.Read(ref _flushesStarted) < count)
        {
            Assert.True(await _flushStarted.WaitAsync(Patience), "timed out waiting for a flush to begin");
        }
    }

    private static async Task WaitUntilAsync(Func<bool> condition)
    {
        // Polls state that has no signal of its own (a row committed in SQLite), bounded.
        var deadline = DateTime.UtcNow + Patience;
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "timed out waiting for the writer");
            await Task.Delay(5);
        }
    }

    private sealed class Listener : IStoreListener
    {
        private readonly ConcurrentQueue<AppendResult> _appended = new();

        public IReadOnlyList<AppendResult> Appended => [.. _appended];
        public System.Threading.Channels.Channel<string> Replied { get; } = System.Threading.Channels.Channel.CreateUnbounded<string>();

        public void OnAppended(AppendResult result) => _appended.Enqueue(result);

        public void OnTopicDeleted(string topic, string epoch)
        {
        }

        public void OnReplied(string replyId) => Replied.Writer.TryWrite(replyId);
    }
}
