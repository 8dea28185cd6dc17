using Microsoft.Extensions.Logging.Abstractions;
using Switchboard.Core.Engines;
using Switchboard.Core.Engines.Memory;
using Switchboard.Sqlite;

namespace Switchboard.Contract.Tests;

public sealed class MemoryStoreContract : StoreContract
{
    protected override Task<IStore> CreateAsync()
    {
        var store = new MemoryStore();
        store.SetListener(Listener);
        return Task.FromResult<IStore>(store);
    }

    protected override Task<IStore> CreateLimitedAsync(long? maxTopics, long? maxQueues, Core.QueueLimits? queueLimits = null)
        => Task.FromResult<IStore>(new MemoryStore(maxTopics: maxTopics, maxQueues: maxQueues, queueLimits: queueLimits));
}

public sealed class SqliteStoreContract : DurableStoreContract
{
    private readonly string _directory = Path.Combine(Path.GetTempPath(), "switchboard-contract-" + Guid.NewGuid().ToString("N")[..12]);

    protected override async Task<IStore> CreateAsync()
    {
        var store = new SqliteStore(new SqliteStoreOptions { DataDirectory = _directory }, NullLoggerFactory.Instance);
        store.SetListener(Listener);
        await store.OpenAsync(default);
        return store;
    }

    protected override async Task<IStore> ReopenAsync(IStore store)
    {
        await store.DisposeAsync();
        return await CreateAsync();
    }

    protected override async Task<IStore> CreateLimitedAsync(long? maxTopics, long? maxQueues, Core.QueueLimits? queueLimits = null)
    {
        var store = new SqliteStore(new SqliteStoreOptions { DataDirectory = _directory + "-limited", MaxTopics = maxTopics, MaxQueues = maxQueues, QueueLimits = queueLimits ?? Core.QueueLimits.Default }, NullLoggerFactory.Instance);
        await store.OpenAsync(default);
        return store;
    }

    [Fact]
    public async Task The_topic_limit_counts_the_topics_a_reopened_store_finds()
    {
        var options = new SqliteStoreOptions { DataDirectory = _directory, MaxTopics = 2 };
        await Store.AppendAsync(Append("t-1", Draft("a")), default);
        await Store.AppendAsync(Append("t-2", Draft("a")), default);
        await Store.DisposeAsync();

        var reopened = await Track(OpenAsync(options));
        var refused = await Assert.ThrowsAsync<Core.SwitchboardException>(() => reopened.AppendAsync(Append("t-3", Draft("a")), default));
        Assert.Equal(Core.ErrorCode.LimitReached, refused.Code);

        static async Task<IStore> OpenAsync(SqliteStoreOptions options)
        {
            var store = new SqliteStore(options, NullLoggerFactory.Instance);
            await store.OpenAsync(default);
            return store;
        }
    }

