using System.Diagnostics;

namespace Switchboard.Client.Tests;

/// <summary>
/// Connecting when things are not fine: a proxy that refuses WebSocket upgrades and HTTP/2 (fallback, and the
/// <c>Fallback</c> event saying why), nothing listening, something listening that never answers or is not a hub —
/// each a prompt <c>unavailable</c> naming every transport, never a hang. And closing: what a disposed client does.
/// </summary>
public sealed class ConnectionTests(MemoryHub fixture) : IClassFixture<MemoryHub>
{
    private readonly TestHub _hub = fixture.Hub;
    private static readonly ClientTransport[] Every = [ClientTransport.WebSocket, ClientTransport.Grpc, ClientTransport.Sse, ClientTransport.LongPolling];

    [Fact]
    public async Task Long_polling_takes_a_probe_answer_whose_position_token_names_a_snapshot()
    {
        // The probe pattern matches a topic whose name is longer than a whole position token may be here: the hub answers
        // the probe poll with a p2. token, which is still the hub's own answer.
        await using var hub = await TestHub.StartAsync(settings: new Dictionary<string, string?> { ["Switchboard:Resume:FullBytes"] = "256" });
        using (var content = new StringContent("""{"payload":1}""", System.Text.Encoding.UTF8, "application/json"))
        {
            (await hub.Http.PostAsync($"/v1/topics/_sb-probe.{new string('a', 240)}/messages", content)).EnsureSuccessStatusCode();
        }
        await using var client = new SwitchboardClient(Tests.Options(hub.Address, ClientTransport.LongPolling));
        await client.StartAsync().WaitAsync(Tests.Limit);
        Assert.Equal((ConnectionState.Connected, (ClientTransport?)ClientTransport.LongPolling), (client.State, client.Transport));
    }

    [Fact]
    public async Task Through_a_proxy_that_refuses_upgrades_and_HTTP2_the_client_falls_back_and_says_why()
    {
        await using var proxy = new RefusingProxy(_hub.Address);
        await using var client = new SwitchboardClient(Tests.Options(proxy.Url, ClientTransport.WebSocket, o => o.Transports = Every));
        var passedOver = new Inbox<TransportFallbackEventArgs>();
        client.Fallback += (_, e) => passedOver.Add(e);
        // What should work through this proxy: the first of SSE and long polling the client implements.
        ClientTransport? expected = Every.Skip(2).Where(Transports.IsImplemented).Cast<ClientTransport?>().FirstOrDefault();

        var started = Stopwatch.StartNew();
        var failure = await Record.ExceptionAsync(() => client.StartAsync().WaitAsync(Tests.Limit));

        Assert.True(proxy.Upgrades >= 1, "the WebSocket upgrade never reached the proxy");
        var reasons = passedOver.Items;
        Assert.Equal(ClientTransport.WebSocket, reasons[0].Transport);
        Assert.Equal(ClientErrorCodes.Unavailable, reasons[0].Error.Code);
        Assert.Contains("403", reasons[0].Error.Message, StringComparison.Ordinal);
        Assert.Equal(ClientTransport.Grpc, reasons[1].Transport);
        if (expected is { } transport)
        {
            Assert.Null(failure);
            Assert.Equal((ConnectionState.Connected, (ClientTransport?)transport), (client.State, client.Transport));
            var topic = Tests.Name("conn.fallback");
            var inbox = new Inbox<Message>();
            await using var subscription = client.Subscribe(topic, inbox.Handle);
            await subscription.Ready.WaitAsync(Tests.Limit);
            await client.PublishAsync(topic, 1);
            Assert.Equal(1, (await inbox.CountAsync(1))[0].GetPayload<int>());
            Assert.Single(await Tests.HistoryAsync(_hub.Http, topic));
        }
        else
        {
            // Nothing implemented passes this proxy yet: unavailable, with one line per transport, in order.
            var error = Assert.IsType<SwitchboardException>(failure);
            Assert.Equal(ClientErrorCodes.Unavailable, error.Code);
            var at = Every.Select(t => error.Message.IndexOf($"{t}: ", StringComparison.Ordinal)).ToList();
            Assert.All(at, i => Assert.True(i >= 0, error.Message));
            Assert.Equal(at.Order(), at);
            Assert.Equal(Every, reasons.Select(r => r.Transport));
            Assert.Equal(ConnectionState.Closed, client.State);
        }
        Assert.InRange(started.Elapsed, TimeSpan.Zero, TimeSpan.FromSeconds(15));
    }

    [Fact]
    public async Task Directly_to_the_hub_every_implemented_transport_opens_first_time()
    {
        foreach (var transport in Transports.All)
        {
            await using var client = new SwitchboardClient(Tests.Options(_hub.Address, transport, o => o.Transports = [transport, .. Every.Where(t => t != transport)]));
            var passedOver = new Inbox<TransportFallbackEventArgs>();
            client.Fallback += (_, e) => passedOver.Add(e);
            await client.StartAsync().WaitAsync(Tests.Limit);
            Assert.Equal(transport, client.Transport);
            Assert.Empty(passedOver.Items);
        }
    }

