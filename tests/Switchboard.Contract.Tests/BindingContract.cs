using Switchboard.Core;

namespace Switchboard.Contract.Tests;

/// <summary>
/// Bindings found through each engine's index (the embedded engines' BindingIndex, Redis's index beside its list of
/// bindings) agree with trying every binding's pattern, across adds, removals and a deleted queue.
/// </summary>
public abstract partial class StoreContract
{
    [Fact]
    public async Task Publishes_reach_exactly_the_queues_whose_bindings_match_after_bindings_come_and_go()
    {
        var random = new Random(20261203);
        string[] words = ["a", "b", "c", "d"];
        string Pattern()
        {
            var tokens = Enumerable.Range(0, random.Next(1, 4)).Select(_ => random.Next(6) switch { 0 => "*", _ => words[random.Next(words.Length)] }).ToList();
            if (random.Next(4) == 0)
            {
                tokens[^1] = ">";
            }
            return string.Join('.', tokens);
        }
        var bindings = new List<QueueBinding>();
        var published = 0;
        // Rounds of adds, removals and publishes, so the index is checked after removals and re-adds too.
        for (var round = 0; round < 3; round++)
        {
            for (var i = 0; i < 60; i++)
            {
                var binding = new QueueBinding(Pattern(), "bq" + random.Next(20));
                var added = await Queues.PutBindingAsync(binding, T0, default);
                Assert.Equal(!bindings.Contains(binding), added);
                if (added)
                {
                    bindings.Add(binding);
                }
            }
            foreach (var gone in bindings.Where(_ => random.Next(4) == 0).ToList())
            {
                Assert.True(await Queues.DeleteBindingAsync(gone, default));
                Assert.False(await Queues.DeleteBindingAsync(gone, default));
                bindings.Remove(gone);
            }
            if (round == 1)
            {
                Assert.NotNull(await Queues.DeleteQueueAsync("bq7", null, T0, default)); // and its bindings with it
                bindings.RemoveAll(b => b.Queue == "bq7");
            }
            Assert.Equal(bindings, await Queues.ListBindingsAsync(default)); // in the order they were made

            var expected = new Dictionary<string, List<string>>();
            for (var i = 0; i < 20; i++, published++)
            {
                var topic = string.Join('.', Enumerable.Range(0, random.Next(1, 4)).Select(_ => words[random.Next(words.Length)]));
                await Store.AppendAsync(Append(topic, Draft($"{published}:{topic}")), default);
                foreach (var queue in bindings.Where(b => TopicPattern.Parse(b.Pattern).Matches(topic)).Select(b => b.Queue).Distinct())
                {
                    (expected.TryGetValue(queue, out var texts) ? texts : expected[queue] = []).Add($"{published}:{topic}");
                }
            }
            Assert.True(expected.Count >= 5, "too few queues got messages to tell anything");
            for (var q = 0; q < 20; q++)
            {
                var queue = "bq" + q;
                if (await Queues.GetQueueAsync(queue, T0, default) is null)
                {
                    Assert.False(expected.ContainsKey(queue), $"{queue} should have got messages but does not exist");
                    continue;
                }
                var got = (await Queues.LeaseAsync(queue, 1000, null, T0, default)).Messages;
                Assert.Equal(expected.GetValueOrDefault(queue) ?? [], got.Select(Text));
                foreach (var message in got)
                {
                    await Queues.AckAsync(queue, message.Id, message.Lease!, T0, default);
                }
            }
        }
    }
}