    [Fact]
    public async Task A_version_2_database_gains_the_request_message_id_of_reply_slots_on_open()
    {
        await Queues.EnqueueAsync(Send("rpc", "old") with { Reply = ("r-old", T0.AddMinutes(5)) }, default);
        await Store.DisposeAsync();
        // What a version-2 database looks like: replies without message_id.
        using (var connection = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={Path.Combine(_directory, "switchboard.db")};Pooling=False"))
        {
            connection.Open();
            using var command = connection.CreateCommand();
            command.CommandText = "ALTER TABLE replies DROP COLUMN message_id; UPDATE meta SET value = '2' WHERE key = 'schema_version'";
            command.ExecuteNonQuery();
        }
        var queues = (await Track(CreateAsync())).Queues;

        var old = (await queues.GetReplyAsync("r-old", default))!;
        Assert.Null(old.MessageId);
        var leased = Assert.Single((await queues.LeaseAsync("rpc", 1, null, T0, default)).Messages);
        var refused = await Assert.ThrowsAsync<Core.SwitchboardException>(() => queues.PostReplyAsync("r-old", new Core.MessageDraft { Payload = "1"u8.ToArray() }, leased.Lease, T0, default));
        Assert.Contains("reply without the lease", refused.Message, StringComparison.Ordinal);
        await queues.PostReplyAsync("r-old", new Core.MessageDraft { Payload = "1"u8.ToArray() }, null, T0, default); // the plain reply still works

        await queues.EnqueueAsync(Send("rpc", "new") with { Reply = ("r-new", T0.AddMinutes(5)) }, default);
        Assert.Equal(2, (await queues.GetReplyAsync("r-new", default))!.MessageId);
    }

    [Fact]
    public async Task A_version_4_database_gains_the_dead_letter_drop_count_of_its_queues_on_open()
    {
        await Queues.EnqueueAsync(Send("old", "a"), default);
        await Store.DisposeAsync();
        // What a version-4 database looks like: queues without dead_dropped.
        using (var connection = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={Path.Combine(_directory, "switchboard.db")};Pooling=False"))
        {
            connection.Open();
            using var command = connection.CreateCommand();
            command.CommandText = "ALTER TABLE queues DROP COLUMN dead_dropped; UPDATE meta SET value = '4' WHERE key = 'schema_version'";
            command.ExecuteNonQuery();
        }
        var queues = (await Track(CreateAsync())).Queues;

        Assert.Equal((1L, 0L), ((await queues.GetQueueAsync("old", T0, default))!.Stats.Ready, (await queues.GetQueueAsync("old", T0, default))!.Stats.DeadDropped));
        await FillDeadLettersAsync(queues, "old-poison");
        Assert.Equal(2, (await queues.GetQueueAsync("old-poison", T0, default))!.Stats.DeadDropped);
    }

    [Fact]
    public async Task A_version_3_database_gains_the_requester_of_reply_slots_on_open_and_its_slots_have_none()
    {
        await Queues.EnqueueAsync(Send("rpc", "old") with { Reply = ("r-old", T0.AddMinutes(5)) }, default);
        await Store.DisposeAsync();
        // What a version-3 database looks like: replies without requester.
        using (var connection = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={Path.Combine(_directory, "switchboard.db")};Pooling=False"))
        {
            connection.Open();
            using var command = connection.CreateCommand();
            command.CommandText = "ALTER TABLE replies DROP COLUMN requester; UPDATE meta SET value = '3' WHERE key = 'schema_version'";
            command.ExecuteNonQuery();
        }
        var queues = (await Track(CreateAsync())).Queues;

        Assert.Null((await queues.GetReplyAsync("r-old", default))!.Requester);
        await queues.PostReplyAsync("r-old", new Core.MessageDraft { Payload = "1"u8.ToArray() }, null, T0, default);
        Assert.NotNull((await queues.GetReplyAsync("r-old", default))!.Reply);
        await queues.EnqueueAsync(Send("rpc", "new") with { Reply = ("r-new", T0.AddMinutes(5)), Requester = "alice" }, default);
        Assert.Equal("alice", (await queues.GetReplyAsync("r-new", default))!.Requester);
    }

    [Fact]
    public async Task A_writer_whose_backlog_is_full_sheds_new_messages_as_overloaded_and_keeps_what_it_took()
    {
        var directory = _directory + "-shed";
        await using (var store = new SqliteStore(new SqliteStoreOptions { DataDirectory = directory, MaxQueuedBytes = 1024 * 1024 }, NullLoggerFactory.Instance))
        {
            store.SetListener(Listener);
            await store.OpenAsync(default);
            var payload = new byte[256 * 1024];

            // 64 appends of 256 KiB handed over at once, while the writer fsyncs: at most about 1 MiB may wait.
            var appends = Enumerable.Range(0, 64).Select(_ => Task.Run(() => store.AppendAsync(Append("busy", new Core.MessageDraft { Payload = payload }), default))).ToList();
            var results = new List<AppendResult>();
            var shed = 0;
            foreach (var append in appends)
            {
                try
                {
                    results.Add(await append);
                }
                catch (Core.SwitchboardException ex) when (ex.Code == Core.ErrorCode.Overloaded)
                {
                    Assert.Equal(1, ex.RetryAfterSeconds);
                    Assert.Contains("MaxQueuedBytes", ex.Message, StringComparison.Ordinal);
                    shed++;
                }
            }

            Assert.True(shed > 0, "nothing was shed");
            Assert.Equal(64, shed + results.Count);
            // Everything confirmed is stored, with consecutive offsets; nothing shed left a trace.
            Assert.Equal(Enumerable.Range(1, results.Count).Select(i => (long)i), results.Select(r => r.FirstOffset).Order());
            var read = await store.ReadAsync("busy", 0, 1000, default);
            Assert.Equal(results.Count, read.Messages.Count);
            // The backlog drained: the next append is taken.
            Assert.Equal(results.Count + 1, (await store.AppendAsync(Append("busy", new Core.MessageDraft { Payload = payload }), default)).FirstOffset);
        }
        Directory.Delete(directory, recursive: true);
    }

    public override async Task DisposeAsync()
    {
        await base.DisposeAsync();
        Directory.Delete(_directory, recursive: true);
    }
}
