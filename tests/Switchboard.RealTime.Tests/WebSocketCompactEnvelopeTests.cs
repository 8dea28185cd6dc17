using System.Net;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;

namespace Switchboard.RealTime.Tests;

/// <summary>
/// <c>"envelope": "compact"</c> on a JSON subscribe: each message is <c>{"m": {"t", "o", "p", …}}</c> and its topic's
/// epoch comes once, in an <c>epoch</c> notice before the topic's first message (and again only for another incarnation),
/// so a subscriber still knows every message's exact position.
/// </summary>
public sealed class WebSocketCompactEnvelopeTests
{
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task Compact_frames_hold_topic_offset_and_payload_and_the_epoch_comes_once_before_them()
    {
        await using var hub = await TestHub.StartAsync();
        var epoch = await CreateAsync(hub, "ce.one");
        using var timeout = new CancellationTokenSource(Limit);
        using var socket = await ConnectAsync(hub, timeout.Token);
        await SubscribeAsync(socket, """{"id":"s","subscribe":{"topics":["ce.one"],"envelope":"compact"}}""", timeout.Token);

        await PublishAsync(hub, "ce.one", """{"payload":{"a":1}}""");
        await PublishAsync(hub, "ce.one", """{"payload":"hello","contentType":"text/plain","key":"k1","headers":{"x":"y"}}""");
        await PublishAsync(hub, "ce.one", """{"payload":"AAEC/w==","encoding":"base64","contentType":"application/octet-stream"}""");
        await PublishAsync(hub, "ce.one", """{"payload":[true,null]}""");

        Assert.Equal($$$"""{"notice":{"kind":"epoch","topic":"ce.one","epoch":"{{{epoch}}}"}}""", await NextTextAsync(socket, timeout.Token));
        Assert.Equal("""{"m":{"t":"ce.one","o":1,"p":{"a":1}}}""", await NextTextAsync(socket, timeout.Token));
        Assert.Equal("""{"m":{"t":"ce.one","o":2,"k":"k1","h":{"x":"y"},"c":"text/plain","p":"hello"}}""", await NextTextAsync(socket, timeout.Token));
        Assert.Equal("""{"m":{"t":"ce.one","o":3,"c":"application/octet-stream","p":"AAEC/w==","enc":"base64"}}""", await NextTextAsync(socket, timeout.Token));
        Assert.Equal("""{"m":{"t":"ce.one","o":4,"p":[true,null]}}""", await NextTextAsync(socket, timeout.Token));
    }

    [Fact]
    public async Task A_wildcard_subscription_is_told_each_topics_epoch_once_before_that_topics_first_message()
    {
        await using var hub = await TestHub.StartAsync();
        var epochs = new Dictionary<string, string> { ["cw.a"] = await CreateAsync(hub, "cw.a"), ["cw.b"] = await CreateAsync(hub, "cw.b") };
        using var timeout = new CancellationTokenSource(Limit);
        using var socket = await ConnectAsync(hub, timeout.Token);
        await SubscribeAsync(socket, """{"id":"w","subscribe":{"topics":["cw.*"],"afterOffset":0,"envelope":"compact"}}""", timeout.Token);

        for (var i = 1; i <= 10; i++)
        {
            await PublishAsync(hub, i % 2 == 0 ? "cw.a" : "cw.b", $$"""{"payload":{{i}}}""");
        }

        var told = new Dictionary<string, string>();
        var announcements = 0;
        var offsets = new Dictionary<string, List<long>> { ["cw.a"] = [], ["cw.b"] = [] };
        while (offsets.Values.Sum(o => o.Count) < 10)
        {
            var frame = await NextAsync(socket, timeout.Token);
            if (frame.TryGetProperty("notice", out var notice))
            {
                Assert.Equal("epoch", notice.GetProperty("kind").GetString());
                Assert.False(notice.TryGetProperty("subscriptionId", out _)); // told to the connection
                told.Add(notice.GetProperty("topic").GetString()!, notice.GetProperty("epoch").GetString()!); // Add: twice would throw
                announcements++;
                continue;
            }
            var message = frame.GetProperty("m");
            var topic = message.GetProperty("t").GetString()!;
            Assert.True(told.ContainsKey(topic), $"a message of {topic} came before its epoch");
            offsets[topic].Add(message.GetProperty("o").GetInt64());
        }

        Assert.Equal(2, announcements);
        Assert.Equal(epochs, told);
        Assert.Equal([1L, 2, 3, 4, 5], offsets["cw.a"]);
        Assert.Equal([1L, 2, 3, 4, 5], offsets["cw.b"]);
    }

