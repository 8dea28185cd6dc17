using System.Net.Sockets;
using System.Text;
using System.Text.Json;

namespace Switchboard.Client.Tests;

/// <summary>
/// An application that stops taking messages: the client stops reading (its buffer of
/// <see cref="SwitchboardClientOptions.SubscriptionBufferSize"/> is full), the hub's buffer fills, and the hub cuts the
/// connection as a slow consumer (WebSocket 4408). Once the application takes messages again the client learns why,
/// reconnects and resumes from what the application took: nothing lost, nothing twice. Long polling holds no connection
/// between polls: a stalled application only stops the client asking, so there is nothing to cut and nothing to resume.
/// </summary>
public sealed class SlowConsumerTests
{
    private static readonly string Pad = new('x', 4000);

    [Theory]
    [MemberData(nameof(Transports.Data), MemberType = typeof(Transports))]
    public async Task A_consumer_the_hub_cuts_for_stalling_reconnects_and_resumes_with_no_loss(ClientTransport transport)
    {
        // The hub's limits lowered so a stall is found in about a second; a long grace so the client, once it reads
        // again, gets the close that says why (rather than a reset).
        await using var hub = await TestHub.StartAsync(settings: new Dictionary<string, string?>
        {
            ["Switchboard:Connections:OutboundBufferBytes"] = "16384",
            ["Switchboard:Connections:SlowConsumerTimeout"] = "1s",
            ["Switchboard:Connections:CloseGrace"] = "1m",
            ["Switchboard:Connections:Heartbeat"] = "10m",
            ["Switchboard:Limits:MinResponseBytesPerSecond"] = "0",
            ["Logging:LogLevel:Switchboard.Server.Connections"] = "Debug", // why a connection ended, should the cut be missed
        });
        var hubLog = LogCapture.Attach(hub.Services, "Switchboard.Server.Connections");
        // Small socket buffers, so the kernel does not absorb what the hub should see piling up.
        using var handler = new SocketsHttpHandler
        {
            ConnectCallback = async (context, cancellationToken) =>
            {
                var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { ReceiveBufferSize = 4096, NoDelay = true };
                await socket.ConnectAsync(context.DnsEndPoint, cancellationToken);
                return new NetworkStream(socket, ownsSocket: true);
            },
        };
        await using var client = await Tests.ConnectAsync(hub.Address, transport, o =>
        {
            o.HttpMessageHandler = handler;
            o.SubscriptionBufferSize = 4;
            o.HeartbeatInterval = TimeSpan.Zero; // the client's own keep-alive would otherwise give up on a socket it does not read
        });
        var states = new Inbox<ConnectionStateChangedEventArgs>();
        client.StateChanged += (_, e) => states.Add(e);
        var topic = Tests.Name("slow.feed");
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var seen = new Inbox<int>();
        await using var subscription = client.Subscribe(topic, async (message, cancellationToken) =>
        {
            await release.Task.WaitAsync(cancellationToken); // the application is busy elsewhere
            seen.Add(message.Payload.Deserialize<JsonElement>().GetProperty("i").GetInt32());
        });
        await subscription.Ready.WaitAsync(Tests.Limit);

        // Publish until the hub cuts the stalled client: the kernel's socket buffers (up to 4 MiB on Linux) take their
        // share first, so how much that takes depends on the machine. At most 40 batches of 100 messages of 4 KB.
        // Long polling holds nothing at the hub between polls, so there is nothing to cut: three batches show the stall.
        var batches = transport == ClientTransport.LongPolling ? 3 : 40;
        var published = 0;
        for (var batch = 0; batch < batches && !await IsCutAsync(hub); batch++)
        {
            var messages = string.Join(",", Enumerable.Range(published + 1, 100).Select(i => "{\"payload\":{\"i\":" + i + ",\"pad\":\"" + Pad + "\"}}"));
            using var content = new StringContent("{\"messages\":[" + messages + "]}", Encoding.UTF8, "application/json");
            using var answer = await hub.Http.PostAsync($"/v1/topics/{topic}/messages", content);
            Assert.True(answer.IsSuccessStatusCode, await answer.Content.ReadAsStringAsync());
            published += 100;
        }
        var publishedAt = DateTime.UtcNow;
        if (transport == ClientTransport.LongPolling)
        {
            // The client stopped asking (its buffer is full): the hub holds no connection for it, and nothing piles up.
            Assert.Equal(0, await OpenConnectionsAsync(hub));
        }
        else
        {
            await WaitForCutAsync(hub, () => $"published {published} (by {publishedAt:HH:mm:ss.fff}); client states: {string.Join(", ", states.Items.Select(e => $"{e.State} ({e.Error?.Code})"))}; client now {client.State}; the hub's log: {string.Join(" | ", hubLog.Lines)}");
        }
        Assert.Empty(seen.Items);

        release.SetResult();

        Assert.Equal(Enumerable.Range(1, published), await seen.CountAsync(published, TimeSpan.FromSeconds(60)));
        if (transport == ClientTransport.LongPolling)
        {
            Assert.Empty(states.Items); // never cut, so never reconnecting: the polls went on where the application was
        }
        else
        {
            var lost = (await states.UntilAsync(s => s.Count > 0 && s[^1].State == ConnectionState.Connected, "the client connected again"))[0];
            Assert.Equal(ConnectionState.Reconnecting, lost.State);
            if (transport == ClientTransport.WebSocket)
            {
                Assert.Equal((4408, "slow-consumer"), (lost.Error?.CloseCode, lost.Error?.Code));
            }
        }
        // Still following: a message published now arrives once, after the others.
        using var last = new StringContent("{\"payload\":{\"i\":" + (published + 1) + "}}", Encoding.UTF8, "application/json");
        (await hub.Http.PostAsync($"/v1/topics/{topic}/messages", last)).EnsureSuccessStatusCode();
        Assert.Equal(Enumerable.Range(1, published + 1), await seen.CountAsync(published + 1));
    }

