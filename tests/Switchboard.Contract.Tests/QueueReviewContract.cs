using Switchboard.Core;
using Switchboard.Core.Engines;

namespace Switchboard.Contract.Tests;

/// <summary>
/// Queue races and edges from a review of the durable queues, asserted the same way for every engine: what an
/// ack, nack, extend or release answers at the instant a lease ends, FIFO after a nack, and what a look at a
/// queue's counts changes (and must keep).
/// </summary>
public abstract partial class StoreContract
{
    [Fact]
    public async Task At_the_instant_a_lease_ends_ack_nack_and_extend_are_refused_and_the_next_receive_gets_it()
    {
        await Queues.PutQueueAsync("edge", Quick, null, T0, default);
        await Queues.EnqueueAsync(Send("edge", "a") with { CreateQueue = null }, default);
        var first = Assert.Single((await Queues.LeaseAsync("edge", 1, null, T0, default)).Messages);
        var end = first.LeaseExpiresAt!.Value;

        // The lease ends at its end: whoever comes at that instant, the holder or a receive, the receive wins.
        Assert.Equal(ErrorCode.LeaseExpired, (await Assert.ThrowsAsync<SwitchboardException>(() => Queues.ExtendAsync("edge", first.Id, first.Lease!, TimeSpan.FromMinutes(1), end, default))).Code);
        Assert.Equal(ErrorCode.LeaseExpired, (await Assert.ThrowsAsync<SwitchboardException>(() => Queues.NackAsync("edge", first.Id, first.Lease!, null, null, end, default))).Code);
        Assert.Equal(ErrorCode.LeaseExpired, (await Assert.ThrowsAsync<SwitchboardException>(() => Queues.AckAsync("edge", first.Id, first.Lease!, end, default))).Code);
        var second = Assert.Single((await Queues.LeaseAsync("edge", 1, null, end, default)).Messages);
        Assert.Equal((first.Id, 2), (second.Id, second.Attempts));
        // The first holder can no longer settle it, nor give it back.
        Assert.Equal(ErrorCode.LeaseMismatch, (await Assert.ThrowsAsync<SwitchboardException>(() => Queues.AckAsync("edge", first.Id, first.Lease!, end, default))).Code);
        Assert.Equal(0, await Queues.ReleaseAsync("edge", [(first.Id, first.Lease!)], end, default));
        await Queues.AckAsync("edge", second.Id, second.Lease!, end, default);
    }

    [Fact]
    public async Task A_nack_without_delay_puts_the_message_back_ahead_of_later_ones()
    {
        await Queues.PutQueueAsync("fifo", Quick, null, T0, default);
        await Queues.EnqueueAsync(Send("fifo", "a", "b", "c") with { CreateQueue = null }, default);
        var a = Assert.Single((await Queues.LeaseAsync("fifo", 1, null, T0, default)).Messages);
        await Queues.NackAsync("fifo", a.Id, a.Lease!, null, null, T0, default); // Quick's backoff is 0: visible at once

        var again = (await Queues.LeaseAsync("fifo", 3, null, T0, default)).Messages;
        Assert.Equal([("a", 2), ("b", 1), ("c", 1)], again.Select(m => (Text(m), m.Attempts)));
    }

    [Fact]
    public async Task A_message_dead_on_its_last_attempt_refuses_its_old_lease_and_is_listed_once()
    {
        await Queues.PutQueueAsync("last", Quick with { MaxAttempts = 1 }, null, T0, default);
        await Queues.EnqueueAsync(Send("last", "x") with { CreateQueue = null }, default);
        var held = Assert.Single((await Queues.LeaseAsync("last", 1, null, T0, default)).Messages);
        var end = held.LeaseExpiresAt!.Value;

        Assert.Empty((await Queues.LeaseAsync("last", 1, null, end, default)).Messages); // the look dead-letters it
        Assert.Equal(ErrorCode.LeaseMismatch, (await Assert.ThrowsAsync<SwitchboardException>(() => Queues.AckAsync("last", held.Id, held.Lease!, end, default))).Code);
        Assert.Equal(0, await Queues.ReleaseAsync("last", [(held.Id, held.Lease!)], end, default));
        var letter = Assert.Single((await Queues.ListDeadLettersAsync("last", 0, 10, default)).Messages);
        Assert.Equal(("lease-expired", 1), (letter.DeadReason, letter.Attempts));
        Assert.Empty((await Queues.PeekAsync("last", QueuePeekStates.All, 0, 10, end, default)).Messages);
        Assert.Equal(new QueueStats(0, 0, 0, 1), (await Queues.GetQueueAsync("last", end, default))!.Stats);

        // Redriven, then purged: the purge takes only dead letters, so the redriven message stays.
        Assert.Equal(1, await Queues.RedriveAsync("last", null, end, default));
        Assert.Equal(0, await Queues.PurgeDeadLettersAsync("last", default));
        var back = Assert.Single((await Queues.LeaseAsync("last", 1, null, end, default)).Messages);
        Assert.Equal(("x", 1), (Text(back), back.Attempts));
    }
}

