using System.Diagnostics;
using System.Text.Json;

namespace Switchboard.Hardening.Tests;

/// <summary>
/// Clients that send slowly, send nothing, or never answer do not pin connections: Kestrel's limits (set on purpose,
/// Switchboard:Limits:*), the h2c sniffer's own timeouts, WebSocket and HTTP/2 keep-alive pings.
/// </summary>
public sealed class SlowClientTests
{
    // Kestrel checks its timeouts once a second; on a busy 2-core machine a cut may come a few seconds late.
    private static readonly TimeSpan Slack = TimeSpan.FromSeconds(15);

    public static TheoryData<string> Preambles => new()
    {
        "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: slowloris\r\nAccept: */*\r\n\r\n",
        "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", // a gRPC client's preface, held by the h2c sniffer before Kestrel sees it
    };

    [Theory]
    [MemberData(nameof(Preambles))]
    public async Task A_client_that_sends_its_request_a_byte_a_second_is_cut_after_the_request_headers_timeout(string preamble)
    {
        await using var hub = await TestHub.StartAsync(settings: new Dictionary<string, string?> { ["Switchboard:Limits:RequestHeadersTimeout"] = "2s" });
        await using var raw = await RawConnection.OpenAsync(hub.Address);
        var clock = Stopwatch.StartNew();

        var closed = raw.ClosedWithinAsync(TimeSpan.FromSeconds(2) + Slack);
        var sent = 0;
        // One byte a second until the hub hangs up; the whole preamble would take 24 s or more.
        while (sent < preamble.Length && !closed.IsCompleted)
        {
            try
            {
                await raw.SendAsync(preamble.Substring(sent, 1));
            }
            catch (IOException)
            {
                break; // the hub already closed
            }
            sent++;
            await Task.WhenAny(closed, Task.Delay(TimeSpan.FromSeconds(1)));
        }

        Assert.True(await closed, $"still open after {clock.Elapsed.TotalSeconds:0.0} s and {sent} bytes");
        Assert.True(sent < preamble.Length, $"the whole preamble ({sent} bytes) went through before the cut");
    }

    [Fact]
    public async Task A_connection_that_never_sends_a_byte_is_closed_after_the_keep_alive_timeout()
    {
        await using var hub = await TestHub.StartAsync(settings: new Dictionary<string, string?> { ["Switchboard:Limits:KeepAliveTimeout"] = "2s" });
        await using var raw = await RawConnection.OpenAsync(hub.Address);

        Assert.True(await raw.ClosedWithinAsync(TimeSpan.FromSeconds(2) + Slack));
    }

    [Fact]
    public async Task A_body_sent_slower_than_the_minimum_rate_is_cut_and_nothing_is_published()
    {
        await using var hub = await TestHub.StartAsync(settings: new Dictionary<string, string?>
        {
            ["Switchboard:Limits:MinRequestBodyBytesPerSecond"] = "1000",
            ["Switchboard:Limits:MinRequestBodyGracePeriod"] = "2s",
        });
        await using var raw = await RawConnection.OpenAsync(hub.Address);
        const int Length = 4000;
        await raw.SendAsync($"POST /v1/topics/slow.body/messages HTTP/1.1\r\nHost: {hub.Address.Authority}\r\nContent-Type: application/octet-stream\r\nContent-Length: {Length}\r\n\r\n");

        // Ten bytes a second: a hundredth of the minimum. At that pace the body would take 400 s.
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(2) + Slack);
        var answer = raw.ReadResponseAsync(timeout.Token);
        var sent = 0;
        while (sent < Length && !answer.IsCompleted)
        {
            try
            {
                await raw.SendAsync(new string('x', 10));
            }
            catch (IOException)
            {
                break;
            }
            sent += 10;
            await Task.WhenAny(answer, Task.Delay(TimeSpan.FromSeconds(1)));
        }

