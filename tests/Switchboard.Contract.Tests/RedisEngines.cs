using Microsoft.Extensions.Logging.Abstractions;
using Switchboard.Core;
using Switchboard.Core.Engines;
using Switchboard.Redis;
using Switchboard.Testing;

namespace Switchboard.Contract.Tests;

/// <summary>One real redis-server for a test class; each test uses its own key prefix, so tests never see each other's keys.</summary>
public sealed class RedisFixture : IAsyncLifetime
{
    public RedisServer Server { get; private set; } = null!;

    public async Task InitializeAsync() => Server = await RedisServer.StartAsync();

    public async Task DisposeAsync() => await Server.DisposeAsync();

    /// <summary>A prefix no other test uses.</summary>
    public static string NewPrefix() => "t" + Guid.NewGuid().ToString("N")[..16];

    /// <summary>An opened store on <paramref name="server"/> under <paramref name="prefix"/>.</summary>
    public static async Task<RedisStore> OpenAsync(RedisServer server, string prefix, IStoreListener? listener = null)
    {
        var store = new RedisStore(new RedisOptions { Configuration = server.Configuration, Prefix = prefix }, NullLoggerFactory.Instance);
        if (listener is not null)
        {
            store.SetListener(listener);
        }
        await store.OpenAsync(CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(20));
        return store;
    }
}

/// <summary>The store contract against a real Redis; reopening means a new store (a new connection) on the same keys.</summary>
public sealed class RedisStoreContract(RedisFixture redis) : DurableStoreContract, IClassFixture<RedisFixture>
{
    private readonly string _prefix = RedisFixture.NewPrefix();

    protected override async Task<IStore> CreateAsync() => await RedisFixture.OpenAsync(redis.Server, _prefix, Listener);

    protected override async Task<IStore> CreateLimitedAsync(long? maxTopics, long? maxQueues, Core.QueueLimits? queueLimits = null)
    {
        var store = new RedisStore(new RedisOptions { Configuration = redis.Server.Configuration, Prefix = RedisFixture.NewPrefix(), MaxTopics = maxTopics, MaxQueues = maxQueues, QueueLimits = queueLimits ?? Core.QueueLimits.Default }, NullLoggerFactory.Instance);
        await store.OpenAsync(CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(20));
        return store;
    }

    protected override async Task<IStore> ReopenAsync(IStore store)
    {
        await store.DisposeAsync();
        return await CreateAsync();
    }

    [Fact]
    public async Task The_queues_default_limits_lost_from_Redis_are_written_again_by_the_next_sweep()
    {
        var prefix = RedisFixture.NewPrefix();
        var store = new RedisStore(new RedisOptions { Configuration = redis.Server.Configuration, Prefix = prefix, QueueLimits = new Core.QueueLimits(1, 5) }, NullLoggerFactory.Instance);
        await Track(Task.FromResult<IStore>(store)); // closed with the test's stores
        await store.OpenAsync(CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(20));
        using (var redisClient = await StackExchange.Redis.ConnectionMultiplexer.ConnectAsync(redis.Server.Configuration))
        {
            // A Redis that restarted empty or was flushed: the defaults the scripts read are gone.
            Assert.True(await redisClient.GetDatabase().KeyDeleteAsync(prefix + ":qlimits"));
            await store.SweepAsync(T0, default);
            Assert.Equal(1, (long)await redisClient.GetDatabase().HashGetAsync(prefix + ":qlimits", "ml"));
        }
        await store.Queues.EnqueueAsync(Send("bounded", "one"), default);
        var refused = await Assert.ThrowsAsync<Core.SwitchboardException>(() => store.Queues.EnqueueAsync(Send("bounded", "two"), default));
        Assert.Equal(Core.ErrorCode.LimitReached, refused.Code);
    }

