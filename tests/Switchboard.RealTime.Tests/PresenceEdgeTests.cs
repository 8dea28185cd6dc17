using System.Net;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;

namespace Switchboard.RealTime.Tests;

/// <summary>Presence at its edges: one subscription reached through several patterns, and leaves when the hub drains.</summary>
public sealed class PresenceEdgeTests
{
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(30);

    private static async Task<ClientWebSocket> ConnectAsync(TestHub hub)
    {
        var socket = new ClientWebSocket();
        socket.Options.AddSubProtocol("switchboard.v1.json");
        await socket.ConnectAsync(hub.WebSocketAddress("/v1/ws"), CancellationToken.None);
        return socket;
    }

    private static async Task<JsonElement> AskAsync(ClientWebSocket socket, string json)
    {
        await socket.SendAsync(Encoding.UTF8.GetBytes(json), WebSocketMessageType.Text, true, CancellationToken.None);
        using var timeout = new CancellationTokenSource(Limit);
        return JsonDocument.Parse(await WebSockets.ReceiveAsync(socket, timeout.Token)).RootElement.Clone();
    }

    private static async Task CreateAsync(TestHub hub, string topic)
    {
        using var content = new StringContent("""{"payload":"open"}""", Encoding.UTF8, "application/json");
        using var response = await hub.Http.PostAsync($"/v1/topics/{topic}/messages", content);
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
    }

    private static async Task<JsonElement> PresenceAsync(TestHub hub, string topic)
        => JsonDocument.Parse(await hub.Http.GetStringAsync($"/v1/topics/{topic}/presence")).RootElement.Clone();

    [Fact]
    public async Task A_subscription_that_matches_a_topic_through_several_patterns_is_one_subscriber()
    {
        await using var hub = await TestHub.StartAsync();
        await CreateAsync(hub, "room.x");
        using var socket = await ConnectAsync(hub);
        Assert.True((await AskAsync(socket, """{"id":"all","subscribe":{"topics":["room.x","room.*","room.>"]}}""")).TryGetProperty("subscribed", out _));

        var presence = await PresenceAsync(hub, "room.x");
        Assert.Equal(1, presence.GetProperty("count").GetInt32());
        Assert.Single(presence.GetProperty("subscribers").EnumerateArray());
        Assert.False(presence.GetProperty("truncated").GetBoolean());

        // A second subscription of the same connection is another subscriber (presence counts subscriptions) ...
        Assert.True((await AskAsync(socket, """{"id":"one","subscribe":{"topics":["room.x"]}}""")).TryGetProperty("subscribed", out _));
        Assert.Equal(2, (await PresenceAsync(hub, "room.x")).GetProperty("count").GetInt32());

        // ... and ending the one with two wildcards leaves exactly the other.
        Assert.True((await AskAsync(socket, """{"id":"u","unsubscribe":{"subscriptionId":"all"}}""")).TryGetProperty("unsubscribed", out _));
        presence = await PresenceAsync(hub, "room.x");
        Assert.Equal(1, presence.GetProperty("count").GetInt32());
        Assert.Single(presence.GetProperty("subscribers").EnumerateArray());
    }

    [Fact]
    public async Task Streams_ended_by_a_drain_announce_their_leaves()
    {
        // The drain keeps the hub serving for 5 s after the streams are told to go: long enough to read $presence.room.d.
        var hub = await TestHub.StartAsync(settings: new Dictionary<string, string?> { ["Switchboard:Shutdown:DrainDelay"] = "5s" });
        try
        {
            await CreateAsync(hub, "room.d");
            using var socket = await ConnectAsync(hub);
            await AskAsync(socket, """{"id":"s","subscribe":{"topics":["room.d"]}}""");
            using var sse = await hub.Http.GetAsync("/v1/topics/room.d/events", HttpCompletionOption.ResponseHeadersRead);
            Assert.Equal(2, (await PresenceAsync(hub, "room.d")).GetProperty("count").GetInt32());

            var stopping = hub.StopAsync();
            using (var timeout = new CancellationTokenSource(Limit))
            {
                var closed = await Assert.ThrowsAsync<WebSocketClosedException>(async () =>
                {
                    while (true)
                    {
                        await WebSockets.ReceiveAsync(socket, timeout.Token);
                    }
                });
                Assert.Equal(WebSocketCloseStatus.EndpointUnavailable, closed.Status);
                await socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, "bye", timeout.Token); // as a client does: the hub lets go at once
            }

            // Long polls do not wait while draining, so poll: bounded by a deadline inside the drain, and by a count.
            var events = new List<string>();
            using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(4));
            for (var attempt = 0; attempt < 200 && events.Count(e => e.StartsWith("leave", StringComparison.Ordinal)) < 2; attempt++)
            {
                using var page = JsonDocument.Parse(await hub.Http.GetStringAsync("/v1/topics/$presence.room.d/messages?after=0", deadline.Token));
                events = [.. page.RootElement.GetProperty("messages").EnumerateArray()
                    .Select(m => m.GetProperty("payload").GetProperty("event").GetString() + " " + m.GetProperty("payload").GetProperty("transport").GetString())];
                await Task.Yield();
            }
            Assert.Equal(["join sse", "join ws-json", "leave sse", "leave ws-json"], events.Order(StringComparer.Ordinal));
            await stopping.WaitAsync(Limit);
        }
        finally
        {
            await hub.DisposeAsync();
        }
    }

    [Fact]
    public async Task Presence_lists_the_oldest_subscribers_first_whether_they_matched_exactly_or_by_a_wildcard()
    {
        await using var hub = await TestHub.StartAsync();
        await CreateAsync(hub, "room.o");

        // The two oldest subscribers came through wildcards (SSE), the newest names the topic (WebSocket).
        using var first = await hub.Http.GetAsync("/v1/events?topic=room.*", HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        Assert.Equal(1, (await PresenceAsync(hub, "room.o")).GetProperty("count").GetInt32());
        using var second = await hub.Http.GetAsync("/v1/events?topic=room.>", HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal(HttpStatusCode.OK, second.StatusCode);
        Assert.Equal(2, (await PresenceAsync(hub, "room.o")).GetProperty("count").GetInt32());
        using var socket = await ConnectAsync(hub);
        Assert.True((await AskAsync(socket, """{"id":"s","subscribe":{"topics":["room.o"]}}""")).TryGetProperty("subscribed", out _));

        var presence = await PresenceAsync(hub, "room.o");
        Assert.Equal(3, presence.GetProperty("count").GetInt32());
        var listed = presence.GetProperty("subscribers").EnumerateArray().ToList();
        Assert.Equal(["sse", "sse", "ws-json"], listed.Select(s => s.GetProperty("transport").GetString()));
        var since = listed.Select(s => s.GetProperty("since").GetDateTime()).ToList();
        Assert.Equal(since.Order(), since);

        // A shorter page is the start of the same order (the oldest), and says it was cut.
        for (var limit = 1; limit <= 2; limit++)
        {
            using var page = JsonDocument.Parse(await hub.Http.GetStringAsync($"/v1/topics/room.o/presence?limit={limit}"));
            var shown = page.RootElement.GetProperty("subscribers").EnumerateArray().Select(s => s.GetProperty("connectionId").GetString()).ToList();
            Assert.Equal(listed.Take(limit).Select(s => s.GetProperty("connectionId").GetString()), shown);
            Assert.True(page.RootElement.GetProperty("truncated").GetBoolean());
            Assert.Equal(3, page.RootElement.GetProperty("count").GetInt32());
        }
    }
}
