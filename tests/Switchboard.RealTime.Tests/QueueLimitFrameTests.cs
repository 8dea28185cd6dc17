using System.Net;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;

namespace Switchboard.RealTime.Tests;

/// <summary>A send to a full queue over the multiplexed WebSocket: an error frame limit-reached (the table's 409 / 4409) with the limit in its details, and the connection goes on.</summary>
public sealed class QueueLimitFrameTests
{
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task A_send_to_a_full_queue_answers_a_limit_reached_error_frame_and_the_connection_goes_on()
    {
        await using var hub = await TestHub.StartAsync();
        using (var put = await hub.Http.PutAsync("/v1/queues/ws.full", new StringContent("""{"maxLength": 1}""", Encoding.UTF8, "application/json")))
        {
            Assert.Equal(HttpStatusCode.Created, put.StatusCode);
        }
        using var stop = new CancellationTokenSource(Limit);
        using var socket = new ClientWebSocket();
        socket.Options.AddSubProtocol("switchboard.v1.json");
        await socket.ConnectAsync(hub.WebSocketAddress("/v1/ws"), stop.Token);

        await SendAsync(socket, """{"id":"s1","send":{"queue":"ws.full","payload":1}}""", stop.Token);
        Assert.True((await NextAsync(socket, stop.Token)).TryGetProperty("sent", out _));
        await SendAsync(socket, """{"id":"s2","send":{"queue":"ws.full","payload":2}}""", stop.Token);
        var refused = await NextAsync(socket, stop.Token);
        Assert.Equal("s2", refused.GetProperty("id").GetString());
        var error = refused.GetProperty("error");
        Assert.Equal(("limit-reached", 409), (error.GetProperty("code").GetString(), error.GetProperty("status").GetInt32()));
        Assert.Equal(("1", "1"), (error.GetProperty("details").GetProperty("limit").GetString(), error.GetProperty("details").GetProperty("length").GetString()));
        Assert.Contains("'ws.full' is full", error.GetProperty("message").GetString(), StringComparison.Ordinal);

        await SendAsync(socket, """{"id":"p","ping":{}}""", stop.Token);
        Assert.Equal("p", (await NextAsync(socket, stop.Token)).GetProperty("id").GetString());
        Assert.Equal(WebSocketState.Open, socket.State);
    }

    private static Task SendAsync(ClientWebSocket socket, string json, CancellationToken cancellationToken)
        => socket.SendAsync(Encoding.UTF8.GetBytes(json), WebSocketMessageType.Text, true, cancellationToken);

    private static async Task<JsonElement> NextAsync(ClientWebSocket socket, CancellationToken cancellationToken)
        => JsonDocument.Parse(await WebSockets.ReceiveAsync(socket, cancellationToken)).RootElement.Clone();
}
