using Switchboard.Core;
using Switchboard.Core.Engines;

namespace Switchboard.Unit.Tests;

/// <summary>
/// The queues a topic feeds, found through the binding index: the same answers as trying every binding's pattern (what
/// the engines did), in the order the bindings were made, each queue once.
/// </summary>
public sealed class BindingIndexTests
{
    [Fact]
    public void A_topic_feeds_its_exact_and_wildcard_bindings_each_queue_once_in_the_order_they_were_made()
    {
        var index = new BindingIndex();
        Assert.True(index.Add(new QueueBinding("orders.*.created", "audit")));
        Assert.True(index.Add(new QueueBinding("orders.eu.created", "billing")));
        Assert.True(index.Add(new QueueBinding(">", "everything")));
        Assert.True(index.Add(new QueueBinding("orders.>", "audit"))); // audit again, through another pattern
        Assert.True(index.Add(new QueueBinding("orders.us.created", "us")));
        Assert.False(index.Add(new QueueBinding("orders.eu.created", "billing")));

        Assert.Equal(["audit", "billing", "everything"], index.QueuesFor("orders.eu.created"));
        Assert.Equal(["audit", "everything", "us"], index.QueuesFor("orders.us.created"));
        Assert.Equal(["everything", "audit"], index.QueuesFor("orders.eu"));
        Assert.Equal(["everything"], index.QueuesFor("invoices"));
        Assert.Equal(5, index.Count);
    }

    [Fact]
    public void A_leading_wildcard_does_not_feed_a_queue_from_the_hubs_own_topics()
    {
        var index = new BindingIndex();
        index.Add(new QueueBinding(">", "everything"));
        index.Add(new QueueBinding("*.orders", "any"));
        Assert.Empty(index.QueuesFor("$presence.orders"));
        Assert.Equal(["any", "everything"], index.QueuesFor("eu.orders").Order(StringComparer.Ordinal));
    }

    [Fact]
    public void Removed_bindings_feed_nothing_and_a_deleted_queues_bindings_go_with_it()
    {
        var index = new BindingIndex();
        index.Add(new QueueBinding("a.*", "q1"));
        index.Add(new QueueBinding("a.b", "q1"));
        index.Add(new QueueBinding("a.b", "q2"));
        index.Add(new QueueBinding("a.>", "q3"));

        Assert.True(index.Remove(new QueueBinding("a.b", "q2")));
        Assert.False(index.Remove(new QueueBinding("a.b", "q2")));
        Assert.Equal(["q1", "q3"], index.QueuesFor("a.b"));

        Assert.Equal(2, index.RemoveAll(b => b.Queue == "q1"));
        Assert.Equal(["q3"], index.QueuesFor("a.b"));
        Assert.Equal([new QueueBinding("a.>", "q3")], index);

        index.Clear();
        Assert.Empty(index.QueuesFor("a.b"));
        Assert.Equal(0, index.Count);
    }

    [Fact]
    public void It_answers_as_trying_every_pattern_does_over_many_random_bindings_and_topics()
    {
        var random = new Random(20261203);
        string[] tokens = ["a", "b", "c", "d"];
        var index = new BindingIndex();
        var all = new List<QueueBinding>();
        for (var i = 0; i < 2_000; i++)
        {
            var length = random.Next(1, 5);
            var parts = new string[length];
            for (var t = 0; t < length; t++)
            {
                var roll = random.Next(10);
                parts[t] = roll == 0 ? "*" : roll == 1 && t == length - 1 ? ">" : tokens[random.Next(tokens.Length)];
            }
            var binding = new QueueBinding(string.Join('.', parts), "q" + random.Next(50));
            if (index.Add(binding))
            {
                all.Add(binding);
            }
            if (i % 7 == 0 && all.Count > 0)
            {
                var gone = all[random.Next(all.Count)];
                Assert.True(index.Remove(gone));
                all.Remove(gone);
            }
        }
        for (var i = 0; i < 2_000; i++)
        {
            var topic = string.Join('.', Enumerable.Range(0, random.Next(1, 6)).Select(_ => tokens[random.Next(tokens.Length)]));
            var expected = all.Where(b => TopicPattern.Parse(b.Pattern).Matches(topic)).Select(b => b.Queue).Distinct(StringComparer.Ordinal);
            Assert.Equal(expected, index.QueuesFor(topic));
        }
    }
}
