using Microsoft.Extensions.Time.Testing;
using Switchboard.Core.Tests.Support;
using static Switchboard.Core.Tests.Support.Drafts;

namespace Switchboard.Core.Tests.Hubs;

/// <summary>A streaming consumer's credit for a leased message: back when it is settled or its lease ends.</summary>
public sealed class QueueSettlementTests
{
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2030, 6, 1, 12, 0, 0, TimeSpan.Zero));

    [Fact]
    public async Task An_ack_settles_the_message_at_once()
    {
        await using var hub = await TestHubs.StartAsync(time: _time);
        var message = await LeaseOneAsync(hub);
        var settled = hub.WhenSettledAsync(message, CancellationToken.None);

        await hub.AckAsync("q", message.Id, message.Lease!);

        await settled.WaitAsync(Bounds.Expected);
    }

    [Fact]
    public async Task The_lease_running_out_settles_the_message()
    {
        await using var hub = await TestHubs.StartAsync(time: _time);
        var message = await LeaseOneAsync(hub);
        var settled = hub.WhenSettledAsync(message, CancellationToken.None);

        _time.Advance(TimeSpan.FromSeconds(11));

        await settled.WaitAsync(Bounds.Expected);
    }

    [Fact]
    public async Task An_extended_lease_keeps_the_message_unsettled_until_its_new_end()
    {
        await using var hub = await TestHubs.StartAsync(time: _time);
        var message = await LeaseOneAsync(hub);
        var settled = hub.WhenSettledAsync(message, CancellationToken.None);

        _time.Advance(TimeSpan.FromSeconds(5));
        var until = await hub.ExtendAsync("q", message.Id, message.Lease!, TimeSpan.FromSeconds(60));
        Assert.Equal(_time.GetUtcNow() + TimeSpan.FromSeconds(60), until);
        _time.Advance(TimeSpan.FromSeconds(10)); // past the first lease's end, well before the extended one's

        // Nothing signals "still waiting": give a wrongly finished wait a moment to show itself.
        await Task.WhenAny(settled, Task.Delay(TimeSpan.FromMilliseconds(200)));
        Assert.False(settled.IsCompleted, "the consumer got its credit back at the old lease end although the lease was extended");

        _time.Advance(TimeSpan.FromSeconds(51));
        await settled.WaitAsync(Bounds.Expected);
    }

    private static async Task<QueueMessage> LeaseOneAsync(Hub hub)
    {
        await hub.PutQueueAsync("q", QueueConfig.Default with { Lease = TimeSpan.FromSeconds(10) });
        await hub.SendAsync("q", [new QueueDraft { Message = Json(1) }]);
        return Assert.Single(await hub.ReceiveAsync("q", 1, null, TimeSpan.Zero));
    }
}
