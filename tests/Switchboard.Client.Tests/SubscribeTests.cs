namespace Switchboard.Client.Tests;

/// <summary>
/// Subscribing as a user does it: a handler or <c>await foreach</c>, wildcards, where a subscription starts (now, "0",
/// an <c>epoch:offset</c>, a pattern's <see cref="Subscription.Position"/>) and resuming from it with no gap and no
/// duplicate, overlapping subscriptions on one connection, and unsubscribing.
/// </summary>
public sealed class SubscribeTests(MemoryHub fixture) : IClassFixture<MemoryHub>
{
    private readonly TestHub _hub = fixture.Hub;

    [Theory]
    [MemberData(nameof(Transports.Data), MemberType = typeof(Transports))]
    public async Task Await_foreach_reads_the_history_then_live_messages_in_order(ClientTransport transport)
    {
        await using var client = await Tests.ConnectAsync(_hub.Address, transport);
        var topic = Tests.Name("sub.foreach");
        for (var n = 1; n <= 5; n++)
        {
            await client.PublishAsync(topic, n);
        }
        await using var subscription = client.Subscribe(topic, new SubscribeOptions { After = "0" });
        var reading = Tests.TakeAsync(subscription, 8);
        await subscription.Ready.WaitAsync(Tests.Limit);
        for (var n = 6; n <= 8; n++)
        {
            await client.PublishAsync(topic, n);
        }

        var messages = await reading;
        Assert.Equal(Enumerable.Range(1, 8), messages.Select(m => m.GetPayload<int>()));
        Assert.Equal(Enumerable.Range(1, 8).Select(n => (long)n), messages.Select(m => m.Offset));
        Assert.Equal(messages[^1].Position, subscription.Position);
        // One reader per subscription: a second enumeration is refused rather than splitting the stream.
        Assert.Throws<InvalidOperationException>(() => subscription.GetAsyncEnumerator());
    }

    [Theory]
    [MemberData(nameof(Transports.Data), MemberType = typeof(Transports))]
    public async Task A_handler_gets_messages_one_at_a_time_in_order_and_one_that_throws_is_reported_and_passed(ClientTransport transport)
    {
        await using var client = await Tests.ConnectAsync(_hub.Address, transport);
        var topic = Tests.Name("sub.handler");
        var errors = new Inbox<SwitchboardException>();
        client.Error += (_, e) => errors.Add(e.Error);
        var inbox = new Inbox<int>();
        var running = 0;
        var overlapped = false;
        await using var subscription = client.Subscribe(topic, async (message, ct) =>
        {
            overlapped |= Interlocked.Increment(ref running) > 1;
            await Task.Yield();
            Interlocked.Decrement(ref running);
            var n = message.GetPayload<int>();
            if (n == 3)
            {
                throw new InvalidOperationException("the handler broke on 3");
            }
            inbox.Add(n);
        });
        await subscription.Ready.WaitAsync(Tests.Limit);
        Assert.Throws<InvalidOperationException>(() => subscription.GetAsyncEnumerator());

        await Task.WhenAll(Enumerable.Range(1, 50).Select(n => client.PublishAsync(topic, n)));

        var seen = await inbox.CountAsync(49);
        Assert.Equal(Enumerable.Range(1, 50).Where(n => n != 3), seen);
        Assert.False(overlapped, "the handler ran twice at once");
        var error = Assert.Single(await errors.CountAsync(1));
        Assert.Contains("the handler broke on 3", error.Message, StringComparison.Ordinal);
        Assert.Equal(ConnectionState.Connected, client.State);
    }

