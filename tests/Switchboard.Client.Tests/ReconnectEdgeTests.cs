using System.Diagnostics;

namespace Switchboard.Client.Tests;

/// <summary>
/// Reconnects at their edges: a hub that takes the WebSocket and closes it at once (4429, too many connections) must
/// see the client back off, not come back every quarter second; a close that fails the frames in flight (1009, a frame
/// over the limit) fails only the publishes that can be at fault, not a subscription that was being confirmed.
/// </summary>
public sealed class ReconnectEdgeTests(MemoryHub fixture) : IClassFixture<MemoryHub>
{
    private readonly TestHub _hub = fixture.Hub;

    [Fact]
    public async Task A_hub_that_closes_every_WebSocket_as_it_opens_with_4429_is_retried_with_a_growing_backoff()
    {
        await using var hub = await TestHub.StartAsync(settings: new Dictionary<string, string?> { ["Switchboard:Connections:MaxPerAddress"] = "1" });
        await using var first = await Tests.ConnectAsync(hub.Address, ClientTransport.WebSocket); // the one slot is taken
        // Every attempt is a new TCP connection, counted where the hub would see it (state events are no count of
        // attempts: one loss reports Reconnecting when it happens and again when the retry starts).
        await using var relay = new TcpRelay(hub.Address);
        var attempts = new Inbox<TimeSpan>();
        var clock = Stopwatch.StartNew();
        relay.Accepted += () => attempts.Add(clock.Elapsed);
        // A connection that lasts MaxReconnectDelay counts as one that worked (the backoff starts over): 4 s, so that a
        // loaded machine's slow refusal is never taken for one.
        await using var second = new SwitchboardClient(Tests.Options(relay.Url, ClientTransport.WebSocket, o => o.MaxReconnectDelay = TimeSpan.FromSeconds(4)));
        var refusals = new Inbox<int?>();
        second.StateChanged += (_, e) =>
        {
            if (e.State == ConnectionState.Reconnecting && e.Error?.CloseCode == 4429)
            {
                refusals.Add(e.Error.CloseCode);
            }
        };
        _ = second.PublishAsync(Tests.Name("edge.flap"), 1, new PublishOptions { Timeout = Tests.Limit }); // starts it
        var seen = await attempts.CountAsync(6);
        await refusals.CountAsync(1); // they are refusals (4429), not some other failure

        // Options: 100 ms doubling to 4 s, each wait at least half its step. Backing off, the 5 waits between these 6
        // attempts take at least 50 + 100 + 200 + 400 + 800 ms; starting over each time, 5 x 100 ms at most.
        var took = seen[5] - seen[0];
        Assert.True(took >= TimeSpan.FromMilliseconds(1200), $"6 attempts within {took.TotalMilliseconds:0} ms ({string.Join(", ", seen.Select(t => $"{(t - seen[0]).TotalMilliseconds:0}"))}): the backoff starts over at every 4429");
        Assert.NotEqual(ConnectionState.Closed, second.State);
    }

    [Fact]
    public async Task A_subscription_confirmed_on_a_socket_closed_with_1009_for_another_frame_resubscribes_instead_of_failing()
    {
        await using var client = await Tests.ConnectAsync(_hub.Address, ClientTransport.WebSocket);
        var topic = Tests.Name("edge.big");
        await client.PublishAsync(topic, "before");
        var inbox = new Inbox<Message>();

        // The oversized publish goes out first; the subscribe frame follows it on the same socket, so the hub closes
        // with 1009 before it reads the subscribe: that subscribe got no answer and must go again on the next socket.
        var big = client.PublishAsync(Tests.Name("edge.other"), Payload.Bytes(new byte[2 * 1024 * 1024]));
        await using var subscription = client.Subscribe(topic, inbox.Handle, new SubscribeOptions { After = "0" });

        Assert.Equal("message-too-large", (await Assert.ThrowsAsync<SwitchboardException>(() => big.WaitAsync(Tests.Limit))).Code);
        await subscription.Ready.WaitAsync(Tests.Limit);
        await client.PublishAsync(topic, "after");
        Assert.Equal(["before", "after"], (await inbox.CountAsync(2)).Select(m => m.GetPayload<string>()));
        Assert.False(subscription.Completion.IsCompleted);
    }

    [Fact]
    public async Task A_client_disposed_while_its_transport_opens_stays_closed_and_lets_that_connection_go()
    {
        await using var relay = new TcpRelay(_hub.Address);
        var hungUp = new Inbox<int>();
        relay.ClientClosed += () => hungUp.Add(1);
        var asked = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        // No credential this time (an anonymous hub), but the provider is asked once the socket is open and takes its time.
        var client = new SwitchboardClient(Tests.Options(relay.Url, ClientTransport.WebSocket, o => o.AccessTokenProvider = async _ =>
        {
            asked.TrySetResult();
            await gate.Task;
            return null;
        }));
        var states = new Inbox<ConnectionState>();
        client.StateChanged += (_, e) => states.Add(e.State);
        var starting = client.StartAsync();
        await asked.Task.WaitAsync(Tests.Limit);

        await client.DisposeAsync();
        gate.SetResult();
        var outcome = await Record.ExceptionAsync(() => starting.WaitAsync(Tests.Limit));

        Assert.Equal(ClientErrorCodes.Closed, Assert.IsType<SwitchboardException>(outcome).Code);
        Assert.Equal(ConnectionState.Closed, client.State);
        Assert.Equal(ConnectionState.Closed, states.Items[^1]);
        await hungUp.CountAsync(1); // the socket it opened is closed, not left open with nobody to use it
    }
}