    [Theory]
    [MemberData(nameof(Transports.Data), MemberType = typeof(Transports))]
    public async Task A_client_used_before_StartAsync_connects_by_itself_and_StartAsync_then_waits_for_that_connection(ClientTransport transport)
    {
        await using var client = new SwitchboardClient(Tests.Options(_hub.Address, transport));
        var states = new Inbox<ConnectionState>();
        client.StateChanged += (_, e) => states.Add(e.State);
        Assert.Equal(ConnectionState.Connecting, client.State);
        var topic = Tests.Name("conn.lazy");
        var inbox = new Inbox<Message>();

        await using var subscription = client.Subscribe(topic, inbox.Handle); // the first use starts the client
        await client.StartAsync().WaitAsync(Tests.Limit);

        Assert.Equal((ConnectionState.Connected, (ClientTransport?)transport), (client.State, client.Transport));
        await subscription.Ready.WaitAsync(Tests.Limit);
        await client.PublishAsync(topic, 1);
        Assert.Equal(1, (await inbox.CountAsync(1))[0].GetPayload<int>());
        Assert.Equal(ConnectionState.Connected, (await states.UntilAsync(s => s.Contains(ConnectionState.Connected), "connected"))[^1]);
    }

    [Theory]
    [MemberData(nameof(Transports.Data), MemberType = typeof(Transports))]
    public async Task Refused_for_too_many_connections_the_client_keeps_trying_and_gets_in_once_a_slot_frees(ClientTransport transport)
    {
        await using var hub = await TestHub.StartAsync(settings: new Dictionary<string, string?> { ["Switchboard:Connections:MaxPerAddress"] = "1" });
        var first = await Tests.ConnectAsync(hub.Address, transport);
        var topic = Tests.Name("conn.limit");
        await first.PublishAsync(topic, 0); // the one slot is taken

        await using var second = new SwitchboardClient(Tests.Options(hub.Address, transport));
        var states = new Inbox<ConnectionStateChangedEventArgs>();
        second.StateChanged += (_, e) => states.Add(e);
        var publishing = second.PublishAsync(topic, 1, new PublishOptions { Timeout = Tests.Limit });
        if (transport == ClientTransport.LongPolling)
        {
            // Long polling holds a slot only while a poll waits (a subscription's), and these clients only publish (plain
            // requests; request rate limits apply instead): neither takes one, so the second is not refused and its publish
            // goes through at once.
            Assert.Equal(2, (await publishing.WaitAsync(Tests.Limit)).Offset);
            Assert.DoesNotContain(states.Items, e => e.Error is not null);
            await first.DisposeAsync();
            Assert.Equal(ConnectionState.Connected, second.State);
            return;
        }
        var refused = (await states.UntilAsync(s => s.Any(e => e.Error is not null), "the second client refused")).First(e => e.Error is not null);
        Assert.NotEqual(ConnectionState.Closed, second.State);
        Assert.False(publishing.IsCompleted);
        if (transport == ClientTransport.WebSocket)
        {
            Assert.True(refused.Error!.CloseCode == 4429 || refused.Error.Message.Contains("4429", StringComparison.Ordinal), refused.Error.Message);
        }

        await first.DisposeAsync();

        Assert.Equal(2, (await publishing.WaitAsync(Tests.Limit)).Offset);
        await states.UntilAsync(s => s[^1].State == ConnectionState.Connected, "the second client connected");
        Assert.Equal(2, (await Tests.HistoryAsync(hub.Http, topic)).Count);
    }

    [Fact]
    public async Task ConnectAsync_to_a_port_nothing_listens_on_fails_at_once_with_unavailable_naming_each_transport()
    {
        var nowhere = NotAHub.ClosedPort();
        var started = Stopwatch.StartNew();

        var error = await Assert.ThrowsAsync<SwitchboardException>(() => SwitchboardClient.ConnectAsync(
            Tests.Options(nowhere, ClientTransport.WebSocket, o => o.Transports = [.. Transports.All])).WaitAsync(Tests.Limit));

        Assert.Equal(ClientErrorCodes.Unavailable, error.Code);
        Assert.True(error.IsTransient);
        Assert.All(Transports.All, t => Assert.Contains($"{t}: ", error.Message, StringComparison.Ordinal));
        Assert.Contains(nowhere.Authority, error.Message, StringComparison.Ordinal);
        Assert.InRange(started.Elapsed, TimeSpan.Zero, TimeSpan.FromSeconds(5));
    }

