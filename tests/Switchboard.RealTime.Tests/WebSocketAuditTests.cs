using System.Diagnostics;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;

namespace Switchboard.RealTime.Tests;

/// <summary>
/// Found by auditing the WebSocket surfaces as a skeptical user: a refused credential on the upgrade, the order of
/// answers when a malformed frame follows pipelined ones, the id of a frame whose id comes after its kind, and what
/// a bad multi-topic position says to fix.
/// </summary>
public sealed class WebSocketAuditTests
{
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(30);
    private const string Key = "audit-key-0123456789abcdef";

    private static readonly Dictionary<string, string?> WithKey = new()
    {
        ["Switchboard:Auth:ApiKeys:0:Name"] = "audit",
        ["Switchboard:Auth:ApiKeys:0:Key"] = Key,
        ["Switchboard:Auth:ApiKeys:0:Scopes:0"] = "admin",
    };

    private static async Task<ClientWebSocket> ConnectAsync(TestHub hub, string path = "/v1/ws", string? authorization = null)
    {
        var socket = new ClientWebSocket();
        if (path.StartsWith("/v1/ws", StringComparison.Ordinal))
        {
            socket.Options.AddSubProtocol("switchboard.v1.json");
        }
        if (authorization is not null)
        {
            socket.Options.SetRequestHeader("Authorization", authorization);
        }
        await socket.ConnectAsync(hub.WebSocketAddress(path), CancellationToken.None);
        return socket;
    }

    private static Task SendAsync(ClientWebSocket socket, string json)
        => socket.SendAsync(Encoding.UTF8.GetBytes(json), WebSocketMessageType.Text, true, CancellationToken.None);

    private static async Task<JsonElement> NextAsync(ClientWebSocket socket)
    {
        using var timeout = new CancellationTokenSource(Limit);
        return JsonDocument.Parse(await WebSockets.ReceiveAsync(socket, timeout.Token)).RootElement.Clone();
    }

    private static async Task<WebSocketClosedException> ClosedAsync(ClientWebSocket socket, TimeSpan within)
    {
        using var timeout = new CancellationTokenSource(within);
        return await Assert.ThrowsAsync<WebSocketClosedException>(async () =>
        {
            while (true)
            {
                await WebSockets.ReceiveAsync(socket, timeout.Token);
            }
        });
    }

    [Theory]
    [InlineData("/v1/ws?access_token=not-the-key-0123456789", null)]
    [InlineData("/v1/ws", "Bearer not-the-key-0123456789")]
    [InlineData("/v1/topics/audit.t/ws?access_token=not-the-key-0123456789", null)]
    public async Task A_refused_credential_on_the_upgrade_closes_at_once_with_4401_saying_it_was_refused(string path, string? authorization)
    {
        await using var hub = await TestHub.StartAsync(settings: WithKey);
        using var socket = await ConnectAsync(hub, path, authorization);
        var clock = Stopwatch.StartNew();
        // Not after the auth timeout (10 s) with "no credentials came in time": the client sent one, and it was refused.
        var closed = await ClosedAsync(socket, TimeSpan.FromSeconds(5));
        Assert.Equal(4401, (int?)closed.Status);
        Assert.Contains("not valid", closed.Description, StringComparison.Ordinal);
        Assert.InRange(clock.Elapsed, TimeSpan.Zero, TimeSpan.FromSeconds(5));
    }

    [Fact]
    public async Task A_good_credential_on_the_upgrade_still_authenticates()
    {
        await using var hub = await TestHub.StartAsync(settings: WithKey);
        using var socket = await ConnectAsync(hub, "/v1/ws?access_token=" + Key);
        await SendAsync(socket, """{"id":"1","ping":{}}""");
        Assert.True((await NextAsync(socket)).TryGetProperty("pong", out _));
    }

    [Fact]
    public async Task A_malformed_frame_is_answered_after_the_publishes_sent_before_it()
    {
        // A client that pipelines frames without ids matches answers by order ("answers come back in the order sent").
        await using var hub = await TestHub.StartAsync(sqlite: true);
        using var socket = await ConnectAsync(hub);
        for (var i = 0; i < 5; i++)
        {
            await SendAsync(socket, $$$"""{"id":"ok{{{i}}}","publish":{"topic":"audit.order","payload":{{{i}}}}}""");
            await SendAsync(socket, $$$"""{"id":"bad{{{i}}}","publish":{"topic":"audit.order","payload":1,"frob":2}}""");
            await SendAsync(socket, $$"""{"id":"worse{{i}}","publish":""");
        }
        var ids = new List<string?>();
        for (var i = 0; i < 15; i++)
        {
            ids.Add((await NextAsync(socket)).GetProperty("id").GetString());
        }
        Assert.Equal(Enumerable.Range(0, 5).SelectMany(i => new[] { $"ok{i}", $"bad{i}", $"worse{i}" }), ids);
    }

    [Fact]
    public async Task A_refused_frame_whose_id_comes_after_its_kind_is_answered_with_that_id()
    {
        await using var hub = await TestHub.StartAsync();
        using var socket = await ConnectAsync(hub);
        await SendAsync(socket, """{"publish":{"topic":5,"payload":1},"id":"late"}""");
        var refused = await NextAsync(socket);
        Assert.Equal("late", refused.GetProperty("id").GetString());
        Assert.Equal("invalid-request", refused.GetProperty("error").GetProperty("code").GetString());
        await SendAsync(socket, """{"subscribe":{"topics":["audit.x"],"bogus":1},"id":7}""");
        Assert.Equal("7", (await NextAsync(socket)).GetProperty("id").GetString());
    }