    [Theory]
    [MemberData(nameof(Transports.Patterns), MemberType = typeof(Transports))]
    public async Task A_star_matches_one_token_and_a_final_gt_the_rest(ClientTransport transport)
    {
        await using var client = await Tests.ConnectAsync(_hub.Address, transport);
        var root = Tests.Name("sub.wild");
        var star = new Inbox<Message>();
        var rest = new Inbox<Message>();
        var middle = new Inbox<Message>();
        await using var s1 = client.Subscribe($"{root}.*", star.Handle);
        await using var s2 = client.Subscribe($"{root}.>", rest.Handle);
        await using var s3 = client.Subscribe($"{root}.*.paid", middle.Handle);
        await Task.WhenAll(s1.Ready, s2.Ready, s3.Ready).WaitAsync(Tests.Limit);

        foreach (var topic in new[] { "a", "b.c", "a.paid", "x.y.paid", "b", "end" })
        {
            await client.PublishAsync($"{root}.{topic}", topic);
        }
        await client.PublishAsync(Tests.Name("sub.other"), "not ours");
        await client.PublishAsync(root, "the root itself");

        // Order is promised per topic, not across the topics a pattern matches (a long poll that catches up
        // reads topic by topic), and each topic here has one message: compare what arrived, in any order.
        Assert.Equal(["a", "b", "end"], (await star.CountAsync(3)).Select(m => m.GetPayload<string>()).Order(StringComparer.Ordinal));
        Assert.Equal(["a", "a.paid", "b", "b.c", "end", "x.y.paid"], (await rest.CountAsync(6)).Select(m => m.GetPayload<string>()).Order(StringComparer.Ordinal));
        Assert.Equal(["a.paid"], (await middle.CountAsync(1)).Select(m => m.GetPayload<string>()));
        // Flush: a last message every subscription sees proves nothing else is on its way to them.
        await client.PublishAsync($"{root}.z.paid", "flush");
        await Task.WhenAll(rest.CountAsync(7), middle.CountAsync(2));
        Assert.Equal(3, star.Items.Count);
        Assert.Equal(["a.paid", "z.paid"], middle.Items.Select(m => m.Topic[(root.Length + 1)..]));
    }

    [Theory]
    [MemberData(nameof(Transports.Data), MemberType = typeof(Transports))]
    public async Task Without_After_a_subscription_starts_now_and_its_Position_is_the_pinned_end(ClientTransport transport)
    {
        await using var client = await Tests.ConnectAsync(_hub.Address, transport);
        var topic = Tests.Name("sub.now");
        await client.PublishAsync(topic, 1);
        var second = await client.PublishAsync(topic, 2);
        var inbox = new Inbox<Message>();
        await using var subscription = client.Subscribe(topic, inbox.Handle);
        await subscription.Ready.WaitAsync(Tests.Limit);
        Assert.Equal(second.Position, subscription.Position);

        await client.PublishAsync(topic, 3);

        Assert.Equal([3L], (await inbox.CountAsync(1)).Select(m => m.Offset));
        await client.PublishAsync(topic, 4);
        Assert.Equal([3L, 4L], (await inbox.CountAsync(2)).Select(m => m.Offset));
    }

    [Theory]
    [MemberData(nameof(Transports.Data), MemberType = typeof(Transports))]
    public async Task After_an_epoch_offset_resumes_with_the_next_message_exactly(ClientTransport transport)
    {
        await using var client = await Tests.ConnectAsync(_hub.Address, transport);
        var topic = Tests.Name("sub.after");
        var results = new List<PublishResult>();
        for (var n = 1; n <= 5; n++)
        {
            results.Add(await client.PublishAsync(topic, n));
        }

        await using var subscription = client.Subscribe(topic, new SubscribeOptions { After = results[1].Position });
        var reading = Tests.TakeAsync(subscription, 4);
        await subscription.Ready.WaitAsync(Tests.Limit);
        await client.PublishAsync(topic, 6);

        Assert.Equal([3, 4, 5, 6], (await reading).Select(m => m.GetPayload<int>()));
        // "0" is everything retained; a plain offset works too.
        await using var fromZero = client.Subscribe(topic, new SubscribeOptions { After = "0" });
        Assert.Equal([1, 2, 3, 4, 5, 6], (await Tests.TakeAsync(fromZero, 6)).Select(m => m.GetPayload<int>()));
        await using var fromFour = client.Subscribe(topic, new SubscribeOptions { After = "4" });
        Assert.Equal([5, 6], (await Tests.TakeAsync(fromFour, 2)).Select(m => m.GetPayload<int>()));
    }

