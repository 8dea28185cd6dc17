using System.Text;
using Switchboard.Core;
using Switchboard.Core.Engines;

namespace Switchboard.Contract.Tests;

/// <summary>The queue half of the store contract, asserted the same way for every engine.</summary>
public abstract partial class StoreContract
{
    protected static readonly QueueConfig Quick = new(TimeSpan.FromSeconds(10), 3, TimeSpan.Zero, TimeSpan.Zero);

    protected static QueueDraft Job(string text) => new() { Message = new MessageDraft { Payload = Encoding.UTF8.GetBytes($"\"{text}\"") } };

    protected static EnqueueRequest Send(string queue, params string[] texts) => new(queue, [.. texts.Select(Job)]) { Timestamp = T0, CreateQueue = Quick };

    protected static string Text(QueueMessage message) => Encoding.UTF8.GetString(message.Payload.Span).Trim('"');

    protected IQueueStore Queues => Store.Queues;

    [Fact]
    public async Task Queue_leases_oldest_first_and_one_lease_at_a_time()
    {
        var sent = await Queues.EnqueueAsync(Send("jobs", "a", "b", "c"), default);
        Assert.Equal((1L, 3, true), (sent.FirstId, sent.Count, sent.CreatedQueue));

        var first = await Queues.LeaseAsync("jobs", 2, null, T0, default);
        Assert.Equal(["a", "b"], first.Messages.Select(Text));
        Assert.All(first.Messages, m => Assert.Equal((1, QueueMessageState.Leased, T0 + Quick.Lease), (m.Attempts, m.State, m.LeaseExpiresAt!.Value)));
        Assert.NotEqual(first.Messages[0].Lease, first.Messages[1].Lease);
        var second = await Queues.LeaseAsync("jobs", 5, null, T0, default);
        Assert.Equal(["c"], second.Messages.Select(Text));
        Assert.Empty((await Queues.LeaseAsync("jobs", 5, null, T0.AddSeconds(1), default)).Messages);

        var stats = (await Queues.GetQueueAsync("jobs", T0.AddSeconds(1), default))!.Stats;
        Assert.Equal(new QueueStats(0, 3, 0, 0), stats);
    }

    [Fact]
    public async Task Delete_with_an_expected_version_deletes_a_queue_only_while_its_settings_are_that_version()
    {
        var created = await Queues.PutQueueAsync("held", Quick, null, T0, default);
        await Queues.EnqueueAsync(Send("held", "a"), default); // a send does not change the configuration version
        var replaced = await Queues.PutQueueAsync("held", Quick with { MaxAttempts = 5 }, created.Queue.ConfigVersion, T0, default);
        Assert.True(replaced.Queue.ConfigVersion > created.Queue.ConfigVersion);

        var stale = await Assert.ThrowsAsync<SwitchboardException>(() => Queues.DeleteQueueAsync("held", created.Queue.ConfigVersion, T0, default));
        Assert.Equal(ErrorCode.PreconditionFailed, stale.Code);
        var kept = await Queues.GetQueueAsync("held", T0, default);
        Assert.Equal((replaced.Queue.ConfigVersion, 1L), (kept!.ConfigVersion, kept.Stats.Ready));

        var deleted = await Queues.DeleteQueueAsync("held", replaced.Queue.ConfigVersion, T0, default);
        Assert.Equal(5, deleted!.Config.MaxAttempts);
        Assert.Null(await Queues.GetQueueAsync("held", T0, default));
        Assert.Null(await Queues.DeleteQueueAsync("held", replaced.Queue.ConfigVersion, T0, default));
    }

