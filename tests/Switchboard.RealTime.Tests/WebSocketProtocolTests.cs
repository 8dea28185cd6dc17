using System.Net;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using Google.Protobuf;
using Switchboard.Protocol.V1;

namespace Switchboard.RealTime.Tests;

/// <summary>The multiplexed and plain WebSocket protocols: answers, errors, close codes, resume, and bad input.</summary>
public sealed class WebSocketProtocolTests
{
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(30);

    private static async Task<ClientWebSocket> ConnectAsync(TestHub hub, string? subProtocol = "switchboard.v1.json", string path = "/v1/ws")
    {
        var socket = new ClientWebSocket();
        if (subProtocol is not null)
        {
            socket.Options.AddSubProtocol(subProtocol);
        }
        await socket.ConnectAsync(hub.WebSocketAddress(path), CancellationToken.None);
        return socket;
    }

    private static Task SendAsync(ClientWebSocket socket, string json)
        => socket.SendAsync(Encoding.UTF8.GetBytes(json), WebSocketMessageType.Text, true, CancellationToken.None);

    private static async Task<JsonElement> NextAsync(ClientWebSocket socket, Func<JsonElement, bool>? until = null)
    {
        using var timeout = new CancellationTokenSource(Limit);
        while (true)
        {
            var frame = JsonDocument.Parse(await WebSockets.ReceiveAsync(socket, timeout.Token)).RootElement.Clone();
            if (until is null || until(frame))
            {
                return frame;
            }
        }
    }

    private static async Task<WebSocketClosedException> ClosedAsync(ClientWebSocket socket)
    {
        using var timeout = new CancellationTokenSource(Limit);
        return await Assert.ThrowsAsync<WebSocketClosedException>(async () =>
        {
            while (true)
            {
                await WebSockets.ReceiveAsync(socket, timeout.Token);
            }
        });
    }

    [Fact]
    public async Task Answers_echo_the_frame_id_and_a_bad_frame_leaves_the_connection_and_its_subscriptions_alone()
    {
        await using var hub = await TestHub.StartAsync();
        using var socket = await ConnectAsync(hub);
        await SendAsync(socket, """{"id":"good","subscribe":{"topics":["alerts"]}}""");
        Assert.Equal("good", (await NextAsync(socket)).GetProperty("id").GetString());

        await SendAsync(socket, "{not json");
        var error = (await NextAsync(socket)).GetProperty("error");
        Assert.Equal("invalid-json", error.GetProperty("code").GetString());
        await SendAsync(socket, """{"id":"bad-name","subscribe":{"topics":["alerts..x"]}}""");
        var refused = await NextAsync(socket);
        Assert.Equal("bad-name", refused.GetProperty("id").GetString());
        Assert.Equal("invalid-topic-name", refused.GetProperty("error").GetProperty("code").GetString());
        await SendAsync(socket, """{"id":"what","teleport":{}}""");
        var unknown = await NextAsync(socket);
        Assert.Equal("what", unknown.GetProperty("id").GetString());
        Assert.Contains("Unknown frame kind", unknown.GetProperty("error").GetProperty("message").GetString(), StringComparison.Ordinal);
        await SendAsync(socket, """{"id":"q","receive":{"queue":"jobs"}}""");
        var noQueue = await NextAsync(socket);
        Assert.Equal(("q", "queue-not-found"), (noQueue.GetProperty("id").GetString(), noQueue.GetProperty("error").GetProperty("code").GetString()));

        // The first subscription still works.
        await SendAsync(socket, """{"id":"p","publish":{"topic":"alerts","payload":{"level":"red"}}}""");
        var message = await NextAsync(socket, f => f.TryGetProperty("message", out _));
        Assert.Equal("red", message.GetProperty("message").GetProperty("payload").GetProperty("level").GetString());
        await SendAsync(socket, """{"id":"pi","ping":{}}""");
        Assert.True((await NextAsync(socket, f => f.TryGetProperty("pong", out _))).GetProperty("id").GetString() == "pi");
    }

    [Fact]
    public async Task A_frame_sent_in_small_fragments_is_reassembled()
    {
        await using var hub = await TestHub.StartAsync();
        using var socket = await ConnectAsync(hub);
        var frame = Encoding.UTF8.GetBytes("""{"id":"frag","publish":{"topic":"chunks","payload":{"text":"assembled from seven-byte pieces, é and 😀 split across them"}}}""");
        for (var i = 0; i < frame.Length; i += 7)
        {
            var end = Math.Min(i + 7, frame.Length);
            await socket.SendAsync(frame.AsMemory(i, end - i), WebSocketMessageType.Text, endOfMessage: end == frame.Length, CancellationToken.None);
        }
        var answer = await NextAsync(socket);
        Assert.Equal(1, answer.GetProperty("published").GetProperty("offset").GetInt64());
        using var stored = JsonDocument.Parse(await hub.Http.GetStringAsync("/v1/topics/chunks/messages/1"));
        Assert.Equal("assembled from seven-byte pieces, é and 😀 split across them", stored.RootElement.GetProperty("payload").GetProperty("text").GetString());
    }

