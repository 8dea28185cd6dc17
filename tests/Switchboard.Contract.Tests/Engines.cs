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

    public override async Task DisposeAsync()
    {
        await base.DisposeAsync();
        Directory.Delete(_directory, recursive: true);
    }
}