    [Fact]
    public async Task ConnectAsync_to_a_server_that_never_answers_fails_within_ConnectTimeout_not_a_hang()
    {
        await using var silent = new NotAHub(answer: null);
        var timeout = TimeSpan.FromSeconds(1);
        var started = Stopwatch.StartNew();

        var error = await Assert.ThrowsAsync<SwitchboardException>(() => SwitchboardClient.ConnectAsync(
            Tests.Options(silent.Url, ClientTransport.WebSocket, o => { o.Transports = [.. Transports.All]; o.ConnectTimeout = timeout; })).WaitAsync(Tests.Limit));

        Assert.Equal(ClientErrorCodes.Unavailable, error.Code);
        Assert.InRange(started.Elapsed, timeout * 0.9, (timeout * Transports.All.Count) + TimeSpan.FromSeconds(5));
    }

    [Fact]
    public async Task ConnectAsync_to_something_that_is_not_a_hub_fails_with_unavailable()
    {
        await using var web = new NotAHub("HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello");

        var error = await Assert.ThrowsAsync<SwitchboardException>(() => SwitchboardClient.ConnectAsync(
            Tests.Options(web.Url, ClientTransport.WebSocket, o => o.Transports = [.. Transports.All])).WaitAsync(Tests.Limit));

        Assert.Equal(ClientErrorCodes.Unavailable, error.Code);
        Assert.Contains("WebSocket: ", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(Transports.Data), MemberType = typeof(Transports))]
    public async Task DisposeAsync_ends_readers_and_handlers_and_fails_what_is_pending_with_closed(ClientTransport transport)
    {
        var client = await Tests.ConnectAsync(_hub.Address, transport);
        var states = new Inbox<ConnectionState>();
        client.StateChanged += (_, e) => states.Add(e.State);
        var topic = Tests.Name("conn.dispose");
        var read = client.Subscribe(topic);
        var handled = client.Subscribe(topic, (_, _) => ValueTask.CompletedTask);
        await Task.WhenAll(read.Ready, handled.Ready).WaitAsync(Tests.Limit);
        var first = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var reading = Task.Run(async () =>
        {
            var count = 0;
            await foreach (var _ in read)
            {
                count++;
                first.TrySetResult();
            }
            return count;
        });
        await client.PublishAsync(topic, 1);
        // On SSE, long polling and gRPC the message comes on another stream than the publish's answer: wait for it.
        await first.Task.WaitAsync(Tests.Limit);

        await client.DisposeAsync();

        Assert.Equal(1, await reading.WaitAsync(Tests.Limit)); // the reader ends, after the message it had
        await Task.WhenAll(read.Completion, handled.Completion).WaitAsync(Tests.Limit);
        Assert.Equal([ConnectionState.Closed], states.Items);
        Assert.Null(client.Transport);
        Assert.Equal(ClientErrorCodes.Closed, (await Assert.ThrowsAsync<SwitchboardException>(() => client.PublishAsync(topic, 2))).Code);
        Assert.Equal(ClientErrorCodes.Closed, Assert.Throws<SwitchboardException>(() => client.Subscribe(topic)).Code);
        Assert.Equal(ClientErrorCodes.Closed, (await Assert.ThrowsAsync<SwitchboardException>(() => client.SendAsync("conn-q", 1))).Code);
        Assert.Equal(ClientErrorCodes.Closed, (await Assert.ThrowsAsync<SwitchboardException>(() => client.StartAsync())).Code);
        await client.DisposeAsync(); // twice is harmless
        Assert.Single(await Tests.HistoryAsync(_hub.Http, topic));
    }

    [Theory]
    [MemberData(nameof(Transports.Data), MemberType = typeof(Transports))]
    public async Task A_publish_waiting_for_a_hub_that_is_gone_fails_with_timeout_after_PublishTimeout_or_closed_on_dispose(ClientTransport transport)
    {
        var hub = await TestHub.StartAsync();
        var client = await Tests.ConnectAsync(hub.Address, transport, o => o.PublishTimeout = TimeSpan.FromSeconds(1));
        var lost = new Inbox<ConnectionState>();
        client.StateChanged += (_, e) => lost.Add(e.State);
        await hub.DisposeAsync();
        await lost.UntilAsync(s => s.Contains(ConnectionState.Reconnecting), "the client noticing the hub is gone");

        var timedOut = await Assert.ThrowsAsync<SwitchboardException>(() => client.PublishAsync("conn.gone", 1).WaitAsync(Tests.Limit));
        Assert.Equal(ClientErrorCodes.Timeout, timedOut.Code);
        Assert.Contains("may or may not", timedOut.Message, StringComparison.Ordinal);
        var pending = client.PublishAsync("conn.gone", 2, new PublishOptions { Timeout = Tests.Limit });
        await client.DisposeAsync();
        Assert.Equal(ClientErrorCodes.Closed, (await Assert.ThrowsAsync<SwitchboardException>(() => pending.WaitAsync(Tests.Limit))).Code);
        Assert.Equal(ConnectionState.Closed, client.State);
    }
}
