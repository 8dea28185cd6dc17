namespace Switchboard.Client.Tests;

/// <summary>
/// <see cref="MessageEnvelope.Compact"/>: the WebSocket asks the hub for topic, offset and payload only, the epoch named
/// once per topic. What the application gets is the same message but for its timestamp — positions included, across
/// overlapping subscriptions and a topic's new incarnation — and the epoch notices stay inside the client.
/// </summary>
public sealed class CompactEnvelopeTests(MemoryHub fixture) : IClassFixture<MemoryHub>
{
    private readonly TestHub _hub = fixture.Hub;

    private Task<SwitchboardClient> ConnectCompactAsync() => Tests.ConnectAsync(_hub.Address, ClientTransport.WebSocket, o => o.Envelope = MessageEnvelope.Compact);

    [Fact]
    public async Task Compact_messages_equal_full_ones_but_for_the_timestamp()
    {
        await using var full = await Tests.ConnectAsync(_hub.Address, ClientTransport.WebSocket);
        await using var compact = await ConnectCompactAsync();
        var topic = Tests.Name("compact.same");
        await full.PublishAsync(topic, new { n = 1 }, new PublishOptions { Key = "k1", Headers = new Dictionary<string, string> { ["h"] = "v" } });
        await full.PublishAsync(topic, Payload.Text("plain"));
        await using var fromFull = full.Subscribe(topic, new SubscribeOptions { After = "0" });
        await using var fromCompact = compact.Subscribe(topic, new SubscribeOptions { After = "0" });
        var readingFull = Tests.TakeAsync(fromFull, 4);
        var readingCompact = Tests.TakeAsync(fromCompact, 4);
        await Task.WhenAll(fromFull.Ready, fromCompact.Ready).WaitAsync(Tests.Limit);
        await full.PublishAsync(topic, Payload.Bytes(new byte[] { 0, 1, 2, 255 }));
        await full.PublishAsync(topic, new[] { true });

        var expected = await readingFull;
        var actual = await readingCompact;
        Assert.All(expected, m => Assert.NotEqual(default, m.Timestamp));
        Assert.All(actual, m => Assert.Equal(default, m.Timestamp));
        Assert.Equal(expected.Select(Shape), actual.Select(Shape));
        Assert.Equal([0, 1, 2, 255], actual[2].Payload.Data.ToArray());
        Assert.Equal(fromFull.Position, fromCompact.Position);
    }

    [Fact]
    public async Task Overlapping_subscriptions_and_a_recreated_topic_keep_exact_positions_and_no_epoch_notice_reaches_the_application()
    {
        await using var client = await ConnectCompactAsync();
        var root = Tests.Name("compact.epoch");
        var topic = $"{root}.t";
        var old = await client.PublishAsync(topic, "old-1");
        var notices = new Inbox<SubscriptionNotice>();
        client.Notice += (_, n) => notices.Add(n);
        var exact = new Inbox<Message>();
        var pattern = new Inbox<Message>();
        await using var s1 = client.Subscribe(topic, exact.Handle, new SubscribeOptions { After = "0" });
        await using var s2 = client.Subscribe($"{root}.*", pattern.Handle); // overlapping, on the same connection
        await Task.WhenAll(s1.Ready, s2.Ready).WaitAsync(Tests.Limit);
        await client.PublishAsync(topic, "old-2");
        await Task.WhenAll(exact.CountAsync(2), pattern.CountAsync(1));

        Assert.True((await _hub.Http.DeleteAsync($"/v1/topics/{topic}")).IsSuccessStatusCode);
        var recreated = await client.PublishAsync(topic, "new-1");
        await client.PublishAsync(topic, "new-2");

        Assert.NotEqual(old.Epoch, recreated.Epoch);
        var exactly = await exact.CountAsync(4);
        Assert.Equal([$"{old.Epoch}:1", $"{old.Epoch}:2", $"{recreated.Epoch}:1", $"{recreated.Epoch}:2"], exactly.Select(m => m.Position));
        var matched = await pattern.CountAsync(3);
        Assert.Equal([$"{old.Epoch}:2", $"{recreated.Epoch}:1", $"{recreated.Epoch}:2"], matched.Select(m => m.Position));
        Assert.Equal($"{recreated.Epoch}:2", s1.Position);
        Assert.Contains(notices.Items, n => n.Kind == "epoch-changed");
        Assert.DoesNotContain(notices.Items, n => n.Kind == "epoch");
        Assert.Equal(ConnectionState.Connected, client.State);
    }

    [Fact]
    public async Task Two_subscriptions_reading_a_new_topic_from_its_first_message_both_get_exact_positions_on_one_connection()
    {
        await using var client = await ConnectCompactAsync();
        var states = new Inbox<ConnectionStateChangedEventArgs>();
        var errors = new Inbox<SwitchboardErrorEventArgs>();
        client.StateChanged += (_, e) => states.Add(e);
        client.Error += (_, e) => errors.Add(e);
        var root = Tests.Name("compact.both");
        var topic = $"{root}.t";
        var exact = new Inbox<Message>();
        var pattern = new Inbox<Message>();
        await using var s1 = client.Subscribe(topic, exact.Handle, new SubscribeOptions { After = "0" });
        await using var s2 = client.Subscribe($"{root}.*", pattern.Handle, new SubscribeOptions { After = "0" });
        await Task.WhenAll(s1.Ready, s2.Ready).WaitAsync(Tests.Limit);

        var first = await client.PublishAsync(topic, 1);
        await client.PublishAsync(topic, 2);
        await client.PublishAsync(topic, 3);

        string[] expected = [$"{first.Epoch}:1", $"{first.Epoch}:2", $"{first.Epoch}:3"];
        Assert.Equal(expected, (await exact.CountAsync(3)).Select(m => m.Position));
        Assert.Equal(expected, (await pattern.CountAsync(3)).Select(m => m.Position));
        Assert.Empty(states.Items); // never reconnected: no frame was a protocol error
        Assert.Empty(errors.Items);
        Assert.Equal(ConnectionState.Connected, client.State);
    }

    [Fact]
    public async Task An_envelope_that_is_not_defined_is_refused_when_connecting()
    {
        var error = await Assert.ThrowsAsync<ArgumentException>(() => Tests.ConnectAsync(_hub.Address, ClientTransport.WebSocket, o => o.Envelope = (MessageEnvelope)7));
        Assert.Equal("Envelope", error.ParamName);
        Assert.Contains("MessageEnvelope.Compact", error.Message);
    }

    private static (string, string, long, string?, string, string, string) Shape(Message m)
        => (m.Topic, m.Epoch, m.Offset, m.Key, string.Join(",", m.Headers.Select(h => $"{h.Key}={h.Value}")), m.Payload.ContentType, Convert.ToBase64String(m.Payload.Data.Span));
}
