namespace Switchboard.Client.Tests;

/// <summary>
/// What a user gets wrong: names the hub refuses (its code, at once, the connection unharmed), positions that are not
/// positions (an <see cref="ArgumentException"/> before anything is sent), and options that cannot work.
/// </summary>
public sealed class BadInputTests(MemoryHub fixture) : IClassFixture<MemoryHub>
{
    private readonly TestHub _hub = fixture.Hub;

    public static TheoryData<string> BadTopics => ["bad topic", "orders..eu", "orders.", ".orders", "tab\there", "émoji", new string('x', 256)];

    [Theory]
    [MemberData(nameof(BadTopics))]
    public async Task A_topic_name_the_hub_refuses_fails_the_publish_with_its_code_and_the_connection_carries_on(string topic)
    {
        foreach (var transport in Transports.All)
        {
            await using var client = await Tests.ConnectAsync(_hub.Address, transport);

            var error = await Assert.ThrowsAsync<SwitchboardException>(() => client.PublishAsync(topic, 1).WaitAsync(Tests.Limit));

            Assert.Equal("invalid-topic-name", error.Code);
            Assert.Equal(400, error.Status);
            Assert.False(error.IsTransient);
            Assert.Equal(ConnectionState.Connected, client.State);
            Assert.Equal(1, (await client.PublishAsync(Tests.Name("bad.after"), 1)).Offset);
        }
    }

    [Theory]
    [MemberData(nameof(Transports.Data), MemberType = typeof(Transports))]
    public async Task A_subscription_to_a_name_or_pattern_the_hub_refuses_faults_its_Ready_and_Completion_with_the_code(ClientTransport transport)
    {
        await using var client = await Tests.ConnectAsync(_hub.Address, transport);
        var topic = Tests.Name("bad.ok");
        var inbox = new Inbox<Message>();
        await using var fine = client.Subscribe(topic, inbox.Handle);

        foreach (var pattern in new[] { "bad topic", "orders.>.eu", "orders.a*" })
        {
            var refused = client.Subscribe(pattern);
            var error = await Assert.ThrowsAsync<SwitchboardException>(() => refused.Ready.WaitAsync(Tests.Limit));
            Assert.Equal("invalid-topic-name", error.Code);
            Assert.Equal(error, await Assert.ThrowsAsync<SwitchboardException>(() => refused.Completion.WaitAsync(Tests.Limit)));
        }

        await fine.Ready.WaitAsync(Tests.Limit);
        await client.PublishAsync(topic, 1);
        await inbox.CountAsync(1);
        Assert.Equal(ConnectionState.Connected, client.State);
    }

    [Theory]
    [MemberData(nameof(Transports.Data), MemberType = typeof(Transports))]
    public async Task A_message_over_the_hubs_limit_fails_with_message_too_large_and_the_client_carries_on(ClientTransport transport)
    {
        await using var client = await Tests.ConnectAsync(_hub.Address, transport);
        var topic = Tests.Name("bad.big");
        var inbox = new Inbox<Message>();
        await using var subscription = client.Subscribe(topic, inbox.Handle, new SubscribeOptions { After = "0" });
        await subscription.Ready.WaitAsync(Tests.Limit);

        var error = await Assert.ThrowsAsync<SwitchboardException>(() => client.PublishAsync(topic, Payload.Bytes(new byte[2 * 1024 * 1024])).WaitAsync(Tests.Limit));

        Assert.Equal("message-too-large", error.Code);
        Assert.Equal(1, (await client.PublishAsync(topic, "small").WaitAsync(Tests.Limit)).Offset);
        Assert.Equal("small", Assert.Single(await inbox.CountAsync(1)).GetPayload<string>());
        Assert.Single(await Tests.HistoryAsync(_hub.Http, topic));
        // Large but within the limit: fine.
        var large = new string('x', 512 * 1024);
        Assert.Equal(2, (await client.PublishAsync(topic, large).WaitAsync(Tests.Limit)).Offset);
        Assert.Equal(large, (await inbox.CountAsync(2))[1].GetPayload<string>());
        Assert.Equal(ConnectionState.Connected, client.State);
    }

