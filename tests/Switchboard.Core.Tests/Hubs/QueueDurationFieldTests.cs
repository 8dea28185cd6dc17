using Switchboard.Core.Tests.Support;
using static Switchboard.Core.Tests.Support.Drafts;

namespace Switchboard.Core.Tests.Hubs;

/// <summary>
/// The hub is the one place that checks the range of a send's or nack's delay and an extend's lease; an adapter hands it
/// the field as its client spells it, so the refusal names what the client wrote, with the limits.
/// </summary>
public sealed class QueueDurationFieldTests
{
    [Fact]
    public async Task A_delay_or_lease_out_of_range_is_refused_under_the_field_name_the_adapter_gives()
    {
        await using var hub = await TestHubs.StartAsync();
        await hub.SendAsync("q", [new QueueDraft { Message = Json(1) }]);
        var leased = Assert.Single(await hub.ReceiveAsync("q", 1, null, TimeSpan.Zero));

        var send = await Assert.ThrowsAsync<SwitchboardException>(() =>
            hub.SendAsync("q", [new QueueDraft { Message = Json(2) }], TimeSpan.FromDays(8), "send.delaySeconds", null, null, CancellationToken.None));
        Assert.Equal("send.delaySeconds is 8d; use 0s to 7d.", send.Message);
        var nack = await Assert.ThrowsAsync<SwitchboardException>(() =>
            hub.NackAsync("q", leased.Id, leased.Lease!, TimeSpan.FromDays(30), "nack.delay_seconds", null, CancellationToken.None));
        Assert.Equal("nack.delay_seconds is 30d; use 0s to 7d.", nack.Message);
        var extend = await Assert.ThrowsAsync<SwitchboardException>(() =>
            hub.ExtendAsync("q", leased.Id, leased.Lease!, TimeSpan.FromHours(13), "extend.leaseSeconds", CancellationToken.None));
        Assert.Equal("extend.leaseSeconds is 13h; use 1s to 12h.", extend.Message);
        Assert.All(new[] { send, nack, extend }, refused => Assert.Equal(ErrorCode.InvalidRequest, refused.Code));

        // Nothing was sent, and the leased message is still held by its lease.
        Assert.Equal(new QueueStats(0, 1, 0, 0), (await hub.GetQueueAsync("q")).Stats);
    }
}
