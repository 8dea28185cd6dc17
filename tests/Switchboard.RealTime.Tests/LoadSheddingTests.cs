using System.Net;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using Grpc.Core;
using Grpc.Net.Client;
using Switchboard.Protocol.V1;

namespace Switchboard.RealTime.Tests;

/// <summary>
/// Rate limits per client (429 + Retry-After, an error frame, RESOURCE_EXHAUSTED) and load shedding (503 overloaded
/// while consumers are still served), over real sockets.
/// </summary>
public sealed class LoadSheddingTests
{
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task A_client_over_its_publish_rate_gets_429_with_Retry_After_on_REST_an_error_frame_on_WebSocket_and_RESOURCE_EXHAUSTED_on_gRPC()
    {
        await using var hub = await TestHub.StartAsync(settings: new Dictionary<string, string?> { ["Switchboard:RateLimits:PublishPerSecondPerClient"] = "5" });

        // A batch of five takes the whole second's budget; the next message is refused until the bucket refills.
        using var batch = await hub.Http.PostAsync("/v1/topics/rated/messages", Json("""{"messages":[{"payload":1},{"payload":2},{"payload":3},{"payload":4},{"payload":5}]}"""));
        Assert.Equal(HttpStatusCode.Created, batch.StatusCode);
        using var refused = await hub.Http.PostAsync("/v1/topics/rated/messages", Json("""{"payload":6}"""));
        Assert.Equal(HttpStatusCode.TooManyRequests, refused.StatusCode);
        Assert.Equal("application/problem+json", refused.Content.Headers.ContentType?.MediaType);
        var problem = JsonDocument.Parse(await refused.Content.ReadAsStringAsync()).RootElement;
        Assert.Equal("rate-limited", problem.GetProperty("code").GetString());
        Assert.Contains("PublishPerSecondPerClient", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
        Assert.True(refused.Headers.RetryAfter?.Delta >= TimeSpan.FromSeconds(1));

        using var socket = new ClientWebSocket();
        socket.Options.AddSubProtocol("switchboard.v1.json");
        await socket.ConnectAsync(hub.WebSocketAddress("/v1/ws"), CancellationToken.None);
        for (var i = 0; i < 20; i++)
        {
            await socket.SendAsync(Encoding.UTF8.GetBytes("{\"id\":\"" + i + "\",\"publish\":{\"topic\":\"rated.ws\",\"payload\":" + i + "}}"), WebSocketMessageType.Text, true, CancellationToken.None);
        }
        var answers = new List<JsonElement>();
        using (var timeout = new CancellationTokenSource(Limit))
        {
            while (answers.Count < 20)
            {
                answers.Add(JsonDocument.Parse(await WebSockets.ReceiveAsync(socket, timeout.Token)).RootElement.Clone());
            }
        }
        var limited = answers.Where(a => a.TryGetProperty("error", out _)).ToList();
        Assert.NotEmpty(limited);
        Assert.All(limited, a =>
        {
            Assert.Equal("rate-limited", a.GetProperty("error").GetProperty("code").GetString());
            Assert.True(a.GetProperty("error").GetProperty("retryAfter").GetInt32() >= 1);
        });
        Assert.True(answers.Count(a => a.TryGetProperty("published", out _)) <= 6, "about one second's budget is published");
        Assert.Equal(Enumerable.Range(0, 20).Select(i => i.ToString(System.Globalization.CultureInfo.InvariantCulture)), answers.Select(a => a.GetProperty("id").GetString()));
        Assert.Equal(WebSocketState.Open, socket.State); // refused frames leave the connection alone

        using var channel = GrpcChannel.ForAddress(hub.Address);
        var client = new Protocol.V1.Switchboard.SwitchboardClient(channel);
        var status = await Assert.ThrowsAsync<RpcException>(async () =>
        {
            for (var i = 0; i < 20; i++)
            {
                await client.PublishAsync(new PublishRequest { Topic = "rated.grpc", Payload = Google.Protobuf.ByteString.CopyFromUtf8("1") });
            }
        });
        Assert.Equal(StatusCode.ResourceExhausted, status.StatusCode);
        Assert.Equal("rate-limited", status.Trailers.GetValue("switchboard-error"));
        Assert.NotNull(status.Trailers.GetValue("retry-after"));
    }

    [Fact]
    public async Task A_client_opening_connections_faster_than_its_rate_gets_429_before_the_stream_starts()
    {
        await using var hub = await TestHub.StartAsync(settings: new Dictionary<string, string?> { ["Switchboard:RateLimits:ConnectsPerSecondPerClient"] = "2" });
        using var http = new HttpClient { BaseAddress = hub.Address, Timeout = Limit };

        var streams = new List<HttpResponseMessage>();
        HttpResponseMessage? refused = null;
        for (var i = 0; i < 5 && refused is null; i++)
        {
            var response = await http.GetAsync("/v1/topics/conn/events", HttpCompletionOption.ResponseHeadersRead);
            if (response.StatusCode == HttpStatusCode.OK)
            {
                streams.Add(response);
            }
            else
            {
                refused = response;
            }
        }
        try
        {
            Assert.NotNull(refused);
            Assert.Equal(HttpStatusCode.TooManyRequests, refused.StatusCode);
            Assert.Contains("ConnectsPerSecondPerClient", await refused.Content.ReadAsStringAsync(), StringComparison.Ordinal);
            Assert.NotNull(refused.Headers.RetryAfter);
            Assert.InRange(streams.Count, 2, 3); // the bucket refills a little while the first streams open
        }
        finally
        {
            refused?.Dispose();
            streams.ForEach(s => s.Dispose());
        }
    }

    [Fact]
    public async Task Above_its_memory_high_water_mark_the_hub_sheds_new_messages_with_503_and_keeps_serving_consumers()
    {
        await using var hub = await TestHub.StartAsync(settings: new Dictionary<string, string?> { ["Switchboard:Overload:MaxMemoryBytes"] = "16777216" });
        // The whole test process counts: hold 64 MiB so it is above 16 MiB whatever else runs.
        var ballast = new byte[64 * 1024 * 1024];
        Random.Shared.NextBytes(ballast.AsSpan(0, 4096));

        using var shed = await hub.Http.PostAsync("/v1/topics/busy/messages", Json("""{"payload":1}"""));
        Assert.Equal(HttpStatusCode.ServiceUnavailable, shed.StatusCode);
        var problem = JsonDocument.Parse(await shed.Content.ReadAsStringAsync()).RootElement;
        Assert.Equal("overloaded", problem.GetProperty("code").GetString());
        Assert.Contains("MaxMemoryBytes", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
        Assert.NotNull(shed.Headers.RetryAfter);
        using var send = await hub.Http.PostAsync("/v1/queues/busy-jobs/messages", Json("""{"payload":1}"""));
        Assert.Equal(HttpStatusCode.ServiceUnavailable, send.StatusCode);

        // Consumers are served: reads, long polls, receives and subscriptions still answer.
        using var topic = await hub.Http.PutAsync("/v1/topics/busy", null);
        Assert.True(topic.IsSuccessStatusCode, $"{topic.StatusCode}");
        using var history = await hub.Http.GetAsync("/v1/topics/busy/messages?after=0");
        Assert.Equal(HttpStatusCode.OK, history.StatusCode);
        using var receive = await hub.Http.PostAsync("/v1/queues/busy-jobs/receive", null);
        Assert.True(receive.StatusCode is HttpStatusCode.OK or HttpStatusCode.NotFound, $"{receive.StatusCode}");

        using var socket = new ClientWebSocket();
        socket.Options.AddSubProtocol("switchboard.v1.json");
        await socket.ConnectAsync(hub.WebSocketAddress("/v1/ws"), CancellationToken.None);
        await socket.SendAsync(Encoding.UTF8.GetBytes("""{"id":"s","subscribe":{"topics":["busy"]}}"""), WebSocketMessageType.Text, true, CancellationToken.None);
        await socket.SendAsync(Encoding.UTF8.GetBytes("""{"id":"p","publish":{"topic":"busy","payload":1}}"""), WebSocketMessageType.Text, true, CancellationToken.None);
        using var timeout = new CancellationTokenSource(Limit);
        var subscribed = JsonDocument.Parse(await WebSockets.ReceiveAsync(socket, timeout.Token)).RootElement;
        Assert.Equal("s", subscribed.GetProperty("id").GetString());
        Assert.True(subscribed.TryGetProperty("subscribed", out _));
        var error = JsonDocument.Parse(await WebSockets.ReceiveAsync(socket, timeout.Token)).RootElement;
        Assert.Equal("overloaded", error.GetProperty("error").GetProperty("code").GetString());
        GC.KeepAlive(ballast);
    }

    private static StringContent Json(string json) => new(json, Encoding.UTF8, "application/json");
}
