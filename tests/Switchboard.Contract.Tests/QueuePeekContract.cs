using System.Text;
using Switchboard.Core;

namespace Switchboard.Contract.Tests;

/// <summary>Peek: a queue's messages listed without leasing them, the same on every engine.</summary>
public abstract partial class StoreContract
{
    private static QueueDraft JobWithHeader(string text, string header) => new()
    {
        Message = new MessageDraft { Payload = Encoding.UTF8.GetBytes($"\"{text}\""), Headers = new Dictionary<string, string> { ["x-kind"] = header } },
    };

    [Fact]
    public async Task Peek_lists_ready_messages_in_receive_order_and_changes_nothing()
    {
        await Queues.EnqueueAsync(new EnqueueRequest("jobs", [Job("a"), JobWithHeader("b", "urgent"), Job("c")]) { Timestamp = T0, CreateQueue = Quick }, default);
        var before = (await Queues.GetQueueAsync("jobs", T0, default))!.Stats;

        var peeked = await Queues.PeekAsync("jobs", QueuePeekStates.Ready, 0, 20, T0, default);
        var again = await Queues.PeekAsync("jobs", QueuePeekStates.Ready, 0, 20, T0, default);

        Assert.Equal(["a", "b", "c"], peeked.Messages.Select(Text));
        Assert.Equal([1L, 2L, 3L], peeked.Messages.Select(m => m.Id));
        Assert.Null(peeked.NextAfter);
        Assert.All(peeked.Messages, m => Assert.Equal((QueueMessageState.Ready, 0, T0, (string?)null, (DateTimeOffset?)null, (DateTimeOffset?)null),
            (m.State, m.Attempts, m.EnqueuedAt, m.Lease, m.LeaseExpiresAt, m.VisibleAt)));
        Assert.Equal("urgent", peeked.Messages[1].Headers["x-kind"]);
        Assert.Equal(peeked.Messages.Select(Text), again.Messages.Select(Text));
        Assert.Equal(before, (await Queues.GetQueueAsync("jobs", T0, default))!.Stats);
        Assert.Equal(new QueueStats(3, 0, 0, 0), before);

        // A receive afterwards gets the first message on its first attempt: the peeks counted nothing.
        var first = Assert.Single((await Queues.LeaseAsync("jobs", 1, null, T0, default)).Messages);
        Assert.Equal(("a", 1), (Text(first), first.Attempts));
    }

    [Fact]
    public async Task Peek_follows_the_order_a_receive_takes_after_a_nack()
    {
        await Queues.EnqueueAsync(Send("jobs", "a", "b", "c"), default);
        var leased = (await Queues.LeaseAsync("jobs", 2, null, T0, default)).Messages;
        await Queues.NackAsync("jobs", leased[1].Id, leased[1].Lease!, TimeSpan.Zero, "retry", T0, default); // b is visible again at once

        var peeked = await Queues.PeekAsync("jobs", QueuePeekStates.Ready, 0, 20, T0.AddSeconds(1), default);
        Assert.Equal(["b", "c"], peeked.Messages.Select(Text));
        Assert.Equal((1, "retry"), (peeked.Messages[0].Attempts, peeked.Messages[0].LastError));

        var received = (await Queues.LeaseAsync("jobs", 5, null, T0.AddSeconds(1), default)).Messages;
        Assert.Equal(peeked.Messages.Select(m => m.Id), received.Select(m => m.Id));
        Assert.Equal([2, 1], received.Select(m => m.Attempts));
    }

    [Fact]
    public async Task Peek_pages_with_the_id_of_the_last_message_seen()
    {
        await Queues.EnqueueAsync(Send("jobs", "1", "2", "3", "4", "5"), default);

        var first = await Queues.PeekAsync("jobs", QueuePeekStates.Ready, 0, 2, T0, default);
        Assert.Equal(["1", "2"], first.Messages.Select(Text));
        Assert.Equal(2L, first.NextAfter);
        var second = await Queues.PeekAsync("jobs", QueuePeekStates.Ready, first.NextAfter!.Value, 2, T0, default);
        Assert.Equal(["3", "4"], second.Messages.Select(Text));
        Assert.Equal(4L, second.NextAfter);
        var last = await Queues.PeekAsync("jobs", QueuePeekStates.Ready, second.NextAfter!.Value, 2, T0, default);
        Assert.Equal(["5"], last.Messages.Select(Text));
        Assert.Null(last.NextAfter);
        var exact = await Queues.PeekAsync("jobs", QueuePeekStates.Ready, 3, 2, T0, default);
        Assert.Equal(["4", "5"], exact.Messages.Select(Text));
        Assert.Null(exact.NextAfter);
        Assert.Empty((await Queues.PeekAsync("jobs", QueuePeekStates.Ready, 5, 2, T0, default)).Messages);
        Assert.Empty((await Queues.PeekAsync("jobs", QueuePeekStates.Ready, 1000, 2, T0, default)).Messages);

        // Acked messages leave gaps; the cursor steps over them.
        var leased = (await Queues.LeaseAsync("jobs", 3, null, T0, default)).Messages;
        await Queues.AckAsync("jobs", leased[1].Id, leased[1].Lease!, T0, default);
        var all = await Queues.PeekAsync("jobs", QueuePeekStates.All, 0, 3, T0, default);
        Assert.Equal([1L, 3L, 4L], all.Messages.Select(m => m.Id));
        Assert.Equal(4L, all.NextAfter);
    }

