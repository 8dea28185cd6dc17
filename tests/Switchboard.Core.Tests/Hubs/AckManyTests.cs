using Microsoft.Extensions.Time.Testing;
using Switchboard.Core.Tests.Support;
using static Switchboard.Core.Tests.Support.Drafts;

namespace Switchboard.Core.Tests.Hubs;

/// <summary>
/// A received batch settled in one call: each ack stands alone (a wrong or expired lease fails only its own message),
/// a malformed batch acks nothing, and an acked message never comes back.
/// </summary>
public sealed class AckManyTests
{
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2030, 6, 1, 12, 0, 0, TimeSpan.Zero));

    private async Task<(Hub Hub, IReadOnlyList<QueueMessage> Leased)> LeaseAsync(int count)
    {
        var hub = await TestHubs.StartAsync(TestHubs.WithoutBackgroundSweep(), time: _time);
        await hub.PutQueueAsync("q", QueueConfig.Default with { Lease = TimeSpan.FromSeconds(10), BackoffInitial = TimeSpan.Zero });
        await hub.SendAsync("q", [.. Enumerable.Range(1, count).Select(i => new QueueDraft { Message = Json(i) })]);
        var leased = await hub.ReceiveAsync("q", count, null, TimeSpan.Zero);
        Assert.Equal(count, leased.Count);
        return (hub, leased);
    }

    private static LeaseAck Ack(QueueMessage message) => new(message.Id, message.Lease!);

    [Fact]
    public async Task Every_message_of_a_batch_is_acked_and_none_comes_back()
    {
        var (hub, leased) = await LeaseAsync(5);
        await using var _ = hub;

        var outcomes = await hub.AckManyAsync("q", [.. leased.Select(Ack)]);

        Assert.Equal(leased.Select(m => m.Id), outcomes.Select(o => o.Id)); // in the order given
        Assert.All(outcomes, o => Assert.Null(o.Error));
        _time.Advance(TimeSpan.FromMinutes(1)); // past every lease: an unacked message would be visible again
        Assert.Empty(await hub.ReceiveAsync("q", 10, null, TimeSpan.Zero));
        var stats = (await hub.GetQueueAsync("q")).Stats;
        Assert.Equal((0L, 0L, 0L, 0L), (stats.Ready, stats.Leased, stats.Delayed, stats.Dead));
    }

    [Fact]
    public async Task A_wrong_or_expired_lease_fails_only_its_own_message()
    {
        var (hub, leased) = await LeaseAsync(4);
        await using var _ = hub;
        // The last message is leased again after its lease ran out: the first lease of it is then expired or replaced.
        _time.Advance(TimeSpan.FromSeconds(11));
        var later = await hub.ReceiveAsync("q", 10, null, TimeSpan.Zero);
        Assert.Equal(4, later.Count); // every lease ran out; all four are leased again
        var (a, b, c, d) = (later[0], later[1], later[2], later[3]);

        var outcomes = await hub.AckManyAsync("q", [
            Ack(a),
            new LeaseAck(b.Id, c.Lease!), // another message's lease
            Ack(leased[2]),               // c's first lease, replaced since
            new LeaseAck(999, d.Lease!),  // no such message
            Ack(d)]);

        Assert.Equal([a.Id, b.Id, c.Id, 999, d.Id], outcomes.Select(o => o.Id));
        Assert.Null(outcomes[0].Error);
        Assert.Equal(ErrorCode.LeaseMismatch, outcomes[1].Error?.Code);
        Assert.Contains(outcomes[2].Error?.Code, new ErrorCode?[] { ErrorCode.LeaseMismatch, ErrorCode.LeaseExpired });
        Assert.Equal(ErrorCode.MessageNotFound, outcomes[3].Error?.Code);
        Assert.Null(outcomes[4].Error);
        Assert.Equal(2, (await hub.GetQueueAsync("q")).Stats.Leased); // b and c still wait for their own acks

        // A lease that simply ran out fails as expired.
        _time.Advance(TimeSpan.FromSeconds(11));
        var expired = await hub.AckManyAsync("q", [Ack(b)]);
        Assert.Equal(ErrorCode.LeaseExpired, Assert.Single(expired).Error?.Code);
    }

    [Theory]
    [InlineData("empty")]
    [InlineData("twice")]
    [InlineData("no lease")]
    [InlineData("too many")]
    public async Task A_malformed_batch_acks_nothing(string fault)
    {
        var (hub, leased) = await LeaseAsync(3);
        await using var _ = hub;
        List<LeaseAck> batch = fault switch
        {
            "empty" => [],
            "twice" => [Ack(leased[0]), Ack(leased[1]), Ack(leased[0])],
            "no lease" => [Ack(leased[0]), new LeaseAck(leased[1].Id, "")],
            _ => [.. leased.Select(Ack), .. Enumerable.Range(100, Hub.MaxReceive).Select(i => new LeaseAck(i, "x"))],
        };

        var error = await Assert.ThrowsAsync<SwitchboardException>(() => hub.AckManyAsync("q", batch));

        Assert.Equal(ErrorCode.ValidationFailed, error.Code);
        Assert.Equal(3, (await hub.GetQueueAsync("q")).Stats.Leased);
    }

    [Fact]
    public async Task A_batch_for_a_missing_queue_is_refused_whole()
    {
        var (hub, leased) = await LeaseAsync(1);
        await using var _ = hub;
        var error = await Assert.ThrowsAsync<SwitchboardException>(() => hub.AckManyAsync("nowhere", [Ack(leased[0])]));
        Assert.Equal(ErrorCode.QueueNotFound, error.Code);
        Assert.Equal(1, (await hub.GetQueueAsync("q")).Stats.Leased);
    }
}