    [Fact]
    public async Task Bindings_changed_by_a_node_of_an_earlier_version_are_seen_by_the_next_publish()
    {
        await Queues.PutBindingAsync(new QueueBinding("orders.eu", "exact"), T0, default);
        await Queues.PutBindingAsync(new QueueBinding("orders.*", "wild"), T0, default);
        await Store.AppendAsync(Append("orders.eu", Draft("1")), default);
        using (var redisClient = await StackExchange.Redis.ConnectionMultiplexer.ConnectAsync(redis.Server.Configuration))
        {
            // What an earlier hub does to bindings: the list alone, no index (an add takes the counter, a removal does not).
            var db = redisClient.GetDatabase();
            Assert.True(await db.SortedSetAddAsync(_prefix + ":bindings", "orders.> late", await db.StringIncrementAsync(_prefix + ":bindings:seq")));
            Assert.True(await db.SortedSetRemoveAsync(_prefix + ":bindings", "orders.* wild"));
            await Store.AppendAsync(Append("orders.eu", Draft("2")), default);
            Assert.True(await db.SortedSetRemoveAsync(_prefix + ":bindings", "orders.eu exact"));
            await Store.AppendAsync(Append("orders.eu", Draft("3")), default);
            // In step again: the stamp is the list's counter, size and newest member.
            Assert.Equal([(await db.StringGetAsync(_prefix + ":bindings:seq")).ToString(), "1", "orders.> late"], (await db.HashGetAsync(_prefix + ":bix", ["seq", "n", "top"])).Select(v => v.ToString()));

            // The list and its counter deleted by hand (the index left behind), then bindings made and removed again
            // until the counter and the size are back where the index's stamp had them: the index is not this list's.
            Assert.Equal(2, await db.KeyDeleteAsync([_prefix + ":bindings", _prefix + ":bindings:seq"]));
            await Queues.PutBindingAsync(new QueueBinding("orders.*", "fresh"), T0, default);
            await Queues.PutBindingAsync(new QueueBinding("x.y", "other"), T0, default);
            await Queues.PutBindingAsync(new QueueBinding("orders.eu", "gone"), T0, default);
            await Queues.DeleteBindingAsync(new QueueBinding("x.y", "other"), default);
            await Queues.DeleteBindingAsync(new QueueBinding("orders.eu", "gone"), default);
            Assert.Equal(3, (long)await db.StringGetAsync(_prefix + ":bindings:seq"));
            await Store.AppendAsync(Append("orders.eu", Draft("4")), default);
        }
        Assert.Equal(["1", "2"], (await Queues.LeaseAsync("exact", 10, null, T0, default)).Messages.Select(Text));
        Assert.Equal(["1"], (await Queues.LeaseAsync("wild", 10, null, T0, default)).Messages.Select(Text));
        Assert.Equal(["2", "3"], (await Queues.LeaseAsync("late", 10, null, T0, default)).Messages.Select(Text));
        Assert.Equal(["4"], (await Queues.LeaseAsync("fresh", 10, null, T0, default)).Messages.Select(Text));
    }

    [Fact]
    public async Task A_reply_slot_stored_before_requesters_were_recorded_has_none_and_is_answered_as_before()
    {
        await Queues.EnqueueAsync(Send("rpc", "old") with { Reply = ("r-old", T0.AddMinutes(5)), Requester = "alice" }, default);
        using (var redisClient = await StackExchange.Redis.ConnectionMultiplexer.ConnectAsync(redis.Server.Configuration))
        {
            // What an older node wrote: the slot's hash without the field.
            Assert.True(await redisClient.GetDatabase().HashDeleteAsync(_prefix + ":r:r-old", "who"));
        }

        Assert.Null((await Queues.GetReplyAsync("r-old", default))!.Requester);
        await Queues.PostReplyAsync("r-old", new Core.MessageDraft { Payload = "1"u8.ToArray() }, null, T0, default);
        Assert.NotNull((await Queues.GetReplyAsync("r-old", default))!.Reply);
    }
}
