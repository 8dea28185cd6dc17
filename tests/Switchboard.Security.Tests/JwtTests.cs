using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using Google.Protobuf;
using Grpc.Core;
using Grpc.Net.Client;
using Switchboard.Protocol.V1;
using Switchboard.Security.Tests.Support;
using static Switchboard.Protocol.V1.Switchboard;

namespace Switchboard.Security.Tests;

/// <summary>
/// Two hubs: one that trusts an HS256 secret with a fixed issuer and audience, one that trusts public keys only (an
/// RSA PEM file, an EC PEM, and an RSA key in a JWKS file), with the private keys to sign for them.
/// </summary>
public sealed class JwtHubs : IAsyncLifetime
{
    public const string Secret = "jwt-tests-hs256-secret-3c1e9b7a5d2f-7e4a0c8b6d1f";
    public const string Issuer = "https://id.example.test";
    public const string Audience = "switchboard";

    private readonly string _directory = Path.Combine(Path.GetTempPath(), "switchboard-jwt-" + Guid.NewGuid().ToString("N")[..12]);

    internal RSA PemRsa { get; } = RSA.Create(2048);
    internal RSA JwksRsa { get; } = RSA.Create(2048);
    internal ECDsa Ec { get; } = ECDsa.Create(ECCurve.NamedCurves.nistP256);

    /// <summary>The PEM text of <see cref="PemRsa"/>'s public key, as the hub reads it from its file.</summary>
    internal string RsaPublicPem { get; } = "";

    internal TestHub Secret256 { get; private set; } = null!;
    internal TestHub PublicKeys { get; private set; } = null!;

    public JwtHubs() => RsaPublicPem = PemRsa.ExportSubjectPublicKeyInfoPem();

    public async Task InitializeAsync()
    {
        Directory.CreateDirectory(_directory);
        var pemFile = Path.Combine(_directory, "rsa.pem");
        await File.WriteAllTextAsync(pemFile, RsaPublicPem);
        var jwksFile = Path.Combine(_directory, "jwks.json");
        await File.WriteAllTextAsync(jwksFile, Tokens.Jwks(JwksRsa, "jwks-1"));

        Secret256 = await TestHub.StartAsync(settings: new Dictionary<string, string?>
        {
            ["Switchboard:Auth:Jwt:Secret"] = Secret,
            ["Switchboard:Auth:Jwt:Issuer"] = Issuer,
            ["Switchboard:Auth:Jwt:Audience"] = Audience,
        });
        PublicKeys = await TestHub.StartAsync(settings: new Dictionary<string, string?>
        {
            ["Switchboard:Auth:Jwt:PublicKeys:0:File"] = pemFile,
            ["Switchboard:Auth:Jwt:PublicKeys:1:Pem"] = Ec.ExportSubjectPublicKeyInfoPem(),
            ["Switchboard:Auth:Jwt:JwksFile"] = jwksFile,
        });
    }

    public async Task DisposeAsync()
    {
        await Secret256.DisposeAsync();
        await PublicKeys.DisposeAsync();
        PemRsa.Dispose();
        JwksRsa.Dispose();
        Ec.Dispose();
        Directory.Delete(_directory, recursive: true);
    }
}

/// <summary>JWTs as an attacker and a careless identity provider would present them (Microsoft's JsonWebTokenHandler mints them).</summary>
public sealed class JwtTests(JwtHubs hubs) : IClassFixture<JwtHubs>
{
    private static string Hs256(TimeSpan? expiresIn = null, bool withoutExpiry = false, TimeSpan? notBeforeIn = null, string issuer = JwtHubs.Issuer, string? audience = JwtHubs.Audience, string? secret = null)
        => Tokens.Create(Tokens.Hs256(secret ?? JwtHubs.Secret), "alice", "publish:a", expiresIn: expiresIn, withoutExpiry: withoutExpiry, notBeforeIn: notBeforeIn, issuer: issuer, audience: audience);