    [Fact]
    public async Task Peek_filters_ready_delayed_and_leased_messages_and_never_shows_a_lease_token()
    {
        await Queues.EnqueueAsync(Send("jobs", "a", "b", "c"), default);
        await Queues.EnqueueAsync(Send("jobs", "later") with { Delay = TimeSpan.FromMinutes(1) }, default);
        var a = Assert.Single((await Queues.LeaseAsync("jobs", 1, null, T0, default)).Messages);
        var now = T0.AddSeconds(1);
        var stats = (await Queues.GetQueueAsync("jobs", now, default))!.Stats;
        Assert.Equal(new QueueStats(2, 1, 1, 0), stats);

        async Task<string[]> Peek(QueuePeekStates states, DateTimeOffset at)
            => [.. (await Queues.PeekAsync("jobs", states, 0, 20, at, default)).Messages.Select(m => $"{Text(m)}:{m.State}")];

        Assert.Equal(["b:Ready", "c:Ready"], await Peek(QueuePeekStates.Ready, now));
        Assert.Equal(["later:Delayed"], await Peek(QueuePeekStates.Delayed, now));
        Assert.Equal(["a:Leased"], await Peek(QueuePeekStates.Leased, now));
        Assert.Equal(["b:Ready", "c:Ready", "later:Delayed"], await Peek(QueuePeekStates.Ready | QueuePeekStates.Delayed, now));
        Assert.Equal(["a:Leased", "b:Ready", "c:Ready", "later:Delayed"], await Peek(QueuePeekStates.All, now));

        var all = (await Queues.PeekAsync("jobs", QueuePeekStates.All, 0, 20, now, default)).Messages;
        Assert.All(all, m => Assert.Null(m.Lease));
        Assert.Equal((1, a.LeaseExpiresAt, (DateTimeOffset?)null), (all[0].Attempts, all[0].LeaseExpiresAt, all[0].VisibleAt));
        Assert.Equal(((DateTimeOffset?)null, T0.AddMinutes(1)), (all[3].LeaseExpiresAt, all[3].VisibleAt!.Value));
        Assert.Equal(stats, (await Queues.GetQueueAsync("jobs", now, default))!.Stats);

        // Once a's lease has run out (no backoff here) it is ready again, first in line, as a receive finds it.
        var afterLease = T0 + Quick.Lease;
        Assert.Equal(["a:Ready", "b:Ready", "c:Ready"], await Peek(QueuePeekStates.Ready, afterLease));
        var redelivered = Assert.Single((await Queues.LeaseAsync("jobs", 1, null, afterLease, default)).Messages);
        Assert.Equal(("a", 2), (Text(redelivered), redelivered.Attempts));

        // The lease still works after the peeks: they took nothing from its holder.
        await Queues.AckAsync("jobs", redelivered.Id, redelivered.Lease!, afterLease, default);
        Assert.Equal(["b:Ready", "c:Ready", "later:Delayed"], await Peek(QueuePeekStates.All, afterLease));
    }

    [Fact]
    public async Task Peek_leaves_out_dead_letters_and_refuses_an_unknown_queue()
    {
        await Queues.EnqueueAsync(new EnqueueRequest("fragile", [Job("x"), Job("y")]) { Timestamp = T0, CreateQueue = Quick with { MaxAttempts = 1 } }, default);
        var x = (await Queues.LeaseAsync("fragile", 1, null, T0, default)).Messages[0];
        Assert.True((await Queues.NackAsync("fragile", x.Id, x.Lease!, null, "bad", T0, default)).DeadLettered);

        var all = await Queues.PeekAsync("fragile", QueuePeekStates.All, 0, 20, T0, default);
        Assert.Equal(["y"], all.Messages.Select(Text));

        var missing = await Assert.ThrowsAsync<SwitchboardException>(() => Queues.PeekAsync("nope", QueuePeekStates.Ready, 0, 20, T0, default));
        Assert.Equal(ErrorCode.QueueNotFound, missing.Code);
    }
}
