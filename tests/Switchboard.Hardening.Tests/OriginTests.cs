using System.Net;
using System.Net.WebSockets;
using System.Text.Json;

namespace Switchboard.Hardening.Tests;

/// <summary>
/// Switchboard:AllowedOrigins: WebSocket upgrades and event streams from an origin that is not allowed are refused
/// with 403 before anything opens (cross-site WebSocket hijacking); REST gets the same list as CORS.
/// </summary>
public sealed class OriginTests
{
    private const string Evil = "https://evil.example";
    private const string App = "https://app.example.com";

    public static TheoryData<string> StreamPaths => new() { "/v1/ws", "/v1/topics/o.chat/ws", "/v1/topics/o.chat/events", "/v1/events?topic=o.>" };

    private static Dictionary<string, string?> Origins(params string[] origins)
    {
        var settings = new Dictionary<string, string?>();
        for (var i = 0; i < origins.Length; i++)
        {
            settings[$"Switchboard:AllowedOrigins:{i}"] = origins[i];
        }
        return settings;
    }

    /// <summary>Opens the stream at <paramref name="path"/> as a browser on <paramref name="origin"/> would; returns the answer (101 or 200 when it opened).</summary>
    private static async Task<HttpAnswer> OpenAsync(TestHub hub, string path, string? origin)
    {
        await using var raw = await RawConnection.OpenAsync(hub.Address);
        if (path.EndsWith("/ws", StringComparison.Ordinal))
        {
            return await raw.UpgradeAsync(path, origin);
        }
        // EventSource's request; the head is enough (the stream itself stays open).
        await raw.SendAsync($"GET {path} HTTP/1.1\r\nHost: {hub.Address.Authority}\r\nAccept: text/event-stream\r\n{(origin is null ? "" : $"Origin: {origin}\r\n")}\r\n");
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var answer = await raw.ReadResponseAsync(timeout.Token);
        return answer;
    }

    private static async Task AssertRefusedAsync(TestHub hub, string path, string origin)
    {
        var answer = await OpenAsync(hub, path, origin);
        Assert.Equal(403, answer.Status);
        Assert.Equal("application/problem+json", answer.Header("Content-Type"));
        using var problem = JsonDocument.Parse(answer.Body);
        Assert.Equal("forbidden", problem.RootElement.GetProperty("code").GetString());
        var detail = problem.RootElement.GetProperty("detail").GetString();
        Assert.Contains(origin, detail, StringComparison.Ordinal);
        Assert.Contains("Switchboard:AllowedOrigins", detail, StringComparison.Ordinal);
    }

    private static async Task AssertOpensAsync(TestHub hub, string path, string? origin)
        => Assert.Equal(path.EndsWith("/ws", StringComparison.Ordinal) ? 101 : 200, (await OpenAsync(hub, path, origin)).Status);

    [Theory]
    [MemberData(nameof(StreamPaths))]
    public async Task Without_a_list_another_origin_is_refused_with_403_before_the_stream_opens(string path)
    {
        await using var hub = await TestHub.StartAsync();

        await AssertRefusedAsync(hub, path, Evil);
        // Same host, other port or scheme: another origin all the same.
        await AssertRefusedAsync(hub, path, $"http://127.0.0.1:{hub.Address.Port + 1}");
        await AssertRefusedAsync(hub, path, $"https://127.0.0.1:{hub.Address.Port}");
        await AssertRefusedAsync(hub, path, "null");

        using var connections = JsonDocument.Parse(await hub.Http.GetStringAsync("/v1/connections"));
        Assert.Equal(0, connections.RootElement.GetProperty("connections").GetArrayLength());
    }

    [Theory]
    [MemberData(nameof(StreamPaths))]
    public async Task Without_a_list_clients_without_an_Origin_and_pages_of_the_hub_itself_are_allowed(string path)
    {
        await using var hub = await TestHub.StartAsync();

        await AssertOpensAsync(hub, path, origin: null);
        await AssertOpensAsync(hub, path, $"http://127.0.0.1:{hub.Address.Port}");
        await AssertOpensAsync(hub, path, $"HTTP://127.0.0.1:{hub.Address.Port}/");
    }

    [Theory]
    [MemberData(nameof(StreamPaths))]
    public async Task A_listed_origin_is_allowed_and_any_other_is_refused(string path)
    {
        await using var hub = await TestHub.StartAsync(settings: Origins(App, "http://localhost:3000"));

        await AssertOpensAsync(hub, path, App);
        await AssertOpensAsync(hub, path, "https://APP.example.com:443");
        await AssertOpensAsync(hub, path, "http://localhost:3000");
        await AssertOpensAsync(hub, path, $"http://127.0.0.1:{hub.Address.Port}"); // the hub's own pages stay allowed
        await AssertOpensAsync(hub, path, origin: null);
        await AssertRefusedAsync(hub, path, Evil);
        await AssertRefusedAsync(hub, path, "https://app.example.com.evil.example");
        await AssertRefusedAsync(hub, path, "http://app.example.com");
    }

    [Theory]
    [MemberData(nameof(StreamPaths))]
    public async Task A_star_allows_any_origin(string path)
    {
        await using var hub = await TestHub.StartAsync(settings: Origins("*"));

        await AssertOpensAsync(hub, path, Evil);
        await AssertOpensAsync(hub, path, "null");
    }