    [Fact]
    public async Task An_oversized_frame_is_closed_with_1009_and_nothing_is_published()
    {
        await using var hub = await TestHub.StartAsync(settings: new Dictionary<string, string?> { ["Switchboard:MaxMessageBytes"] = "1024" });
        using var socket = await ConnectAsync(hub);
        var big = "{\"id\":\"big\",\"publish\":{\"topic\":\"big\",\"payload\":\"" + new string('a', 200_000) + "\"}}";
        await SendAsync(socket, big);
        var closed = await ClosedAsync(socket);
        Assert.Equal(WebSocketCloseStatus.MessageTooBig, closed.Status);
        Assert.Equal(HttpStatusCode.NotFound, (await hub.Http.GetAsync("/v1/topics/big")).StatusCode);
    }

    [Fact]
    public async Task A_message_over_the_size_limit_inside_a_frame_gets_an_error_frame()
    {
        await using var hub = await TestHub.StartAsync(settings: new Dictionary<string, string?> { ["Switchboard:MaxMessageBytes"] = "1024" });
        using var socket = await ConnectAsync(hub);
        await SendAsync(socket, "{\"id\":\"over\",\"publish\":{\"topic\":\"big\",\"payload\":\"" + new string('a', 2000) + "\"}}");
        var answer = await NextAsync(socket);
        Assert.Equal("over", answer.GetProperty("id").GetString());
        Assert.Equal("message-too-large", answer.GetProperty("error").GetProperty("code").GetString());
        Assert.Equal(413, answer.GetProperty("error").GetProperty("status").GetInt32());
    }

    [Fact]
    public async Task Invalid_UTF8_in_a_text_frame_is_closed_with_1007()
    {
        await using var hub = await TestHub.StartAsync();
        using var socket = await ConnectAsync(hub);
        await socket.SendAsync(new byte[] { (byte)'{', 0xff, 0xfe, (byte)'}' }, WebSocketMessageType.Text, true, CancellationToken.None);
        var closed = await ClosedAsync(socket);
        Assert.Equal(WebSocketCloseStatus.InvalidPayloadData, closed.Status);
        Assert.Contains("not valid UTF-8", closed.Description, StringComparison.Ordinal); // the WebSocket's own close, with the hub's reason
    }

