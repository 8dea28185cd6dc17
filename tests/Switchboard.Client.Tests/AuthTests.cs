using System.Text;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace Switchboard.Client.Tests;

/// <summary>A hub that needs credentials: two API keys (admin, and one limited to <c>auth.ok.&gt;</c>) and HS256 JWTs with no clock skew.</summary>
public sealed class SecuredHub : IAsyncLifetime
{
    public const string AdminKey = "client-tests-admin-key-0123456789abcdef";
    public const string LimitedKey = "client-tests-limited-key-0123456789abcdef";
    public const string Secret = "client-tests-hs256-secret-5b2e8d1f9a3c-4e7f0a6b";

    internal TestHub Hub { get; private set; } = null!;

    public async Task InitializeAsync() => Hub = await TestHub.StartAsync(settings: new Dictionary<string, string?>
    {
        ["Switchboard:Auth:ApiKeys:0:Name"] = "tests-admin",
        ["Switchboard:Auth:ApiKeys:0:Key"] = AdminKey,
        ["Switchboard:Auth:ApiKeys:0:Scopes:0"] = "admin",
        ["Switchboard:Auth:ApiKeys:1:Name"] = "tests-limited",
        ["Switchboard:Auth:ApiKeys:1:Key"] = LimitedKey,
        ["Switchboard:Auth:ApiKeys:1:Scopes:0"] = "publish:auth.ok.>",
        ["Switchboard:Auth:ApiKeys:1:Scopes:1"] = "subscribe:auth.ok.>",
        ["Switchboard:Auth:Jwt:Secret"] = Secret,
        // Expiry exactly at exp: an expired token is refused at once rather than 30 s later.
        ["Switchboard:Auth:Jwt:ClockSkew"] = "0s",
    });

    public async Task DisposeAsync() => await Hub.DisposeAsync();

    /// <summary>An HS256 JWT the hub accepts until <c>now + life</c> (exp has whole seconds).</summary>
    public static string Jwt(string subject, string scope, TimeSpan life) => new JsonWebTokenHandler { SetDefaultTimesOnTokenCreation = false }.CreateToken(new SecurityTokenDescriptor
    {
        Claims = new Dictionary<string, object> { ["sub"] = subject, ["scope"] = scope },
        SigningCredentials = new SigningCredentials(new SymmetricSecurityKey(Encoding.UTF8.GetBytes(Secret)), SecurityAlgorithms.HmacSha256),
        IssuedAt = DateTime.UtcNow.AddMinutes(-1),
        Expires = DateTime.UtcNow + life,
    });
}

/// <summary>API keys, JWTs that refresh themselves, refused credentials (fast, no retry loop), and scopes that refuse one subscription but not the connection.</summary>
public sealed class AuthTests(SecuredHub fixture) : IClassFixture<SecuredHub>
{
    private readonly TestHub _hub = fixture.Hub;

    [Theory]
    [MemberData(nameof(Transports.Data), MemberType = typeof(Transports))]
    public async Task An_API_key_carries_topics_queues_and_requests(ClientTransport transport)
    {
        await using var client = await Tests.ConnectAsync(_hub.Address, transport, o => o.ApiKey = SecuredHub.AdminKey);
        var topic = Tests.Name("auth.key");
        var inbox = new Inbox<Message>();
        await using var subscription = client.Subscribe(topic, inbox.Handle);
        await subscription.Ready.WaitAsync(Tests.Limit);
        await client.PublishAsync(topic, "secret");
        Assert.Equal("secret", (await inbox.CountAsync(1))[0].GetPayload<string>());

        var queue = Tests.Name("auth.jobs");
        await client.SendAsync(queue, 1);
        var received = Assert.Single(await client.ReceiveAsync(queue, new ReceiveOptions { Wait = TimeSpan.FromSeconds(5) }));
        await received.AckAsync();
        await using var responder = client.Respond(queue + "-rpc", (request, _) => Task.FromResult(request.GetPayload<int>() * 2));
        Assert.Equal(42, (await client.RequestAsync(queue + "-rpc", 21, new RequestOptions { Timeout = Tests.Limit })).GetPayload<int>());
    }

