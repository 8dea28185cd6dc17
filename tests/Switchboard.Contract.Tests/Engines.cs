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

    public override async Task DisposeAsync()
    {
        await base.DisposeAsync();
        Directory.Delete(_directory, recursive: true);
    }
}
