using Switchboard.Core;
using Switchboard.Core.Engines;

namespace Switchboard.Contract.Tests;

/// <summary>
/// A queue's bounds, asserted the same way for every engine: maxLength refuses a send, a batch or a bound publish whole
/// (nothing of it written), and maxDeadLetters drops the oldest dead letters, counted in deadDropped.
/// </summary>
public abstract partial class StoreContract
{
    [Fact]
    public async Task A_send_past_max_length_is_refused_whole_naming_the_limit_and_fits_again_once_one_is_acked()
    {
        await Queues.PutQueueAsync("cap", Quick with { MaxLength = 3 }, null, T0, default);
        await Queues.EnqueueAsync(Send("cap", "a", "b") with { CreateQueue = null, Idempotency = new IdempotencyToken("k", "fp", T0.AddMinutes(2)) }, default);

        var batch = await Assert.ThrowsAsync<SwitchboardException>(() => Queues.EnqueueAsync(Send("cap", "c", "d") with { CreateQueue = null }, default));
        Assert.Equal(ErrorCode.LimitReached, batch.Code);
        Assert.Contains("'cap' is full", batch.Message, StringComparison.Ordinal);
        Assert.Contains("maxLength", batch.Message, StringComparison.Ordinal);
        Assert.Equal((3L, 2L, "maxLength"), ((long)batch.Extensions["limit"]!, (long)batch.Extensions["length"]!, (string)batch.Extensions["setting"]!));
        Assert.Equal(2, (await Queues.GetQueueAsync("cap", T0, default))!.Stats.Length); // none of the batch was stored

        Assert.Equal(3, (await Queues.EnqueueAsync(Send("cap", "c") with { CreateQueue = null }, default)).FirstId);
        // A retry of a send that was stored is answered as before, full or not.
        Assert.True((await Queues.EnqueueAsync(Send("cap", "a", "b") with { CreateQueue = null, Idempotency = new IdempotencyToken("k", "fp", T0.AddMinutes(2)) }, default)).Replayed);
        // Leased and delayed messages count: a receive does not make room, an ack does.
        var held = Assert.Single((await Queues.LeaseAsync("cap", 1, null, T0, default)).Messages);
        await Assert.ThrowsAsync<SwitchboardException>(() => Queues.EnqueueAsync(Send("cap", "d") with { CreateQueue = null, Delay = TimeSpan.FromMinutes(1) }, default));
        await Queues.AckAsync("cap", held.Id, held.Lease!, T0, default);
        Assert.Equal(4, (await Queues.EnqueueAsync(Send("cap", "d") with { CreateQueue = null }, default)).FirstId);

        var info = (await Queues.GetQueueAsync("cap", T0, default))!;
        Assert.Equal((3L, 3L, 3L), (info.Stats.Length, info.Config.MaxLength!.Value, info.Limits.MaxLength!.Value));
        Assert.Equal(["b", "c", "d"], (await Queues.PeekAsync("cap", QueuePeekStates.All, 0, 10, T0, default)).Messages.Select(Text));
    }

    [Fact]
    public async Task A_new_queue_takes_the_stores_default_limits_unless_its_config_sets_its_own()
    {
        var store = await Track(CreateLimitedAsync(null, null, new QueueLimits(2, 5)));
        await store.Queues.EnqueueAsync(Send("dflt", "a", "b"), default);
        var refused = await Assert.ThrowsAsync<SwitchboardException>(() => store.Queues.EnqueueAsync(Send("dflt", "c"), default));
        Assert.Equal((ErrorCode.LimitReached, 2L), (refused.Code, (long)refused.Extensions["limit"]!));
        // A send that creates its queue is refused before the queue is made when the batch alone is too long.
        await Assert.ThrowsAsync<SwitchboardException>(() => store.Queues.EnqueueAsync(Send("big", "a", "b", "c"), default));
        Assert.Null(await store.Queues.GetQueueAsync("big", T0, default));

        var info = (await store.Queues.GetQueueAsync("dflt", T0, default))!;
        Assert.Equal(new QueueLimits(2, 5), info.Limits);
        Assert.Null(info.Config.MaxLength);
        var own = (await store.Queues.PutQueueAsync("own", Quick with { MaxLength = 10 }, null, T0, default)).Queue;
        Assert.Equal(new QueueLimits(10, 5), own.Limits);
    }