        var response = await answer;
        Assert.Equal(408, response.Status);
        Assert.Equal("application/problem+json", response.Header("Content-Type"));
        Assert.True(sent < Length);
        Assert.True(await raw.ClosedWithinAsync(Slack), "the connection stayed open after the 408");
        Assert.Equal(System.Net.HttpStatusCode.NotFound, (await hub.Http.GetAsync("/v1/topics/slow.body")).StatusCode);
    }

    [Fact]
    public async Task An_idle_WebSocket_that_never_answers_pings_is_closed()
    {
        await using var hub = await TestHub.StartAsync(settings: new Dictionary<string, string?>
        {
            ["Switchboard:Connections:Heartbeat"] = "1s", // a ping after 1 s idle; no pong within 2 s ends it
            ["Switchboard:Connections:CloseGrace"] = "1s",
        });
        await using var raw = await RawConnection.OpenAsync(hub.Address);
        Assert.Equal(101, (await raw.UpgradeAsync("/v1/ws")).Status);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(4) + Slack);

        // The client reads (so the pings reach it) but never answers one and never sends anything.
        var pings = 0;
        try
        {
            while (true)
            {
                var frame = await raw.ReadWebSocketFrameAsync(timeout.Token);
                Assert.Equal(0x9, frame.Type); // ping: nothing else comes on an idle connection
                pings++;
            }
        }
        catch (Exception ex) when (ex is EndOfStreamException or IOException)
        {
            // closed by the hub
        }
        Assert.InRange(pings, 1, 10);
        await AssertNoConnectionsAsync(hub);
    }

    [Fact]
    public async Task A_WebSocket_message_trickled_in_fragments_is_cut_even_when_every_ping_is_answered()
    {
        await using var hub = await StartForTricklingAsync();
        await using var raw = await RawConnection.OpenAsync(hub.Address);
        Assert.Equal(101, (await raw.UpgradeAsync("/v1/topics/slow.ws/ws")).Status);

        // The reader answers every ping at once, so the keep-alive is satisfied; only the pace of the message is wrong.
        // Ten bytes a second, a hundredth of the minimum, each in its own continuation frame (a message of 200 bytes).
        var (close, sent) = await TrickleAsync(raw, answerPings: true,
            () => raw.SendWebSocketFrameAsync(0x1, "{"u8.ToArray(), fin: false),
            () => raw.SendWebSocketFrameAsync(0x0, "          "u8.ToArray(), fin: false));
        await AssertCutAsync(hub, close, sent, "slow.ws");
    }

    [Fact]
    public async Task A_single_WebSocket_frame_trickled_in_is_cut_even_when_every_ping_is_answered()
    {
        await using var hub = await StartForTricklingAsync();
        await using var raw = await RawConnection.OpenAsync(hub.Address);
        Assert.Equal(101, (await raw.UpgradeAsync("/v1/topics/slow.frame/ws")).Status);

        // One unfragmented text frame of 200 bytes (mask key 0, so the payload goes as it is), ten bytes a second. Its
        // pings cannot be answered while the frame is half sent (a pong would land inside it), but every byte counts as
        // a sign of life to the keep-alive: only the frame's pace can tell.
        var (close, sent) = await TrickleAsync(raw, answerPings: false,
            () => raw.SendAsync(new byte[] { 0x81, 0x80 | 126, 0x00, 200, 0, 0, 0, 0, (byte)'{' }).AsTask(),
            () => raw.SendAsync("          ").AsTask());
        await AssertCutAsync(hub, close, sent, "slow.frame");
    }

    private static Task<TestHub> StartForTricklingAsync() => TestHub.StartAsync(settings: new Dictionary<string, string?>
    {
        ["Switchboard:Limits:MinRequestBodyBytesPerSecond"] = "1000",
        ["Switchboard:Limits:MinRequestBodyGracePeriod"] = "2s",
        ["Switchboard:Connections:Heartbeat"] = "1s",
    });

    /// <summary>Sends the first byte of a 200-byte message, then ten bytes a second until the hub closes (bounded).</summary>
    private static async Task<(RawFrame Close, int Sent)> TrickleAsync(RawConnection raw, bool answerPings, Func<Task> first, Func<Task> next)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(2) + Slack);
        var closed = Task.Run(async () =>
        {
            while (true)
            {
                var frame = await raw.ReadWebSocketFrameAsync(timeout.Token);
                if (frame.Type == 0x9 && answerPings)
                {
                    await raw.SendWebSocketFrameAsync(0xA, frame.Payload);
                }
                else if (frame.Type == 0x8)
                {
                    return frame;
                }
            }
        });
        await first();
        var sent = 1;
        while (sent < 200 && !closed.IsCompleted)
        {
            await Task.WhenAny(closed, Task.Delay(TimeSpan.FromSeconds(1)));
            try
            {
                await next();
            }
            catch (IOException)
            {
                break;
            }
            sent += 10;
        }
        return (await closed, sent);
    }

    private static async Task AssertCutAsync(TestHub hub, RawFrame close, int sent, string topic)
    {
        Assert.Equal(4408, close.CloseCode);
        Assert.Contains("slower than", System.Text.Encoding.UTF8.GetString(close.Payload.AsSpan(2)), StringComparison.Ordinal);
        Assert.True(sent < 200);
        Assert.Equal(System.Net.HttpStatusCode.NotFound, (await hub.Http.GetAsync($"/v1/topics/{topic}/messages/1")).StatusCode);
    }

    [Fact]
    public async Task An_HTTP2_peer_on_the_cleartext_port_gets_the_stream_limit_and_is_closed_when_it_stops_answering_pings()
    {
        await using var hub = await TestHub.StartAsync(settings: new Dictionary<string, string?>
        {
            ["Switchboard:Limits:Http2:MaxStreamsPerConnection"] = "7",
            ["Switchboard:Limits:Http2:KeepAlivePingDelay"] = "1s",
            ["Switchboard:Limits:Http2:KeepAlivePingTimeout"] = "1s",
            ["Switchboard:Limits:KeepAliveTimeout"] = "5m", // so that only the pings can end it
        });
        await using var raw = await RawConnection.OpenAsync(hub.Address);
        await raw.SendAsync(RawConnection.Http2Preface);
        await raw.SendHttp2FrameAsync(RawConnection.Http2Settings, 0, []);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(2) + Slack);

        // The internal HTTP/2 endpoint answers through the sniffer's relay with its settings, the stream limit among them.
        var settings = await raw.ReadHttp2FrameAsync(timeout.Token);
        Assert.Equal(RawConnection.Http2Settings, settings.Type);
        var maxStreams = Enumerable.Range(0, settings.Payload.Length / 6)
            .Select(i => (Id: (settings.Payload[i * 6] << 8) | settings.Payload[(i * 6) + 1], Value: System.Buffers.Binary.BinaryPrimitives.ReadUInt32BigEndian(settings.Payload.AsSpan((i * 6) + 2))))
            .Single(s => s.Id == RawConnection.Http2SettingsMaxConcurrentStreams).Value;
        Assert.Equal(7u, maxStreams);
        await raw.SendHttp2FrameAsync(RawConnection.Http2Settings, 0x1, []); // ACK, then silence

        var frames = new List<int>();
        try
        {
            while (true)
            {
                frames.Add((await raw.ReadHttp2FrameAsync(timeout.Token)).Type);
            }
        }
        catch (Exception ex) when (ex is EndOfStreamException or IOException)
        {
            // closed by the hub
        }
        Assert.Contains(RawConnection.Http2Ping, frames);
        Assert.Equal(RawConnection.Http2GoAway, frames[^1]);
    }

    private static async Task AssertNoConnectionsAsync(TestHub hub)
    {
        // The hub lists a connection until its last step; poll briefly (bounded) until it is gone.
        for (var attempt = 0; attempt < 100; attempt++)
        {
            using var list = JsonDocument.Parse(await hub.Http.GetStringAsync("/v1/connections"));
            if (list.RootElement.GetProperty("connections").GetArrayLength() == 0)
            {
                return;
            }
            await Task.Delay(100);
        }
        Assert.Fail("the connection is still listed 10 s after it was closed");
    }
}
