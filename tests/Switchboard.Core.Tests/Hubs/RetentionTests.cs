using Microsoft.Extensions.Time.Testing;
using Switchboard.Core.Engines.Memory;
using Switchboard.Core.Tests.Support;
using static Switchboard.Core.Tests.Support.Drafts;

namespace Switchboard.Core.Tests.Hubs;

public sealed class RetentionTests
{
    private static readonly Position Start = new(null, 0);

    [Fact]
    public async Task Retention_by_count_drops_the_oldest_messages_as_new_ones_are_appended()
    {
        await using var hub = await TestHubs.StartAsync();
        await hub.PutTopicAsync("t", new TopicConfig(new RetentionPolicy(3, null, null)));
        await hub.PublishAsync("t", Batch(2));
        Assert.Equal(2, (await hub.GetTopicAsync("t")).MessageCount);
        await hub.PublishAsync("t", Batch(3, firstValue: 3));

        var topic = await hub.GetTopicAsync("t");
        Assert.Equal((3L, 5L, 3L), (topic.FirstOffset, topic.LastOffset, topic.MessageCount));
        var page = await hub.ReadAsync("t", Start, 100, TimeSpan.Zero);
        Assert.Equal([3L, 4, 5], page.Messages.Select(m => m.Offset));
        Assert.Equal((1L, 2L), page.Missed);
    }

    [Fact]
    public async Task Retention_by_bytes_keeps_the_newest_messages_that_fit()
    {
        await using var hub = await TestHubs.StartAsync();
        await hub.PutTopicAsync("t", new TopicConfig(new RetentionPolicy(null, null, 10)));
        for (var i = 0; i < 4; i++)
        {
            await hub.PublishAsync("t", [Text(4)]);
        }
        var topic = await hub.GetTopicAsync("t");
        Assert.Equal((3L, 4L, 2L, 8L), (topic.FirstOffset, topic.LastOffset, topic.MessageCount, topic.Bytes));

        // A message bigger than the whole budget is stored, acknowledged, and then no history is left.
        await hub.PublishAsync("t", [Text(11)]);
        topic = await hub.GetTopicAsync("t");
        Assert.Equal((6L, 5L, 0L, 0L), (topic.FirstOffset, topic.LastOffset, topic.MessageCount, topic.Bytes));
    }

    [Fact]
    public async Task Retention_by_age_is_applied_by_the_sweep()
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2030, 1, 1, 0, 0, 0, TimeSpan.Zero));
        var store = new MemoryStore(time);
        await using var hub = await TestHubs.StartAsync(TestHubs.WithoutBackgroundSweep(), store, time);
        await hub.PutTopicAsync("t", new TopicConfig(new RetentionPolicy(null, TimeSpan.FromMinutes(1), null)));
        await hub.PutTopicAsync("forever", new TopicConfig(RetentionPolicy.Unlimited));
        await hub.PublishAsync("t", Batch(2));
        await hub.PublishAsync("forever", Batch(2));
        time.Advance(TimeSpan.FromSeconds(50));
        await hub.PublishAsync("t", [Json(3)]);

        // Age is not enforced on append: only the sweep drops old messages.
        time.Advance(TimeSpan.FromSeconds(20));
        Assert.Equal(3, (await hub.GetTopicAsync("t")).MessageCount);

        Assert.Equal(2, await store.SweepAsync(time.GetUtcNow(), default));
        var topic = await hub.GetTopicAsync("t");
        Assert.Equal((3L, 3L, 1L), (topic.FirstOffset, topic.LastOffset, topic.MessageCount));
        Assert.Equal(2, (await hub.GetTopicAsync("forever")).MessageCount);

        var page = await hub.ReadAsync("t", Start, 10, TimeSpan.Zero);
        Assert.Equal((1L, 2L), page.Missed);
        Assert.Equal([3L], page.Messages.Select(m => m.Offset));

        Assert.Equal(0, await store.SweepAsync(time.GetUtcNow(), default));
    }

    [Fact]
    public async Task The_hub_sweeps_on_its_own_clock()
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2030, 1, 1, 0, 0, 0, TimeSpan.Zero));
        var store = new ObservedStore(new MemoryStore(time));
        var options = new HubOptions { RetentionSweepInterval = TimeSpan.FromSeconds(5) };
        await using var hub = await TestHubs.StartAsync(options, store, time);
        await hub.PutTopicAsync("t", new TopicConfig(new RetentionPolicy(null, TimeSpan.FromSeconds(30), null)));
        await hub.PublishAsync("t", Batch(3));
        var published = time.GetUtcNow();

        // The sweeper's timer is armed on the thread pool; move the fake clock one interval at a time and wait for
        // each step's sweep report (a step whose report does not come was taken before the timer was armed).
        var dropped = 0L;
        for (var step = 0; step < 60 && dropped < 3; step++)
        {
            time.Advance(options.RetentionSweepInterval);
            if (await NextSweepAsync(store, TimeSpan.FromSeconds(step < 5 ? 1 : 5)) is { } sweep)
            {
                Assert.True(sweep.Dropped == 0 || sweep.Now - published > TimeSpan.FromSeconds(30), "a sweep dropped messages younger than their age limit");
                dropped += sweep.Dropped;
            }
        }
        Assert.Equal(3, dropped);
        Assert.Equal(0, (await hub.GetTopicAsync("t")).MessageCount);
    }

    private static async Task<(DateTimeOffset Now, long Dropped)?> NextSweepAsync(ObservedStore store, TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            return await store.Sweeps.ReadAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            return null;
        }
    }

    [Fact]
    public async Task Tightening_retention_with_a_put_applies_at_once()
    {
        await using var hub = await TestHubs.StartAsync();
        await hub.PublishAsync("t", Batch(10));
        var before = await hub.GetTopicAsync("t");
        var put = await hub.PutTopicAsync("t", new TopicConfig(new RetentionPolicy(4, null, null), "keep four"));

        Assert.False(put.Created);
        Assert.Equal(before.Epoch, put.Topic.Epoch);
        Assert.Equal(before.ConfigVersion + 1, put.Topic.ConfigVersion);
        Assert.Equal((7L, 10L, 4L), (put.Topic.FirstOffset, put.Topic.LastOffset, put.Topic.MessageCount));
        Assert.Equal("keep four", put.Topic.Config.Description);
    }

    [Theory]
    [InlineData(0L, null, null, "retention.maxMessages")]
    [InlineData(null, null, 0L, "retention.maxBytes")]
    [InlineData(null, 0.5, null, "retention.maxAge")]
    public async Task Retention_values_out_of_range_are_refused_naming_the_field(long? maxMessages, double? maxAgeSeconds, long? maxBytes, string field)
    {
        await using var hub = await TestHubs.StartAsync();
        var policy = new RetentionPolicy(maxMessages, maxAgeSeconds is { } s ? TimeSpan.FromSeconds(s) : null, maxBytes);
        var ex = await Assert.ThrowsAsync<SwitchboardException>(() => hub.PutTopicAsync("t", new TopicConfig(policy)));
        Assert.Equal(ErrorCode.ValidationFailed, ex.Code);
        Assert.Contains(field, ex.Message, StringComparison.Ordinal);
        await Assert.ThrowsAsync<TopicNotFoundException>(() => hub.GetTopicAsync("t"));
    }
}
