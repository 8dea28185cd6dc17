using Switchboard.Core.Delivery;
using Switchboard.Core.Engines;
using Switchboard.Core.Engines.Memory;
using Switchboard.Core.Tests.Support;
using static Switchboard.Core.Tests.Support.Drafts;

namespace Switchboard.Core.Tests.Hubs;

/// <summary>
/// In a cluster a topic's events can reach a node late: another node's append overtaken by a deletion and the next
/// incarnation's events, or one event that reaches the node twice (through the topic's channel and a pattern's, two
/// queues that run independently). A late event of an old incarnation must not move a subscription back to it: the
/// store says which incarnation is current. Each test delivers such an event again through <see cref="ReplayingBackplane"/>.
/// </summary>
public sealed class LateEventTests
{
    private static SubscribeStart After(long offset, string? epoch = null) => SubscribeStart.AfterPosition(new Position(epoch, offset));

    /// <summary>
    /// A hub whose <paramref name="topic"/> had one message, was deleted, and now holds two of its current incarnation;
    /// <c>Late</c> delivers the old incarnation's append again, as a late event would arrive.
    /// </summary>
    private static async Task<(Hub Hub, ObservedStore Store, Action Late, string Current)> LateEventOfAnOldIncarnationAsync(string topic)
    {
        var store = new ObservedStore(new MemoryStore());
        var backplane = new ReplayingBackplane();
        var hub = await TestHubs.StartAsync(store: store, backplane: backplane);
        await hub.PublishAsync(topic, [Json(1)]);
        var late = Assert.Single(backplane.Carried.OfType<MessagesAppended>());
        await hub.DeleteTopicAsync(topic);
        var current = (await hub.PublishAsync(topic, Batch(2, firstValue: 100))).Epoch;
        return (hub, store, () => backplane.Deliver(late), current);
    }

    [Fact]
    public async Task A_late_event_of_a_deleted_incarnation_repeats_nothing_of_the_current_one()
    {
        var backplane = new ReplayingBackplane();
        await using var hub = await TestHubs.StartAsync(backplane: backplane);
        var sink = new RecordingSink();
        await using var subscription = await hub.SubscribeAsync(["t"], After(0), sink);
        var old = (await hub.PublishAsync("t", [Json(1)])).Epoch;
        Assert.Equal([1L], await sink.TakeOffsetsAsync(1));
        var late = Assert.Single(backplane.Carried.OfType<MessagesAppended>());

        await hub.DeleteTopicAsync("t");
        var current = (await hub.PublishAsync("t", Batch(2, firstValue: 100))).Epoch;
        Assert.Equal(old, (await sink.NextNoticeAsync<TopicWasDeleted>()).Epoch);
        var changed = await sink.NextNoticeAsync<EpochChanged>();
        Assert.Equal((old, current), (changed.PreviousEpoch, changed.Epoch));
        Assert.Equal([1L, 2], await sink.TakeOffsetsAsync(2));
        await subscription.CaughtUpAsync().WaitAsync(Bounds.Expected);

        // The old incarnation's append arrives now, live: the subscription is at offset 3 of the current one and stays there.
        backplane.Deliver(late);
        await hub.PublishAsync("t", [Json(102)]);
        var next = await sink.NextAsync();
        var message = Assert.IsType<Message>(next);
        Assert.Equal((current, 3L), (message.Epoch, message.Offset));
        await subscription.CaughtUpAsync().WaitAsync(Bounds.Expected);
        sink.AssertEmpty();
        Assert.Equal(new Position(current, 3), subscription.Positions["t"]);
    }

    [Fact]
    public async Task A_late_event_of_a_deleted_incarnation_while_catching_up_does_not_hold_up_the_other_topics()
    {
        // The runner visits one topic at a time: a visit that never ends leaves every topic queued behind it silent.
        var (hub, store, late, current) = await LateEventOfAnOldIncarnationAsync("t");
        await using var _ = hub;
        await hub.PublishAsync("u", [Json(1)]);

        var reads = 0;
        store.BeforeRead = (topic, after) =>
        {
            if (topic == "t")
            {
                switch (Interlocked.Increment(ref reads))
                {
                    case 2:
                        // The first read learnt the current incarnation; this one reads its messages. The old one's append
                        // arrives meanwhile.
                        late();
                        break;
                    case > 20:
                        // Stops a runner that reads on for ever (it would never yield to the test's dispose).
                        throw new InvalidOperationException($"the runner read topic t {reads} times without ending its visit");
                }
            }
            return Task.CompletedTask;
        };
        var sink = new RecordingSink();
        await using var subscription = await hub.SubscribeAsync(["t", "u"], After(0), sink);
        var caughtUp = subscription.CaughtUpAsync();

        await caughtUp.WaitAsync(Bounds.Expected);
        var delivered = (await sink.TakeAsync(3)).Select(i => Assert.IsType<Message>(i)).Select(m => (m.Topic, m.Epoch == current, m.Offset)).ToList();
        Assert.Equal([("t", true, 1L), ("t", true, 2L), ("u", false, 1L)], delivered);
        sink.AssertEmpty();
        Assert.Equal(3, Volatile.Read(ref reads)); // the epoch, the messages, and once more after the late event
    }

    [Fact]
    public async Task A_late_event_before_the_first_read_does_not_replay_what_the_position_skips()
    {
        // "After offset 1" of whatever incarnation: the late event must not pin the cursor to the old incarnation, or the
        // first read sees a switch and starts the current incarnation over from offset 1.
        var (hub, store, late, current) = await LateEventOfAnOldIncarnationAsync("w.t");
        await using var _ = hub;

        var lists = 0;
        store.AfterList = page =>
        {
            if (Interlocked.Increment(ref lists) == 2)
            {
                // The second listing runs once the subscription is in the fan-out, before its runner's first read.
                late();
            }
            return Task.CompletedTask;
        };
        var sink = new RecordingSink();
        await using var subscription = await hub.SubscribeAsync(["w.*"], After(1), sink);
        Assert.Equal(2, lists);

        var message = Assert.IsType<Message>(await sink.NextAsync());
        Assert.Equal(("w.t", current, 2L), (message.Topic, message.Epoch, message.Offset));
        await subscription.CaughtUpAsync().WaitAsync(Bounds.Expected);
        sink.AssertEmpty();
    }

    [Fact]
    public async Task A_deletion_heard_twice_is_told_once()
    {
        var backplane = new ReplayingBackplane();
        await using var hub = await TestHubs.StartAsync(backplane: backplane);
        var sink = new RecordingSink();
        await using var subscription = await hub.SubscribeAsync(["t"], After(0), sink);
        var old = (await hub.PublishAsync("t", [Json(1)])).Epoch;
        Assert.Equal([1L], await sink.TakeOffsetsAsync(1));
        await hub.DeleteTopicAsync("t");
        Assert.Equal(old, (await sink.NextNoticeAsync<TopicWasDeleted>()).Epoch);
        await subscription.CaughtUpAsync().WaitAsync(Bounds.Expected);

        // The same deletion again (the node listens to the topic and to a pattern that matches it: two copies, two queues).
        backplane.Deliver(Assert.Single(backplane.Carried.OfType<TopicDeleted>()));
        var current = (await hub.PublishAsync("t", [Json(100)])).Epoch;
        var changed = Assert.IsType<EpochChanged>(await sink.NextAsync());
        Assert.Equal((old, current), (changed.PreviousEpoch, changed.Epoch));
        Assert.Equal([1L], await sink.TakeOffsetsAsync(1));
        await subscription.CaughtUpAsync().WaitAsync(Bounds.Expected);
        sink.AssertEmpty();
    }
}
