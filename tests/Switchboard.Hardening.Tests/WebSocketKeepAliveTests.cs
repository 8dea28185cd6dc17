using System.Net;
using System.Text;

namespace Switchboard.Hardening.Tests;

/// <summary>
/// The WebSocket keep-alive the hub drives from its once-a-second sweep: its pings are written between the frames of a
/// busy stream without splitting one, a subscriber that answers them keeps its connection, and every message arrives.
/// </summary>
public sealed class WebSocketKeepAliveTests
{
    private const int Count = 150;

    [Fact]
    public async Task Pings_come_between_the_frames_of_a_busy_stream_and_a_subscriber_that_answers_them_keeps_its_connection()
    {
        await using var hub = await TestHub.StartAsync(settings: new Dictionary<string, string?>
        {
            ["Switchboard:Connections:Heartbeat"] = "1s", // a ping after 1 s without a frame from the client; 2 s to answer
        });
        using (var created = await hub.Http.PutAsync("/v1/topics/keepalive.busy", null))
        {
            Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        }
        await using var raw = await RawConnection.OpenAsync(hub.Address);
        Assert.Equal(101, (await raw.UpgradeAsync("/v1/topics/keepalive.busy/ws")).Status);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));

        // The subscriber sends nothing but pongs, so pings keep coming while messages stream in.
        var pings = 0;
        var payloads = new List<string>();
        var reading = Task.Run(async () =>
        {
            while (payloads.Count < Count)
            {
                var frame = await raw.ReadWebSocketFrameAsync(timeout.Token);
                switch (frame.Type)
                {
                    case 0x9:
                        Assert.Empty(frame.Payload); // the sweep's ping (the WebSocket's own timer sends 8 bytes)
                        pings++;
                        await raw.SendWebSocketFrameAsync(0xA, frame.Payload);
                        break;
                    case 0x1:
                        Assert.Equal(0x80, frame.Flags); // whole, final frames: nothing was split or merged
                        payloads.Add(Encoding.UTF8.GetString(frame.Payload));
                        break;
                    default:
                        Assert.Fail($"a frame of type {frame.Type} came ({Encoding.UTF8.GetString(frame.Payload)})");
                        break;
                }
            }
        });
        // About 5 s of publishing (bounded in count): several heartbeat intervals while frames are being written.
        for (var i = 1; i <= Count && !reading.IsCompleted; i++)
        {
            using var published = await hub.Http.PostAsync("/v1/topics/keepalive.busy/messages", new StringContent($$$"""{"payload":{"n":{{{i}}}}}""", Encoding.UTF8, "application/json"), timeout.Token);
            Assert.Equal(HttpStatusCode.Created, published.StatusCode);
            await Task.Delay(TimeSpan.FromMilliseconds(33), timeout.Token);
        }
        await reading;

        Assert.Equal(Enumerable.Range(1, Count).Select(i => $$$"""{"n":{{{i}}}}"""), payloads);
        Assert.InRange(pings, 2, Count);
        using var connections = System.Text.Json.JsonDocument.Parse(await hub.Http.GetStringAsync("/v1/connections", timeout.Token));
        Assert.Equal(1, connections.RootElement.GetProperty("connections").GetArrayLength()); // answered pings: still connected
    }

    [Fact]
    public async Task Any_frame_from_the_client_answers_a_ping()
    {
        await using var hub = await TestHub.StartAsync(settings: new Dictionary<string, string?>
        {
            ["Switchboard:Connections:Heartbeat"] = "1s",
        });
        await using var raw = await RawConnection.OpenAsync(hub.Address);
        Assert.Equal(101, (await raw.UpgradeAsync("/v1/ws")).Status);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));

        // Never a pong: a JSON ping frame every 1.5 s — silent long enough for the hub to ping (after 1 s), soon enough
        // to answer it (within 2 s). Only if any frame counts as the answer does the connection live through this.
        var answers = 0;
        var pings = 0;
        for (var i = 0; i < 8; i++)
        {
            await raw.SendWebSocketFrameAsync(0x1, Encoding.UTF8.GetBytes($$$"""{"id":"p{{{i}}}","ping":{}}"""));
            RawFrame frame;
            do
            {
                frame = await raw.ReadWebSocketFrameAsync(timeout.Token);
                Assert.NotEqual(0x8, frame.Type); // not closed
                pings += frame.Type == 0x9 ? 1 : 0;
            }
            while (frame.Type != 0x1);
            Assert.Contains($"\"p{i}\"", Encoding.UTF8.GetString(frame.Payload));
            answers++;
            await Task.Delay(TimeSpan.FromMilliseconds(1500), timeout.Token); // the client's pace, not a wait for the hub
        }
        // The last ping may still be on its way: read until the answer to one more frame.
        await raw.SendWebSocketFrameAsync(0x1, """{"id":"last","ping":{}}"""u8.ToArray());
        RawFrame last;
        do
        {
            last = await raw.ReadWebSocketFrameAsync(timeout.Token);
            Assert.NotEqual(0x8, last.Type);
            pings += last.Type == 0x9 ? 1 : 0;
        }
        while (last.Type != 0x1);

        Assert.InRange(pings, 1, 20); // the hub did ping, and got no pong
        Assert.Equal(8, answers);
        using var connections = System.Text.Json.JsonDocument.Parse(await hub.Http.GetStringAsync("/v1/connections", timeout.Token));
        Assert.Equal(1, connections.RootElement.GetProperty("connections").GetArrayLength());
    }
}
