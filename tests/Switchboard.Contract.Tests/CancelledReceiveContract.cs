using System.Text;
using Microsoft.Extensions.Logging.Abstractions;
using Switchboard.Core;
using Switchboard.Core.Engines;
using Switchboard.Core.Engines.Memory;
using Switchboard.Sqlite;

namespace Switchboard.Contract.Tests;

/// <summary>
/// A hub over each engine: a receive whose caller goes away (its token cancelled) while it holds leased messages
/// gives them back — ready at once, the delivery not counted — instead of leaving them leased to nobody until the
/// lease runs out. The race is held still through <see cref="SteppedStore"/>: no sleeps, no timing.
/// </summary>
public abstract class CancelledReceiveContract : IAsyncLifetime
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(10);
    private static readonly QueueConfig Work = new(TimeSpan.FromSeconds(30), 3, TimeSpan.Zero, TimeSpan.Zero);
    private SteppedStore _store = null!;
    private Hub _hub = null!;

    /// <summary>A new engine's store, not opened (the hub opens it).</summary>
    protected abstract IStore NewStore();

    private SteppedQueues Queues => _store.Queues;

    public async Task InitializeAsync()
    {
        _store = new SteppedStore(NewStore());
        _hub = new Hub(_store, new LocalBackplane(), new HubOptions(), NullLoggerFactory.Instance);
        await _hub.StartAsync(CancellationToken.None);
        await _hub.PutQueueAsync("work", Work);
    }

    public virtual async Task DisposeAsync() => await _hub.DisposeAsync();

    private static QueueDraft Job(string text) => new() { Message = new MessageDraft { Payload = Encoding.UTF8.GetBytes($"\"{text}\"") } };

    private static string Text(QueueMessage message) => Encoding.UTF8.GetString(message.Payload.Span).Trim('"');

    /// <summary>
    /// Right after the next receive parks: a send claims it (its message leased to the receive in the send's own
    /// commit), then, if <paramref name="caller"/> is given, the receive's caller goes away — all before the receive
    /// looks at what it was handed. Returns what the send handed over, once the receive has gone on.
    /// </summary>
    private Func<IReadOnlyList<QueueMessage>> ClaimWhenParked(string text, CancellationTokenSource? caller)
    {
        IReadOnlyList<QueueMessage>? handed = null;
        Queues.OnParked = parked =>
        {
            // On the pool, not this thread: the receive's thread waits here until the send is confirmed.
            Task.Run(() => _hub.SendAsync("work", [Job(text)])).WaitAsync(Patience).GetAwaiter().GetResult();
            Assert.True(parked.Taken.IsCompletedSuccessfully, "the send did not hand its message to the parked receive");
            handed = parked.Taken.Result;
            caller?.Cancel();
        };
        return () => handed ?? throw new Xunit.Sdk.XunitException("the receive never parked");
    }

    [Fact]
    public async Task A_receive_cancelled_as_a_send_claims_it_gives_the_message_back_ready_with_its_attempt_not_counted()
    {
        using var caller = new CancellationTokenSource();
        var handed = ClaimWhenParked("a", caller);

        var receiving = _hub.ReceiveAsync("work", 5, null, TimeSpan.FromSeconds(30), caller.Token);

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => receiving.WaitAsync(Patience));
        var given = Assert.Single(handed()); // the send did lease it to the receive
        Assert.Equal(("a", 1), (Text(given), given.Attempts));
        var stats = (await _hub.GetQueueAsync("work")).Stats;
        Assert.Equal((1L, 0L, 0L), (stats.Ready, stats.Leased, stats.Delayed));
        var again = Assert.Single(await _hub.ReceiveAsync("work", 5, null, TimeSpan.Zero));
        Assert.Equal((given.Id, "a", 1), (again.Id, Text(again), again.Attempts));
        // The cancelled receive's lease is void: the message has one holder, the one that received it again.
        var stale = await Assert.ThrowsAsync<SwitchboardException>(() => _hub.AckAsync("work", given.Id, given.Lease!));
        Assert.Equal(ErrorCode.LeaseMismatch, stale.Code);
        await _hub.AckAsync("work", again.Id, again.Lease!);
    }

    [Fact]
    public async Task A_receive_that_is_not_cancelled_delivers_what_the_send_handed_it()
    {
        var handed = ClaimWhenParked("a", caller: null);

        var got = Assert.Single(await _hub.ReceiveAsync("work", 5, null, TimeSpan.FromSeconds(30)).WaitAsync(Patience));

        var given = Assert.Single(handed());
        Assert.Equal((given.Id, given.Lease, "a", 1), (got.Id, got.Lease, Text(got), got.Attempts));
        var stats = (await _hub.GetQueueAsync("work")).Stats;
        Assert.Equal((0L, 1L), (stats.Ready, stats.Leased));
        Assert.Empty(await _hub.ReceiveAsync("work", 5, null, TimeSpan.Zero));
        Assert.False(Queues.Released.Task.IsCompleted); // nothing was given back
        await _hub.AckAsync("work", got.Id, got.Lease!);
    }

    [Fact]
    public async Task A_look_the_engine_answers_after_the_caller_went_away_gives_back_what_it_leased()
    {
        await _hub.SendAsync("work", [Job("a")]);
        using var caller = new CancellationTokenSource();
        var engine = Queues.HoldNextLease = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var receiving = _hub.ReceiveAsync("work", 5, null, TimeSpan.Zero, caller.Token);
        await Queues.LeaseHeld.Task.WaitAsync(Patience);

        await caller.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => receiving.WaitAsync(Patience));
        engine.SetResult(); // the engine leases now, for a caller already gone

        Assert.Equal(1, await Queues.Released.Task.WaitAsync(Patience));
        var stats = (await _hub.GetQueueAsync("work")).Stats;
        Assert.Equal((1L, 0L), (stats.Ready, stats.Leased));
        var again = Assert.Single(await _hub.ReceiveAsync("work", 5, null, TimeSpan.Zero));
        Assert.Equal(("a", 1), (Text(again), again.Attempts));
    }

    [Fact]
    public async Task A_release_that_fails_leaves_the_message_leased_for_its_lease_to_run_out_and_the_receive_still_cancelled()
    {
        using var caller = new CancellationTokenSource();
        Queues.FailReleases = true;
        var handed = ClaimWhenParked("a", caller);

        var receiving = _hub.ReceiveAsync("work", 5, null, TimeSpan.FromSeconds(30), caller.Token);

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => receiving.WaitAsync(Patience)); // not the engine's error
        await Assert.ThrowsAsync<SwitchboardException>(() => Queues.Released.Task.WaitAsync(Patience)); // a release was tried
        var given = Assert.Single(handed());
        // Neither lost nor doubled: still leased under the handed lease, until that runs out (the fallback).
        var stats = (await _hub.GetQueueAsync("work")).Stats;
        Assert.Equal((0L, 1L), (stats.Ready, stats.Leased));
        Assert.Empty(await _hub.ReceiveAsync("work", 5, null, TimeSpan.Zero));
        await _hub.AckAsync("work", given.Id, given.Lease!);
    }
}

public sealed class MemoryCancelledReceiveContract : CancelledReceiveContract
{
    protected override IStore NewStore() => new MemoryStore();
}

public sealed class SqliteCancelledReceiveContract : CancelledReceiveContract
{
    private readonly string _directory = Path.Combine(Path.GetTempPath(), "switchboard-cancelled-" + Guid.NewGuid().ToString("N")[..12]);

    protected override IStore NewStore() => new SqliteStore(new SqliteStoreOptions { DataDirectory = _directory }, NullLoggerFactory.Instance);

    public override async Task DisposeAsync()
    {
        await base.DisposeAsync();
        Directory.Delete(_directory, recursive: true);
    }
}

public sealed class RedisCancelledReceiveContract(RedisFixture redis) : CancelledReceiveContract, IClassFixture<RedisFixture>
{
    protected override IStore NewStore() => new Redis.RedisStore(
        new Redis.RedisOptions { Configuration = redis.Server.Configuration, Prefix = RedisFixture.NewPrefix() }, NullLoggerFactory.Instance);
}
