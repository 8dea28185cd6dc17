using System.Net;
using System.Net.Sockets;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;

namespace Switchboard.RealTime.Tests;

/// <summary>
/// A client that stops reading must not slow the publisher, delay the others or grow the hub's memory: it is
/// cut with its reason once its buffer has been full for the timeout, and everyone else gets every message.
/// </summary>
public sealed class SlowConsumerTests
{
    private const int Messages = 10_000;
    private static readonly string Payload = new('x', 4096 - 32);

    [Fact]
    public async Task A_client_that_stops_reading_is_cut_with_4408_and_the_others_get_everything()
    {
        // A short timeout keeps the test quick; the mechanism is the same as the default 10 s. The stalled client reads
        // again only once the others have everything, which on a loaded machine can take a minute: a long grace and no
        // pings (it cannot answer them while it does not read) keep it connected until then.
        await using var hub = await TestHub.StartAsync(settings: SlowConsumerSettings());
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(120));
        const string topic = "slow.feed";
        await hub.Http.PutAsync($"/v1/topics/{topic}", null, timeout.Token);

        // The stalled client: a tiny socket receive buffer, and it never reads.
        using var stalled = await ConnectWithSmallReceiveBufferAsync(hub, timeout.Token);
        await stalled.SendAsync(Encoding.UTF8.GetBytes("{\"id\":\"s\",\"subscribe\":{\"topics\":[\"" + topic + "\"]}}"), WebSocketMessageType.Text, true, timeout.Token);

        // Two healthy subscribers on other transports.
        var healthyWs = new WebSocketJsonReceiver(hub).ReadAsync(topic, "0", Messages, timeout.Token);
        var healthySse = new SseReceiver(hub).ReadAsync(topic, "0", Messages, timeout.Token);

        var maxBuffered = 0L;
        var publishing = Task.Run(async () =>
        {
            for (var start = 1; start <= Messages; start += 500)
            {
                var batch = string.Join(",", Enumerable.Range(start, 500).Select(i => "{\"payload\":{\"i\":" + i + ",\"pad\":\"" + Payload + "\"}}"));
                using var content = new StringContent("{\"messages\":[" + batch + "]}", Encoding.UTF8, "application/json");
                using var response = await hub.Http.PostAsync($"/v1/topics/{topic}/messages", content, timeout.Token);
                Assert.Equal(HttpStatusCode.Created, response.StatusCode);
            }
        }, timeout.Token);
        // Watch the hub's side while it publishes: no connection may buffer much more than its 1 MiB.
        var watching = Task.Run(async () =>
        {
            while (!publishing.IsCompleted)
            {
                using var connections = JsonDocument.Parse(await hub.Http.GetStringAsync("/v1/connections", timeout.Token));
                foreach (var connection in connections.RootElement.GetProperty("connections").EnumerateArray())
                {
                    maxBuffered = Math.Max(maxBuffered, connection.GetProperty("bufferedBytes").GetInt64());
                }
                await Task.Delay(50, timeout.Token);
            }
        }, timeout.Token);
        await publishing;
        await watching;

        var ws = await healthyWs;
        var sse = await healthySse;
        Assert.Equal(Enumerable.Range(1, Messages).Select(i => (long)i), ws.Select(r => r.Offset));
        Assert.Equal(Enumerable.Range(1, Messages).Select(i => (long)i), sse.Select(r => r.Offset));

