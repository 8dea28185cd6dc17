using Switchboard.Core.Delivery;
using Switchboard.Core.Engines.Memory;
using Switchboard.Core.Tests.Support;
using static Switchboard.Core.Tests.Support.Drafts;

namespace Switchboard.Core.Tests.Hubs;

public sealed class SubscriptionTests
{
    private static SubscribeStart After(long offset, string? epoch = null) => SubscribeStart.AfterPosition(new Position(epoch, offset));

    [Fact]
    public async Task A_subscription_from_now_gets_only_new_messages()
    {
        await using var hub = await TestHubs.StartAsync();
        await hub.PublishAsync("t", Batch(3));
        var sink = new RecordingSink();
        await using var subscription = await hub.SubscribeAsync(["t"], SubscribeStart.Now, sink);
        Assert.Equal(1, hub.SubscriptionCount);
        sink.AssertEmpty();

        await hub.PublishAsync("t", Batch(2, firstValue: 4));
        Assert.Equal([4L, 5], await sink.TakeOffsetsAsync(2));
        sink.AssertEmpty();
    }

    [Fact]
    public async Task A_subscription_from_now_to_a_topic_that_does_not_exist_yet_gets_it_from_offset_one()
    {
        await using var hub = await TestHubs.StartAsync();
        var sink = new RecordingSink();
        await using var subscription = await hub.SubscribeAsync(["later"], SubscribeStart.Now, sink);
        await hub.PublishAsync("later", Batch(2));
        Assert.Equal([1L, 2], await sink.TakeOffsetsAsync(2));
    }

    [Fact]
    public async Task A_subscription_from_a_position_gets_history_then_live_without_gap_or_duplicate()
    {
        await using var hub = await TestHubs.StartAsync();
        await hub.PublishAsync("t", Batch(5));
        var sink = new RecordingSink();
        await using var subscription = await hub.SubscribeAsync(["t"], After(2), sink);
        await hub.PublishAsync("t", Batch(3, firstValue: 6));

        var messages = (await sink.TakeAsync(6)).Select(i => Assert.IsType<Message>(i)).ToList();
        Assert.Equal([3L, 4, 5, 6, 7, 8], messages.Select(m => m.Offset));
        Assert.Equal(["3", "4", "5", "6", "7", "8"], messages.Select(PayloadText));
        await hub.PublishAsync("t", [Json(9)]);
        Assert.Equal([9L], await sink.TakeOffsetsAsync(1));
        sink.AssertEmpty();
        Assert.Equal(new Position(messages[0].Epoch, 9), subscription.Positions["t"]);
    }

    [Fact]
    public async Task A_subscription_from_the_end_of_a_topic_gets_only_what_comes_next()
    {
        await using var hub = await TestHubs.StartAsync();
        var epoch = (await hub.PublishAsync("t", Batch(4))).Epoch;
        var sink = new RecordingSink();
        await using var subscription = await hub.SubscribeAsync(["t"], After(4, epoch), sink);
        await hub.PublishAsync("t", [Json(5)]);
        Assert.Equal([5L], await sink.TakeOffsetsAsync(1));
        sink.AssertEmpty();
    }

    [Fact]
    public async Task A_position_past_the_end_of_an_existing_topic_is_refused_when_subscribing()
    {
        await using var hub = await TestHubs.StartAsync();
        await hub.PublishAsync("t", Batch(4));
        var ex = await Assert.ThrowsAsync<SwitchboardException>(() => hub.SubscribeAsync(["t"], After(5), new RecordingSink()));
        Assert.Equal(ErrorCode.PositionOutOfRange, ex.Code);
        Assert.Equal(0, hub.SubscriptionCount);
    }

    [Theory]
    [InlineData("a..b")]
    [InlineData("a.>.b")]
    public async Task An_invalid_pattern_is_refused_when_subscribing(string pattern)
    {
        await using var hub = await TestHubs.StartAsync();
        var ex = await Assert.ThrowsAsync<SwitchboardException>(() => hub.SubscribeAsync([pattern], SubscribeStart.Now, new RecordingSink()));
        Assert.Equal(ErrorCode.InvalidTopicName, ex.Code);
        Assert.Equal(ErrorCode.ValidationFailed, (await Assert.ThrowsAsync<SwitchboardException>(() => hub.SubscribeAsync([], SubscribeStart.Now, new RecordingSink()))).Code);
    }