    [Fact]
    public async Task A_WebSocket_client_on_a_listed_origin_talks_as_usual()
    {
        await using var hub = await TestHub.StartAsync(settings: Origins(App));
        using var socket = new ClientWebSocket();
        socket.Options.SetRequestHeader("Origin", App);
        socket.Options.AddSubProtocol("switchboard.v1.json");
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));

        await socket.ConnectAsync(hub.WebSocketAddress("/v1/ws"), timeout.Token);
        await socket.SendAsync("""{"id":"p","ping":{}}"""u8.ToArray(), WebSocketMessageType.Text, true, timeout.Token);
        var buffer = new byte[4096];
        var answer = await socket.ReceiveAsync(buffer, timeout.Token);
        Assert.Equal("""{"id":"p","pong":{}}""", System.Text.Encoding.UTF8.GetString(buffer, 0, answer.Count));

        using var refused = new ClientWebSocket();
        refused.Options.SetRequestHeader("Origin", Evil);
        refused.Options.CollectHttpResponseDetails = true;
        await Assert.ThrowsAsync<WebSocketException>(() => refused.ConnectAsync(hub.WebSocketAddress("/v1/ws"), timeout.Token));
        Assert.Equal(HttpStatusCode.Forbidden, refused.HttpStatusCode);
    }

    // ---- CORS (REST) ----

    private static HttpRequestMessage Preflight(string path, string origin, string method, string headers)
    {
        var request = new HttpRequestMessage(HttpMethod.Options, path);
        request.Headers.Add("Origin", origin);
        request.Headers.Add("Access-Control-Request-Method", method);
        request.Headers.Add("Access-Control-Request-Headers", headers);
        return request;
    }

    private static string? Header(HttpResponseMessage response, string name)
        => response.Headers.TryGetValues(name, out var values) ? string.Join(", ", values) : null;

    [Fact]
    public async Task A_preflight_from_a_listed_origin_is_answered_and_one_from_another_is_not()
    {
        // With API keys on: a preflight carries no credentials and must be answered all the same.
        var settings = Origins(App);
        settings["Switchboard:Auth:ApiKeys:0:Name"] = "web";
        settings["Switchboard:Auth:ApiKeys:0:Key"] = "sb-test-key-0123456789abcdef";
        await using var hub = await TestHub.StartAsync(settings: settings);

        using var allowed = await hub.Http.SendAsync(Preflight("/v1/topics/orders/messages", App, "POST", "authorization, content-type, idempotency-key"));
        Assert.Equal(HttpStatusCode.NoContent, allowed.StatusCode);
        Assert.Equal(App, Header(allowed, "Access-Control-Allow-Origin"));
        Assert.Contains("POST", Header(allowed, "Access-Control-Allow-Methods"), StringComparison.Ordinal);
        var allowHeaders = Header(allowed, "Access-Control-Allow-Headers")!.ToLowerInvariant();
        Assert.Contains("idempotency-key", allowHeaders, StringComparison.Ordinal);
        Assert.Contains("authorization", allowHeaders, StringComparison.Ordinal);
        Assert.Equal("3600", Header(allowed, "Access-Control-Max-Age"));

        using var other = await hub.Http.SendAsync(Preflight("/v1/topics/orders/messages", Evil, "POST", "content-type"));
        Assert.Null(Header(other, "Access-Control-Allow-Origin"));
        Assert.Null(Header(other, "Access-Control-Allow-Methods"));

        // A header the API does not read is not among the allowed ones, so the browser does not send the request.
        using var unknownHeader = await hub.Http.SendAsync(Preflight("/v1/topics/orders/messages", App, "POST", "x-something-else"));
        Assert.DoesNotContain("x-something-else", Header(unknownHeader, "Access-Control-Allow-Headers") ?? "", StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task A_cross_origin_answer_exposes_the_headers_the_API_sets_and_errors_are_readable_too()
    {
        await using var hub = await TestHub.StartAsync(settings: Origins(App));
        var publish = new HttpRequestMessage(HttpMethod.Post, "/v1/topics/cors.orders/messages") { Content = new StringContent("""{"payload":1}""", System.Text.Encoding.UTF8, "application/json") };
        publish.Headers.Add("Origin", App);

        using var created = await hub.Http.SendAsync(publish);
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        Assert.Equal(App, Header(created, "Access-Control-Allow-Origin"));
        var exposed = Header(created, "Access-Control-Expose-Headers")!;
        foreach (var name in new[] { "Location", "ETag", "Retry-After", "Link", "Idempotent-Replayed", "WWW-Authenticate" })
        {
            Assert.Contains(name, exposed, StringComparison.OrdinalIgnoreCase);
        }

        var missing = new HttpRequestMessage(HttpMethod.Get, "/v1/topics/cors.absent");
        missing.Headers.Add("Origin", App);
        using var notFound = await hub.Http.SendAsync(missing);
        Assert.Equal(HttpStatusCode.NotFound, notFound.StatusCode);
        Assert.Equal(App, Header(notFound, "Access-Control-Allow-Origin"));

        var foreign = new HttpRequestMessage(HttpMethod.Get, "/v1/topics");
        foreign.Headers.Add("Origin", Evil);
        using var answered = await hub.Http.SendAsync(foreign);
        Assert.Null(Header(answered, "Access-Control-Allow-Origin")); // the browser keeps the answer from the page
    }

    [Fact]
    public async Task Without_a_list_no_other_origin_gets_CORS_and_a_star_gives_every_origin_a_plain_star()
    {
        await using (var hub = await TestHub.StartAsync())
        {
            using var preflight = await hub.Http.SendAsync(Preflight("/v1/topics", App, "GET", "authorization"));
            Assert.Null(Header(preflight, "Access-Control-Allow-Origin"));
        }
        await using (var hub = await TestHub.StartAsync(settings: Origins("*")))
        {
            using var preflight = await hub.Http.SendAsync(Preflight("/v1/topics", Evil, "GET", "authorization"));
            Assert.Equal("*", Header(preflight, "Access-Control-Allow-Origin"));
        }
    }
}
