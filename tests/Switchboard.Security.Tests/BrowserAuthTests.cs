using Switchboard.Security.Tests.Support;

namespace Switchboard.Security.Tests;

/// <summary>A hub with the matrix's principals and a 1 s auth timeout (the time a WebSocket has to send its auth frame).</summary>
public sealed class BrowserHub : IAsyncLifetime
{
    internal TestHub Hub { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        var settings = Principals.Settings();
        settings["Switchboard:Auth:Timeout"] = "1s";
        // Tokens in ExpiryTests live a few seconds; connections end when the hub stops accepting a token (exp + skew).
        settings["Switchboard:Auth:Jwt:ClockSkew"] = "0s";
        // A service with a realistic name, for refusals that must still fit a WebSocket close reason (123 bytes).
        settings["Switchboard:Auth:ApiKeys:99:Name"] = BrowserAuthTests.LongName;
        settings["Switchboard:Auth:ApiKeys:99:Key"] = BrowserAuthTests.LongNameKey;
        settings["Switchboard:Auth:ApiKeys:99:Scopes:0"] = "subscribe:invoices.eu-west.*";
        Hub = await TestHub.StartAsync(settings: settings);
        using var admin = new HttpClient { BaseAddress = Hub.Address };
        admin.DefaultRequestHeaders.Authorization = new("Bearer", Principals.Admin.Credential);
        using var seeded = await admin.PostAsync("/v1/topics/orders.x/messages", new StringContent("""{"payload": {"seed": true}}""", System.Text.Encoding.UTF8, "application/json"));
        Assert.Equal(System.Net.HttpStatusCode.Created, seeded.StatusCode);
    }

    public async Task DisposeAsync() => await Hub.DisposeAsync();
}

/// <summary>
/// What browsers must do, since EventSource and WebSocket cannot set headers: <c>?access_token=</c>, or an auth frame
/// first on /v1/ws (and again to refresh). Every wait is on a signal (a frame, a close), bounded in time.
/// </summary>
public sealed class BrowserAuthTests(BrowserHub fixture) : IClassFixture<BrowserHub>
{
    internal const string LongName = "billing-reconciliation-service-eu-west-1";
    internal const string LongNameKey = "sb-billing-reconciliation-key-51d0e7a3c2";

    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(15);
    private readonly TestHub _hub = fixture.Hub;

    public static TheoryData<string> Wires => new() { "json", "proto" };

    private static IWire Wire(string name) => name == "json" ? JsonWire.Instance : ProtoWire.Instance;

    private Task<WebSocketLink> ConnectAsync(string wire, CancellationToken cancellationToken, string query = "")
        => WebSocketLink.ConnectAsync(_hub.WebSocketAddress("/v1/ws" + query), Wire(wire), credential: null, cancellationToken);

    [Fact]
    public async Task An_event_stream_authenticates_with_access_token_and_a_bad_one_gets_401()
    {
        using var timeout = new CancellationTokenSource(Limit);
        var key = Uri.EscapeDataString(Principals.Subscriber.Credential!);
        var (stream, refused) = await SseStream.OpenAsync(_hub.Http, $"/v1/topics/orders.x/events?after=0&access_token={key}", timeout.Token);
        Assert.True(stream is not null, $"refused: {refused}");
        await using (stream)
        {
            Assert.NotNull(await stream.ReadUntilAsync(line => line.StartsWith("data:", StringComparison.Ordinal) && line.Contains("seed", StringComparison.Ordinal), timeout.Token));
        }

        var (none, wrong) = await SseStream.OpenAsync(_hub.Http, "/v1/topics/orders.x/events?access_token=not-a-key-at-all-0000", timeout.Token);
        Assert.Null(none);
        Assert.Equal(Verdict.Unauthenticated, wrong.Verdict);

        // A valid token without the scope: 403, not a stream.
        var (other, forbidden) = await SseStream.OpenAsync(_hub.Http, $"/v1/topics/payments/events?access_token={key}", timeout.Token);
        Assert.Null(other);
        Assert.Equal(Verdict.Forbidden, forbidden.Verdict);
        Assert.Contains("subscribe:payments", forbidden.Detail, StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(Wires))]
    public async Task A_WebSocket_authenticates_with_access_token_on_the_upgrade(string wire)
    {
        using var timeout = new CancellationTokenSource(Limit);
        await using var link = await ConnectAsync(wire, timeout.Token, "?access_token=" + Uri.EscapeDataString(Principals.JwtUser.Credential!));
        await link.SendAsync("1", new SubscribeCommand("a"), timeout.Token);
        Assert.Equal("subscribed", (await AnswerAsync(link, "1", timeout.Token)).Kind);
        await link.SendAsync("2", new SubscribeCommand("orders.x"), timeout.Token);
        var refused = await AnswerAsync(link, "2", timeout.Token);
        Assert.Equal(("error", "forbidden"), (refused.Kind, refused.Code));
    }

