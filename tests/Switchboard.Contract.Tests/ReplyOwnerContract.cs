using Switchboard.Core;
using Switchboard.Core.Engines;

namespace Switchboard.Contract.Tests;

/// <summary>A reply slot records its requester, and idempotency keys are scoped per principal, on every engine.</summary>
public abstract partial class StoreContract
{
    [Fact]
    public async Task A_reply_slot_records_its_requester_through_its_reply_and_a_slot_without_one_has_none()
    {
        await Queues.EnqueueAsync(Send("rpc", "mine") with { Reply = ("r-alice", T0.AddMinutes(1)), Requester = "alice" }, default);
        await Queues.EnqueueAsync(Send("rpc", "anyone's") with { Reply = ("r-open", T0.AddMinutes(1)) }, default);

        Assert.Equal("alice", (await Queues.GetReplyAsync("r-alice", default))!.Requester);
        Assert.Null((await Queues.GetReplyAsync("r-open", default))!.Requester);
        await Queues.PostReplyAsync("r-alice", new MessageDraft { Payload = "1"u8.ToArray() }, null, T0.AddSeconds(1), default);
        var answered = (await Queues.GetReplyAsync("r-alice", default))!;
        Assert.Equal(("alice", true), (answered.Requester, answered.Reply is not null));
    }

    [Fact]
    public async Task The_same_idempotency_key_from_two_principals_is_two_sends_and_each_retry_replays_its_own()
    {
        var expiry = T0.AddMinutes(2);
        var alice = await Queues.EnqueueAsync(Send("jobs", "a") with { Idempotency = new IdempotencyToken("order-42", "fp", expiry, "alice") }, default);
        var bob = await Queues.EnqueueAsync(Send("jobs", "a") with { Idempotency = new IdempotencyToken("order-42", "fp", expiry, "bob") }, default);
        var anonymous = await Queues.EnqueueAsync(Send("jobs", "a") with { Idempotency = new IdempotencyToken("order-42", "fp", expiry) }, default);
        Assert.Equal((false, false, false), (alice.Replayed, bob.Replayed, anonymous.Replayed));
        Assert.Equal(3, new[] { alice.FirstId, bob.FirstId, anonymous.FirstId }.Distinct().Count());

        var retry = await Queues.EnqueueAsync(Send("jobs", "a") with { Idempotency = new IdempotencyToken("order-42", "fp", expiry, "alice"), Timestamp = T0.AddSeconds(1) }, default);
        Assert.Equal((true, alice.FirstId), (retry.Replayed, retry.FirstId));
        // Another request under bob's key is refused for bob alone, quoting the key as bob sent it.
        var reused = await Assert.ThrowsAsync<SwitchboardException>(() => Queues.EnqueueAsync(
            Send("jobs", "b") with { Idempotency = new IdempotencyToken("order-42", "other", expiry, "bob"), Timestamp = T0.AddSeconds(1) }, default));
        Assert.Equal(ErrorCode.IdempotencyKeyReused, reused.Code);
        Assert.Contains("'order-42'", reused.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("bob", reused.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_same_publish_idempotency_key_from_two_principals_appends_twice()
    {
        var expiry = T0.AddMinutes(2);
        var alice = await Store.AppendAsync(Append("orders", Draft("o1")) with { Idempotency = new IdempotencyToken("order-42", "fp", expiry, "alice") }, default);
        var bob = await Store.AppendAsync(Append("orders", Draft("o1")) with { Idempotency = new IdempotencyToken("order-42", "fp", expiry, "bob") }, default);
        var retry = await Store.AppendAsync(Append("orders", Draft("o1")) with { Idempotency = new IdempotencyToken("order-42", "fp", expiry, "alice"), Timestamp = T0.AddSeconds(1) }, default);

        Assert.Equal((1L, false, 2L, false), (alice.FirstOffset, alice.Replayed, bob.FirstOffset, bob.Replayed));
        Assert.Equal((1L, true), (retry.FirstOffset, retry.Replayed));
    }
}

public abstract partial class DurableStoreContract
{
    [Fact]
    public async Task A_reply_slots_requester_and_a_principals_key_survive_a_restart()
    {
        var token = new IdempotencyToken("order-42", "fp", T0.AddMinutes(2), "alice");
        var sent = await Queues.EnqueueAsync(Send("rpc", "q") with { Reply = ("r-alice", T0.AddMinutes(1)), Requester = "alice", Idempotency = token }, default);

        var queues = (await Track(ReopenAsync(Store))).Queues;
        Assert.Equal("alice", (await queues.GetReplyAsync("r-alice", default))!.Requester);
        var retry = await queues.EnqueueAsync(Send("rpc", "q") with { Idempotency = token, Timestamp = T0.AddSeconds(1) }, default);
        Assert.Equal((true, sent.FirstId), (retry.Replayed, retry.FirstId));
        var other = await queues.EnqueueAsync(Send("rpc", "q") with { Idempotency = token with { Principal = "bob" }, Timestamp = T0.AddSeconds(1) }, default);
        Assert.False(other.Replayed);
    }
}