    [Fact]
    public async Task A_wildcard_subscription_gets_every_matching_topic_and_no_other()
    {
        await using var hub = await TestHubs.StartAsync();
        var sink = new RecordingSink();
        await using var subscription = await hub.SubscribeAsync(["orders.*"], SubscribeStart.Now, sink);
        await hub.PublishAsync("orders.eu", Batch(2));
        await hub.PublishAsync("orders.us", Batch(1));
        await hub.PublishAsync("orders.eu.paid", Batch(1));
        await hub.PublishAsync("orders", Batch(1));
        await hub.PublishAsync("payments.eu", Batch(1));
        await hub.PublishAsync("orders.eu", Batch(1, firstValue: 3));

        var got = (await sink.TakeAsync(4)).Select(i => Assert.IsType<Message>(i)).Select(m => $"{m.Topic}@{m.Offset}").ToList();
        Assert.Equal(["orders.eu@1", "orders.eu@2", "orders.us@1", "orders.eu@3"], got);
        sink.AssertEmpty();
    }

    [Fact]
    public async Task A_wildcard_subscription_from_a_position_replays_every_matching_topic_then_follows_new_ones()
    {
        await using var hub = await TestHubs.StartAsync();
        await hub.PublishAsync("orders.eu", Batch(3));
        await hub.PublishAsync("orders.us.paid", Batch(2));
        await hub.PublishAsync("payments", Batch(2));
        var sink = new RecordingSink();
        await using var subscription = await hub.SubscribeAsync(["orders.>"], After(0), sink);
        await hub.PublishAsync("orders.asia", Batch(2)); // created after the subscription started: from its first message
        await hub.PublishAsync("orders.eu", [Json(4)]);

        var byTopic = (await sink.TakeAsync(3 + 2 + 2 + 1)).Select(i => Assert.IsType<Message>(i))
            .GroupBy(m => m.Topic).ToDictionary(g => g.Key, g => g.Select(m => m.Offset).ToList());
        Assert.Equal([1L, 2, 3, 4], byTopic["orders.eu"]);
        Assert.Equal([1L, 2], byTopic["orders.us.paid"]);
        Assert.Equal([1L, 2], byTopic["orders.asia"]);
        Assert.Equal(3, byTopic.Count);
        sink.AssertEmpty();
    }

