using System.Diagnostics;
using System.Net.Http.Headers;
using Google.Protobuf;
using Grpc.Core;
using Grpc.Net.Client;
using Switchboard.Protocol.V1;
using Switchboard.Security.Tests.Support;
using static Switchboard.Protocol.V1.Switchboard;

namespace Switchboard.Security.Tests;

/// <summary>
/// A credential that expires while connected ends the connection on every transport, each in its own way: WebSocket
/// close 4401, SSE <c>event: error</c> then the end of the stream, gRPC UNAUTHENTICATED. Tokens are minted to
/// expire a few seconds ahead and the tests wait on those signals, never on a clock.
/// </summary>
public sealed class ExpiryTests(BrowserHub fixture) : IClassFixture<BrowserHub>
{
    // Enough to open eight connections on a loaded machine before the token expires; the test checks it did.
    private static readonly TimeSpan Life = TimeSpan.FromSeconds(6);
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(30);
    private readonly TestHub _hub = fixture.Hub;

    private static string ShortToken(string subject, TimeSpan life)
        => Tokens.Create(Tokens.Hs256(Principals.JwtSecret), subject, "publish:a subscribe:a consume:a", expiresIn: life);

    [Fact]
    public async Task A_token_that_expires_while_connected_ends_every_kind_of_connection()
    {
        using var timeout = new CancellationTokenSource(Limit);
        var ct = timeout.Token;
        await SeedAsync(ct);
        var minted = Stopwatch.StartNew();
        var token = ShortToken("short-lived", Life);
        var query = "access_token=" + Uri.EscapeDataString(token);
        using var channel = GrpcChannel.ForAddress(_hub.Address);
        var client = new SwitchboardClient(channel);
        var headers = new Metadata { { "authorization", "Bearer " + token } };

        // Open one of each, each shown to work before the token expires.
        await using var wsJson = await WebSocketLink.ConnectAsync(_hub.WebSocketAddress("/v1/ws"), JsonWire.Instance, token, ct);
        await wsJson.SendAsync("1", new SubscribeCommand("a"), ct);
        Assert.Equal("subscribed", (await BrowserAuthTests.AnswerAsync(wsJson, "1", ct)).Kind);
        await using var wsProto = await WebSocketLink.ConnectAsync(_hub.WebSocketAddress("/v1/ws"), ProtoWire.Instance, null, ct);
        await wsProto.SendAsync("a", new AuthCommand(token), ct);
        Assert.Equal("authenticated", (await BrowserAuthTests.AnswerAsync(wsProto, "a", ct)).Kind);
        await using var wsPlain = await WebSocketLink.ConnectAsync(_hub.WebSocketAddress("/v1/topics/a/ws?after=0&" + query), null, null, ct);
        Assert.Equal("payload", (await wsPlain.NextAsync(ct)).Kind);
        var (sse, refused) = await SseStream.OpenAsync(_hub.Http, "/v1/topics/a/events?after=0&" + query, ct);
        Assert.True(sse is not null, $"SSE refused: {refused}");
        await using var sseScope = sse;
        Assert.NotNull(await sse.ReadUntilAsync(line => line.StartsWith("data:", StringComparison.Ordinal), ct));
        using var subscribe = client.Subscribe(new SubscribeRequest { Topics = { "a" }, AfterOffset = 0 }, headers, cancellationToken: ct);
        Assert.True(await subscribe.ResponseStream.MoveNext(ct));
        await using var connect = GrpcConnectLink.Open(client, token);
        await connect.SendAsync("p", new PingCommand(), ct);
        Assert.Equal("pong", (await BrowserAuthTests.AnswerAsync(connect, "p", ct)).Kind);
        using var receive = client.Receive(new ReceiveRequest { Queue = "a", Max = 1 }, headers, cancellationToken: ct);
        Assert.True(await receive.ResponseStream.MoveNext(ct));
        using var publishStream = client.PublishStream(headers, cancellationToken: ct);
        await publishStream.RequestStream.WriteAsync(new PublishRequest { Topic = "a", Payload = ByteString.CopyFromUtf8("1") }, ct);
        Assert.True(minted.Elapsed < Life - TimeSpan.FromSeconds(0.5), $"setting up took {minted.Elapsed}, longer than the token lives: the test proves nothing");

        // Then each must end, on its own signal.
        var outcomes = await Task.WhenAll(
            Check("WebSocket JSON (Authorization header)", async () => Closed4401(await wsJson.ClosedAsync(ct))),
            Check("WebSocket proto (auth frame)", async () => Closed4401(await wsProto.ClosedAsync(ct))),
            Check("WebSocket plain (?access_token=)", async () => Closed4401(await wsPlain.ClosedAsync(ct))),
            Check("SSE (?access_token=)", () => SseEndsWithErrorAsync(sse, ct)),
            Check("gRPC Subscribe", () => Unauthenticated(async () => { while (await subscribe.ResponseStream.MoveNext(ct)) { } })),
            Check("gRPC Connect", async () => await connect.ClosedAsync(ct) is var c && c.Code == "Unauthenticated" ? null : $"ended {c.Code}: {c.Text}"),
            Check("gRPC Receive", () => Unauthenticated(async () => { while (await receive.ResponseStream.MoveNext(ct)) { } })),
            Check("gRPC PublishStream", () => Unauthenticated(async () => await publishStream.ResponseAsync)));
        var failures = outcomes.Where(o => o is not null).ToList();
        Assert.True(failures.Count == 0, string.Join('\n', failures));
    }