    [Fact]
    public async Task A_publish_to_a_topic_bound_to_a_full_queue_is_refused_whole()
    {
        await Queues.PutQueueAsync("narrow", Quick with { MaxLength = 2 }, null, T0, default);
        await Queues.PutQueueAsync("wide", Quick, null, T0, default);
        await Queues.PutBindingAsync(new QueueBinding("orders.>", "wide"), T0, default);
        await Queues.PutBindingAsync(new QueueBinding("orders.>", "narrow"), T0, default);
        await Store.AppendAsync(Append("orders.new", Draft("a")), default);

        var refused = await Assert.ThrowsAsync<SwitchboardException>(() => Store.AppendAsync(Append("orders.new", Draft("b"), Draft("c")), default));
        Assert.Equal(ErrorCode.LimitReached, refused.Code);
        Assert.Equal("narrow", refused.Extensions["queue"]);
        Assert.Equal(1, (await Store.GetTopicAsync("orders.new", default))!.LastOffset); // no topic message appended
        Assert.Equal(1, (await Queues.GetQueueAsync("wide", T0, default))!.Stats.Ready); // no other bound queue got a copy
        Assert.Equal(1, (await Queues.GetQueueAsync("narrow", T0, default))!.Stats.Ready);
        // A topic the refused publish would have created is not made either.
        await Queues.EnqueueAsync(Send("narrow", "x") with { CreateQueue = null }, default);
        await Assert.ThrowsAsync<SwitchboardException>(() => Store.AppendAsync(Append("orders.other", Draft("d")), default));
        Assert.Null(await Store.GetTopicAsync("orders.other", default));

        var held = Assert.Single((await Queues.LeaseAsync("narrow", 1, null, T0, default)).Messages);
        await Queues.AckAsync("narrow", held.Id, held.Lease!, T0, default);
        Assert.Equal(2, (await Store.AppendAsync(Append("orders.new", Draft("b")), default)).FirstOffset);
        Assert.Equal(["a", "b"], (await Queues.PeekAsync("wide", QueuePeekStates.All, 0, 10, T0, default)).Messages.Select(Text));
    }

    [Fact]
    public async Task Past_max_dead_letters_the_oldest_are_dropped_and_counted()
    {
        await FillDeadLettersAsync(Queues, "poison");

        var dead = (await Queues.ListDeadLettersAsync("poison", 0, 10, default)).Messages;
        Assert.Equal(["c", "d", "e"], dead.Select(Text)); // the newest three
        var info = (await Queues.GetQueueAsync("poison", T0, default))!;
        Assert.Equal((3L, 2L, 3L), (info.Stats.Dead, info.Stats.DeadDropped, info.Limits.MaxDeadLetters!.Value));
        Assert.Equal(2, Listener.DeadDropped.Sum(d => d.Dropped));
        Assert.Equal(("poison", 2L), (Listener.DeadDropped[^1].Queue, Listener.DeadDropped[^1].Total));
        // A dropped dead letter is gone: not redrivable, and a redrive of the rest counts against maxLength.
        Assert.Equal(ErrorCode.MessageNotFound, (await Assert.ThrowsAsync<SwitchboardException>(() => Queues.RedriveAsync("poison", 1, T0, default))).Code);
        await Queues.PutQueueAsync("poison", Quick with { MaxAttempts = 1, MaxDeadLetters = 3, MaxLength = 2 }, null, T0, default);
        Assert.Equal(ErrorCode.LimitReached, (await Assert.ThrowsAsync<SwitchboardException>(() => Queues.RedriveAsync("poison", null, T0, default))).Code);
        Assert.Equal(1, await Queues.RedriveAsync("poison", dead[0].Id, T0, default));
    }

    [Fact]
    public async Task A_lease_that_runs_out_on_the_last_attempt_drops_the_oldest_dead_letter_too()
    {
        var last = await LeasedOnItsLastAttemptBehindADeadLetterAsync("expiring");

        var end = last.LeaseExpiresAt!.Value;
        Assert.Empty((await Queues.LeaseAsync("expiring", 1, null, end, default)).Messages); // the look dead-letters b
        Assert.Equal(["b"], (await Queues.ListDeadLettersAsync("expiring", 0, 10, default)).Messages.Select(Text));
        Assert.Equal((1L, 1L), ((await Queues.GetQueueAsync("expiring", end, default))!.Stats.Dead, (await Queues.GetQueueAsync("expiring", end, default))!.Stats.DeadDropped));
    }