    [Fact]
    public async Task Overlapping_patterns_deliver_each_message_once()
    {
        await using var hub = await TestHubs.StartAsync();
        var sink = new RecordingSink();
        await using var subscription = await hub.SubscribeAsync(["orders.eu", "orders.*", "orders.>"], SubscribeStart.Now, sink);
        await hub.PublishAsync("orders.eu", Batch(3));
        Assert.Equal([1L, 2, 3], await sink.TakeOffsetsAsync(3));
        sink.AssertEmpty();
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_deleted_and_recreated_topic_yields_notices_then_the_new_incarnation_from_offset_one(bool sinkFull)
    {
        await using var hub = await TestHubs.StartAsync();
        var old = (await hub.PublishAsync("t", Batch(3))).Epoch;
        var sink = new RecordingSink(refuseLive: sinkFull);
        await using var subscription = await hub.SubscribeAsync(["t"], After(0), sink);
        Assert.Equal([1L, 2, 3], await sink.TakeOffsetsAsync(3));

        await hub.DeleteTopicAsync("t");
        var current = (await hub.PublishAsync("t", Batch(2, firstValue: 100))).Epoch;
        Assert.NotEqual(old, current);

        var deleted = await sink.NextNoticeAsync<TopicWasDeleted>();
        Assert.Equal(("t", old), (deleted.Topic, deleted.Epoch));
        var changed = await sink.NextNoticeAsync<EpochChanged>();
        Assert.Equal(("t", old, current), (changed.Topic, changed.PreviousEpoch, changed.Epoch));
        var messages = (await sink.TakeAsync(2)).Select(i => Assert.IsType<Message>(i)).ToList();
        Assert.Equal([1L, 2], messages.Select(m => m.Offset));
        Assert.All(messages, m => Assert.Equal(current, m.Epoch));
        Assert.Equal(["100", "101"], messages.Select(PayloadText));

        await hub.PublishAsync("t", [Json(102)]);
        Assert.Equal([3L], await sink.TakeOffsetsAsync(1));
        sink.AssertEmpty();
    }

    [Fact]
    public async Task A_position_with_a_stale_epoch_gets_EpochChanged_then_the_current_incarnation_from_offset_one()
    {
        await using var hub = await TestHubs.StartAsync();
        var current = (await hub.PublishAsync("t", Batch(3))).Epoch;
        var stale = Epoch.New();
        var sink = new RecordingSink();
        await using var subscription = await hub.SubscribeAsync(["t"], After(50, stale), sink);

        var changed = await sink.NextNoticeAsync<EpochChanged>();
        Assert.Equal((stale, current), (changed.PreviousEpoch, changed.Epoch));
        Assert.Equal([1L, 2, 3], await sink.TakeOffsetsAsync(3));
        await hub.PublishAsync("t", [Json(4)]);
        Assert.Equal([4L], await sink.TakeOffsetsAsync(1));
        sink.AssertEmpty();
    }

    [Fact]
    public async Task Messages_removed_by_retention_before_delivery_are_reported_as_MessagesMissed()
    {
        await using var hub = await TestHubs.StartAsync();
        await hub.PutTopicAsync("t", new TopicConfig(new RetentionPolicy(3, null, null)));
        var epoch = (await hub.PublishAsync("t", Batch(10))).Epoch;
        var sink = new RecordingSink();
        await using var subscription = await hub.SubscribeAsync(["t"], After(2), sink);

        var missed = await sink.NextNoticeAsync<MessagesMissed>();
        Assert.Equal(("t", epoch, 3L, 7L), (missed.Topic, missed.Epoch, missed.FromOffset, missed.ToOffset));
        Assert.Equal([8L, 9, 10], await sink.TakeOffsetsAsync(3));
    }

    [Fact]
    public async Task Retention_while_a_sink_is_full_reports_every_gap_and_delivers_the_rest_once()
    {
        await using var hub = await TestHubs.StartAsync();
        await hub.PutTopicAsync("t", new TopicConfig(new RetentionPolicy(5, null, null)));
        var sink = new RecordingSink(capacity: 2);
        await using var subscription = await hub.SubscribeAsync(["t"], After(0), sink);
        for (var i = 1; i <= 200; i++)
        {
            await hub.PublishAsync("t", [Json(i)]);
        }

        // Every offset 1..200 must be accounted for exactly once, in order: delivered, or inside one missed range.
        var next = 1L;
        for (var guard = 0; guard < 400 && next <= 200; guard++)
        {
            switch (await sink.NextAsync())
            {
                case Message m:
                    Assert.Equal(next, m.Offset);
                    next++;
                    break;
                case MessagesMissed missed:
                    Assert.Equal(next, missed.FromOffset);
                    Assert.True(missed.ToOffset >= missed.FromOffset);
                    next = missed.ToOffset + 1;
                    break;
                case var other:
                    Assert.Fail($"unexpected {RecordingSink.Describe(other)}");
                    break;
            }
        }
        Assert.Equal(201, next);
        sink.AssertEmpty();
    }

    [Fact]
    public async Task A_full_sink_gets_every_message_exactly_once_after_it_drains()
    {
        await using var hub = await TestHubs.StartAsync();
        var sink = new RecordingSink(capacity: 4);
        await using var subscription = await hub.SubscribeAsync(["t"], SubscribeStart.Now, sink);
        for (var i = 1; i <= 300; i++)
        {
            await hub.PublishAsync("t", [Json(i)]);
        }
        Assert.True(sink.Refused > 0, "the sink never filled up; the test did not exercise catch-up");

        Assert.Equal(Enumerable.Range(1, 300).Select(i => (long)i), await sink.TakeOffsetsAsync(300));
        await hub.PublishAsync("t", [Json(301)]);
        Assert.Equal([301L], await sink.TakeOffsetsAsync(1));
        sink.AssertEmpty();
    }

    [Fact]
    public async Task A_sink_that_refuses_every_live_write_still_gets_every_message_once_from_the_store()
    {
        await using var hub = await TestHubs.StartAsync();
        var sink = new RecordingSink(refuseLive: true);
        await using var subscription = await hub.SubscribeAsync(["t"], After(0), sink);
        var publisher = Task.Run(async () =>
        {
            for (var i = 1; i <= 1000; i++)
            {
                await hub.PublishAsync("t", [Json(i)]);
            }
        });
        var offsets = await sink.TakeOffsetsAsync(1000, Bounds.Stress);
        await publisher.WaitAsync(Bounds.Expected);
        Assert.Equal(Enumerable.Range(1, 1000).Select(i => (long)i), offsets);
        sink.AssertEmpty();
    }

    [Fact]
    public async Task Disposing_a_subscription_stops_delivery()
    {
        await using var hub = await TestHubs.StartAsync();
        var sink = new RecordingSink();
        var witness = new RecordingSink();
        var subscription = await hub.SubscribeAsync(["t"], SubscribeStart.Now, sink);
        await using var other = await hub.SubscribeAsync(["t"], SubscribeStart.Now, witness);
        await hub.PublishAsync("t", [Json(1)]);
        Assert.Equal([1L], await sink.TakeOffsetsAsync(1));

        await subscription.DisposeAsync();
        Assert.Equal(1, hub.SubscriptionCount);
        await hub.PublishAsync("t", Batch(2, firstValue: 2));
        // The other subscription got them, so the fan-out has run: the disposed one must have nothing.
        Assert.Equal([1L, 2, 3], await witness.TakeOffsetsAsync(3));
        sink.AssertEmpty();
        await subscription.DisposeAsync(); // twice is harmless
    }

    [Fact]
    public async Task Disposing_a_subscription_that_is_catching_up_into_a_full_sink_ends_it()
    {
        await using var hub = await TestHubs.StartAsync();
        await hub.PublishAsync("t", Batch(100));
        var sink = new RecordingSink(capacity: 1);
        var subscription = await hub.SubscribeAsync(["t"], After(0), sink);
        Assert.Equal([1L], await sink.TakeOffsetsAsync(1)); // catch-up is running and will block on the full sink
        await subscription.DisposeAsync().AsTask().WaitAsync(Bounds.Expected);
        Assert.Equal(0, hub.SubscriptionCount);
    }

    [Fact]
    public async Task A_sink_that_throws_on_live_delivery_loses_its_subscription_but_not_the_publish_or_the_others()
    {
        await using var hub = await TestHubs.StartAsync();
        var witness = new RecordingSink();
        await using var broken = await hub.SubscribeAsync(["t"], SubscribeStart.Now, new ThrowingSink());
        await using var healthy = await hub.SubscribeAsync(["t"], SubscribeStart.Now, witness);
        Assert.Equal(1, (await hub.PublishAsync("t", [Json(1)])).FirstOffset);
        Assert.Equal(2, (await hub.PublishAsync("t", [Json(2)])).FirstOffset);
        Assert.Equal([1L, 2], await witness.TakeOffsetsAsync(2));
        Assert.Equal(1, hub.SubscriptionCount);
    }

    [Fact]
    public async Task A_history_read_that_fails_for_good_ends_the_subscription_and_tells_its_sink_instead_of_going_silent()
    {
        // Not a store that is away for a moment (retried): a read that throws something else. Left registered, the
        // subscription would note its topic's live messages and deliver none, for good; the transport would never know.
        var store = new ObservedStore(new MemoryStore());
        await using var hub = await TestHubs.StartAsync(store: store);
        await hub.PublishAsync("t", [Json(1)]);
        store.BeforeRead = (topic, _) => topic == "t" ? throw new InvalidOperationException("the history of t cannot be decoded") : Task.CompletedTask;
        var sink = new RecordingSink();
        var witness = new RecordingSink();
        await using var subscription = await hub.SubscribeAsync(["t"], After(0), sink);
        await using var healthy = await hub.SubscribeAsync(["t"], SubscribeStart.Now, witness);

        var error = await sink.Failed.WaitAsync(Bounds.Expected);
        Assert.Equal(ErrorCode.StorageUnavailable, error.Code); // 503 / 1011 / UNAVAILABLE: resubscribe from your position
        Assert.Contains("subscribe again", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("decoded", error.Message, StringComparison.Ordinal); // the store's own words stay in the hub's log
        var caughtUp = await Assert.ThrowsAsync<SwitchboardException>(subscription.CaughtUpAsync);
        Assert.Equal(ErrorCode.StorageUnavailable, caughtUp.Code);
        Assert.Equal(1, hub.SubscriptionCount); // it left the fan-out; the healthy one stays

        store.BeforeRead = null;
        await hub.PublishAsync("t", [Json(2)]);
        Assert.Equal([2L], await witness.TakeOffsetsAsync(1));
        sink.AssertEmpty();
        Assert.Equal(1, sink.Failures);
    }

    [Fact]
    public async Task A_positional_subscription_gets_a_message_committed_while_its_first_read_found_no_topic()
    {
        // The subscription's first read finds no topic; the topic is created and its first message committed
        // before that read's answer is handled. The message must still be delivered, without waiting for another.
        var store = new ObservedStore(new MemoryStore());
        await using var hub = await TestHubs.StartAsync(store: store);
        var fired = 0;
        var published = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        store.AfterRead = async (topic, result) =>
        {
            if (topic == "late" && result.Topic is null && Interlocked.Exchange(ref fired, 1) == 0)
            {
                await hub.PublishAsync("late", [Json(1)]);
                published.SetResult();
            }
        };
        var sink = new RecordingSink();
        await using var subscription = await hub.SubscribeAsync(["late"], After(0), sink);
        await published.Task.WaitAsync(Bounds.Expected);

        var message = await sink.NextMessageAsync();
        Assert.Equal(("late", 1L), (message.Topic, message.Offset));
    }

    [Fact]
    public async Task A_wildcard_subscription_gets_a_topic_created_and_fully_written_while_it_was_listing_topics()
    {
        // The subscription lists the matching topics; a new matching topic is created and all its messages are
        // committed and announced after that listing but before the subscription joined the fan-out. No later
        // message comes to reveal it: the subscription must still deliver it, from its first message.
        var store = new ObservedStore(new MemoryStore());
        await using var hub = await TestHubs.StartAsync(store: store);
        await hub.PublishAsync("w.old", [Json(1)]);
        var fired = 0;
        store.AfterList = async page =>
        {
            if (Interlocked.Exchange(ref fired, 1) == 0)
            {
                Assert.DoesNotContain(page.Topics, t => t.Name == "w.new");
                await hub.PublishAsync("w.new", [Json(1), Json(2)]);
                await hub.PublishAsync("w.new", [Json(3)]);
            }
        };
        var sink = new RecordingSink();
        await using var subscription = await hub.SubscribeAsync(["w.*"], After(0), sink);

        var delivered = (await sink.TakeAsync(4)).Select(i => Assert.IsType<Message>(i)).Select(m => (m.Topic, m.Offset)).Order().ToList();
        Assert.Equal([("w.new", 1L), ("w.new", 2L), ("w.new", 3L), ("w.old", 1L)], delivered);
        Assert.Equal(1, fired);
        sink.AssertEmpty();
    }

    private sealed class ThrowingSink : IMessageSink
    {
        public void Fail(SwitchboardException error)
        {
            // told, like a transport whose connection is gone: nothing more to do
        }

        public bool TryWrite(Message message) => throw new InvalidOperationException("connection gone");

        public ValueTask WriteAsync(Message message, CancellationToken cancellationToken) => throw new InvalidOperationException("connection gone");

        public ValueTask WriteNoticeAsync(SubscriptionNotice notice, CancellationToken cancellationToken) => throw new InvalidOperationException("connection gone");
    }
}