    [Fact]
    public async Task The_stats_stream_and_a_replys_event_stream_end_when_the_token_expires_too()
    {
        using var timeout = new CancellationTokenSource(Limit);
        var ct = timeout.Token;
        await SeedAsync(ct);
        var token = Tokens.Create(Tokens.Hs256(Principals.JwtSecret), "short-lived-admin", "admin", expiresIn: Life);
        var query = "access_token=" + Uri.EscapeDataString(token);
        using var requester = new HttpClient { BaseAddress = _hub.Address };
        requester.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        using var accepted = await requester.PostAsync("/v1/queues/a/requests?timeout=0", new StringContent("""{"payload": "q"}""", System.Text.Encoding.UTF8, "application/json"), ct);
        Assert.Equal(System.Net.HttpStatusCode.Accepted, accepted.StatusCode);
        var replyId = System.Text.Json.JsonDocument.Parse(await accepted.Content.ReadAsStringAsync(ct)).RootElement.GetProperty("id").GetString();

        // Neither stream is a connection of the registry (which ends those at expiry); each must end on its own.
        var (stats, statsRefused) = await SseStream.OpenAsync(_hub.Http, "/v1/sys/stats?" + query, ct);
        Assert.True(stats is not null, $"stats refused: {statsRefused}");
        await using var statsScope = stats;
        Assert.NotNull(await stats.ReadUntilAsync(line => line == "event: stats", ct));
        var (reply, replyRefused) = await SseStream.OpenAsync(_hub.Http, $"/v1/replies/{replyId}?" + query, ct);
        Assert.True(reply is not null, $"reply stream refused: {replyRefused}");
        await using var replyScope = reply;
        Assert.NotNull(await reply.ReadUntilAsync(line => line.StartsWith(": waiting", StringComparison.Ordinal), ct));

        var outcomes = await Task.WhenAll(
            Check("GET /v1/sys/stats (event stream)", () => SseEndsWithErrorAsync(stats, ct)),
            Check("GET /v1/replies/{id} (event stream)", () => SseEndsWithErrorAsync(reply, ct)));
        var failures = outcomes.Where(o => o is not null).ToList();
        Assert.True(failures.Count == 0, string.Join('\n', failures));
    }