    [Theory]
    [MemberData(nameof(Wires))]
    public async Task The_auth_frame_sent_first_authenticates_the_connection(string wire)
    {
        using var timeout = new CancellationTokenSource(Limit);
        await using var link = await ConnectAsync(wire, timeout.Token);
        await link.SendAsync("a", new AuthCommand(Principals.JwtUser.Credential!), timeout.Token);
        var authenticated = await AnswerAsync(link, "a", timeout.Token);
        Assert.Equal(("authenticated", "jwt-user"), (authenticated.Kind, authenticated.Text));

        await link.SendAsync("1", new PublishCommand("a", Cells.Marker()), timeout.Token);
        Assert.Equal("published", (await AnswerAsync(link, "1", timeout.Token)).Kind);
        await link.SendAsync("2", new PublishCommand("orders.x", Cells.Marker()), timeout.Token);
        Assert.Equal("forbidden", (await AnswerAsync(link, "2", timeout.Token)).Code);
    }

    [Theory]
    [MemberData(nameof(Wires))]
    public async Task Any_other_frame_before_the_auth_frame_closes_the_connection_with_4401(string wire)
    {
        using var timeout = new CancellationTokenSource(Limit);
        await using var link = await ConnectAsync(wire, timeout.Token);
        await link.SendAsync("1", new PingCommand(), timeout.Token);
        var closed = await link.ClosedAsync(timeout.Token);
        Assert.Equal("4401", closed.Code);
        Assert.Contains("auth", closed.Text, StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(Wires))]
    public async Task No_auth_frame_within_the_auth_timeout_closes_the_connection_with_4401(string wire)
    {
        using var timeout = new CancellationTokenSource(Limit);
        var clock = System.Diagnostics.Stopwatch.StartNew();
        await using var link = await ConnectAsync(wire, timeout.Token);
        var closed = await link.ClosedAsync(timeout.Token);
        Assert.Equal("4401", closed.Code);
        Assert.Contains("in time", closed.Text, StringComparison.Ordinal);
        // Not at once: the client had its second (the registry checks once a second, so at most about 2 s).
        Assert.InRange(clock.Elapsed, TimeSpan.FromSeconds(0.9), TimeSpan.FromSeconds(10));
    }

