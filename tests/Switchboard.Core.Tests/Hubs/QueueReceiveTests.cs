using Microsoft.Extensions.Time.Testing;
using Switchboard.Core.Tests.Support;
using static Switchboard.Core.Tests.Support.Drafts;

namespace Switchboard.Core.Tests.Hubs;

/// <summary>Receives that wait (answered by the send itself), and a streaming consumer's credit for a leased message: back when it is settled or its lease ends.</summary>
public sealed class QueueReceiveTests
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

    [Fact]
    public async Task A_waiting_receive_takes_the_send_that_wakes_it_and_an_abandoned_one_takes_nothing()
    {
        await using var hub = await TestHubs.StartAsync();
        await hub.PutQueueAsync("w", QueueConfig.Default);

        // A receive whose wait ended, and one whose caller gave up, leave nothing parked behind them.
        Assert.Empty(await hub.ReceiveAsync("w", 5, null, TimeSpan.FromMilliseconds(50)));
        using (var gaveUp = new CancellationTokenSource())
        {
            var abandoned = hub.ReceiveAsync("w", 5, null, TimeSpan.FromSeconds(30), gaveUp.Token);
            await gaveUp.CancelAsync();
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => abandoned);
        }
        await hub.SendAsync("w", [new QueueDraft { Message = Json(1) }]);
        Assert.Equal(1, (await hub.GetQueueAsync("w")).Stats.Ready);
        var first = Assert.Single(await hub.ReceiveAsync("w", 5, null, TimeSpan.Zero));

        // A receive waiting on the empty queue is answered by the next send, leased to it alone.
        var waiting = hub.ReceiveAsync("w", 5, null, TimeSpan.FromSeconds(30));
        var others = hub.ReceiveAsync("w", 5, null, TimeSpan.FromMilliseconds(300));
        await hub.SendAsync("w", [new QueueDraft { Message = Json(2) }]);
        var got = (await waiting.WaitAsync(Bounds.Expected)).Concat(await others.WaitAsync(Bounds.Expected)).ToList();
        var second = Assert.Single(got);
        Assert.Equal(("2", 1, QueueMessageState.Leased), (System.Text.Encoding.UTF8.GetString(second.Payload.Span), second.Attempts, second.State));
        await hub.AckAsync("w", first.Id, first.Lease!);
        await hub.AckAsync("w", second.Id, second.Lease!);
        var stats = (await hub.GetQueueAsync("w")).Stats;
        Assert.Equal((0L, 0L), (stats.Ready, stats.Leased));
    }

    private static async Task<QueueMessage> LeaseOneAsync(Hub hub)
    {
        await hub.PutQueueAsync("q", QueueConfig.Default with { Lease = TimeSpan.FromSeconds(10) });
        await hub.SendAsync("q", [new QueueDraft { Message = Json(1) }]);
        return Assert.Single(await hub.ReceiveAsync("q", 1, null, TimeSpan.Zero));
    }
}