    [Fact]
    public async Task Another_incarnation_of_the_topic_is_announced_before_its_messages()
    {
        await using var hub = await TestHub.StartAsync();
        var first = await CreateAsync(hub, "ci.t");
        using var timeout = new CancellationTokenSource(Limit);
        using var socket = await ConnectAsync(hub, timeout.Token);
        await SubscribeAsync(socket, """{"id":"s","subscribe":{"topics":["ci.t"],"afterOffset":0,"envelope":"compact"}}""", timeout.Token);
        await PublishAsync(hub, "ci.t", """{"payload":1}""");
        await PublishAsync(hub, "ci.t", """{"payload":2}""");
        var seen = new List<(string Epoch, long Offset, int Payload)>();
        var epochs = new Dictionary<string, string>();
        await ReadUntilAsync(socket, seen, epochs, 2, timeout.Token);

        Assert.Equal(HttpStatusCode.NoContent, (await hub.Http.DeleteAsync("/v1/topics/ci.t", timeout.Token)).StatusCode);
        var second = await CreateAsync(hub, "ci.t");
        Assert.NotEqual(first, second);
        await PublishAsync(hub, "ci.t", """{"payload":3}""");
        await ReadUntilAsync(socket, seen, epochs, 3, timeout.Token);

        Assert.Equal([(first, 1L, 1), (first, 2L, 2), (second, 1L, 3)], seen);
    }

    [Fact]
    public async Task A_full_and_a_compact_subscription_share_a_connection_each_in_its_own_form()
    {
        await using var hub = await TestHub.StartAsync();
        var epoch = await CreateAsync(hub, "cm.t");
        using var timeout = new CancellationTokenSource(Limit);
        using var socket = await ConnectAsync(hub, timeout.Token);
        await SubscribeAsync(socket, """{"id":"full","subscribe":{"topics":["cm.t"]}}""", timeout.Token);
        await SubscribeAsync(socket, """{"id":"compact","subscribe":{"topics":["cm.t"],"envelope":"compact"}}""", timeout.Token);

        await PublishAsync(hub, "cm.t", """{"payload":"x"}""");
        var frames = new List<JsonElement>();
        while (frames.Count < 3)
        {
            frames.Add(await NextAsync(socket, timeout.Token));
        }

        var whole = Assert.Single(frames, f => f.TryGetProperty("message", out _)).GetProperty("message");
        Assert.Equal(epoch, whole.GetProperty("epoch").GetString());
        Assert.True(whole.TryGetProperty("timestamp", out _));
        var compact = Assert.Single(frames, f => f.TryGetProperty("m", out _)).GetProperty("m");
        Assert.Equal(1, compact.GetProperty("o").GetInt64());
        Assert.Equal("x", compact.GetProperty("p").GetString());
        var notice = Assert.Single(frames, f => f.TryGetProperty("notice", out _)).GetProperty("notice");
        Assert.Equal(("epoch", "cm.t", epoch), (notice.GetProperty("kind").GetString(), notice.GetProperty("topic").GetString(), notice.GetProperty("epoch").GetString()));
        Assert.True(frames.IndexOf(frames.Single(f => f.TryGetProperty("notice", out _))) < frames.IndexOf(frames.Single(f => f.TryGetProperty("m", out _))));
    }

    [Fact]
    public async Task Overlapping_compact_subscriptions_on_one_connection_are_told_a_topics_epoch_once_before_either_gets_a_message()
    {
        await using var hub = await TestHub.StartAsync();
        var epoch = await CreateAsync(hub, "co.t");
        using var timeout = new CancellationTokenSource(Limit);
        using var socket = await ConnectAsync(hub, timeout.Token);
        await SubscribeAsync(socket, """{"id":"exact","subscribe":{"topics":["co.t"],"envelope":"compact"}}""", timeout.Token);
        await SubscribeAsync(socket, """{"id":"all","subscribe":{"topics":["co.*"],"afterOffset":0,"envelope":"compact"}}""", timeout.Token);

        for (var i = 1; i <= 3; i++)
        {
            await PublishAsync(hub, "co.t", $$$"""{"payload":{{{i}}}}""");
        }
        var frames = new List<JsonElement>();
        while (frames.Count(f => f.TryGetProperty("m", out _)) < 6)
        {
            frames.Add(await NextAsync(socket, timeout.Token));
        }

        // Each message comes once per subscription; the epoch once for the connection, before the first of them.
        var notice = Assert.Single(frames, f => f.TryGetProperty("notice", out _));
        Assert.Equal(0, frames.IndexOf(notice));
        Assert.Equal(epoch, notice.GetProperty("notice").GetProperty("epoch").GetString());
        Assert.Equal([1L, 1, 2, 2, 3, 3], frames.Skip(1).Select(f => f.GetProperty("m").GetProperty("o").GetInt64()).Order());
    }