    [Theory]
    [MemberData(nameof(Transports.Data), MemberType = typeof(Transports))]
    public async Task A_topic_subscriptions_Position_resumes_a_later_subscription_without_gap_or_duplicate(ClientTransport transport)
    {
        await using var client = await Tests.ConnectAsync(_hub.Address, transport);
        var topic = Tests.Name("sub.pos");
        await client.PublishAsync(topic, 0);
        string? position;
        await using (var first = client.Subscribe(topic))
        {
            var reading = Tests.TakeAsync(first, 3);
            await first.Ready.WaitAsync(Tests.Limit);
            for (var n = 1; n <= 5; n++)
            {
                await client.PublishAsync(topic, n);
            }
            Assert.Equal([1, 2, 3], (await reading).Select(m => m.GetPayload<int>()));
            // What the application took, not what the client buffered: 4 and 5 may already be in the client.
            position = first.Position;
        }
        await client.PublishAsync(topic, 6);

        await using var second = client.Subscribe(topic, new SubscribeOptions { After = position });
        Assert.Equal([4, 5, 6], (await Tests.TakeAsync(second, 3)).Select(m => m.GetPayload<int>()));
    }

    [Theory]
    [MemberData(nameof(Transports.Patterns), MemberType = typeof(Transports))]
    public async Task A_pattern_subscriptions_Position_resumes_every_topic_exactly_and_new_topics_from_their_start(ClientTransport transport)
    {
        await using var client = await Tests.ConnectAsync(_hub.Address, transport);
        var root = Tests.Name("sub.ptok");
        await client.PublishAsync($"{root}.a", "a0"); // before the subscription: not for it
        string? token;
        await using (var first = client.Subscribe($"{root}.*"))
        {
            var reading = Tests.TakeAsync(first, 3);
            await first.Ready.WaitAsync(Tests.Limit);
            await client.PublishAsync($"{root}.a", "a1");
            await client.PublishAsync($"{root}.b", "b1");
            await client.PublishAsync($"{root}.a", "a2");
            Assert.Equal(["a1", "b1", "a2"], (await reading).Select(m => m.GetPayload<string>()));
            token = first.Position;
            Assert.StartsWith("p1.", token, StringComparison.Ordinal);
        }
        // While nobody follows: more on both topics, and a topic that did not exist.
        await client.PublishAsync($"{root}.b", "b2");
        await client.PublishAsync($"{root}.a", "a3");
        await client.PublishAsync($"{root}.c", "c1");

        await using var second = client.Subscribe($"{root}.*", new SubscribeOptions { After = token });
        var resuming = Tests.TakeAsync(second, 4);
        await second.Ready.WaitAsync(Tests.Limit);
        await client.PublishAsync($"{root}.a", "a4");
        var resumed = (await resuming).Select(m => m.GetPayload<string>()).ToList();
        Assert.Equal(["a3", "a4", "b2", "c1"], resumed.Order());
        Assert.True(resumed.IndexOf("a3") < resumed.IndexOf("a4"), string.Join(", ", resumed));
    }

