using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Switchboard.Security.Tests.Support;

namespace Switchboard.Security.Tests;

/// <summary>
/// A JWKS names what each key is for (RFC 7517: "use", "key_ops"). An identity provider's set often holds its
/// encryption keys next to its signing keys; a key published for encryption must never make a token trusted.
/// </summary>
public sealed class JwksKeyUseTests : IAsyncLifetime
{
    private static readonly byte[] EncryptionSecret = Encoding.UTF8.GetBytes("an-encryption-key-shared-with-clients-0123456789");
    private readonly string _directory = Path.Combine(Path.GetTempPath(), "switchboard-jwks-use-" + Guid.NewGuid().ToString("N")[..12]);
    private readonly RSA _signing = RSA.Create(2048);
    private readonly RSA _encrypting = RSA.Create(2048);
    private TestHub _hub = null!;

    public async Task InitializeAsync()
    {
        Directory.CreateDirectory(_directory);
        var jwks = Path.Combine(_directory, "jwks.json");
        await File.WriteAllTextAsync(jwks, JsonSerializer.Serialize(new
        {
            keys = new object[]
            {
                Rsa(_signing, "sig-1", ("use", "sig")),
                new Dictionary<string, object> { ["kty"] = "oct", ["use"] = "enc", ["alg"] = "HS256", ["kid"] = "enc-oct", ["k"] = Base64Url(EncryptionSecret) },
                Rsa(_encrypting, "enc-rsa", ("key_ops", new[] { "encrypt", "wrapKey" })),
            },
        }));
        _hub = await TestHub.StartAsync(settings: new Dictionary<string, string?> { ["Switchboard:Auth:Jwt:JwksFile"] = jwks });
    }

    public async Task DisposeAsync()
    {
        await _hub.DisposeAsync();
        _signing.Dispose();
        _encrypting.Dispose();
        Directory.Delete(_directory, recursive: true);
    }

    [Fact]
    public async Task The_signing_key_of_the_set_verifies_tokens()
        => Assert.Equal(Verdict.Allowed, (await PublishAsync(Tokens.Create(Tokens.Rs256(_signing, "sig-1"), "svc", "publish:a"))).Verdict);

    [Fact]
    public async Task A_token_signed_with_a_key_marked_use_enc_is_refused_with_or_without_its_kid()
    {
        foreach (var keyId in new[] { "enc-oct", null })
        {
            var signing = new Microsoft.IdentityModel.Tokens.SigningCredentials(new Microsoft.IdentityModel.Tokens.SymmetricSecurityKey(EncryptionSecret) { KeyId = keyId }, "HS256");
            var observed = await PublishAsync(Tokens.Create(signing, "mallory", "publish:a"));
            Assert.True(observed.Verdict == Verdict.Unauthenticated, $"kid {keyId ?? "(none)"}: expected 401, got {observed}");
        }
    }

    [Fact]
    public async Task A_token_signed_with_a_key_whose_key_ops_leave_out_verify_is_refused()
    {
        var observed = await PublishAsync(Tokens.Create(Tokens.Rs256(_encrypting, "enc-rsa"), "mallory", "publish:a"));
        Assert.True(observed.Verdict == Verdict.Unauthenticated, $"expected 401, got {observed}");
        Assert.Contains("signature", observed.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_set_with_no_signing_key_stops_the_hub_at_start_naming_the_setting()
    {
        var jwks = Path.Combine(_directory, "enc-only.json");
        await File.WriteAllTextAsync(jwks, JsonSerializer.Serialize(new { keys = new[] { Rsa(_encrypting, "enc-rsa", ("use", "enc")) } }));
        var error = await Assert.ThrowsAnyAsync<Exception>(() => TestHub.StartAsync(settings: new Dictionary<string, string?> { ["Switchboard:Auth:Jwt:JwksFile"] = jwks }));
        var message = error.GetBaseException().Message;
        Assert.Contains("Switchboard:Auth:Jwt:JwksFile", message, StringComparison.Ordinal);
        Assert.Contains("\"use\": \"enc\"", message, StringComparison.Ordinal);
    }

    private async Task<Observed> PublishAsync(string token)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/topics/a/messages") { Content = new StringContent("""{"payload": 1}""", Encoding.UTF8, "application/json") };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        return await HttpVerdicts.JudgeAsync(await _hub.Http.SendAsync(request), HttpStatusCode.Created);
    }

    private static Dictionary<string, object> Rsa(RSA rsa, string keyId, (string Name, object Value) purpose)
    {
        var parameters = rsa.ExportParameters(includePrivateParameters: false);
        return new Dictionary<string, object>
        {
            ["kty"] = "RSA", ["alg"] = "RS256", ["kid"] = keyId, [purpose.Name] = purpose.Value,
            ["n"] = Base64Url(parameters.Modulus!), ["e"] = Base64Url(parameters.Exponent!),
        };
    }

    private static string Base64Url(byte[] bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');
}