public abstract partial class DurableStoreContract
{
    [Fact]
    public async Task A_dead_letter_that_a_look_at_the_counts_made_is_kept_across_a_restart()
    {
        await Queues.PutQueueAsync("counted", Quick with { MaxAttempts = 1 }, null, T0, default);
        await Queues.EnqueueAsync(Send("counted", "x") with { CreateQueue = null }, default);
        var held = Assert.Single((await Queues.LeaseAsync("counted", 1, null, T0, default)).Messages);
        var end = held.LeaseExpiresAt!.Value;

        // Only a look at the counts sees the last lease run out: it moves the message to the dead letters.
        Assert.Equal(new QueueStats(0, 0, 0, 1), (await Queues.GetQueueAsync("counted", end, default))!.Stats);
        var letter = Assert.Single((await Queues.ListDeadLettersAsync("counted", 0, 10, default)).Messages);
        Assert.Equal(("lease-expired", end), (letter.DeadReason, letter.DeadAt!.Value));

        // What was shown is what is stored: after a restart the dead letter is listed as it was, and can be redriven.
        var reopened = await Track(ReopenAsync(Store));
        var kept = Assert.Single((await reopened.Queues.ListDeadLettersAsync("counted", 0, 10, default)).Messages);
        Assert.Equal((held.Id, "lease-expired", end), (kept.Id, kept.DeadReason, kept.DeadAt!.Value));
        Assert.Equal(1, await reopened.Queues.RedriveAsync("counted", held.Id, end.AddSeconds(1), default));
    }

    [Fact]
    public async Task A_dead_letter_stays_dead_across_a_restart_even_if_max_attempts_is_raised()
    {
        await Queues.PutQueueAsync("raised", Quick with { MaxAttempts = 1 }, null, T0, default);
        await Queues.EnqueueAsync(Send("raised", "x") with { CreateQueue = null }, default);
        var held = Assert.Single((await Queues.LeaseAsync("raised", 1, null, T0, default)).Messages);
        var end = held.LeaseExpiresAt!.Value;
        Assert.Equal(1, (await Queues.GetQueueAsync("raised", end, default))!.Stats.Dead);
        await Queues.PutQueueAsync("raised", Quick with { MaxAttempts = 5 }, null, end, default);

        var reopened = await Track(ReopenAsync(Store));
        // Dead letters leave only by a redrive: not delivered again because the queue now allows more attempts.
        Assert.Empty((await reopened.Queues.LeaseAsync("raised", 1, null, end.AddSeconds(1), default)).Messages);
        Assert.Equal(new QueueStats(0, 0, 0, 1), (await reopened.Queues.GetQueueAsync("raised", end.AddSeconds(1), default))!.Stats);
    }
}

public abstract partial class StoreContract
{
    [Fact]
    public async Task A_request_retried_after_its_send_key_expired_opens_its_reply_slot_again()
    {
        // A request's reply id is derived from its idempotency key, so a retry after the key's window (here 2 minutes)
        // sends a new request under the reply id of the first, whose slot is still remembered.
        var key = new IdempotencyToken("req-1", "fp", T0.AddMinutes(2));
        var first = await Queues.EnqueueAsync(Send("rpc", "ping") with { Idempotency = key, Reply = ("r-k", T0.AddMinutes(10)) }, default);
        var later = T0.AddMinutes(3);
        var retry = await Queues.EnqueueAsync(Send("rpc", "ping") with
        {
            Timestamp = later,
            Idempotency = key with { ExpiresAt = later.AddMinutes(2) },
            Reply = ("r-k", later.AddMinutes(10)),
        }, default);

        Assert.False(retry.Replayed);
        Assert.Equal(first.FirstId + 1, retry.FirstId);
        var slot = (await Queues.GetReplyAsync("r-k", default))!;
        Assert.Equal((retry.FirstId, later.AddMinutes(10), (MessageDraft?)null), (slot.MessageId, slot.ExpiresAt, slot.Reply));
        // Either request can be answered through the slot, once.
        await Queues.PostReplyAsync("r-k", new MessageDraft { Payload = "\"pong\""u8.ToArray() }, null, later.AddSeconds(1), default);
        Assert.NotNull((await Queues.GetReplyAsync("r-k", default))!.Reply);
    }
}