    [Theory]
    [MemberData(nameof(Wires))]
    public async Task A_bad_token_in_the_first_frame_closes_the_connection_with_4401(string wire)
    {
        using var timeout = new CancellationTokenSource(Limit);
        await using var link = await ConnectAsync(wire, timeout.Token);
        await link.SendAsync("a", new AuthCommand(Tokens.Create(Tokens.Hs256("another-secret-of-the-same-length-0123456789ab"), "mallory", "admin")), timeout.Token);
        var closed = await link.ClosedAsync(timeout.Token);
        Assert.Equal("4401", closed.Code);
        Assert.Contains("signature", closed.Text, StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(Wires))]
    public async Task A_token_that_names_no_one_closes_the_connection_with_4401_saying_to_add_sub(string wire)
    {
        // Such tokens once all became the principal "token": one could refresh (take over) another's connection.
        using var timeout = new CancellationTokenSource(Limit);
        await using var link = await ConnectAsync(wire, timeout.Token);
        await link.SendAsync("a", new AuthCommand(Tokens.Create(Tokens.Hs256(Principals.JwtSecret), subject: null, "subscribe:orders.x")), timeout.Token);
        var closed = await link.ClosedAsync(timeout.Token);
        Assert.Equal("4401", closed.Code);
        Assert.Contains("no 'sub' claim", closed.Text, StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(Wires))]
    public async Task A_credential_longer_than_any_real_one_closes_the_connection_with_4401_saying_so(string wire)
    {
        using var timeout = new CancellationTokenSource(Limit);
        await using var link = await ConnectAsync(wire, timeout.Token);
        // JWT-shaped, so that it is not refused for its shape: 40,000 characters, where a token with many scopes has a few thousand.
        await link.SendAsync("a", new AuthCommand("eyJhbGciOiJIUzI1NiJ9." + new string('A', 40_000) + ".c2ln"), timeout.Token);
        var closed = await link.ClosedAsync(timeout.Token);
        Assert.Equal("4401", closed.Code);
        Assert.Contains("characters long", closed.Text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_request_with_more_than_one_credential_is_refused_with_401_saying_to_send_one()
    {
        using var timeout = new CancellationTokenSource(Limit);
        // An event stream with a header and a token in its URL: which one counts would be a guess (it was the header).
        var (stream, refused) = await SseStream.OpenAsync(_hub.Http, $"/v1/topics/orders.x/events?after=0&access_token={Uri.EscapeDataString(Principals.Admin.Credential!)}",
            timeout.Token, Principals.Subscriber.Credential);
        await using (stream)
        {
            Assert.True(refused.Verdict == Verdict.Unauthenticated, $"expected 401, got {refused}");
            Assert.Contains("more than one credential", refused.Detail, StringComparison.Ordinal);
        }
        using var request = new HttpRequestMessage(HttpMethod.Get, "/v1/topics/orders.x/messages?after=0");
        request.Headers.Authorization = new("Bearer", Principals.Subscriber.Credential);
        request.Headers.Add("X-Api-Key", Principals.Admin.Credential);
        var both = await HttpVerdicts.JudgeAsync(await _hub.Http.SendAsync(request, timeout.Token), System.Net.HttpStatusCode.OK);
        Assert.True(both.Verdict == Verdict.Unauthenticated, $"expected 401, got {both}");
        Assert.Contains("more than one credential", both.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Access_token_is_taken_only_by_routes_that_stream_not_by_any_request_that_asks_for_a_stream()
    {
        using var timeout = new CancellationTokenSource(Limit);
        var ct = timeout.Token;
        var publisher = Uri.EscapeDataString(Principals.Publisher.Credential!);
        using (var publish = new HttpRequestMessage(HttpMethod.Post, $"/v1/topics/orders.x/messages?access_token={publisher}") { Content = new StringContent("""{"payload": 1}""", System.Text.Encoding.UTF8, "application/json") })
        {
            publish.Headers.Accept.ParseAdd("text/event-stream");
            var observed = await HttpVerdicts.JudgeAsync(await _hub.Http.SendAsync(publish, ct), System.Net.HttpStatusCode.Created);
            Assert.True(observed.Verdict == Verdict.Unauthenticated, $"a publish took its credential from the URL: {observed}");
            Assert.Contains("Authorization: Bearer", observed.Detail, StringComparison.Ordinal);
        }

        // Every event stream still does, as EventSource needs: a reply's too.
        using var admin = new HttpClient { BaseAddress = _hub.Address };
        admin.DefaultRequestHeaders.Authorization = new("Bearer", Principals.Admin.Credential);
        using (var created = await admin.PutAsync("/v1/queues/stream.q", new StringContent("{}", System.Text.Encoding.UTF8, "application/json"), ct))
        {
            Assert.True(created.IsSuccessStatusCode, $"setup: PUT queue answered {(int)created.StatusCode}");
        }
        using var ask = new HttpRequestMessage(HttpMethod.Post, "/v1/queues/stream.q/requests") { Content = new StringContent("""{"payload": 1}""", System.Text.Encoding.UTF8, "application/json") };
        ask.Headers.Add("Prefer", "respond-async");
        using var accepted = await admin.SendAsync(ask, ct);
        Assert.Equal(System.Net.HttpStatusCode.Accepted, accepted.StatusCode);
        var (stream, refused) = await SseStream.OpenAsync(_hub.Http, $"{accepted.Headers.Location!.OriginalString}?access_token={Uri.EscapeDataString(Principals.Admin.Credential!)}", ct);
        Assert.True(stream is not null, $"the reply's event stream refused ?access_token=: {refused}");
        await stream.DisposeAsync();
    }

    [Theory]
    [MemberData(nameof(Wires))]
    public async Task A_refresh_for_another_principal_or_with_a_bad_token_is_refused_and_the_connection_goes_on(string wire)
    {
        using var timeout = new CancellationTokenSource(Limit);
        await using var link = await ConnectAsync(wire, timeout.Token);
        await link.SendAsync("a", new AuthCommand(Principals.Subscriber.Credential!), timeout.Token);
        Assert.Equal("authenticated", (await AnswerAsync(link, "a", timeout.Token)).Kind);

        await link.SendAsync("b", new AuthCommand(Principals.Admin.Credential!), timeout.Token);
        var other = await AnswerAsync(link, "b", timeout.Token);
        Assert.Equal(("error", "forbidden"), (other.Kind, other.Code));
        Assert.Contains("same principal", other.Text, StringComparison.Ordinal);

        await link.SendAsync("c", new AuthCommand("not-a-key-at-all-000000"), timeout.Token);
        var bad = await AnswerAsync(link, "c", timeout.Token);
        Assert.Equal(("error", "unauthorized"), (bad.Kind, bad.Code));

        // Still the subscriber, with the subscriber's scopes only: the refused admin key granted nothing.
        await link.SendAsync("1", new SubscribeCommand("orders.x"), timeout.Token);
        Assert.Equal("subscribed", (await AnswerAsync(link, "1", timeout.Token)).Kind);
        await link.SendAsync("2", new SubscribeCommand("payments"), timeout.Token);
        Assert.Equal("forbidden", (await AnswerAsync(link, "2", timeout.Token)).Code);
    }

    [Theory]
    [MemberData(nameof(Wires))]
    public async Task A_refresh_that_no_longer_allows_what_the_connection_holds_is_refused_naming_it(string wire)
    {
        using var timeout = new CancellationTokenSource(Limit);
        var ct = timeout.Token;
        var subject = "narrowed-" + wire;
        string Token(string scopes) => Tokens.Create(Tokens.Hs256(Principals.JwtSecret), subject, scopes);
        using (var admin = new HttpClient { BaseAddress = _hub.Address })
        {
            admin.DefaultRequestHeaders.Authorization = new("Bearer", Principals.Admin.Credential);
            using var created = await admin.PutAsync("/v1/queues/refresh.q", new StringContent("{}", System.Text.Encoding.UTF8, "application/json"), ct);
            Assert.True(created.IsSuccessStatusCode, $"setup: PUT queue answered {(int)created.StatusCode}");
        }
        await using var link = await ConnectAsync(wire, ct);
        await link.SendAsync("a", new AuthCommand(Token("subscribe:orders.x consume:refresh.q")), ct);
        Assert.Equal("authenticated", (await AnswerAsync(link, "a", ct)).Kind);
        await link.SendAsync("s", new SubscribeCommand("orders.x"), ct);
        Assert.Equal("subscribed", (await AnswerAsync(link, "s", ct)).Kind);
        await link.SendAsync("c", new ReceiveCommand("refresh.q", 1), ct);

        // The identity provider took orders.x away: a fresh token without it cannot carry the subscription on (it would
        // read orders.x for as long as the client keeps refreshing), nor one without consume:refresh.q the consumer.
        await link.SendAsync("r1", new AuthCommand(Token("consume:refresh.q")), ct);
        var subscription = await AnswerAsync(link, "r1", ct);
        Assert.Equal(("error", "forbidden"), (subscription.Kind, subscription.Code));
        Assert.Contains("subscribe:orders.x", subscription.Text, StringComparison.Ordinal);
        Assert.Contains("'s'", subscription.Text, StringComparison.Ordinal);
        await link.SendAsync("r2", new AuthCommand(Token("subscribe:orders.x")), ct);
        var consumer = await AnswerAsync(link, "r2", ct);
        Assert.Equal(("error", "forbidden"), (consumer.Kind, consumer.Code));
        Assert.Contains("consume:refresh.q", consumer.Text, StringComparison.Ordinal);

        // Without the subscription, the narrower token covers everything the connection holds: accepted.
        await link.SendAsync("u", new UnsubscribeCommand("s"), ct);
        Assert.Equal("unsubscribed", (await AnswerAsync(link, "u", ct)).Kind);
        await link.SendAsync("r3", new AuthCommand(Token("consume:refresh.q")), ct);
        Assert.Equal("authenticated", (await AnswerAsync(link, "r3", ct)).Kind);
    }

    [Theory]
    [MemberData(nameof(Wires))]
    public async Task A_refused_subscription_leaves_the_other_subscriptions_of_the_connection_alone(string wire)
    {
        using var timeout = new CancellationTokenSource(Limit);
        await using var link = await WebSocketLink.ConnectAsync(_hub.WebSocketAddress("/v1/ws"), Wire(wire), Principals.Subscriber.Credential, timeout.Token);
        await link.SendAsync("1", new SubscribeCommand("orders.x"), timeout.Token);
        Assert.Equal("subscribed", (await AnswerAsync(link, "1", timeout.Token)).Kind);
        await link.SendAsync("2", new SubscribeCommand("orders.>"), timeout.Token);
        var refused = await AnswerAsync(link, "2", timeout.Token);
        Assert.Equal(("error", "forbidden"), (refused.Kind, refused.Code));
        Assert.Contains("subscribe:orders.>", refused.Text, StringComparison.Ordinal);

        // The first subscription still delivers what is published now (its history went by with the answers above).
        using var admin = new HttpClient { BaseAddress = _hub.Address };
        admin.DefaultRequestHeaders.Authorization = new("Bearer", Principals.Admin.Credential);
        var marker = Cells.Marker();
        using var published = await admin.PostAsync("/v1/topics/orders.x/messages", new StringContent($$$"""{"payload": {"after": "{{{marker}}}"}}""", System.Text.Encoding.UTF8, "application/json"), timeout.Token);
        Assert.Equal(System.Net.HttpStatusCode.Created, published.StatusCode);
        Answer answer;
        do
        {
            answer = await link.NextAsync(timeout.Token);
        }
        while (answer.Kind != "closed" && answer.Payload?.Contains(marker, StringComparison.Ordinal) != true);
        Assert.Equal(("message", "orders.x"), (answer.Kind, answer.Text));
    }

    [Fact]
    public async Task A_close_reason_names_the_missing_scope_even_with_realistic_names()
    {
        using var timeout = new CancellationTokenSource(Limit);
        const string Topic = "invoices.eu-west.created.v2";
        await using var link = await WebSocketLink.ConnectAsync(_hub.WebSocketAddress($"/v1/topics/{Topic}/ws"), null, LongNameKey, timeout.Token);
        var closed = await link.ClosedAsync(timeout.Token);
        Assert.Equal("4403", closed.Code);
        // RFC 6455 caps a close reason at 123 bytes: the part that matters has to come first.
        Assert.Contains($"subscribe:{Topic}", closed.Text, StringComparison.Ordinal);
    }

    /// <summary>The answer to frame <paramref name="id"/> (other frames skipped); fails if the connection ends first.</summary>
    internal static async Task<Answer> AnswerAsync(FrameLink link, string id, CancellationToken cancellationToken)
    {
        while (true)
        {
            var answer = await link.NextAsync(cancellationToken);
            Assert.False(answer.Kind == "closed", $"the connection ended before answering {id}: {answer.Code} {answer.Text}");
            if (answer.Id == id)
            {
                return answer;
            }
        }
    }
}
