using Switchboard.Core.Delivery;
using Switchboard.Core.Tests.Support;
using static Switchboard.Core.Tests.Support.Drafts;

namespace Switchboard.Core.Tests.Hubs;

/// <summary>Subscriptions that start while publishers are running: the no-gap, no-duplicate promise under load.</summary>
public sealed class SubscriptionStressTests
{
    private const int Total = 5000;
    private const int PublishedBefore = 1000;
    private const int Middle = 500;
    private const int Publishers = 4;

    [Theory]
    [InlineData(null)] // the sink always has room: live delivery straight from the fan-out
    [InlineData(16)] // a small buffer read concurrently: live and catch-up keep taking turns
    public async Task Subscriptions_starting_while_publishers_run_get_every_offset_exactly_once_in_order(int? capacity)
    {
        await using var hub = await TestHubs.StartAsync();
        for (var i = 0; i < PublishedBefore; i += 100)
        {
            await hub.PublishAsync("t", Batch(100));
        }

        var halfway = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var subscribed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var published = 0;
        var perPublisher = (Total - PublishedBefore) / Publishers;
        var publishers = Enumerable.Range(0, Publishers).Select(p => Task.Run(async () =>
        {
            for (var i = 0; i < perPublisher; i++)
            {
                if (i == perPublisher - 50)
                {
                    // Keep the last messages back until the subscriptions exist, however fast the rest went: a
                    // subscription "from now" that started after the last publish would wait for nothing.
                    await subscribed.Task;
                }
                await hub.PublishAsync("t", [Json(i)]);
                if (Interlocked.Increment(ref published) == 200)
                {
                    halfway.SetResult();
                }
            }
        })).ToList();
        // Subscribe while the publishers are busy, not before they start or after they finish.
        await halfway.Task.WaitAsync(Bounds.Stress);

        var fromStart = new RecordingSink(capacity);
        var fromMiddle = new RecordingSink(capacity);
        var fromNow = new RecordingSink(capacity);
        await using var a = await hub.SubscribeAsync(["t"], SubscribeStart.AfterPosition(new Position(null, 0)), fromStart);
        await using var b = await hub.SubscribeAsync(["t"], SubscribeStart.AfterPosition(new Position(null, Middle)), fromMiddle);
        await using var c = await hub.SubscribeAsync(["t"], SubscribeStart.Now, fromNow);
        subscribed.SetResult();
        var readStart = fromStart.TakeOffsetsAsync(Total, Bounds.Stress);
        var readMiddle = fromMiddle.TakeOffsetsAsync(Total - Middle, Bounds.Stress);
        var readNow = ReadUntilAsync(fromNow, Total);

        await Task.WhenAll(publishers).WaitAsync(Bounds.Stress);
        Assert.Equal(Total, (await hub.GetTopicAsync("t")).LastOffset);

        Assert.Equal(Range(1, Total), await readStart);
        Assert.Equal(Range(Middle + 1, Total), await readMiddle);
        var now = await readNow;
        Assert.True(now[0] > PublishedBefore, $"a subscription from now got offset {now[0]}, published before it started");
        Assert.Equal(Range(now[0], Total), now);
        fromStart.AssertEmpty();
        fromMiddle.AssertEmpty();
        fromNow.AssertEmpty();
    }

    [Fact]
    public async Task A_wildcard_subscription_starting_while_many_topics_are_written_gets_each_topic_whole_and_in_order()
    {
        const int Topics = 8, PerTopic = 600;
        await using var hub = await TestHubs.StartAsync();
        for (var t = 0; t < Topics / 2; t++)
        {
            await hub.PublishAsync($"s.t{t}", Batch(50)); // half the topics exist before the subscription starts
        }
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var published = 0;
        var publishers = Enumerable.Range(0, Topics).Select(t => Task.Run(async () =>
        {
            var first = t < Topics / 2 ? 50 : 0;
            for (var i = first; i < PerTopic; i++)
            {
                await hub.PublishAsync($"s.t{t}", [Json(i + 1)]);
                if (Interlocked.Increment(ref published) == 100)
                {
                    started.SetResult();
                }
            }
        })).ToList();
        await started.Task.WaitAsync(Bounds.Stress);

        var sink = new RecordingSink(capacity: 32);
        await using var subscription = await hub.SubscribeAsync(["s.*"], SubscribeStart.AfterPosition(new Position(null, 0)), sink);
        var items = await sink.TakeAsync(Topics * PerTopic, Bounds.Stress);
        await Task.WhenAll(publishers).WaitAsync(Bounds.Stress);

        var byTopic = items.Select(i => Assert.IsType<Message>(i)).GroupBy(m => m.Topic).ToDictionary(g => g.Key, g => g.ToList());
        Assert.Equal(Topics, byTopic.Count);
        foreach (var (topic, messages) in byTopic)
        {
            Assert.Equal(Range(1, PerTopic), messages.Select(m => m.Offset).ToList());
            Assert.Equal(Enumerable.Range(1, PerTopic).Select(i => i.ToString(System.Globalization.CultureInfo.InvariantCulture)), messages.Select(PayloadText));
        }
        sink.AssertEmpty();
    }

    private static List<long> Range(long first, long last) => [.. Enumerable.Range(0, (int)(last - first + 1)).Select(i => first + i)];

    /// <summary>Messages until offset <paramref name="last"/> arrives (at most <paramref name="last"/> of them).</summary>
    private static async Task<List<long>> ReadUntilAsync(RecordingSink sink, long last)
    {
        var offsets = new List<long>();
        while (offsets.Count < last && (offsets.Count == 0 || offsets[^1] != last))
        {
            offsets.Add(Assert.IsType<Message>(await sink.NextAsync(Bounds.Stress)).Offset);
        }
        return offsets;
    }
}