        // The hub decides to cut the stalled client; once it reads again (within the grace period) it learns why,
        // after the frames already on their way.
        await WaitForCutAsync(hub, timeout.Token);
        var closed = await Assert.ThrowsAsync<WebSocketClosedException>(async () =>
        {
            while (true)
            {
                await WebSockets.ReceiveAsync(stalled, timeout.Token);
            }
        });
        Assert.Equal((WebSocketCloseStatus)4408, closed.Status);
        Assert.Contains("resume", closed.Description, StringComparison.OrdinalIgnoreCase);
        // 1 MiB buffer + one ~4 KiB frame over it at most, plus small answers.
        Assert.InRange(maxBuffered, 0, 1024 * 1024 + 64 * 1024);
        // The operator sees the cut: Prometheus's counter of slow-consumer cuts, by protocol (at least this one: other
        // tests' hubs in this process may cut their own consumers too).
        var metrics = await PrometheusScrape.ReadAsync(hub.Http, timeout.Token);
        Assert.True(metrics["switchboard_connections_slow_consumer_cuts_total{protocol=\"websocket\"}"] >= 1, metrics.Text);
    }

    [Fact]
    public async Task An_SSE_stream_that_stops_reading_ends_with_an_error_event()
    {
        await using var hub = await TestHub.StartAsync(settings: SlowConsumerSettings());
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(120));
        const string topic = "slow.sse";
        await hub.Http.PutAsync($"/v1/topics/{topic}", null, timeout.Token);

        using var handler = SmallBufferHandler();
        using var client = new HttpClient(handler) { BaseAddress = hub.Address, Timeout = Timeout.InfiniteTimeSpan };
        using var response = await client.GetAsync($"/v1/topics/{topic}/events", HttpCompletionOption.ResponseHeadersRead, timeout.Token);
        var stream = await response.Content.ReadAsStreamAsync(timeout.Token);

        for (var start = 1; start <= 4000; start += 500)
        {
            var batch = string.Join(",", Enumerable.Range(start, 500).Select(i => "{\"payload\":{\"i\":" + i + ",\"pad\":\"" + Payload + "\"}}"));
            using var content = new StringContent("{\"messages\":[" + batch + "]}", Encoding.UTF8, "application/json");
            Assert.Equal(HttpStatusCode.Created, (await hub.Http.PostAsync($"/v1/topics/{topic}/messages", content, timeout.Token)).StatusCode);
        }
        await WaitForCutAsync(hub, timeout.Token);
        using var reader = new StreamReader(stream);
        SseEvent? last = null;
        await foreach (var sse in SseParser.ReadAsync(reader, timeout.Token))
        {
            last = sse;
        }
        Assert.NotNull(last);
        Assert.Equal("error", last.Event);
        Assert.Contains("slow-consumer", last.Data, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_client_that_sends_frames_and_never_reads_the_answers_is_held_back_then_cut()
    {
        // A grace of seconds, not minutes: the client never reads, so only the reset after it ends its blocked send.
        await using var hub = await TestHub.StartAsync(settings: new Dictionary<string, string?>(SlowConsumerSettings()) { ["Switchboard:Connections:CloseGrace"] = "5s" });
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(90));
        using var stalled = await ConnectWithSmallReceiveBufferAsync(hub, timeout.Token);

        // Each ping is answered with a pong that echoes its 200-character id; the client reads none of them. A hub that
        // took frames regardless would hold every pong (it once read 259 MiB of pings in 4 s); this one takes no next
        // frame while the answers fill the connection's 1 MiB, so the client's sends back up.
        var ping = Encoding.UTF8.GetBytes("{\"id\":\"" + new string('p', 200) + "\",\"ping\":{}}");
        const long Ceiling = 256L * 1024 * 1024;
        var sent = 0L;
        var sending = Task.Run(async () =>
        {
            try
            {
                while (sent < Ceiling)
                {
                    await stalled.SendAsync(ping, WebSocketMessageType.Text, true, timeout.Token);
                    sent += ping.Length;
                }
            }
            catch (Exception ex) when (ex is WebSocketException or IOException or ObjectDisposedException)
            {
                // the hub reset the connection after its grace
            }
        }, timeout.Token);
        var maxBuffered = 0L;
        while (!sending.IsCompleted)
        {
            using var connections = JsonDocument.Parse(await hub.Http.GetStringAsync("/v1/connections", timeout.Token));
            foreach (var connection in connections.RootElement.GetProperty("connections").EnumerateArray())
            {
                maxBuffered = Math.Max(maxBuffered, connection.GetProperty("bufferedBytes").GetInt64());
            }
            await Task.WhenAny(sending, Task.Delay(50, timeout.Token));
        }
        await sending;
        Assert.False(timeout.IsCancellationRequested, "the connection was not cut");
        Assert.True(sent < 64 * 1024 * 1024, $"the hub took {sent:N0} bytes of pings while their pongs went unread");
        Assert.InRange(maxBuffered, 0, 1024 * 1024 + 64 * 1024);
        var metrics = await PrometheusScrape.ReadAsync(hub.Http, timeout.Token);
        Assert.True(metrics["switchboard_connections_slow_consumer_cuts_total{protocol=\"websocket\"}"] >= 1, metrics.Text);
    }

    // The hub's watchdog under test, alone: Kestrel's minimum response rate (which would reset an SSE stream whose
    // write waits longer than its allowance, with no final event) is off here.
    private static Dictionary<string, string?> SlowConsumerSettings() => new()
    {
        // Short, to keep the tests quick, but not so short that a healthy reader in this test process, held up for a
        // moment by the rest of the suite running beside it, is cut as well (2 s did that once in a full run).
        ["Switchboard:Connections:SlowConsumerTimeout"] = "5s",
        ["Switchboard:Connections:CloseGrace"] = "2m",
        ["Switchboard:Connections:Heartbeat"] = "10m",
        ["Switchboard:Limits:MinResponseBytesPerSecond"] = "0",
    };

    /// <summary>Polls the hub's connection list until one is being closed as a slow consumer (bounded).</summary>
    private static async Task WaitForCutAsync(TestHub hub, CancellationToken cancellationToken)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (true)
        {
            using var connections = JsonDocument.Parse(await hub.Http.GetStringAsync("/v1/connections", cancellationToken));
            if (connections.RootElement.GetProperty("connections").EnumerateArray()
                .Any(c => c.TryGetProperty("closing", out var closing) && closing.GetString() == "slow-consumer"))
            {
                return;
            }
            Assert.True(DateTime.UtcNow < deadline, "the stalled client was not cut within 30 s: " + connections.RootElement.GetRawText());
            await Task.Delay(50, cancellationToken);
        }
    }

    private static SocketsHttpHandler SmallBufferHandler() => new()
    {
        ConnectCallback = async (context, cancellationToken) =>
        {
            var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { ReceiveBufferSize = 4096, NoDelay = true };
            await socket.ConnectAsync(context.DnsEndPoint, cancellationToken);
            return new NetworkStream(socket, ownsSocket: true);
        },
    };

    private static async Task<ClientWebSocket> ConnectWithSmallReceiveBufferAsync(TestHub hub, CancellationToken cancellationToken)
    {
        var socket = new ClientWebSocket();
        socket.Options.AddSubProtocol("switchboard.v1.json");
        using var invoker = new HttpMessageInvoker(SmallBufferHandler());
        await socket.ConnectAsync(hub.WebSocketAddress("/v1/ws"), invoker, cancellationToken);
        return socket;
    }
}