    [Fact]
    public async Task An_HS256_token_with_the_shared_secret_is_accepted_and_its_scopes_apply()
    {
        var token = Hs256();
        await AssertAcceptedAsync(hubs.Secret256, token);

        var refused = await PublishAsync(hubs.Secret256, token, "b");
        Assert.Equal(Verdict.Forbidden, refused.Verdict);
        Assert.Contains("'alice'", refused.Detail, StringComparison.Ordinal);
        Assert.Contains("publish:b", refused.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_expired_token_is_refused_with_401_saying_it_expired()
        => await AssertRefusedAsync(hubs.Secret256, Hs256(expiresIn: TimeSpan.FromSeconds(-90)), "expired");

    [Fact]
    public async Task A_token_expired_within_the_30_second_clock_skew_is_still_accepted()
        => await AssertAcceptedAsync(hubs.Secret256, Hs256(expiresIn: TimeSpan.FromSeconds(-10)));

    [Fact]
    public async Task A_token_not_valid_yet_is_refused_with_401()
        => await AssertRefusedAsync(hubs.Secret256, Hs256(notBeforeIn: TimeSpan.FromMinutes(5)), "not valid before");

    [Fact]
    public async Task A_token_for_another_audience_or_without_one_is_refused_with_401()
    {
        await AssertRefusedAsync(hubs.Secret256, Hs256(audience: "someone-else"), "'aud'");
        await AssertRefusedAsync(hubs.Secret256, Hs256(audience: null), "'aud'");
    }

    [Fact]
    public async Task A_token_from_another_issuer_is_refused_with_401()
        => await AssertRefusedAsync(hubs.Secret256, Hs256(issuer: "https://evil.example.test"), "'iss'");

    [Fact]
    public async Task A_token_without_exp_is_refused_with_401()
        => await AssertRefusedAsync(hubs.Secret256, Hs256(withoutExpiry: true), "'exp'");

    [Fact]
    public async Task A_token_that_names_no_one_is_refused_on_REST_and_gRPC_saying_to_add_sub()
    {
        string Token(string? subject, IReadOnlyDictionary<string, object>? claims = null)
            => Tokens.Create(Tokens.Hs256(JwtHubs.Secret), subject, "publish:a", issuer: JwtHubs.Issuer, audience: JwtHubs.Audience, claims: claims);

        await AssertRefusedAsync(hubs.Secret256, Token(null), "no 'sub' claim");
        await AssertRefusedAsync(hubs.Secret256, Token("  "), "no 'sub' claim");
        using var channel = GrpcChannel.ForAddress(hubs.Secret256.Address);
        var refused = await Assert.ThrowsAsync<RpcException>(async () => await new SwitchboardClient(channel).PublishAsync(
            new PublishRequest { Topic = "a", Payload = ByteString.CopyFromUtf8("1") }, new Metadata { { "authorization", "Bearer " + Token(null) } }));
        Assert.Equal(StatusCode.Unauthenticated, refused.StatusCode);
        Assert.Contains("no 'sub' claim", refused.Status.Detail, StringComparison.Ordinal);

        // A service's token (client credentials) names its client instead: client_id or azp.
        await AssertAcceptedAsync(hubs.Secret256, Token(null, new Dictionary<string, object> { ["client_id"] = "billing" }));
        await AssertAcceptedAsync(hubs.Secret256, Token(null, new Dictionary<string, object> { ["azp"] = "billing" }));
    }

    [Fact]
    public async Task A_token_signed_with_another_secret_is_refused_with_401()
        => await AssertRefusedAsync(hubs.Secret256, Hs256(secret: "not-the-secret-but-just-as-long-0123456789abcdef"), "signature");

    [Fact]
    public async Task An_unsigned_alg_none_token_is_refused_by_every_hub()
    {
        // Issuer and audience right, so that the missing signature is the only thing wrong.
        await AssertRefusedAsync(hubs.Secret256, Tokens.Unsigned("alice", "publish:a", JwtHubs.Issuer, JwtHubs.Audience));
        await AssertRefusedAsync(hubs.PublicKeys, Tokens.Unsigned("alice", "publish:a"));

        // A real HS256 token with its signature cut off is no better.
        var signed = Hs256();
        await AssertRefusedAsync(hubs.Secret256, signed[..(signed.LastIndexOf('.') + 1)]);
    }

    [Fact]
    public async Task Algorithm_confusion_an_HS256_token_keyed_with_the_RSA_public_key_PEM_is_refused()
    {
        var forged = Tokens.Create(Tokens.Hs256(Encoding.UTF8.GetBytes(hubs.RsaPublicPem)), "mallory", "publish:a");
        await AssertRefusedAsync(hubs.PublicKeys, forged);

        // The same claims signed properly with the private key are accepted: it is the algorithm that was refused.
        await AssertAcceptedAsync(hubs.PublicKeys, Tokens.Create(Tokens.Rs256(hubs.PemRsa), "mallory", "publish:a"));
    }

    [Fact]
    public async Task RS256_and_ES256_tokens_signed_with_the_matching_private_keys_are_accepted()
    {
        await AssertAcceptedAsync(hubs.PublicKeys, Tokens.Create(Tokens.Rs256(hubs.PemRsa), "rsa-user", "publish:a"));
        await AssertAcceptedAsync(hubs.PublicKeys, Tokens.Create(Tokens.Es256(hubs.Ec), "ec-user", "publish:a"));
    }

    [Fact]
    public async Task Tokens_signed_with_keys_the_hub_does_not_trust_are_refused()
    {
        using var otherRsa = RSA.Create(2048);
        using var otherEc = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        await AssertRefusedAsync(hubs.PublicKeys, Tokens.Create(Tokens.Rs256(otherRsa), "rsa-user", "publish:a"), "signature");
        await AssertRefusedAsync(hubs.PublicKeys, Tokens.Create(Tokens.Es256(otherEc), "ec-user", "publish:a"), "signature");
        // An RS256 token on the HS256-only hub: no key there verifies RS256.
        await AssertRefusedAsync(hubs.Secret256, Tokens.Create(Tokens.Rs256(hubs.PemRsa), "rsa-user", "publish:a", issuer: JwtHubs.Issuer, audience: JwtHubs.Audience));
    }

    [Fact]
    public async Task A_key_from_the_JWKS_file_verifies_RS256_tokens_with_or_without_its_kid()
    {
        await AssertAcceptedAsync(hubs.PublicKeys, Tokens.Create(Tokens.Rs256(hubs.JwksRsa, "jwks-1"), "jwks-user", "publish:a"));
        await AssertAcceptedAsync(hubs.PublicKeys, Tokens.Create(Tokens.Rs256(hubs.JwksRsa), "jwks-user", "publish:a"));
    }

    [Theory]
    [InlineData("scope", false)]
    [InlineData("scope", true)]
    [InlineData("scp", false)]
    [InlineData("scp", true)]
    public async Task Scopes_are_read_from_scope_or_scp_as_a_string_or_an_array(string claim, bool array)
    {
        object scope = array ? new[] { "publish:a", "other-service:read" } : "publish:a other-service:read";
        var token = Tokens.Create(Tokens.Hs256(JwtHubs.Secret), "carol", scope, claim, issuer: JwtHubs.Issuer, audience: JwtHubs.Audience);

        await AssertAcceptedAsync(hubs.Secret256, token);
        Assert.Equal(Verdict.Forbidden, (await PublishAsync(hubs.Secret256, token, "b")).Verdict);
    }

    [Fact]
    public async Task A_connection_opened_with_a_token_inside_the_clock_skew_is_served_until_the_skew_ends_not_cut_at_once()
    {
        // The hub accepts a token up to 30 s (its default ClockSkew) past exp, at the door of a request and of a
        // connection alike; the connection's credential must end then too, not at exp (which has passed).
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var token = Hs256(expiresIn: TimeSpan.FromSeconds(-10));
        var exp = DateTimeOffset.FromUnixTimeSeconds(new Microsoft.IdentityModel.JsonWebTokens.JsonWebToken(token).GetPayloadValue<long>("exp"));
        using var socket = new System.Net.WebSockets.ClientWebSocket();
        socket.Options.AddSubProtocol("switchboard.v1.json");
        await socket.ConnectAsync(hubs.Secret256.WebSocketAddress("/v1/ws"), timeout.Token);
        await SendAsync(socket, $$$"""{"id": "a", "auth": {"token": "{{{token}}}"}}""", timeout.Token);
        var authenticated = (await FrameAsync(socket, "a", timeout.Token)).GetProperty("authenticated");
        Assert.Equal(exp + TimeSpan.FromSeconds(30), authenticated.GetProperty("expiresAt").GetDateTimeOffset());

        // The registry ends expired connections on its once-a-second round: two rounds later this one still answers.
        // (A wait on no signal: what is asserted is that nothing happens.)
        await Task.Delay(TimeSpan.FromSeconds(2.5), timeout.Token);
        await SendAsync(socket, """{"id": "p", "ping": {}}""", timeout.Token);
        Assert.True((await FrameAsync(socket, "p", timeout.Token)).TryGetProperty("pong", out _));
    }

    [Fact]
    public async Task A_token_that_expires_at_the_end_of_time_is_accepted_on_a_request_and_a_connection()
    {
        // Some service tokens "never expire": exp 253402300799 (9999-12-31T23:59:59Z). Adding the clock skew to it must
        // not overflow into a 500.
        var token = Hs256(expiresIn: new DateTime(9999, 12, 31, 23, 59, 59, DateTimeKind.Utc) - DateTime.UtcNow);
        await AssertAcceptedAsync(hubs.Secret256, token);

        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        using var socket = new System.Net.WebSockets.ClientWebSocket();
        socket.Options.AddSubProtocol("switchboard.v1.json");
        await socket.ConnectAsync(hubs.Secret256.WebSocketAddress("/v1/ws"), timeout.Token);
        await SendAsync(socket, $$$"""{"id": "a", "auth": {"token": "{{{token}}}"}}""", timeout.Token);
        var authenticated = (await FrameAsync(socket, "a", timeout.Token)).GetProperty("authenticated");
        Assert.Equal(9999, authenticated.GetProperty("expiresAt").GetDateTimeOffset().Year);
    }

    private static Task SendAsync(System.Net.WebSockets.ClientWebSocket socket, string frame, CancellationToken cancellationToken)
        => socket.SendAsync(Encoding.UTF8.GetBytes(frame), System.Net.WebSockets.WebSocketMessageType.Text, true, cancellationToken);

    private static async Task<System.Text.Json.JsonElement> FrameAsync(System.Net.WebSockets.ClientWebSocket socket, string id, CancellationToken cancellationToken)
    {
        var buffer = new byte[64 * 1024];
        while (true)
        {
            var received = await socket.ReceiveAsync(buffer, cancellationToken);
            Assert.False(received.MessageType == System.Net.WebSockets.WebSocketMessageType.Close, $"closed: {socket.CloseStatus} {socket.CloseStatusDescription}");
            var frame = System.Text.Json.JsonDocument.Parse(buffer.AsMemory(0, received.Count)).RootElement.Clone();
            if (frame.TryGetProperty("id", out var answered) && answered.GetString() == id)
            {
                return frame;
            }
        }
    }

    private static async Task<Observed> PublishAsync(TestHub hub, string token, string topic)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, $"/v1/topics/{topic}/messages") { Content = new StringContent("""{"payload": 1}""", Encoding.UTF8, "application/json") };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        return await HttpVerdicts.JudgeAsync(await hub.Http.SendAsync(request), HttpStatusCode.Created);
    }

    private static async Task AssertAcceptedAsync(TestHub hub, string token)
    {
        var observed = await PublishAsync(hub, token, "a");
        Assert.True(observed.Verdict == Verdict.Allowed, $"the token was not accepted: {observed}");
    }

    private static async Task AssertRefusedAsync(TestHub hub, string token, string? saying = null)
    {
        var observed = await PublishAsync(hub, token, "a");
        Assert.True(observed.Verdict == Verdict.Unauthenticated, $"expected 401, got {observed}");
        if (saying is not null)
        {
            Assert.Contains(saying, observed.Detail, StringComparison.Ordinal);
        }
    }
}