    [Fact]
    public async Task Ack_deletes_and_a_wrong_stale_or_expired_lease_is_refused()
    {
        await Queues.EnqueueAsync(Send("jobs", "a", "b"), default);
        var leased = (await Queues.LeaseAsync("jobs", 2, null, T0, default)).Messages;

        var wrong = await Assert.ThrowsAsync<SwitchboardException>(() => Queues.AckAsync("jobs", leased[0].Id, leased[1].Lease!, T0.AddSeconds(1), default));
        Assert.Equal(ErrorCode.LeaseMismatch, wrong.Code);
        // On a first delivery there is no earlier lease to hold: the token itself is wrong, and the refusal says so.
        Assert.Contains("Send the lease received with this message", wrong.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("delivered again", wrong.Message, StringComparison.Ordinal);
        await Queues.AckAsync("jobs", leased[0].Id, leased[0].Lease!, T0.AddSeconds(1), default);
        var again = await Assert.ThrowsAsync<SwitchboardException>(() => Queues.AckAsync("jobs", leased[0].Id, leased[0].Lease!, T0.AddSeconds(2), default));
        Assert.Equal(ErrorCode.LeaseMismatch, again.Code);
        var expired = await Assert.ThrowsAsync<SwitchboardException>(() => Queues.AckAsync("jobs", leased[1].Id, leased[1].Lease!, T0 + Quick.Lease, default));
        Assert.Equal(ErrorCode.LeaseExpired, expired.Code);
        Assert.Contains("ran out", expired.Message, StringComparison.Ordinal);

        // The refused calls changed nothing: b comes back once its lease is over, a never does.
        var redelivered = (await Queues.LeaseAsync("jobs", 5, null, T0 + Quick.Lease, default)).Messages;
        var again2 = Assert.Single(redelivered);
        Assert.Equal(("b", 2), (Text(again2), again2.Attempts));
        var stale = await Assert.ThrowsAsync<SwitchboardException>(() => Queues.AckAsync("jobs", leased[1].Id, leased[1].Lease!, T0 + Quick.Lease, default));
        Assert.Equal(ErrorCode.LeaseMismatch, stale.Code);
        Assert.Contains("attempt 2: the message was delivered again after your lease ran out", stale.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_message_is_dead_lettered_after_exactly_max_attempts_deliveries()
    {
        await Queues.EnqueueAsync(Send("jobs", "poison"), default);
        var at = T0;
        var deliveries = 0;
        for (var round = 0; round < 10; round++)
        {
            var got = (await Queues.LeaseAsync("jobs", 1, null, at, default)).Messages;
            if (got.Count == 0)
            {
                break;
            }
            deliveries++;
            Assert.Equal(deliveries, got[0].Attempts);
            if (deliveries == 2)
            {
                // One delivery ends in a nack with an error; the others let the lease run out.
                var nack = await Queues.NackAsync("jobs", got[0].Id, got[0].Lease!, null, "timeout talking to smtp", at, default);
                Assert.False(nack.DeadLettered);
                continue;
            }
            at += Quick.Lease;
        }
        Assert.Equal(Quick.MaxAttempts, deliveries);

        var dead = await Queues.ListDeadLettersAsync("jobs", 0, 10, default);
        var letter = Assert.Single(dead.Messages);
        Assert.Equal(("poison", "lease-expired", "timeout talking to smtp", 3), (Text(letter), letter.DeadReason, letter.LastError, letter.Attempts));
        Assert.Equal(new QueueStats(0, 0, 0, 1), (await Queues.GetQueueAsync("jobs", at, default))!.Stats);
    }

    [Fact]
    public async Task A_nack_on_the_last_attempt_dead_letters_and_redrive_and_purge_work()
    {
        await Queues.PutQueueAsync("jobs", Quick with { MaxAttempts = 1 }, null, T0, default);
        await Queues.EnqueueAsync(Send("jobs", "a", "b"), default);
        foreach (var message in (await Queues.LeaseAsync("jobs", 2, null, T0, default)).Messages)
        {
            var nack = await Queues.NackAsync("jobs", message.Id, message.Lease!, null, "bad input", T0, default);
            Assert.True(nack.DeadLettered);
        }
        var dead = (await Queues.ListDeadLettersAsync("jobs", 0, 10, default)).Messages;
        Assert.Equal([("a", "nacked"), ("b", "nacked")], dead.Select(d => (Text(d), d.DeadReason!)));

        var missing = await Assert.ThrowsAsync<SwitchboardException>(() => Queues.RedriveAsync("jobs", 99, T0, default));
        Assert.Equal(ErrorCode.MessageNotFound, missing.Code);
        Assert.Equal(1, await Queues.RedriveAsync("jobs", dead[0].Id, T0, default));
        var back = Assert.Single((await Queues.LeaseAsync("jobs", 5, null, T0, default)).Messages);
        Assert.Equal(("a", 1), (Text(back), back.Attempts));
        Assert.Equal(1, await Queues.PurgeDeadLettersAsync("jobs", default));
        Assert.Empty((await Queues.ListDeadLettersAsync("jobs", 0, 10, default)).Messages);
    }

    [Fact]
    public async Task Delays_and_nack_delays_hide_messages_until_their_time()
    {
        await Queues.EnqueueAsync(Send("jobs", "later") with { Delay = TimeSpan.FromSeconds(30) }, default);
        var early = await Queues.LeaseAsync("jobs", 1, null, T0.AddSeconds(29), default);
        Assert.Empty(early.Messages);
        Assert.Equal(T0.AddSeconds(30), early.NextVisibleAt);
        Assert.Equal(new QueueStats(0, 0, 1, 0), (await Queues.GetQueueAsync("jobs", T0, default))!.Stats);

        var due = Assert.Single((await Queues.LeaseAsync("jobs", 1, null, T0.AddSeconds(30), default)).Messages);
        await Queues.NackAsync("jobs", due.Id, due.Lease!, TimeSpan.FromSeconds(5), null, T0.AddSeconds(31), default);
        Assert.Empty((await Queues.LeaseAsync("jobs", 1, null, T0.AddSeconds(35.5), default)).Messages);
        Assert.Single((await Queues.LeaseAsync("jobs", 1, null, T0.AddSeconds(36), default)).Messages);
    }

    [Fact]
    public async Task Extend_keeps_the_lease_and_refuses_after_it_ran_out()
    {
        await Queues.EnqueueAsync(Send("jobs", "long"), default);
        var message = Assert.Single((await Queues.LeaseAsync("jobs", 1, null, T0, default)).Messages);
        var until = await Queues.ExtendAsync("jobs", message.Id, message.Lease!, TimeSpan.FromMinutes(5), T0.AddSeconds(9), default);
        Assert.Equal(T0.AddSeconds(9) + TimeSpan.FromMinutes(5), until);
        Assert.Empty((await Queues.LeaseAsync("jobs", 1, null, T0.AddMinutes(2), default)).Messages);
        await Queues.AckAsync("jobs", message.Id, message.Lease!, T0.AddMinutes(5), default);
        Assert.Equal(new QueueStats(0, 0, 0, 0), (await Queues.GetQueueAsync("jobs", T0.AddMinutes(6), default))!.Stats);
    }

    [Fact]
    public async Task Idempotent_sends_return_the_first_result_and_missing_queues_are_reported()
    {
        var token = new IdempotencyToken("k1", "fp", T0.AddMinutes(2));
        var first = await Queues.EnqueueAsync(Send("jobs", "a") with { Idempotency = token }, default);
        var retry = await Queues.EnqueueAsync(Send("jobs", "a") with { Idempotency = token, Timestamp = T0.AddSeconds(1) }, default);
        Assert.Equal((first.FirstId, true), (retry.FirstId, retry.Replayed));
        var reused = await Assert.ThrowsAsync<SwitchboardException>(() => Queues.EnqueueAsync(Send("jobs", "b") with { Idempotency = token with { Fingerprint = "other" }, Timestamp = T0.AddSeconds(1) }, default));
        Assert.Equal(ErrorCode.IdempotencyKeyReused, reused.Code);
        Assert.Single((await Queues.LeaseAsync("jobs", 5, null, T0.AddSeconds(2), default)).Messages);

        var missing = await Assert.ThrowsAsync<SwitchboardException>(() => Queues.EnqueueAsync(Send("nowhere", "x") with { CreateQueue = null }, default));
        Assert.Equal(ErrorCode.QueueNotFound, missing.Code);
        Assert.Equal(ErrorCode.QueueNotFound, (await Assert.ThrowsAsync<SwitchboardException>(() => Queues.LeaseAsync("nowhere", 1, null, T0, default))).Code);
        Assert.Null(await Queues.GetQueueAsync("nowhere", T0, default));
    }

    [Fact]
    public async Task A_binding_enqueues_each_published_message_once_with_where_it_came_from()
    {
        Assert.True(await Queues.PutBindingAsync(new QueueBinding("orders.>", "audit"), T0, default));
        Assert.False(await Queues.PutBindingAsync(new QueueBinding("orders.>", "audit"), T0, default));
        var token = new IdempotencyToken("pub", "fp", T0.AddMinutes(2));
        await Store.AppendAsync(Append("orders.eu", Draft("o1"), Draft("o2")) with { Idempotency = token }, default);
        await Store.AppendAsync(Append("orders.eu", Draft("o1"), Draft("o2")) with { Idempotency = token, Timestamp = T0.AddSeconds(1) }, default); // a replay
        await Store.AppendAsync(Append("invoices", Draft("i1")), default);

        var queued = (await Queues.LeaseAsync("audit", 10, null, T0.AddSeconds(2), default)).Messages;
        Assert.Equal(["o1", "o2"], queued.Select(Text));
        Assert.Equal(("orders.eu", "2"), (queued[1].Headers["sb-topic"], queued[1].Headers["sb-offset"]));

        Assert.True(await Queues.DeleteBindingAsync(new QueueBinding("orders.>", "audit"), default));
        await Store.AppendAsync(Append("orders.us", Draft("o3")), default);
        Assert.Empty((await Queues.LeaseAsync("audit", 10, null, T0.AddSeconds(3), default)).Messages);
    }

    [Fact]
    public async Task A_reply_slot_takes_one_reply_before_it_expires()
    {
        await Queues.EnqueueAsync(Send("rpc", "ping") with { Reply = ("r1", T0.AddSeconds(30)) }, default);
        Assert.Null((await Queues.GetReplyAsync("r1", default))!.Reply);

        await Queues.PostReplyAsync("r1", new MessageDraft { Payload = "\"pong\""u8.ToArray() }, null, T0.AddSeconds(1), default);
        var slot = (await Queues.GetReplyAsync("r1", default))!;
        Assert.Equal("\"pong\"", Encoding.UTF8.GetString(slot.Reply!.Payload.Span));
        Assert.Equal(ErrorCode.ReplyAlreadySent, (await Assert.ThrowsAsync<SwitchboardException>(() => Queues.PostReplyAsync("r1", new MessageDraft { Payload = "1"u8.ToArray() }, null, T0.AddSeconds(2), default))).Code);
        Assert.Equal(ErrorCode.ReplyNotFound, (await Assert.ThrowsAsync<SwitchboardException>(() => Queues.PostReplyAsync("nope", new MessageDraft { Payload = "1"u8.ToArray() }, null, T0, default))).Code);

        await Queues.EnqueueAsync(Send("rpc", "late") with { Reply = ("r2", T0.AddSeconds(5)) }, default);
        Assert.Equal(ErrorCode.ReplyExpired, (await Assert.ThrowsAsync<SwitchboardException>(() => Queues.PostReplyAsync("r2", new MessageDraft { Payload = "1"u8.ToArray() }, null, T0.AddSeconds(5), default))).Code);
    }
}

public abstract partial class StoreContract
{
    [Fact]
    public async Task A_reply_with_the_request_lease_acks_the_request_in_the_same_step_or_does_neither()
    {
        await Queues.EnqueueAsync(Send("rpc", "ping") with { Reply = ("r1", T0.AddSeconds(30)) }, default);
        Assert.Equal(1, (await Queues.GetReplyAsync("r1", default))!.MessageId);
        var request = Assert.Single((await Queues.LeaseAsync("rpc", 1, null, T0, default)).Messages);
        var pong = new MessageDraft { Payload = "\"pong\""u8.ToArray() };

        // A wrong lease refuses the whole step: no reply stored, the request still leased.
        var wrong = await Assert.ThrowsAsync<SwitchboardException>(() => Queues.PostReplyAsync("r1", pong, "not-the-lease", T0.AddSeconds(1), default));
        Assert.Equal(ErrorCode.LeaseMismatch, wrong.Code);
        Assert.Null((await Queues.GetReplyAsync("r1", default))!.Reply);
        Assert.Equal(1, (await Queues.GetQueueAsync("rpc", T0.AddSeconds(1), default))!.Stats.Leased);

        var slot = await Queues.PostReplyAsync("r1", pong, request.Lease, T0.AddSeconds(1), default);
        Assert.Equal(("rpc", 1L), (slot.Queue, slot.MessageId));
        Assert.Equal("\"pong\"", Encoding.UTF8.GetString((await Queues.GetReplyAsync("r1", default))!.Reply!.Payload.Span));
        var stats = (await Queues.GetQueueAsync("rpc", T0.AddMinutes(10), default))!.Stats;
        Assert.Equal((0L, 0L, 0L, 0L), (stats.Ready, stats.Leased, stats.Delayed, stats.Dead)); // acked: gone, never redelivered
        Assert.Equal(ErrorCode.LeaseMismatch, (await Assert.ThrowsAsync<SwitchboardException>(() => Queues.AckAsync("rpc", request.Id, request.Lease!, T0.AddSeconds(2), default))).Code);
    }
}

public abstract partial class StoreContract
{
    [Fact]
    public async Task A_send_leases_to_the_receives_parked_on_its_queue_in_its_own_step_oldest_first()
    {
        await Queues.PutQueueAsync("work", Quick, null, T0, default);
        var first = Queues.Park("work", 2, null);
        var second = Queues.Park("work", 5, TimeSpan.FromMinutes(3));
        var withdrawn = Queues.Park("work", 5, null);
        Assert.NotNull(first);
        Assert.NotNull(second);
        Assert.True(withdrawn!.TryWithdraw());
        Assert.True(withdrawn.TryWithdraw()); // again: still withdrawn, nothing else happens

        await Queues.EnqueueAsync(Send("work", "later") with { Delay = TimeSpan.FromSeconds(30) }, default); // not visible: no handoff
        Assert.False(first!.Taken.IsCompleted);
        await Queues.EnqueueAsync(Send("work", "a", "b", "c"), default);

        var toFirst = await first.Taken.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(["a", "b"], toFirst.Select(Text));
        Assert.All(toFirst, m => Assert.Equal((QueueMessageState.Leased, 1, T0 + Quick.Lease), (m.State, m.Attempts, m.LeaseExpiresAt!.Value)));
        Assert.False(first.TryWithdraw()); // claimed: the receive must deliver what it was given
        var toSecond = await second!.Taken.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(["c"], toSecond.Select(Text));
        Assert.Equal(T0 + TimeSpan.FromMinutes(3), toSecond[0].LeaseExpiresAt!.Value);
        Assert.False(withdrawn.Taken.IsCompleted);

        // The handed-off messages are leased like any other: acked with their lease, not leased again.
        await Queues.AckAsync("work", toFirst[0].Id, toFirst[0].Lease!, T0, default);
        var stats = (await Queues.GetQueueAsync("work", T0, default))!.Stats;
        Assert.Equal((0L, 2L, 1L), (stats.Ready, stats.Leased, stats.Delayed));
        Assert.Empty((await Queues.LeaseAsync("work", 10, null, T0, default)).Messages);
    }

    [Fact]
    public async Task A_handed_off_message_is_the_one_a_later_receive_reads_back()
    {
        await Queues.PutQueueAsync("work", Quick, null, T0, default);
        var parked = Queues.Park("work", 5, null)!;
        var drafts = new[]
        {
            new QueueDraft
            {
                Message = new MessageDraft
                {
                    Payload = "<order id=\"7\"/>"u8.ToArray(),
                    ContentType = "application/xml",
                    Key = "customer-42",
                    Headers = new Dictionary<string, string> { ["x-kind"] = "order", ["traceparent"] = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01" },
                },
                ReplyTo = "r-7",
                CorrelationId = "c-7",
            },
            Job("plain"),
        };
        await Queues.EnqueueAsync(new EnqueueRequest("work", drafts) { Timestamp = T0 }, default);
        var handed = await parked.Taken.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(2, handed.Count);

        // Released and leased again, each is read from the store: what the parked receive got must be the same.
        foreach (var message in handed)
        {
            await Queues.NackAsync("work", message.Id, message.Lease!, TimeSpan.Zero, null, T0, default);
        }
        var again = (await Queues.LeaseAsync("work", 5, null, T0, default)).Messages;
        Assert.Equal(handed.Select(m => m.Id), again.Select(m => m.Id));
        foreach (var (first, second) in handed.Zip(again))
        {
            Assert.Equal(first.Payload.ToArray(), second.Payload.ToArray());
            Assert.Equal((first.ContentType, first.Key, first.ReplyTo, first.CorrelationId), (second.ContentType, second.Key, second.ReplyTo, second.CorrelationId));
            Assert.Equal(first.Headers.OrderBy(h => h.Key), second.Headers.OrderBy(h => h.Key));
        }
        Assert.Equal(("application/xml", "customer-42", "r-7", "c-7"), (handed[0].ContentType, handed[0].Key, handed[0].ReplyTo, handed[0].CorrelationId));
        Assert.Equal("order", handed[0].Headers["x-kind"]);
        Assert.Equal("plain", Text(handed[1]));
    }

    [Fact]
    public async Task A_topic_bound_to_a_queue_hands_its_messages_to_a_parked_receive()
    {
        await Queues.PutBindingAsync(new QueueBinding("news.*", "feed"), T0, default);
        var parked = Queues.Park("feed", 10, null)!;
        await Store.AppendAsync(Append("news.eu", Draft("n1"), Draft("n2")), default);

        var taken = await parked.Taken.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(["n1", "n2"], taken.Select(Text));
        Assert.Equal(2, (await Queues.GetQueueAsync("feed", T0, default))!.Stats.Leased);
    }

    [Fact]
    public async Task A_binding_that_starts_with_a_wildcard_takes_nothing_of_the_hubs_own_topics()
    {
        await Queues.PutBindingAsync(new QueueBinding(">", "everything"), T0, default);
        await Queues.PutBindingAsync(new QueueBinding("*.room", "rooms"), T0, default);
        await Store.AppendAsync(Append("$presence.room", Draft("joined")), default);
        await Store.AppendAsync(Append("lobby.room", Draft("hello")), default);

        Assert.Equal(["hello"], (await Queues.LeaseAsync("everything", 10, null, T0, default)).Messages.Select(Text));
        Assert.Equal(["hello"], (await Queues.LeaseAsync("rooms", 10, null, T0, default)).Messages.Select(Text));
    }
}

public abstract partial class DurableStoreContract
{
    [Fact]
    public async Task A_handed_off_lease_is_stored_with_the_send_and_survives_a_restart()
    {
        await Queues.PutQueueAsync("work", Quick, null, T0, default);
        var parked = Queues.Park("work", 1, null)!;
        await Queues.EnqueueAsync(Send("work", "a"), default);
        var taken = Assert.Single(await parked.Taken.WaitAsync(TimeSpan.FromSeconds(10)));

        var reopened = await Track(ReopenAsync(Store));
        var stats = (await reopened.Queues.GetQueueAsync("work", T0, default))!.Stats;
        Assert.Equal((0L, 1L), (stats.Ready, stats.Leased));
        await reopened.Queues.AckAsync("work", taken.Id, taken.Lease!, T0, default); // its lease token holds after the restart
    }

    [Fact]
    public async Task Queues_leases_dead_letters_bindings_and_replies_survive_a_restart()
    {
        await Queues.PutQueueAsync("jobs", Quick with { MaxAttempts = 1 }, null, T0, default);
        await Queues.EnqueueAsync(Send("jobs", "a", "b", "c") with { Reply = ("r9", T0.AddMinutes(1)) }, default);
        var leased = (await Queues.LeaseAsync("jobs", 2, null, T0, default)).Messages;
        await Queues.NackAsync("jobs", leased[1].Id, leased[1].Lease!, null, "broken", T0, default); // b: dead
        await Queues.PutBindingAsync(new QueueBinding("events.*", "jobs"), T0, default);
        await Queues.AckAsync("jobs", leased[0].Id, leased[0].Lease!, T0, default); // a: done

        var reopened = await Track(ReopenAsync(Store));
        var queues = reopened.Queues;
        Assert.Equal(new QueueStats(1, 0, 0, 1), (await queues.GetQueueAsync("jobs", T0.AddSeconds(1), default))!.Stats);
        Assert.Equal(("b", "broken"), (Text((await queues.ListDeadLettersAsync("jobs", 0, 5, default)).Messages[0]), (await queues.ListDeadLettersAsync("jobs", 0, 5, default)).Messages[0].LastError!));
        var c = Assert.Single((await queues.LeaseAsync("jobs", 5, null, T0.AddSeconds(1), default)).Messages);
        Assert.Equal("c", Text(c));
        await queues.AckAsync("jobs", c.Id, c.Lease!, T0.AddSeconds(2), default);
        Assert.Null((await queues.GetReplyAsync("r9", default))!.Reply);

        // Ids go on from where they were, even with the queue empty; the binding still feeds it.
        await reopened.AppendAsync(Append("events.x", Draft("e")), default);
        var fed = Assert.Single((await queues.LeaseAsync("jobs", 5, null, T0.AddSeconds(3), default)).Messages);
        Assert.Equal(("e", 4L), (Text(fed), fed.Id));
    }
}

public abstract partial class StoreContract
{
    [Fact]
    public async Task Redelivery_waits_a_doubling_capped_backoff_after_a_lease_runs_out_or_a_nack()
    {
        await Queues.PutQueueAsync("slow", new QueueConfig(TimeSpan.FromSeconds(10), 5, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(3)), null, T0, default);
        await Queues.EnqueueAsync(Send("slow", "x") with { CreateQueue = null }, default);
        var first = Assert.Single((await Queues.LeaseAsync("slow", 1, null, T0, default)).Messages);
        Assert.Equal(1, first.Attempts);

        // The lease ends at 10 s; the first redelivery waits 1 s more.
        var early = await Queues.LeaseAsync("slow", 1, null, T0.AddSeconds(10.5), default);
        Assert.Empty(early.Messages);
        Assert.Equal(T0.AddSeconds(11), early.NextVisibleAt);
        Assert.Equal(new QueueStats(0, 0, 1, 0), (await Queues.GetQueueAsync("slow", T0.AddSeconds(10.5), default))!.Stats);
        var second = Assert.Single((await Queues.LeaseAsync("slow", 1, null, T0.AddSeconds(11), default)).Messages);
        Assert.Equal(2, second.Attempts);

        // A nack without a delay waits the backoff of the attempts so far: 2 s.
        var nack = await Queues.NackAsync("slow", second.Id, second.Lease!, null, null, T0.AddSeconds(12), default);
        Assert.Equal(T0.AddSeconds(14), nack.VisibleAt);
        Assert.Empty((await Queues.LeaseAsync("slow", 1, null, T0.AddSeconds(13.9), default)).Messages);
        var third = Assert.Single((await Queues.LeaseAsync("slow", 1, null, T0.AddSeconds(14), default)).Messages);
        Assert.Equal(3, third.Attempts);

        // 4 s would be next, but the cap is 3 s: the lease ends at 24 s, redelivery at 27 s.
        var capped = await Queues.LeaseAsync("slow", 1, null, T0.AddSeconds(26), default);
        Assert.Empty(capped.Messages);
        Assert.Equal(T0.AddSeconds(27), capped.NextVisibleAt);
        Assert.Equal(4, Assert.Single((await Queues.LeaseAsync("slow", 1, null, T0.AddSeconds(27), default)).Messages).Attempts);
    }
}
