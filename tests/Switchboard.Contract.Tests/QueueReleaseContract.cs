using Switchboard.Core;
using Switchboard.Core.Engines;

namespace Switchboard.Contract.Tests;

/// <summary>
/// <see cref="IQueueStore.ReleaseAsync"/>: what a receive whose caller went away gives back — ready at once, in its
/// place, the delivery not counted — and nothing it no longer holds.
/// </summary>
public abstract partial class StoreContract
{
    [Fact]
    public async Task A_release_makes_the_messages_ready_at_once_in_their_place_with_the_delivery_not_counted()
    {
        await Queues.PutQueueAsync("work", Quick with { MaxAttempts = 2 }, null, T0, default);
        await Queues.EnqueueAsync(Send("work", "a", "b", "c") with { CreateQueue = null }, default);
        var leased = (await Queues.LeaseAsync("work", 2, null, T0, default)).Messages;
        Assert.Equal(["a", "b"], leased.Select(Text));
        while (Listener.Enqueued.Reader.TryRead(out _))
        {
            // what the send announced
        }

        var released = await Queues.ReleaseAsync("work", [.. leased.Select(m => (m.Id, m.Lease!))], T0.AddSeconds(1), default);

        Assert.Equal(2, released);
        Assert.Equal("work", await Listener.Enqueued.Reader.ReadAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(10))); // waiting receives look again
        Assert.Equal(new QueueStats(3, 0, 0, 0), (await Queues.GetQueueAsync("work", T0.AddSeconds(1), default))!.Stats);
        var ready = (await Queues.PeekAsync("work", QueuePeekStates.All, 0, 10, T0.AddSeconds(1), default)).Messages;
        Assert.Equal([(1L, QueueMessageState.Ready, 0), (2L, QueueMessageState.Ready, 0), (3L, QueueMessageState.Ready, 0)], ready.Select(m => (m.Id, m.State, m.Attempts)));
        // Ahead of c again, each on its first delivery (with two attempts allowed, a counted release would leave one).
        var again = (await Queues.LeaseAsync("work", 5, null, T0.AddSeconds(1), default)).Messages;
        Assert.Equal([("a", 1), ("b", 1), ("c", 1)], again.Select(m => (Text(m), m.Attempts)));
        // The released lease tokens are dead: only the new holder settles them.
        var stale = await Assert.ThrowsAsync<SwitchboardException>(() => Queues.AckAsync("work", leased[0].Id, leased[0].Lease!, T0.AddSeconds(2), default));
        Assert.Equal(ErrorCode.LeaseMismatch, stale.Code);
        await Queues.AckAsync("work", again[0].Id, again[0].Lease!, T0.AddSeconds(2), default);
    }

    [Fact]
    public async Task A_release_leaves_alone_what_its_lease_no_longer_holds()
    {
        await Queues.PutQueueAsync("work", Quick, null, T0, default);
        await Queues.EnqueueAsync(Send("work", "acked", "nacked", "expired", "other") with { CreateQueue = null }, default);
        var leased = (await Queues.LeaseAsync("work", 4, null, T0, default)).Messages;
        await Queues.AckAsync("work", leased[0].Id, leased[0].Lease!, T0, default);
        await Queues.NackAsync("work", leased[1].Id, leased[1].Lease!, TimeSpan.Zero, null, T0, default);
        var nackedAgain = Assert.Single((await Queues.LeaseAsync("work", 1, null, T0.AddSeconds(1), default)).Messages); // its new holder
        Assert.Equal(("nacked", 2), (Text(nackedAgain), nackedAgain.Attempts));

        // The acked one, the one leased again since, and one named with a token that is not its lease: nothing moves.
        Assert.Equal(0, await Queues.ReleaseAsync("work", [(leased[0].Id, leased[0].Lease!), (leased[1].Id, leased[1].Lease!), (leased[3].Id, "not-its-lease")], T0.AddSeconds(2), default));
        Assert.Equal(new QueueStats(0, 3, 0, 0), (await Queues.GetQueueAsync("work", T0.AddSeconds(2), default))!.Stats);
        await Queues.AckAsync("work", nackedAgain.Id, nackedAgain.Lease!, T0.AddSeconds(2), default); // still its holder's
        // A lease that ran out is the lease expiry's (the attempt counted), not the release's.
        Assert.Equal(0, await Queues.ReleaseAsync("work", [(leased[2].Id, leased[2].Lease!)], T0 + Quick.Lease, default));
        var expired = (await Queues.LeaseAsync("work", 5, null, T0 + Quick.Lease, default)).Messages;
        Assert.Equal([("expired", 2), ("other", 2)], expired.Select(m => (Text(m), m.Attempts)));
        // A queue deleted meanwhile releases nothing, and says so without an error.
        Assert.Equal(0, await Queues.ReleaseAsync("gone", [(1, "x")], T0, default));
    }
}

public abstract partial class DurableStoreContract
{
    [Fact]
    public async Task A_release_is_stored_and_survives_a_restart()
    {
        await Queues.PutQueueAsync("work", Quick, null, T0, default);
        var parked = Queues.Park("work", 1, null)!;
        await Queues.EnqueueAsync(Send("work", "a") with { CreateQueue = null }, default);
        var handed = Assert.Single(await parked.Taken.WaitAsync(TimeSpan.FromSeconds(10)));
        Assert.Equal(1, await Queues.ReleaseAsync("work", [(handed.Id, handed.Lease!)], T0, default));

        var reopened = await Track(ReopenAsync(Store));
        Assert.Equal(new QueueStats(1, 0, 0, 0), (await reopened.Queues.GetQueueAsync("work", T0, default))!.Stats);
        var again = Assert.Single((await reopened.Queues.LeaseAsync("work", 1, null, T0, default)).Messages);
        Assert.Equal((handed.Id, 1), (again.Id, again.Attempts));
    }
}