    [Theory]
    [InlineData("orders.eu", "")]
    [InlineData("orders.eu", " ")]
    [InlineData("orders.*", "abc123:4")]
    [InlineData("orders.*", "7")]
    public async Task An_After_the_client_can_tell_is_wrong_is_an_ArgumentException_before_anything_is_sent(string pattern, string after)
    {
        await using var client = await Tests.ConnectAsync(_hub.Address, Transports.All[0]);
        var states = new Inbox<ConnectionState>();
        client.StateChanged += (_, e) => states.Add(e.State);

        Assert.ThrowsAny<ArgumentException>(() => client.Subscribe(pattern, new SubscribeOptions { After = after }));
        Assert.ThrowsAny<ArgumentException>(() => client.Subscribe(pattern, (_, _) => ValueTask.CompletedTask, new SubscribeOptions { After = after }));

        Assert.Empty(states.Items);
        Assert.Equal(ConnectionState.Connected, client.State);
    }

    /// <summary>
    /// What the client cannot read may be a token the hub issued (a <c>p2.</c> one only the hub can read), so it goes to
    /// the hub as it is; the hub's refusal faults <see cref="Subscription.Ready"/>, and the connection carries on.
    /// </summary>
    [Theory]
    [InlineData("orders.eu", "garbage")]
    [InlineData("orders.eu", "-1")]
    [InlineData("orders.eu", "abc:")]
    [InlineData("orders.eu", ":12")]
    [InlineData("orders.eu", "ep-och:12")]
    [InlineData("orders.eu", "1.5")]
    [InlineData("orders.eu", "p1.!!!not-base64")]
    [InlineData("orders.eu", "p1.bm90IGEgbGluZQ")] // "not a line"
    [InlineData("orders.*", "p2.not-a-snapshot")]
    public async Task An_After_the_client_cannot_read_is_refused_by_the_hub_with_invalid_position(string pattern, string after)
    {
        await using var client = await Tests.ConnectAsync(_hub.Address, Transports.All[0]);
        var states = new Inbox<ConnectionState>();
        client.StateChanged += (_, e) => states.Add(e.State);

        var subscription = client.Subscribe(pattern, new SubscribeOptions { After = after });
        var error = await Assert.ThrowsAsync<SwitchboardException>(() => subscription.Ready.WaitAsync(Tests.Limit));
        Assert.True(error.Code == "invalid-position", $"{error.Code}: {error.Message}");
        Assert.Contains(after.Length > 8 ? after[..8] : after.Trim(), error.Message, StringComparison.Ordinal);

        Assert.Empty(states.Items);
        Assert.Equal(ConnectionState.Connected, client.State);
    }

    [Theory]
    [MemberData(nameof(Transports.Data), MemberType = typeof(Transports))]
    public async Task A_position_of_another_incarnation_or_beyond_the_end_is_refused_or_told_never_silently_skipped(ClientTransport transport)
    {
        await using var client = await Tests.ConnectAsync(_hub.Address, transport);
        var topic = Tests.Name("bad.pos");
        var first = await client.PublishAsync(topic, 1);
        await client.PublishAsync(topic, 2);
        var notices = new Inbox<SubscriptionNotice>();
        client.Notice += (_, n) => notices.Add(n);

        // A position from an epoch this topic never had: the hub says what it does with it (a notice and the history
        // from the start, or a refusal) — never a silent subscription that skips or waits for nothing.
        await using var stranger = client.Subscribe(topic, new SubscribeOptions { After = "zzzzzzzzzzzz:1" });
        var taking = Tests.TakeAsync(stranger, 2);
        var refused = await Record.ExceptionAsync(() => stranger.Ready.WaitAsync(Tests.Limit));
        if (refused is not null)
        {
            Assert.Contains(Assert.IsType<SwitchboardException>(refused).Code, new[] { "epoch-mismatch", "invalid-position" });
        }
        else
        {
            Assert.Equal([1L, 2L], (await taking).Select(m => m.Offset));
            Assert.Contains(notices.Items, n => n.Kind == "epoch-changed" && n.Topic == topic && n.Epoch == first.Epoch);
        }
        Assert.Equal(ConnectionState.Connected, client.State);
    }