    [Fact]
    public async Task A_bad_positions_token_in_subscribe_names_the_field_to_fix()
    {
        await using var hub = await TestHub.StartAsync();
        using var socket = await ConnectAsync(hub);
        await SendAsync(socket, """{"id":"s","subscribe":{"topics":["audit.>"],"after":"p1.zzz"}}""");
        var error = (await NextAsync(socket)).GetProperty("error");
        Assert.Equal("invalid-position", error.GetProperty("code").GetString());
        var message = error.GetProperty("message").GetString()!;
        Assert.Contains("subscribe.after", message, StringComparison.Ordinal);
        Assert.DoesNotContain("Last-Event-ID", message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_receive_with_a_bad_lease_names_the_field_as_the_frame_spells_it()
    {
        await using var hub = await TestHub.StartAsync();
        using var socket = await ConnectAsync(hub);
        await SendAsync(socket, """{"id":"r","receive":{"queue":"audit-jobs","max":1,"leaseSeconds":0}}""");
        var refused = await NextAsync(socket);
        Assert.Equal("r", refused.GetProperty("id").GetString());
        Assert.StartsWith("receive.leaseSeconds is 0s", refused.GetProperty("error").GetProperty("message").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_send_nack_or_extend_out_of_range_names_the_json_field_and_its_limits()
    {
        await using var hub = await TestHub.StartAsync();
        using var socket = await ConnectAsync(hub);
        await SendAsync(socket, """{"id":"s","send":{"queue":"audit-jobs","payload":1,"delaySeconds":691200}}""");
        await SendAsync(socket, """{"id":"n","nack":{"queue":"audit-jobs","id":"1","lease":"x","delaySeconds":2592000}}""");
        await SendAsync(socket, """{"id":"e","extend":{"queue":"audit-jobs","id":"1","lease":"x","leaseSeconds":46800}}""");
        foreach (var (id, text) in new[] { ("s", "send.delaySeconds is 8d; use 0s to 7d."), ("n", "nack.delaySeconds is 30d; use 0s to 7d."), ("e", "extend.leaseSeconds is 13h; use 1s to 12h.") })
        {
            var refused = await NextAsync(socket);
            Assert.Equal(id, refused.GetProperty("id").GetString());
            Assert.Equal("invalid-request", refused.GetProperty("error").GetProperty("code").GetString());
            Assert.Equal(text, refused.GetProperty("error").GetProperty("message").GetString());
        }
    }
    [Fact]
    public async Task Plain_mode_follows_a_presence_topic_and_refuses_to_publish_to_it()
    {
        await using var hub = await TestHub.StartAsync();
        using (var created = await hub.Http.PutAsync("/v1/topics/audit.room", null)) // joins are announced on topics that exist
        {
            Assert.True(created.IsSuccessStatusCode, await created.Content.ReadAsStringAsync());
        }
        // From the start (?after=0): the socket is open before its subscription is, so "from now" could miss the join.
        using var plain = await ConnectAsync(hub, "/v1/topics/$presence.audit.room/ws?after=0");
        using var member = await ConnectAsync(hub);
        await SendAsync(member, """{"id":"s","subscribe":{"topics":["audit.room"]}}""");
        // The member's join arrives on the plain socket as one frame, like any message of a followed topic.
        var join = await NextAsync(plain);
        Assert.Equal("join", join.GetProperty("event").GetString());

        // Every frame of plain mode is a publish, and presence topics are the hub's: the frame ends the connection, saying why.
        await SendAsync(plain, "hello");
        var closed = await ClosedAsync(plain, Limit);
        Assert.NotEqual(WebSocketCloseStatus.NormalClosure, closed.Status);
        Assert.Contains("$", closed.Description, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_subscribe_without_an_id_never_gets_an_id_the_client_already_gave_another()
    {
        await using var hub = await TestHub.StartAsync();
        using var socket = await ConnectAsync(hub);
        await SendAsync(socket, """{"id":"s1","subscribe":{"topics":["ids.a"]}}""");
        Assert.Equal("s1", (await NextAsync(socket)).GetProperty("subscribed").GetProperty("subscriptionId").GetString());
        // The hub names an id-less subscription itself ("s" and a number): not "s1", which the client took.
        await SendAsync(socket, """{"subscribe":{"topics":["ids.b"]}}""");
        var answer = await NextAsync(socket);
        Assert.True(answer.TryGetProperty("subscribed", out var subscribed), answer.GetRawText());
        var picked = subscribed.GetProperty("subscriptionId").GetString();
        Assert.NotEqual("s1", picked);
        // The hub's id works like the client's: unsubscribing by it ends that subscription and leaves "s1".
        await SendAsync(socket, "{\"id\":\"u\",\"unsubscribe\":{\"subscriptionId\":\"" + picked + "\"}}");
        Assert.True((await NextAsync(socket)).TryGetProperty("unsubscribed", out _));
        await SendAsync(socket, """{"id":"p","publish":{"topic":"ids.a","payload":1}}""");
        JsonElement delivered;
        do
        {
            delivered = await NextAsync(socket);
        }
        while (!delivered.TryGetProperty("message", out _));
        Assert.Equal("ids.a", delivered.GetProperty("message").GetProperty("topic").GetString());
    }
}