    /// <summary>
    /// The hub cut a slow consumer: a connection it lists as closing for it, or its count of cuts (gRPC's cut resets the
    /// stream at once, so the connection may be gone from the list before a poll of it sees it closing).
    /// </summary>
    private static async Task<bool> IsCutAsync(TestHub hub)
    {
        using (var connections = JsonDocument.Parse(await hub.Http.GetStringAsync("/v1/connections")))
        {
            if (connections.RootElement.GetProperty("connections").EnumerateArray()
                .Any(c => c.TryGetProperty("closing", out var closing) && closing.GetString() == "slow-consumer"))
            {
                return true;
            }
        }
        var metrics = await PrometheusScrape.ReadAsync(hub.Http);
        return new[] { "websocket", "grpc", "sse" }.Any(protocol => metrics[$"switchboard_connections_slow_consumer_cuts_total{{protocol=\"{protocol}\"}}"] >= 1);
    }

    private static async Task<int> OpenConnectionsAsync(TestHub hub)
    {
        using var connections = JsonDocument.Parse(await hub.Http.GetStringAsync("/v1/connections"));
        return connections.RootElement.GetProperty("connections").GetArrayLength();
    }

    /// <summary>Polls the hub's connection list until one is being closed as a slow consumer (no event says so; 30 s at most).</summary>
    private static async Task WaitForCutAsync(TestHub hub, Func<string> client)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (!await IsCutAsync(hub))
        {
            if (DateTime.UtcNow >= deadline)
            {
                var cuts = (await PrometheusScrape.ReadAsync(hub.Http)).Text.Split('\n').Where(l => l.Contains("slow_consumer", StringComparison.Ordinal));
                Assert.Fail($"the stalled client was not cut within 30 s (now {DateTime.UtcNow:HH:mm:ss.fff}): {await hub.Http.GetStringAsync("/v1/connections")}; "
                    + $"metrics: {string.Join(" | ", cuts)}; {client()}");
            }
            await Task.Delay(50);
        }
    }
}