    [Theory]
    [MemberData(nameof(Transports.Data), MemberType = typeof(Transports))]
    public async Task A_wrong_key_fails_ConnectAsync_with_unauthorized_at_once_and_without_retrying(ClientTransport transport)
    {
        await using var client = new SwitchboardClient(Tests.Options(_hub.Address, transport, o => o.ApiKey = "not-a-key-of-this-hub-at-all"));
        var states = new Inbox<ConnectionStateChangedEventArgs>();
        client.StateChanged += (_, e) => states.Add(e);
        var started = DateTime.UtcNow;

        var refused = await Assert.ThrowsAsync<SwitchboardException>(() => client.StartAsync().WaitAsync(Tests.Limit));

        Assert.Equal(ClientErrorCodes.Unauthorized, refused.Code);
        Assert.True(refused.CloseCode == 4401 || refused.Status == 401, $"close {refused.CloseCode}, status {refused.Status}");
        Assert.InRange(DateTime.UtcNow - started, TimeSpan.Zero, TimeSpan.FromSeconds(5));
        Assert.Equal([ConnectionState.Closed], states.Items.Select(s => s.State));
        Assert.Equal(ConnectionState.Closed, client.State);
        Assert.Equal(ClientErrorCodes.Closed, (await Assert.ThrowsAsync<SwitchboardException>(() => client.PublishAsync("auth.ok.x", 1))).Code);
    }

    [Theory]
    [MemberData(nameof(Transports.Data), MemberType = typeof(Transports))]
    public async Task Without_credentials_the_first_call_is_refused_with_unauthorized_and_the_client_closes(ClientTransport transport)
    {
        await using var client = new SwitchboardClient(Tests.Options(_hub.Address, transport));
        var states = new Inbox<ConnectionStateChangedEventArgs>();
        client.StateChanged += (_, e) => states.Add(e);

        SwitchboardException refused;
        if (transport == ClientTransport.WebSocket)
        {
            // A WebSocket opens without one (its credential may come in its first frame): its first use is refused (4401).
            await client.StartAsync().WaitAsync(Tests.Limit);
            refused = await Assert.ThrowsAsync<SwitchboardException>(() => client.PublishAsync("auth.ok.none", 1).WaitAsync(Tests.Limit));
        }
        else
        {
            // A gRPC call, an event stream and a long poll carry the credential as they open: the open is the first call.
            refused = await Assert.ThrowsAsync<SwitchboardException>(() => client.StartAsync().WaitAsync(Tests.Limit));
            Assert.Equal(401, refused.Status);
        }

        Assert.Equal(ClientErrorCodes.Unauthorized, refused.Code);
        // That ends the client (no retry loop with a credential it lacks).
        var last = (await states.UntilAsync(s => s.Any(e => e.State == ConnectionState.Closed), "the client closing"))[^1];
        Assert.Equal(ClientErrorCodes.Unauthorized, last.Error?.Code);
        Assert.DoesNotContain(states.Items, e => e.State == ConnectionState.Reconnecting);
        Assert.Equal(ClientErrorCodes.Closed, (await Assert.ThrowsAsync<SwitchboardException>(() => client.PublishAsync("auth.ok.none", 2))).Code);
    }

    [Theory]
    [MemberData(nameof(Transports.Data), MemberType = typeof(Transports))]
    public async Task A_forbidden_subscription_faults_alone_while_the_connection_and_other_subscriptions_carry_on(ClientTransport transport)
    {
        await using var client = await Tests.ConnectAsync(_hub.Address, transport, o => o.ApiKey = SecuredHub.LimitedKey);
        var states = new Inbox<ConnectionState>();
        client.StateChanged += (_, e) => states.Add(e.State);
        var allowedTopic = Tests.Name("auth.ok");
        var inbox = new Inbox<Message>();
        await using var allowed = client.Subscribe(allowedTopic, inbox.Handle);
        await allowed.Ready.WaitAsync(Tests.Limit);

        var refused = client.Subscribe(Tests.Name("auth.secret"));
        var error = await Assert.ThrowsAsync<SwitchboardException>(() => refused.Ready.WaitAsync(Tests.Limit));
        Assert.Equal("forbidden", error.Code);
        Assert.Contains("subscribe", error.Message, StringComparison.OrdinalIgnoreCase);
        Assert.True(refused.Completion.IsFaulted);
        await Assert.ThrowsAsync<SwitchboardException>(async () => { await foreach (var _ in refused) { } });
        var wildcard = client.Subscribe("auth.>");
        Assert.Equal("forbidden", (await Assert.ThrowsAsync<SwitchboardException>(() => wildcard.Ready.WaitAsync(Tests.Limit))).Code);
        Assert.Equal("forbidden", (await Assert.ThrowsAsync<SwitchboardException>(() => client.PublishAsync("auth.secret.x", 1).WaitAsync(Tests.Limit))).Code);

        await client.PublishAsync(allowedTopic, "fine");
        Assert.Equal("fine", (await inbox.CountAsync(1))[0].GetPayload<string>());
        Assert.Equal(ConnectionState.Connected, client.State);
        Assert.Empty(states.Items);
        Assert.False(allowed.Completion.IsCompleted);
    }