    [Fact]
    public async Task Options_that_cannot_work_are_refused_when_the_client_is_made()
    {
        var url = _hub.Address;
        var cases = new (string What, Action<SwitchboardClientOptions> Break)[]
        {
            ("no Url", o => o.Url = null),
            ("a relative Url", o => o.Url = new Uri("/hub", UriKind.Relative)),
            ("an ftp Url", o => o.Url = new Uri("ftp://127.0.0.1/")),
            ("no transports", o => o.Transports = []),
            ("a transport twice", o => o.Transports = [ClientTransport.WebSocket, ClientTransport.WebSocket]),
            ("a zero ReconnectDelay", o => o.ReconnectDelay = TimeSpan.Zero),
            ("a negative MaxReconnectDelay", o => o.MaxReconnectDelay = TimeSpan.FromSeconds(-1)),
            ("a zero ConnectTimeout", o => o.ConnectTimeout = TimeSpan.Zero),
            ("a zero PublishTimeout", o => o.PublishTimeout = TimeSpan.Zero),
            ("a negative HeartbeatInterval", o => o.HeartbeatInterval = TimeSpan.FromSeconds(-1)),
            ("a zero HeartbeatTimeout", o => o.HeartbeatTimeout = TimeSpan.Zero),
            ("a LongPollWait over 60 s", o => o.LongPollWait = TimeSpan.FromSeconds(61)),
            ("negative MaxReconnectAttempts", o => o.MaxReconnectAttempts = -1),
            ("a zero SubscriptionBufferSize", o => o.SubscriptionBufferSize = 0),
        };
        foreach (var (what, breakIt) in cases)
        {
            var options = Tests.Options(url, ClientTransport.WebSocket, breakIt);
            var error = await Record.ExceptionAsync(() => SwitchboardClient.ConnectAsync(options));
            Assert.True(error is ArgumentException, $"{what}: {error?.GetType().Name ?? "accepted"} {error?.Message}");
            Assert.True(Record.Exception(() => new SwitchboardClient(options)) is ArgumentException, $"{what}: the constructor accepted it");
        }
        // A ws:// address is taken as its http twin.
        await using var client = await SwitchboardClient.ConnectAsync(new UriBuilder(url) { Scheme = "ws" }.Uri, new SwitchboardClientOptions { Transports = [.. Transports.All] });
        Assert.Equal(ConnectionState.Connected, client.State);
    }

    [Fact]
    public async Task Queue_calls_refuse_what_cannot_work_before_asking_the_hub()
    {
        await using var client = await Tests.ConnectAsync(_hub.Address, Transports.All[0]);
        await Assert.ThrowsAnyAsync<ArgumentException>(() => client.ReceiveAsync("bad-q", new ReceiveOptions { Wait = TimeSpan.FromSeconds(61) }));
        await Assert.ThrowsAnyAsync<ArgumentException>(() => client.ReceiveAsync("bad-q", new ReceiveOptions { Wait = TimeSpan.FromSeconds(-1) }));
        await Assert.ThrowsAnyAsync<ArgumentException>(async () => { await foreach (var _ in client.ConsumeAsync("bad-q", new ConsumeOptions { Prefetch = 0 })) { } });
        Assert.ThrowsAny<ArgumentException>(() => client.Respond("bad-q", (_, _) => Task.FromResult(1), new RespondOptions { Concurrency = 0 }));
        await Assert.ThrowsAnyAsync<ArgumentException>(() => client.SendAsync("", 1));
        Assert.Equal("invalid-queue-name", (await Assert.ThrowsAsync<SwitchboardException>(() => client.SendAsync("bad queue", 1))).Code);
        Assert.Equal("invalid-request", (await Assert.ThrowsAsync<SwitchboardException>(() => client.ReceiveAsync("bad-q", new ReceiveOptions { Max = 0 }))).Code);
    }
}