    [Theory]
    [InlineData("\"short\"", "\"short\"")]
    [InlineData("\"COMPACT\"", "\"COMPACT\"")]
    [InlineData("1", "a string")]
    public async Task An_unknown_envelope_is_refused_and_the_connections_other_subscriptions_carry_on(string value, string named)
    {
        await using var hub = await TestHub.StartAsync();
        await CreateAsync(hub, "cb.t");
        using var timeout = new CancellationTokenSource(Limit);
        using var socket = await ConnectAsync(hub, timeout.Token);
        await SubscribeAsync(socket, """{"id":"ok","subscribe":{"topics":["cb.t"],"envelope":"compact"}}""", timeout.Token);

        await SendAsync(socket, $$$"""{"id":"bad","subscribe":{"topics":["cb.t"],"envelope":{{{value}}}}}""", timeout.Token);
        var refused = await NextAsync(socket, timeout.Token);
        Assert.Equal("bad", refused.GetProperty("id").GetString());
        var error = refused.GetProperty("error");
        Assert.Equal(400, error.GetProperty("status").GetInt32());
        Assert.Contains(named, error.GetProperty("message").GetString());
        if (value.StartsWith('"'))
        {
            Assert.Contains("\"compact\"", error.GetProperty("message").GetString()); // what to use instead
        }

        await PublishAsync(hub, "cb.t", """{"payload":7}""");
        Assert.Equal("epoch", (await NextAsync(socket, timeout.Token)).GetProperty("notice").GetProperty("kind").GetString());
        Assert.Equal(7, (await NextAsync(socket, timeout.Token)).GetProperty("m").GetProperty("p").GetInt32());
    }

    private static async Task ReadUntilAsync(ClientWebSocket socket, List<(string, long, int)> seen, Dictionary<string, string> epochs, int count, CancellationToken cancellationToken)
    {
        while (seen.Count < count)
        {
            var frame = await NextAsync(socket, cancellationToken);
            if (frame.TryGetProperty("notice", out var notice))
            {
                // "epoch" announces, "epoch-changed" and "missed" also name the epoch what follows belongs to.
                if (notice.TryGetProperty("epoch", out var epoch) && notice.GetProperty("kind").GetString() != "topic-deleted")
                {
                    epochs[notice.GetProperty("topic").GetString()!] = epoch.GetString()!;
                }
                continue;
            }
            var message = frame.GetProperty("m");
            seen.Add((epochs[message.GetProperty("t").GetString()!], message.GetProperty("o").GetInt64(), message.GetProperty("p").GetInt32()));
        }
    }

    private static async Task<string> CreateAsync(TestHub hub, string topic)
    {
        Assert.Equal(HttpStatusCode.Created, (await hub.Http.PutAsync($"/v1/topics/{topic}", null)).StatusCode);
        return JsonDocument.Parse(await hub.Http.GetStringAsync($"/v1/topics/{topic}")).RootElement.GetProperty("epoch").GetString()!;
    }

    private static async Task PublishAsync(TestHub hub, string topic, string body)
    {
        using var published = await hub.Http.PostAsync($"/v1/topics/{topic}/messages", new StringContent(body, Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.Created, published.StatusCode);
    }

    private static async Task<ClientWebSocket> ConnectAsync(TestHub hub, CancellationToken cancellationToken)
    {
        var socket = new ClientWebSocket();
        socket.Options.AddSubProtocol("switchboard.v1.json");
        await socket.ConnectAsync(hub.WebSocketAddress("/v1/ws"), cancellationToken);
        return socket;
    }

    // Sends a subscribe frame and checks its answer is "subscribed".
    private static async Task SubscribeAsync(ClientWebSocket socket, string frame, CancellationToken cancellationToken)
    {
        await SendAsync(socket, frame, cancellationToken);
        Assert.True((await NextAsync(socket, cancellationToken)).TryGetProperty("subscribed", out _));
    }

    private static Task SendAsync(ClientWebSocket socket, string frame, CancellationToken cancellationToken)
        => socket.SendAsync(Encoding.UTF8.GetBytes(frame), WebSocketMessageType.Text, true, cancellationToken);

    private static async Task<string> NextTextAsync(ClientWebSocket socket, CancellationToken cancellationToken)
        => Encoding.UTF8.GetString(await WebSockets.ReceiveAsync(socket, cancellationToken, WebSocketMessageType.Text));

    private static async Task<JsonElement> NextAsync(ClientWebSocket socket, CancellationToken cancellationToken)
        => JsonDocument.Parse(await NextTextAsync(socket, cancellationToken)).RootElement.Clone();
}