    [Theory]
    [MemberData(nameof(Transports.Data), MemberType = typeof(Transports))]
    public async Task A_short_lived_JWT_refreshed_by_the_AccessTokenProvider_keeps_the_connection_past_its_expiry(ClientTransport transport)
    {
        var minted = new Inbox<DateTimeOffset>();
        await using var client = await Tests.ConnectAsync(_hub.Address, transport, o => o.AccessTokenProvider = _ =>
        {
            var life = TimeSpan.FromSeconds(3);
            minted.Add(DateTimeOffset.UtcNow + life);
            return ValueTask.FromResult<string?>(SecuredHub.Jwt("refresher", "publish:auth.> subscribe:auth.>", life));
        });
        var states = new Inbox<ConnectionState>();
        client.StateChanged += (_, e) => states.Add(e.State);
        var topic = Tests.Name("auth.jwt");
        var inbox = new Inbox<Message>();
        await using var subscription = client.Subscribe(topic, inbox.Handle);
        await subscription.Ready.WaitAsync(Tests.Limit);
        await client.PublishAsync(topic, 1);
        await inbox.CountAsync(1);
        var firstExpiry = minted.Items[0];

        // Refreshes are the signal: wait for one made well after the first token expired (the hub checks once a second).
        await minted.UntilAsync(m => m.Count >= 3 && DateTimeOffset.UtcNow > firstExpiry + TimeSpan.FromSeconds(1.5), "refreshes past the first expiry");
        await client.PublishAsync(topic, 2);

        Assert.Equal([1, 2], (await inbox.CountAsync(2)).Select(m => m.GetPayload<int>()));
        Assert.True(DateTimeOffset.UtcNow > firstExpiry + TimeSpan.FromSeconds(1.5));
        Assert.Empty(states.Items); // never lost the connection
        Assert.Equal(ConnectionState.Connected, client.State);
    }

    [Theory]
    [InlineData(3, 1)] // a short-lived token: renewed every second, with two to spare
    [InlineData(20, 1)]
    [InlineData(60, 30)] // 30 s before its end comes before four fifths of its life
    [InlineData(3600, 2880)] // four fifths of an hour: 12 minutes to spare
    [InlineData(0, 1)] // already expired: not in a busy loop
    public void A_credential_is_renewed_well_before_it_expires_and_never_in_a_busy_loop(int leftSeconds, int renewedAfterSeconds)
        => Assert.Equal(TimeSpan.FromSeconds(renewedAfterSeconds), Credential.RefreshDelay(TimeSpan.FromSeconds(leftSeconds)));

    [Theory]
    [MemberData(nameof(Transports.Data), MemberType = typeof(Transports))]
    public async Task A_JWT_that_expires_with_no_fresh_one_to_be_had_ends_the_client_with_unauthorized(ClientTransport transport)
    {
        // The provider keeps handing out the one token it has: the refresh changes nothing, and the reconnect is refused.
        // 5 s: long enough for the connect to finish on a loaded machine before the token ends.
        var token = SecuredHub.Jwt("stale", "publish:auth.> subscribe:auth.>", TimeSpan.FromSeconds(5));
        var calls = 0;
        await using var client = await Tests.ConnectAsync(_hub.Address, transport, o => o.AccessTokenProvider = _ =>
        {
            Interlocked.Increment(ref calls);
            return ValueTask.FromResult<string?>(token);
        });
        var states = new Inbox<ConnectionStateChangedEventArgs>();
        client.StateChanged += (_, e) => states.Add(e);
        await using var subscription = client.Subscribe(Tests.Name("auth.stale"));
        await subscription.Ready.WaitAsync(Tests.Limit);

        var closed = (await states.UntilAsync(s => s.Any(e => e.State == ConnectionState.Closed), "the client closing"))[^1];

        Assert.Equal(ClientErrorCodes.Unauthorized, closed.Error?.Code);
        Assert.InRange(states.Items.Count(e => e.State == ConnectionState.Reconnecting), 0, 2);
        Assert.InRange(Volatile.Read(ref calls), 1, 10);
        var ended = await Assert.ThrowsAsync<SwitchboardException>(() => subscription.Completion.WaitAsync(Tests.Limit));
        Assert.Equal(ClientErrorCodes.Unauthorized, ended.Code);
    }
}