    [Fact]
    public async Task A_send_handed_to_a_waiting_receive_reports_the_dead_letters_its_look_at_the_queue_dropped()
    {
        var last = await LeasedOnItsLastAttemptBehindADeadLetterAsync("handed");
        var reported = Listener.DeadDropped.Count;

        // b's lease runs out on its last attempt; the next send, handed to a waiting receive, is what looks at the queue.
        var end = last.LeaseExpiresAt!.Value.AddSeconds(1);
        if (Queues.Park("handed", 1, null) is not { } parked)
        {
            return; // an engine without parked receives hands nothing off
        }
        await Queues.EnqueueAsync(Send("handed", "c") with { CreateQueue = null, Timestamp = end }, default);
        Assert.Equal(["c"], (await parked.Taken.WaitAsync(TimeSpan.FromSeconds(10))).Select(Text));
        Assert.Equal(1L, (await Queues.GetQueueAsync("handed", end, default))!.Stats.DeadDropped);
        Assert.Equal(1, Listener.DeadDropped.Skip(reported).Where(d => d.Queue == "handed").Sum(d => d.Dropped));
    }

    [Fact]
    public async Task A_look_at_queue_stats_reports_the_dead_letters_it_dropped_as_a_lease_ran_out()
    {
        foreach (var (queue, look) in new (string, Func<DateTimeOffset, Task<QueueInfo?>>)[]
        {
            ("stats-one", at => Queues.GetQueueAsync("stats-one", at, default)),
            ("stats-list", async at => (await Queues.ListQueuesAsync("stats-list", null, 10, at, default)).Queues.Single()),
        })
        {
            var last = await LeasedOnItsLastAttemptBehindADeadLetterAsync(queue);
            var reported = Listener.DeadDropped.Count;

            // b's lease runs out on its last attempt: the first look at the queue after that dead-letters it, dropping a.
            var info = (await look(last.LeaseExpiresAt!.Value.AddSeconds(1)))!;
            Assert.Equal((1L, 1L), (info.Stats.Dead, info.Stats.DeadDropped));
            Assert.Equal([(queue, 1L, 1L)], Listener.DeadDropped.Skip(reported).Select(d => (d.Queue, d.Dropped, d.Total)));
        }
    }

    /// <summary>
    /// A queue that keeps one dead letter, holding a (nacked on its only attempt: dead) and b (leased on its only
    /// attempt): once b's lease runs out, the next look at the queue dead-letters b and drops a. Returns b as leased.
    /// </summary>
    private async Task<QueueMessage> LeasedOnItsLastAttemptBehindADeadLetterAsync(string queue)
    {
        await Queues.PutQueueAsync(queue, Quick with { MaxAttempts = 1, MaxDeadLetters = 1 }, null, T0, default);
        await Queues.EnqueueAsync(Send(queue, "a", "b") with { CreateQueue = null }, default);
        var leased = (await Queues.LeaseAsync(queue, 2, null, T0, default)).Messages;
        await Queues.NackAsync(queue, leased[0].Id, leased[0].Lease!, null, null, T0, default);
        return leased[1];
    }

    /// <summary>Five messages, each nacked on its only attempt, into a queue that keeps three dead letters.</summary>
    protected static async Task FillDeadLettersAsync(IQueueStore queues, string queue)
    {
        await queues.PutQueueAsync(queue, Quick with { MaxAttempts = 1, MaxDeadLetters = 3 }, null, T0, default);
        await queues.EnqueueAsync(Send(queue, "a", "b", "c", "d", "e") with { CreateQueue = null }, default);
        foreach (var message in (await queues.LeaseAsync(queue, 5, null, T0, default)).Messages)
        {
            Assert.True((await queues.NackAsync(queue, message.Id, message.Lease!, null, "poison", T0, default)).DeadLettered);
        }
    }
}

public abstract partial class DurableStoreContract
{
    [Fact]
    public async Task Dropped_dead_letters_stay_dropped_and_counted_after_a_restart()
    {
        await FillDeadLettersAsync(Queues, "poison");

        var reopened = await Track(ReopenAsync(Store));
        Assert.Equal(["c", "d", "e"], (await reopened.Queues.ListDeadLettersAsync("poison", 0, 10, default)).Messages.Select(Text));
        var stats = (await reopened.Queues.GetQueueAsync("poison", T0, default))!.Stats;
        Assert.Equal((3L, 2L), (stats.Dead, stats.DeadDropped));

        // The count goes on from where it was.
        await reopened.Queues.EnqueueAsync(Send("poison", "f") with { CreateQueue = null }, default);
        var f = Assert.Single((await reopened.Queues.LeaseAsync("poison", 1, null, T0, default)).Messages);
        await reopened.Queues.NackAsync("poison", f.Id, f.Lease!, null, null, T0, default);
        Assert.Equal(3, (await reopened.Queues.GetQueueAsync("poison", T0, default))!.Stats.DeadDropped);
    }
}
