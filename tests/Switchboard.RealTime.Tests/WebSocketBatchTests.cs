using System.Net;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using Google.Protobuf;
using Switchboard.Protocol.V1;

namespace Switchboard.RealTime.Tests;

/// <summary>
/// <c>/v1/ws?batch=true</c>: the frames queued for a connection travel together in one WebSocket message — JSON frames
/// one per line, protobuf frames length-delimited — in order, none lost, none split.
/// </summary>
public sealed class WebSocketBatchTests
{
    private const int Count = 300;
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task Json_frames_arrive_one_per_line_several_per_message_in_order()
    {
        await using var hub = await TestHub.StartAsync();
        using var socket = new ClientWebSocket();
        socket.Options.AddSubProtocol("switchboard.v1.json");
        await socket.ConnectAsync(hub.WebSocketAddress("/v1/ws?batch=true"), CancellationToken.None);
        await socket.SendAsync("""{"id":"s","subscribe":{"topics":["bt"]}}"""u8.ToArray(), WebSocketMessageType.Text, true, CancellationToken.None);
        using var timeout = new CancellationTokenSource(Limit);
        Assert.Equal("s", Lines(await WebSockets.ReceiveAsync(socket, timeout.Token)).Single().GetProperty("id").GetString());

        await PublishAsync(hub, "bt");
        var offsets = new List<long>();
        var messages = 0;
        while (offsets.Count < Count)
        {
            messages++;
            foreach (var frame in Lines(await WebSockets.ReceiveAsync(socket, timeout.Token, WebSocketMessageType.Text)))
            {
                offsets.Add(frame.GetProperty("message").GetProperty("offset").GetInt64());
            }
        }

        Assert.Equal(Enumerable.Range(1, Count).Select(i => (long)i), offsets);
        Assert.True(messages < Count, $"{Count} frames came in {messages} WebSocket messages: none were batched");
    }

    [Fact]
    public async Task Protobuf_frames_arrive_length_delimited_several_per_message_in_order()
    {
        await using var hub = await TestHub.StartAsync();
        using var socket = new ClientWebSocket();
        socket.Options.AddSubProtocol("switchboard.v1.proto");
        await socket.ConnectAsync(hub.WebSocketAddress("/v1/ws?batch=true"), CancellationToken.None);
        await socket.SendAsync(new ClientFrame { Id = "s", Subscribe = new SubscribeRequest { Topics = { "bp" } } }.ToByteArray(), WebSocketMessageType.Binary, true, CancellationToken.None);
        using var timeout = new CancellationTokenSource(Limit);
        Assert.Equal("s", Delimited(await WebSockets.ReceiveAsync(socket, timeout.Token)).Single().Id);

        await PublishAsync(hub, "bp");
        var offsets = new List<long>();
        var messages = 0;
        while (offsets.Count < Count)
        {
            messages++;
            offsets.AddRange(Delimited(await WebSockets.ReceiveAsync(socket, timeout.Token, WebSocketMessageType.Binary)).Select(f => f.Message.Offset));
        }

        Assert.Equal(Enumerable.Range(1, Count).Select(i => (long)i), offsets);
        Assert.True(messages < Count, $"{Count} frames came in {messages} WebSocket messages: none were batched");
    }

    [Theory]
    [InlineData("switchboard.v1.json")]
    [InlineData("switchboard.v1.proto")]
    public async Task Frames_larger_than_a_batch_among_small_ones_arrive_whole_and_in_order(string subprotocol)
    {
        // A batch holds about 64 KiB: a 100 KB frame queued between small ones ends the message before it, travels in a
        // message of its own size, and the small ones after it start the next.
        await using var hub = await TestHub.StartAsync();
        using var socket = new ClientWebSocket();
        socket.Options.AddSubProtocol(subprotocol);
        var json = subprotocol.EndsWith("json", StringComparison.Ordinal);
        await socket.ConnectAsync(hub.WebSocketAddress("/v1/ws?batch=true"), CancellationToken.None);
        if (json)
        {
            await socket.SendAsync("""{"id":"s","subscribe":{"topics":["big"]}}"""u8.ToArray(), WebSocketMessageType.Text, true, CancellationToken.None);
        }
        else
        {
            await socket.SendAsync(new ClientFrame { Id = "s", Subscribe = new SubscribeRequest { Topics = { "big" } } }.ToByteArray(), WebSocketMessageType.Binary, true, CancellationToken.None);
        }
        using var timeout = new CancellationTokenSource(Limit);
        await WebSockets.ReceiveAsync(socket, timeout.Token); // the answer to subscribe

        const int Messages = 40;
        static string Payload(int i) => i % 8 == 3 ? new string((char)('a' + i % 26), 100_000) : "m" + i;
        var batch = "{\"messages\":[" + string.Join(",", Enumerable.Range(0, Messages).Select(i => "{\"payload\":\"" + Payload(i) + "\"}")) + "]}";
        using (var published = await hub.Http.PostAsync("/v1/topics/big/messages", new StringContent(batch, Encoding.UTF8, "application/json")))
        {
            Assert.Equal(HttpStatusCode.Created, published.StatusCode);
        }

        var received = new List<string>();
        while (received.Count < Messages)
        {
            var message = await WebSockets.ReceiveAsync(socket, timeout.Token, json ? WebSocketMessageType.Text : WebSocketMessageType.Binary);
            received.AddRange(json
                ? Lines(message).Select(f => f.GetProperty("message").GetProperty("payload").GetString()!)
                : Delimited(message).Select(f => JsonDocument.Parse(f.Message.Payload.Memory).RootElement.GetString()!));
        }
        Assert.Equal(Enumerable.Range(0, Messages).Select(Payload), received);
    }

    [Fact]
    public async Task A_batch_value_other_than_true_or_false_is_refused_before_the_upgrade()
    {
        await using var hub = await TestHub.StartAsync();
        using var socket = new ClientWebSocket();
        socket.Options.CollectHttpResponseDetails = true;
        await Assert.ThrowsAsync<WebSocketException>(() => socket.ConnectAsync(hub.WebSocketAddress("/v1/ws?batch=yes"), CancellationToken.None));
        Assert.Equal(HttpStatusCode.BadRequest, socket.HttpStatusCode);
    }

    // One batch publish: its messages are fanned out together, so they queue up for the connection at once.
    private static async Task PublishAsync(TestHub hub, string topic)
    {
        var batch = "{\"messages\":[" + string.Join(",", Enumerable.Range(1, Count).Select(i => "{\"payload\":" + i + "}")) + "]}";
        using var published = await hub.Http.PostAsync($"/v1/topics/{topic}/messages", new StringContent(batch, Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.Created, published.StatusCode);
    }

    private static List<JsonElement> Lines(byte[] message)
        => [.. Encoding.UTF8.GetString(message).Split('\n').Select(line => JsonDocument.Parse(line).RootElement.Clone())];

    private static List<ServerFrame> Delimited(byte[] message)
    {
        var frames = new List<ServerFrame>();
        var input = new CodedInputStream(message);
        while (!input.IsAtEnd)
        {
            var frame = new ServerFrame();
            input.ReadMessage(frame);
            frames.Add(frame);
        }
        return frames;
    }
}
