using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using Grpc.Core;
using Grpc.Net.Client;
using Switchboard.Protocol.V1;
using Switchboard.Security.Tests.Support;
using static Switchboard.Protocol.V1.Switchboard;

namespace Switchboard.Security.Tests;

/// <summary>
/// Switchboard:Connections:MaxPerAddress and MaxPerPrincipal (2 here): the next WebSocket is closed with 4429, the
/// next event stream, long poll or other request that would stay open waiting gets 429 problem+json with Retry-After,
/// and closing one frees a slot.
/// </summary>
public sealed class ConnectionLimitTests
{
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(30);

    private static async Task<TestHub> StartAsync(string key)
    {
        var settings = Principals.Settings();
        settings["Switchboard:Connections:" + key] = "2";
        var hub = await TestHub.StartAsync(settings: settings);
        using var request = new HttpRequestMessage(HttpMethod.Put, "/v1/topics/orders.x") { Content = new StringContent("{}", System.Text.Encoding.UTF8, "application/json") };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", Principals.Admin.Credential);
        using var created = await hub.Http.SendAsync(request);
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        return hub;
    }

    [Fact]
    public async Task A_third_connection_from_one_address_is_refused_and_closing_one_frees_a_slot()
    {
        await using var hub = await StartAsync("MaxPerAddress");
        using var timeout = new CancellationTokenSource(Limit);
        var ct = timeout.Token;
        // Different principals: it is the address that is counted.
        await using var first = await OpenAsync(hub, Principals.Subscriber, ct);
        await using var second = await OpenAsync(hub, Principals.Publisher, ct);

        await using (var third = await WebSocketLink.ConnectAsync(hub.WebSocketAddress("/v1/ws"), JsonWire.Instance, Principals.Admin.Credential, ct))
        {
            var closed = await third.ClosedAsync(ct);
            Assert.Equal("4429", closed.Code);
            Assert.Contains("MaxPerAddress", closed.Text, StringComparison.Ordinal);
        }
        await AssertStreamRefusedAsync(hub, Principals.Admin, "MaxPerAddress", ct);

        await first.DisposeAsync();
        await WaitForConnectionsAsync(hub, 1, ct);
        await AssertStreamOpensAsync(hub, Principals.Admin, ct);
    }