    [Fact]
    public async Task A_refresh_with_a_fresh_token_keeps_the_connection_past_the_first_tokens_expiry()
    {
        using var timeout = new CancellationTokenSource(Limit);
        var ct = timeout.Token;
        var first = ShortToken("refresher", TimeSpan.FromSeconds(4));
        await using var refreshed = await WebSocketLink.ConnectAsync(_hub.WebSocketAddress("/v1/ws"), JsonWire.Instance, null, ct);
        await using var stale = await WebSocketLink.ConnectAsync(_hub.WebSocketAddress("/v1/ws"), JsonWire.Instance, null, ct);
        foreach (var link in (FrameLink[])[refreshed, stale])
        {
            await link.SendAsync("a", new AuthCommand(first), ct);
            Assert.Equal("authenticated", (await BrowserAuthTests.AnswerAsync(link, "a", ct)).Kind);
        }
        await refreshed.SendAsync("b", new AuthCommand(ShortToken("refresher", TimeSpan.FromHours(1))), ct);
        Assert.Equal("authenticated", (await BrowserAuthTests.AnswerAsync(refreshed, "b", ct)).Kind);

        // The connection that kept the first token is closed when it expires; the refreshed one goes on.
        var closed = await stale.ClosedAsync(ct);
        Assert.Equal("4401", closed.Code);
        await refreshed.SendAsync("p", new PingCommand(), ct);
        Assert.Equal("pong", (await BrowserAuthTests.AnswerAsync(refreshed, "p", ct)).Kind);
        Assert.Null(refreshed.Closed);
    }

    private async Task SeedAsync(CancellationToken cancellationToken)
    {
        using var admin = new HttpClient { BaseAddress = _hub.Address };
        admin.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", Principals.Admin.Credential);
        var json = new StringContent("""{"payload": {"seed": 1}}""", System.Text.Encoding.UTF8, "application/json");
        using var published = await admin.PostAsync("/v1/topics/a/messages", json, cancellationToken);
        Assert.Equal(System.Net.HttpStatusCode.Created, published.StatusCode);
        using var sent = await admin.PostAsync("/v1/queues/a/messages", json, cancellationToken);
        Assert.Equal(System.Net.HttpStatusCode.Created, sent.StatusCode);
    }

    private static async Task<string?> Check(string what, Func<Task<string?>> check)
    {
        try
        {
            return await check() is { } wrong ? $"{what}: {wrong}" : null;
        }
        catch (Exception ex)
        {
            return $"{what}: {ex.GetType().Name}: {ex.Message}";
        }
    }

    private static string? Closed4401(Answer closed)
        => closed.Code == "4401" && closed.Text?.Contains("expired", StringComparison.Ordinal) == true ? null : $"closed {closed.Code}: {closed.Text}";

    private static async Task<string?> Unauthenticated(Func<Task> call)
    {
        try
        {
            await call();
            return "ended without a status";
        }
        catch (RpcException ex) when (ex.StatusCode == StatusCode.Unauthenticated)
        {
            return ex.Status.Detail.Contains("expired", StringComparison.Ordinal) ? null : $"UNAUTHENTICATED without saying why: {ex.Status.Detail}";
        }
        catch (RpcException ex)
        {
            return $"{ex.StatusCode}: {ex.Status.Detail}";
        }
    }

    private static async Task<string?> SseEndsWithErrorAsync(SseStream sse, CancellationToken cancellationToken)
    {
        if (await sse.ReadUntilAsync(line => line == "event: error", cancellationToken) is null)
        {
            return "the stream ended without an error event";
        }
        var data = await sse.ReadLineAsync(cancellationToken);
        if (data?.Contains("\"unauthorized\"", StringComparison.Ordinal) != true)
        {
            return $"the error event is not unauthorized: {data}";
        }
        // Then the stream ends (EventSource reconnects, with a fresh token).
        return await sse.ReadUntilAsync(line => line.StartsWith("data:", StringComparison.Ordinal), cancellationToken) is { } more ? $"the stream went on: {more}" : null;
    }
}