    [Fact]
    public async Task A_binary_frame_on_the_JSON_subprotocol_is_closed_with_1003()
    {
        await using var hub = await TestHub.StartAsync();
        using var socket = await ConnectAsync(hub);
        await socket.SendAsync(new byte[] { 1, 2, 3 }, WebSocketMessageType.Binary, true, CancellationToken.None);
        var closed = await ClosedAsync(socket);
        Assert.Equal(WebSocketCloseStatus.InvalidMessageType, closed.Status);
        Assert.Contains("text frames", closed.Description, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_protobuf_subprotocol_speaks_ClientFrame_and_ServerFrame()
    {
        await using var hub = await TestHub.StartAsync();
        using var socket = await ConnectAsync(hub, "switchboard.v1.proto");
        Assert.Equal("switchboard.v1.proto", socket.SubProtocol);
        async Task<ServerFrame> Next()
        {
            using var timeout = new CancellationTokenSource(Limit);
            return ServerFrame.Parser.ParseFrom(await WebSockets.ReceiveAsync(socket, timeout.Token, WebSocketMessageType.Binary));
        }
        await socket.SendAsync(new ClientFrame { Id = "s", Subscribe = new SubscribeRequest { Topics = { "bin.>" } } }.ToByteArray(), WebSocketMessageType.Binary, true, CancellationToken.None);
        Assert.Equal(ServerFrame.KindOneofCase.Subscribed, (await Next()).KindCase);
        var publish = new ClientFrame { Id = "p", Publish = new PublishRequest { Topic = "bin.raw", Payload = ByteString.CopyFrom(0, 1, 2, 255), ContentType = "application/octet-stream", Headers = { ["h"] = "v" } } };
        await socket.SendAsync(publish.ToByteArray(), WebSocketMessageType.Binary, true, CancellationToken.None);
        var frames = new[] { await Next(), await Next() };
        var published = Assert.Single(frames, f => f.KindCase == ServerFrame.KindOneofCase.Published);
        Assert.Equal("p", published.Id);
        Assert.Equal(1, published.Published.Offset);
        var message = Assert.Single(frames, f => f.KindCase == ServerFrame.KindOneofCase.Message).Message;
        Assert.Equal(new byte[] { 0, 1, 2, 255 }, message.Payload.ToByteArray());
        Assert.Equal("v", message.Headers["h"]);
        Assert.Equal("application/octet-stream", message.ContentType);

        await socket.SendAsync(new byte[] { 0xff, 0xff, 0xff }, WebSocketMessageType.Binary, true, CancellationToken.None);
        var error = await Next();
        Assert.Equal(ServerFrame.KindOneofCase.Error, error.KindCase);
        Assert.Equal("invalid-request", error.Error.Code);
    }

    [Fact]
    public async Task A_subscription_from_a_position_older_than_retention_is_told_what_it_missed()
    {
        await using var hub = await TestHub.StartAsync();
        await hub.Http.PutAsync("/v1/topics/short", new StringContent("""{"retention":{"maxMessages":3}}""", Encoding.UTF8, "application/json"));
        for (var i = 1; i <= 10; i++)
        {
            await hub.Http.PostAsync("/v1/topics/short/messages", new StringContent($"{{\"payload\":{i}}}", Encoding.UTF8, "application/json"));
        }
        using var socket = await ConnectAsync(hub);
        await SendAsync(socket, """{"id":"s","subscribe":{"topics":["short"],"afterOffset":2}}""");
        var notice = (await NextAsync(socket, f => f.TryGetProperty("notice", out _))).GetProperty("notice");
        Assert.Equal("missed", notice.GetProperty("kind").GetString());
        Assert.Equal(3, notice.GetProperty("fromOffset").GetInt64());
        Assert.Equal(7, notice.GetProperty("toOffset").GetInt64());
        Assert.Equal("s", notice.GetProperty("subscriptionId").GetString());
        var offsets = new List<long>();
        while (offsets.Count < 3)
        {
            offsets.Add((await NextAsync(socket, f => f.TryGetProperty("message", out _))).GetProperty("message").GetProperty("offset").GetInt64());
        }
        Assert.Equal([8L, 9L, 10L], offsets);
    }

    [Fact]
    public async Task A_pattern_resumes_each_topic_from_its_own_position_given_as_a_multi_topic_token()
    {
        await using var hub = await TestHub.StartAsync();
        foreach (var (topic, count) in new[] { ("wild.a", 3), ("wild.b", 2) })
        {
            for (var i = 1; i <= count; i++)
            {
                await hub.Http.PostAsync($"/v1/topics/{topic}/messages", new StringContent($"{{\"payload\":{i}}}", Encoding.UTF8, "application/json"));
            }
        }
        var epoch = JsonDocument.Parse(await hub.Http.GetStringAsync("/v1/topics/wild.a")).RootElement.GetProperty("epoch").GetString();
        // The form of a multi-topic SSE stream's id: wild.a after its offset 2; wild.b is not listed, so from its start.
        var token = "p1." + System.Buffers.Text.Base64Url.EncodeToString(Encoding.UTF8.GetBytes($"wild.a {epoch}:2\n"));
        using var socket = await ConnectAsync(hub);
        await SendAsync(socket, $$$"""{"id":"s","subscribe":{"topics":["wild.*"],"after":"{{{token}}}"}}""");
        var seen = new List<string>();
        while (seen.Count < 3)
        {
            var message = (await NextAsync(socket, f => f.TryGetProperty("message", out _))).GetProperty("message");
            seen.Add($"{message.GetProperty("topic").GetString()}:{message.GetProperty("offset").GetInt64()}");
        }
        Assert.Equal(["wild.a:3", "wild.b:1", "wild.b:2"], seen.Order(StringComparer.Ordinal));

        await SendAsync(socket, """{"id":"bad","subscribe":{"topics":["wild.*"],"after":"p1.not base64!"}}""");
        var error = (await NextAsync(socket, f => f.TryGetProperty("error", out _))).GetProperty("error");
        Assert.Equal("invalid-position", error.GetProperty("code").GetString());
    }

    [Fact]
    public async Task Resuming_into_a_recreated_topic_is_announced_and_starts_from_its_first_message()
    {
        await using var hub = await TestHub.StartAsync();
        await hub.Http.PostAsync("/v1/topics/reborn/messages", new StringContent("""{"payload":"old"}""", Encoding.UTF8, "application/json"));
        var oldEpoch = JsonDocument.Parse(await hub.Http.GetStringAsync("/v1/topics/reborn")).RootElement.GetProperty("epoch").GetString();
        Assert.Equal(HttpStatusCode.NoContent, (await hub.Http.DeleteAsync("/v1/topics/reborn")).StatusCode);
        await hub.Http.PostAsync("/v1/topics/reborn/messages", new StringContent("""{"payload":"new"}""", Encoding.UTF8, "application/json"));

        using var socket = await ConnectAsync(hub);
        await SendAsync(socket, $$$"""{"id":"s","subscribe":{"topics":["reborn"],"after":"{{{oldEpoch}}}:1"}}""");
        var notice = (await NextAsync(socket, f => f.TryGetProperty("notice", out _))).GetProperty("notice");
        Assert.Equal("epoch-changed", notice.GetProperty("kind").GetString());
        Assert.Equal(oldEpoch, notice.GetProperty("previousEpoch").GetString());
        var message = (await NextAsync(socket, f => f.TryGetProperty("message", out _))).GetProperty("message");
        Assert.Equal(1, message.GetProperty("offset").GetInt64());
        Assert.Equal("new", message.GetProperty("payload").GetString());
        Assert.NotEqual(oldEpoch, message.GetProperty("epoch").GetString());
    }

    [Fact]
    public async Task Plain_mode_publishes_each_frame_and_delivers_each_payload_as_a_frame()
    {
        await using var hub = await TestHub.StartAsync();
        using var socket = await ConnectAsync(hub, subProtocol: null, path: "/v1/topics/plain.chat/ws");
        await SendAsync(socket, "hello there");
        await SendAsync(socket, """{"n":2}""");
        using var timeout = new CancellationTokenSource(Limit);
        Assert.Equal("hello there", Encoding.UTF8.GetString(await WebSockets.ReceiveAsync(socket, timeout.Token)));
        Assert.Equal("""{"n":2}""", Encoding.UTF8.GetString(await WebSockets.ReceiveAsync(socket, timeout.Token)));
        using var stored = JsonDocument.Parse(await hub.Http.GetStringAsync("/v1/topics/plain.chat/messages?after=0"));
        var messages = stored.RootElement.GetProperty("messages");
        Assert.StartsWith("text/plain", messages[0].GetProperty("contentType").GetString(), StringComparison.Ordinal);
        Assert.Equal("application/json", messages[1].GetProperty("contentType").GetString());
    }

    [Fact]
    public async Task A_plain_frame_the_hub_refuses_closes_the_socket_with_the_reason()
    {
        await using var hub = await TestHub.StartAsync(settings: new Dictionary<string, string?> { ["Switchboard:MaxMessageBytes"] = "100" });
        using var socket = await ConnectAsync(hub, subProtocol: null, path: "/v1/topics/plain.limit/ws");
        await SendAsync(socket, new string('z', 500));
        var closed = await ClosedAsync(socket);
        Assert.Equal(WebSocketCloseStatus.MessageTooBig, closed.Status);
        Assert.Contains("limit", closed.Description, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Shutting_down_closes_WebSockets_with_1001_and_ends_SSE_streams_with_a_final_event()
    {
        var hub = await TestHub.StartAsync(settings: new Dictionary<string, string?> { ["Switchboard:Shutdown:DrainDelay"] = "1s" });
        try
        {
            using var socket = await ConnectAsync(hub);
            await SendAsync(socket, """{"id":"s","subscribe":{"topics":["bye"]}}""");
            await NextAsync(socket);
            using var response = await hub.Http.GetAsync("/v1/topics/bye/events", HttpCompletionOption.ResponseHeadersRead);
            using var reader = new StreamReader(await response.Content.ReadAsStreamAsync());

            var stopping = hub.StopAsync();
            var closed = await ClosedAsync(socket);
            Assert.Equal(WebSocketCloseStatus.EndpointUnavailable, closed.Status);
            SseEvent? last = null;
            using var timeout = new CancellationTokenSource(Limit);
            await foreach (var sse in SseParser.ReadAsync(reader, timeout.Token))
            {
                last = sse;
            }
            Assert.Equal("shutdown", last?.Event);
            await stopping.WaitAsync(Limit);
        }
        finally
        {
            await hub.DisposeAsync();
        }
    }

    [Fact]
    public async Task Queue_frames_consume_with_a_credit_window_and_carry_request_reply()
    {
        await using var hub = await TestHub.StartAsync(sqlite: true);
        using var worker = await ConnectAsync(hub);
        using var client = await ConnectAsync(hub, "switchboard.v1.json");
        await SendAsync(client, """{"id":"s1","send":{"queue":"ws.jobs","payload":{"n":1}}}""");
        Assert.Equal(1, (await NextAsync(client)).GetProperty("sent").GetProperty("id").GetInt64());
        await SendAsync(client, """{"id":"s2","send":{"queue":"ws.jobs","payload":{"n":2},"delaySeconds":0}}""");
        Assert.Equal(2, (await NextAsync(client)).GetProperty("sent").GetProperty("id").GetInt64());

        // Credit 1: the second message comes only after the first is acked.
        await SendAsync(worker, """{"id":"c","receive":{"queue":"ws.jobs","max":1,"leaseSeconds":60}}""");
        var first = await NextAsync(worker);
        Assert.Equal(("c", "ws.jobs", 1), (first.GetProperty("id").GetString(), first.GetProperty("queueMessage").GetProperty("queue").GetString(), first.GetProperty("queueMessage").GetProperty("payload").GetProperty("n").GetInt32()));
        await SendAsync(worker, """{"id":"x","ping":{}}""");
        Assert.True((await NextAsync(worker)).TryGetProperty("pong", out _)); // nothing else arrived meanwhile
        var lease = first.GetProperty("queueMessage").GetProperty("lease").GetString();
        await SendAsync(worker, "{\"id\":\"bad\",\"ack\":{\"queue\":\"ws.jobs\",\"id\":1,\"lease\":\"wrong\"}}");
        Assert.Equal("lease-mismatch", (await NextAsync(worker)).GetProperty("error").GetProperty("code").GetString());
        await SendAsync(worker, $"{{\"id\":\"a1\",\"ack\":{{\"queue\":\"ws.jobs\",\"id\":1,\"lease\":\"{lease}\"}}}}");
        var frames = new[] { await NextAsync(worker), await NextAsync(worker) };
        Assert.Contains(frames, f => f.TryGetProperty("lease", out var l) && l.GetProperty("id").GetInt64() == 1);
        var second = Assert.Single(frames, f => f.TryGetProperty("queueMessage", out _));
        Assert.Equal(2, second.GetProperty("queueMessage").GetProperty("payload").GetProperty("n").GetInt32());

        // Request/reply between two WebSocket clients.
        await hub.Http.PutAsync("/v1/queues/ws.rpc", new StringContent("{}", System.Text.Encoding.UTF8, "application/json"));
        await SendAsync(worker, """{"id":"c2","receive":{"queue":"ws.rpc","max":5}}""");
        await SendAsync(client, """{"id":"r0","request":{"queue":"ws.rpc","payload":{"q":"time?"},"timeoutSeconds":99999}}""");
        var tooLong = (await NextAsync(client, f => f.TryGetProperty("error", out _))).GetProperty("error");
        Assert.Equal("invalid-request", tooLong.GetProperty("code").GetString());
        Assert.Contains("request.timeoutSeconds is", tooLong.GetProperty("message").GetString(), StringComparison.Ordinal);
        await SendAsync(client, """{"id":"r1","request":{"queue":"ws.rpc","payload":{"q":"time?"},"timeoutSeconds":20}}""");
        var request = await NextAsync(worker, f => f.TryGetProperty("queueMessage", out var m) && m.GetProperty("queue").GetString() == "ws.rpc");
        var replyTo = request.GetProperty("queueMessage").GetProperty("replyTo").GetString();
        var requestLease = request.GetProperty("queueMessage").GetProperty("lease").GetString();
        await SendAsync(worker, $"{{\"id\":\"re\",\"reply\":{{\"requestId\":\"{replyTo}\",\"lease\":\"{requestLease}\",\"payload\":{{\"a\":\"noon\"}}}}}}");
        Assert.Equal(replyTo, (await NextAsync(worker, f => f.TryGetProperty("responded", out _))).GetProperty("responded").GetProperty("requestId").GetString());
        var reply = await NextAsync(client, f => f.TryGetProperty("reply", out _));
        Assert.Equal(("r1", "noon"), (reply.GetProperty("id").GetString(), reply.GetProperty("reply").GetProperty("payload").GetProperty("a").GetString()));
        var stats = (await JsonDocument.ParseAsync(await hub.Http.GetStreamAsync("/v1/queues/ws.rpc"))).RootElement.GetProperty("stats");
        Assert.Equal((0, 0), (stats.GetProperty("ready").GetInt32(), stats.GetProperty("leased").GetInt32())); // the reply's lease acked the request
    }
}
