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
}
