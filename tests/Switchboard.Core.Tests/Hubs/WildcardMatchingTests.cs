using Switchboard.Core.Delivery;
using Switchboard.Core.Tests.Support;
using static Switchboard.Core.Tests.Support.Drafts;

namespace Switchboard.Core.Tests.Hubs;

/// <summary>
/// The dispatcher finds the wildcard subscriptions a publish matches through an index of their patterns' tokens, not by
/// trying each: what every subscription gets must still be exactly what its patterns match (<see cref="TopicPattern.Matches"/>),
/// and a subscription that ended must get nothing, however many came and went.
/// </summary>
public sealed class WildcardMatchingTests
{
    private const string End = "zz.end"; // published last: once a sink has it, it has everything published before

    private static readonly string[] Patterns =
    [
        "a.*", "a.>", "*.b", "*.*", ">", "*", "a.*.c", "*.b.>", "a.b.c.>", "*.*.*", "x.>", "a.b.*", "*.b.c", "a.*.*.d", "ab.*",
    ];

    private static readonly string[] Topics =
    [
        "a", "b", "a.b", "a.c", "ab.b", "a.bc", "a.b.c", "a.x.c", "a.b.c.d", "a.b.c.d.e", "b.b", "b.b.c", "x.y", "x", "x.y.z",
    ];

    [Fact]
    public async Task Every_wildcard_subscription_gets_exactly_the_topics_its_patterns_match()
    {
        await using var hub = await TestHubs.StartAsync();
        var subscribed = new List<(string[] Patterns, RecordingSink Sink, Subscription Subscription)>();
        // Each pattern alone, and pairs of them in one subscription (a topic two of them match still arrives once).
        var sets = Patterns.Select(p => new[] { p }).Concat(Patterns.Zip(Patterns.Skip(1), (p, q) => new[] { p, q }));
        foreach (var patterns in sets)
        {
            var sink = new RecordingSink();
            subscribed.Add((patterns, sink, await hub.SubscribeAsync([.. patterns, End], SubscribeStart.Now, sink)));
        }

        foreach (var topic in Topics)
        {
            await hub.PublishAsync(topic, [Json(1)]);
        }
        await hub.PublishAsync(End, [Json(1)]);

        foreach (var (patterns, sink, subscription) in subscribed)
        {
            var expected = Topics.Where(t => patterns.Any(p => TopicPattern.Parse(p).Matches(t))).Order(StringComparer.Ordinal);
            Assert.True(expected.SequenceEqual(await ReceivedAsync(sink), StringComparer.Ordinal), $"[{string.Join(", ", patterns)}]");
            await subscription.DisposeAsync();
        }
    }

    [Fact]
    public async Task Subscriptions_that_come_and_go_leave_only_the_live_ones_matched()
    {
        await using var hub = await TestHubs.StartAsync();
        var live = new List<(string Pattern, RecordingSink Sink)>();
        var ended = new List<RecordingSink>();
        for (var i = 0; i < 2000; i++)
        {
            // Patterns sharing prefixes and wildcards at every level, so ending one prunes only what is its own.
            var pattern = (i % 4) switch { 0 => $"c.{i % 10}.*", 1 => $"c.*.{i % 7}", 2 => $"c.{i % 10}.>", _ => $"*.{i % 10}.{i % 7}" };
            var sink = new RecordingSink();
            var subscription = await hub.SubscribeAsync([pattern, End], SubscribeStart.Now, sink);
            if (i % 3 == 0)
            {
                live.Add((pattern, sink));
            }
            else
            {
                await subscription.DisposeAsync();
                ended.Add(sink);
            }
        }

        string[] topics = ["c.3.5", "c.0.0", "c.9.6.1", "d.4.2", "c.7"];
        foreach (var topic in topics)
        {
            await hub.PublishAsync(topic, [Json(1)]);
        }
        await hub.PublishAsync(End, [Json(1)]);

        foreach (var (pattern, sink) in live)
        {
            var expected = topics.Where(TopicPattern.Parse(pattern).Matches).Order(StringComparer.Ordinal);
            Assert.True(expected.SequenceEqual(await ReceivedAsync(sink), StringComparer.Ordinal), pattern);
        }
        foreach (var sink in ended)
        {
            sink.AssertEmpty();
        }
    }

    /// <summary>The topics of the messages a sink got before <see cref="End"/>, each once, in name order.</summary>
    private static async Task<List<string>> ReceivedAsync(RecordingSink sink)
    {
        var topics = new SortedSet<string>(StringComparer.Ordinal);
        while (await sink.NextAsync() is var item && (item is not Message message || message.Topic != End))
        {
            if (item is Message m)
            {
                Assert.True(topics.Add(m.Topic), $"{m.Topic} arrived twice");
            }
        }
        return [.. topics];
    }
}