    [Theory]
    [MemberData(nameof(Transports.Patterns), MemberType = typeof(Transports))]
    public async Task Overlapping_subscriptions_on_one_connection_each_get_every_message_once_in_order(ClientTransport transport)
    {
        const int Before = 150, During = 150;
        await using var client = await Tests.ConnectAsync(_hub.Address, transport);
        var root = Tests.Name("sub.overlap");
        await Task.WhenAll(Enumerable.Range(1, Before).Select(n => client.PublishAsync($"{root}.a", n)));

        // Different starts on the same topic: one replays the history while the other follows live messages.
        var replaying = new Inbox<Message>();
        var live = new Inbox<Message>();
        var everything = new Inbox<Message>();
        await using var s1 = client.Subscribe($"{root}.a", replaying.Handle, new SubscribeOptions { After = "0" });
        await using var s2 = client.Subscribe($"{root}.a", live.Handle);
        await using var s3 = client.Subscribe($"{root}.>", everything.Handle, new SubscribeOptions { After = "0" });
        var publishing = Task.WhenAll(Enumerable.Range(Before + 1, During).SelectMany(n => new[] { client.PublishAsync($"{root}.a", n), client.PublishAsync($"{root}.b", n) }));
        await Task.WhenAll(s1.Ready, s2.Ready, s3.Ready).WaitAsync(Tests.Limit);
        await publishing.WaitAsync(Tests.Limit);
        await client.PublishAsync($"{root}.a", "end");

        bool Ended(IReadOnlyList<Message> m) => m.Count > 0 && m[^1].Topic.EndsWith(".a", StringComparison.Ordinal) && m[^1].Payload.ToString() == "\"end\"";
        var all = await replaying.UntilAsync(Ended, "the end of the replay");
        Assert.Equal(Enumerable.Range(1, Before + During + 1).Select(n => (long)n), all.Select(m => m.Offset));
        var followed = await live.UntilAsync(Ended, "the end of the live subscription");
        Assert.Equal(followed[0].Offset, followed.Select(m => m.Offset).Min());
        Assert.Equal(Enumerable.Range((int)followed[0].Offset, followed.Count).Select(n => (long)n), followed.Select(m => m.Offset));
        Assert.InRange(followed[0].Offset, Before + 1, Before + During + 1);
        var mixed = await everything.UntilAsync(m => m.Count(x => x.Topic.EndsWith(".a", StringComparison.Ordinal)) == Before + During + 1 && m.Count(x => x.Topic.EndsWith(".b", StringComparison.Ordinal)) == During, "every message of both topics");
        Assert.Equal(Enumerable.Range(1, Before + During + 1).Select(n => (long)n), mixed.Where(m => m.Topic.EndsWith(".a", StringComparison.Ordinal)).Select(m => m.Offset));
        Assert.Equal(Enumerable.Range(1, During).Select(n => (long)n), mixed.Where(m => m.Topic.EndsWith(".b", StringComparison.Ordinal)).Select(m => m.Offset));
    }

    [Theory]
    [MemberData(nameof(Transports.Data), MemberType = typeof(Transports))]
    public async Task Unsubscribing_ends_the_subscription_and_its_reader_and_nothing_more_arrives(ClientTransport transport)
    {
        await using var client = await Tests.ConnectAsync(_hub.Address, transport);
        var topic = Tests.Name("sub.unsub");
        var gone = new Inbox<Message>();
        var stays = new Inbox<Message>();
        var subscription = client.Subscribe(topic, gone.Handle);
        await using var witness = client.Subscribe(topic, stays.Handle);
        await Task.WhenAll(subscription.Ready, witness.Ready).WaitAsync(Tests.Limit);
        await client.PublishAsync(topic, 1);
        await Task.WhenAll(gone.CountAsync(1), stays.CountAsync(1));

        await subscription.UnsubscribeAsync();
        await subscription.Completion.WaitAsync(Tests.Limit);
        await client.PublishAsync(topic, 2);
        await stays.CountAsync(2);

        Assert.Single(gone.Items);
        Assert.True(subscription.Completion.IsCompletedSuccessfully);
        await subscription.UnsubscribeAsync(); // twice is harmless
        // An enumeration of an ended subscription ends at once.
        await using var ended = client.Subscribe(topic);
        await ended.Ready.WaitAsync(Tests.Limit);
        await ended.UnsubscribeAsync();
        await foreach (var unexpected in ended.WithCancellation(new CancellationTokenSource(Tests.Limit).Token))
        {
            Assert.Fail($"an ended subscription yielded {unexpected.Position}");
        }
    }
}