    [Fact]
    public async Task A_gRPC_stream_counts_against_its_clients_address_like_any_other_connection()
    {
        await using var hub = await StartAsync("MaxPerAddress");
        using var timeout = new CancellationTokenSource(Limit);
        var ct = timeout.Token;
        using (var publish = new HttpRequestMessage(HttpMethod.Post, "/v1/topics/orders.x/messages") { Content = new StringContent("""{"payload": 1}""", System.Text.Encoding.UTF8, "application/json") })
        {
            publish.Headers.Authorization = new AuthenticationHeaderValue("Bearer", Principals.Admin.Credential);
            using var published = await hub.Http.SendAsync(publish, ct);
            Assert.Equal(HttpStatusCode.Created, published.StatusCode);
        }
        await using var first = await OpenAsync(hub, Principals.Subscriber, ct);
        await using var second = await OpenAsync(hub, Principals.Publisher, ct);

        // gRPC (h2c) reaches the hub through its internal HTTP/2 socket; it is still this client, from this address.
        using var channel = GrpcChannel.ForAddress(hub.Address);
        var headers = new Metadata { { "authorization", "Bearer " + Principals.Admin.Credential } };
        using var call = new SwitchboardClient(channel).Subscribe(new SubscribeRequest { Topics = { "orders.x" }, AfterOffset = 0 }, headers, cancellationToken: ct);
        var refused = await Assert.ThrowsAsync<RpcException>(() => call.ResponseStream.MoveNext(ct));
        Assert.Equal(StatusCode.ResourceExhausted, refused.StatusCode);
        Assert.Contains("127.0.0.1 already has 2 connections", refused.Status.Detail, StringComparison.Ordinal);
        Assert.Contains("MaxPerAddress", refused.Status.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_third_connection_of_one_principal_is_refused_even_when_it_authenticates_late()
    {
        await using var hub = await StartAsync("MaxPerPrincipal");
        using var timeout = new CancellationTokenSource(Limit);
        var ct = timeout.Token;
        await using var first = await OpenAsync(hub, Principals.Subscriber, ct);
        await using var second = await OpenAsync(hub, Principals.Subscriber, ct);

        await using (var third = await WebSocketLink.ConnectAsync(hub.WebSocketAddress("/v1/ws"), ProtoWire.Instance, Principals.Subscriber.Credential, ct))
        {
            var closed = await third.ClosedAsync(ct);
            Assert.Equal("4429", closed.Code);
            Assert.Contains("'subscriber'", closed.Text, StringComparison.Ordinal);
        }
        // Connected without a credential (which counts for nobody yet), then the auth frame: refused there.
        await using (var late = await WebSocketLink.ConnectAsync(hub.WebSocketAddress("/v1/ws"), JsonWire.Instance, null, ct))
        {
            await late.SendAsync("a", new AuthCommand(Principals.Subscriber.Credential!), ct);
            Assert.Equal("4429", (await late.ClosedAsync(ct)).Code);
        }
        await AssertStreamRefusedAsync(hub, Principals.Subscriber, "MaxPerPrincipal", ct);
        // Someone else is not affected.
        await using (await OpenAsync(hub, Principals.Publisher, ct))
        {
        }

        await first.DisposeAsync();
        await WaitForConnectionsAsync(hub, 1, ct, Principals.Subscriber.Name);
        await AssertStreamOpensAsync(hub, Principals.Subscriber, ct);
    }

    [Fact]
    public async Task A_token_whose_subject_is_a_keys_name_is_another_principal_for_limits_and_refresh()
    {
        await using var hub = await StartAsync("MaxPerPrincipal");
        using var timeout = new CancellationTokenSource(Limit);
        var ct = timeout.Token;
        // Two connections of the key 'subscriber' fill its quota; a token with sub 'subscriber' is someone else.
        await using var first = await OpenAsync(hub, Principals.Subscriber, ct);
        await using var second = await OpenAsync(hub, Principals.Subscriber, ct);
        var namesake = Tokens.Create(Tokens.Hs256(Principals.JwtSecret), "subscriber", "subscribe:orders.*");
        await using var third = await OpenAsync(hub, Principals.Subscriber with { Credential = namesake }, ct);

        // Nor may a connection of the key be refreshed with the namesake's token.
        await first.SendAsync("r", new AuthCommand(namesake), ct);
        var refused = await BrowserAuthTests.AnswerAsync(first, "r", ct);
        Assert.Equal("error", refused.Kind);
        Assert.Equal("forbidden", refused.Code);
    }

    [Fact]
    public async Task Tokens_of_one_subject_from_two_issuers_are_two_principals_for_limits_and_refresh()
    {
        // The hub trusts any issuer signing with its secret (no Issuer configured): "alice" of one is not "alice" of the other.
        await using var hub = await StartAsync("MaxPerPrincipal");
        using var timeout = new CancellationTokenSource(Limit);
        var ct = timeout.Token;
        string Alice(string issuer) => Tokens.Create(Tokens.Hs256(Principals.JwtSecret), "alice", "subscribe:orders.*", issuer: issuer);
        var ofOne = Principals.Subscriber with { Credential = Alice("https://one.example.test") };
        var ofOther = Principals.Subscriber with { Credential = Alice("https://other.example.test") };
        await using var first = await OpenAsync(hub, ofOne, ct);
        await using var second = await OpenAsync(hub, ofOne, ct);
        await using var third = await OpenAsync(hub, ofOther, ct);

        await first.SendAsync("r", new AuthCommand(ofOther.Credential!), ct);
        var refused = await BrowserAuthTests.AnswerAsync(first, "r", ct);
        Assert.Equal(("error", "forbidden"), (refused.Kind, refused.Code));
        Assert.Contains("'alice' of https://one.example.test", refused.Text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Every_request_that_stays_open_waiting_counts_against_the_cap_and_frees_its_slot_when_it_ends()
    {
        await using var hub = await StartAsync("MaxPerAddress");
        using var timeout = new CancellationTokenSource(Limit);
        var ct = timeout.Token;
        using var admin = new HttpClient { BaseAddress = hub.Address };
        admin.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", Principals.Admin.Credential);
        using (var queue = await admin.PutAsync("/v1/queues/jobs", Json("{}"), ct))
        {
            Assert.Equal(HttpStatusCode.Created, queue.StatusCode);
        }
        string reply;
        using (var request = new HttpRequestMessage(HttpMethod.Post, "/v1/queues/jobs/requests") { Content = Json("""{"payload": 1}""") })
        {
            request.Headers.Add("Prefer", "respond-async");
            using var accepted = await admin.SendAsync(request, ct);
            Assert.Equal(HttpStatusCode.Accepted, accepted.StatusCode);
            reply = accepted.Headers.Location!.OriginalString;
        }
        await using var first = await OpenAsync(hub, Principals.Subscriber, ct);
        await using var second = await OpenAsync(hub, Principals.Publisher, ct);

        // With the address's two slots taken, nothing that would stay open is let in: each is answered at once.
        (HttpMethod Method, string Path, bool Stream)[] waiting =
        [
            (HttpMethod.Get, "/v1/topics/orders.x/messages?wait=20", false),
            (HttpMethod.Get, "/v1/messages?topic=orders.x&wait=20", false),
            (HttpMethod.Post, "/v1/queues/jobs/receive?wait=20", false),
            (HttpMethod.Get, reply + "?wait=20", false),
            (HttpMethod.Get, reply, true),
            (HttpMethod.Get, "/v1/sys/stats", true),
            (HttpMethod.Post, "/v1/queues/jobs/requests?timeout=20s", false),
        ];
        foreach (var (method, path, stream) in waiting)
        {
            using var request = new HttpRequestMessage(method, path) { Content = method == HttpMethod.Post ? Json("""{"payload": 2}""") : null };
            if (stream)
            {
                request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("text/event-stream"));
            }
            using var response = await admin.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, ct);
            await AssertTooManyAsync(response, "MaxPerAddress", $"{method} {path}", ct);
        }
        using (var channel = GrpcChannel.ForAddress(hub.Address))
        {
            var headers = new Metadata { { "authorization", "Bearer " + Principals.Admin.Credential } };
            using var receive = new SwitchboardClient(channel).Receive(new ReceiveRequest { Queue = "jobs" }, headers, cancellationToken: ct);
            var refused = await Assert.ThrowsAsync<RpcException>(() => receive.ResponseStream.MoveNext(ct));
            Assert.Equal(StatusCode.ResourceExhausted, refused.StatusCode);
            Assert.Contains("MaxPerAddress", refused.Status.Detail, StringComparison.Ordinal);
        }
        // A request that does not wait is not held to the cap.
        using (var poll = await admin.GetAsync("/v1/topics/orders.x/messages", ct))
        {
            Assert.Equal(HttpStatusCode.OK, poll.StatusCode);
        }

        await first.DisposeAsync();
        await WaitForConnectionsAsync(hub, 1, ct);
        // The refused request sent nothing: the queue holds the first (async) request only.
        using (var received = await admin.PostAsync("/v1/queues/jobs/receive?max=10", null, ct))
        {
            using var page = JsonDocument.Parse(await received.Content.ReadAsStringAsync(ct));
            Assert.Single(page.RootElement.GetProperty("messages").EnumerateArray());
        }
        // A long poll takes the free slot while it waits and gives it back when it is answered: a WebSocket fits after it.
        using (var longPoll = await admin.GetAsync("/v1/topics/orders.x/messages?wait=1", ct))
        {
            Assert.Equal(HttpStatusCode.OK, longPoll.StatusCode);
        }
        await using var third = await OpenAsync(hub, Principals.Admin, ct);
    }

    private static StringContent Json(string text) => new(text, System.Text.Encoding.UTF8, "application/json");

    private static async Task AssertTooManyAsync(HttpResponseMessage response, string naming, string what, CancellationToken cancellationToken)
    {
        var text = await response.Content.ReadAsStringAsync(cancellationToken);
        Assert.True(response.StatusCode == HttpStatusCode.TooManyRequests, $"{what}: expected 429, got {(int)response.StatusCode}: {text}");
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal("rate-limited", JsonDocument.Parse(text).RootElement.GetProperty("code").GetString());
        Assert.Contains(naming, text, StringComparison.Ordinal);
        Assert.True(response.Headers.RetryAfter?.Delta > TimeSpan.Zero, $"{what}: no Retry-After");
    }

    /// <summary>A WebSocket shown to be open (a ping answered).</summary>
    private static async Task<WebSocketLink> OpenAsync(TestHub hub, Principal principal, CancellationToken cancellationToken)
    {
        var link = await WebSocketLink.ConnectAsync(hub.WebSocketAddress("/v1/ws"), JsonWire.Instance, principal.Credential, cancellationToken);
        await link.SendAsync("p", new PingCommand(), cancellationToken);
        Assert.Equal("pong", (await BrowserAuthTests.AnswerAsync(link, "p", cancellationToken)).Kind);
        return link;
    }

    private static async Task AssertStreamRefusedAsync(TestHub hub, Principal principal, string naming, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "/v1/topics/orders.x/events");
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", principal.Credential);
        using var response = await hub.Http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
        await AssertTooManyAsync(response, naming, "an event stream", cancellationToken);
    }

    private static async Task AssertStreamOpensAsync(TestHub hub, Principal principal, CancellationToken cancellationToken)
    {
        var (stream, refused) = await SseStream.OpenAsync(hub.Http, "/v1/topics/orders.x/events", cancellationToken, principal.Credential);
        Assert.True(stream is not null, $"the freed slot was not given: {refused}");
        await stream.DisposeAsync();
    }

    /// <summary>Waits until the hub lists <paramref name="count"/> connections (of <paramref name="principal"/>): 200 looks, 50 ms apart.</summary>
    private static async Task WaitForConnectionsAsync(TestHub hub, int count, CancellationToken cancellationToken, string? principal = null)
    {
        using var admin = new HttpClient { BaseAddress = hub.Address };
        admin.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", Principals.Admin.Credential);
        var listed = -1;
        for (var look = 0; look < 200 && listed != count; look++)
        {
            using var document = JsonDocument.Parse(await admin.GetStringAsync("/v1/connections", cancellationToken));
            listed = document.RootElement.GetProperty("connections").EnumerateArray()
                .Count(c => principal is null || c.GetProperty("principal").GetString() == principal);
            if (listed != count)
            {
                await Task.Delay(50, cancellationToken);
            }
        }
        Assert.Equal(count, listed);
    }
}
