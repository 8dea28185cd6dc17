using System.Security.Cryptography;
using System.Text;
using Switchboard.Fuzz.Tests.Support;
using Switchboard.Server;
using Switchboard.Server.Auth;
using Xunit.Abstractions;

namespace Switchboard.Fuzz.Tests;

/// <summary>
/// Credential parsing: whatever a client presents (mutated JWTs, forged headers, random text), the authenticator
/// answers accepted or refused with a reason — never throws, never hangs — and nothing but the exact key or a token
/// signed with the configured secret is accepted.
/// </summary>
public sealed class TokenTests(ITestOutputHelper output)
{
    private const string Secret = "fuzz-secret-0123456789abcdef0123456789abcdef";
    private const string Key = "sb-fuzz-key-0123456789abcdef";

    private static readonly Authenticator Authenticator = Build();

    /// <summary>A valid HS256 token (made by hand here so the fuzz project needs no JWT package; the hub validates it with Microsoft's).</summary>
    private static readonly string Valid = Sign("""{"alg":"HS256","typ":"JWT"}""", $$"""{"sub":"fuzz","scope":"publish:a subscribe:a.>","exp":{{DateTimeOffset.UtcNow.AddHours(1).ToUnixTimeSeconds()}}}""");

    private static readonly string[] Samples =
    [
        Valid,
        Key,
        Sign("""{"alg":"none"}""", """{"sub":"x","exp":9999999999}""")[..^43],
        Sign("""{"alg":"HS512","typ":"JWT"}""", """{"sub":"x","exp":9999999999}"""),
        Sign("""{"alg":"RS256","kid":"../../etc/passwd"}""", """{"sub":"x","exp":9999999999,"scope":["admin"]}"""),
        Sign("""{"alg":"HS256","crit":["exp"],"jku":"http://127.0.0.1/jwks"}""", """{"sub":"x","exp":"tomorrow","nbf":-1}"""),
        "Bearer " + Valid,
        "a.b.c",
        "..",
    ];

    [Fact]
    public async Task The_samples_mean_what_they_say()
    {
        Assert.Equal("fuzz", (await Authenticator.AuthenticateAsync(Valid)).Caller?.Name);
        Assert.Equal("fuzz-key", (await Authenticator.AuthenticateAsync(Key)).Caller?.Name);
        foreach (var forged in Samples.Skip(2))
        {
            Assert.Null((await Authenticator.AuthenticateAsync(forged)).Caller);
        }
    }

    [Fact]
    public async Task Mutated_credentials_are_refused_with_a_reason_and_never_throw()
    {
        Mutator<char>? mutator = null;
        var report = await Fuzzer.RunAsync(output, "token/mutated",
            random => new string((mutator ??= Mutators.Text(random, Samples, maxLength: 16 * 1024)).Next()),
            credential =>
            {
                var outcome = Authenticator.AuthenticateAsync(credential).AsTask().GetAwaiter().GetResult();
                if (outcome.Caller is null)
                {
                    Assert.False(string.IsNullOrWhiteSpace(outcome.Failure));
                    return false;
                }
                // Accepted only as the key itself or a token that still verifies: the same claims as the original.
                Assert.True(credential == Key || outcome.Caller.Name == "fuzz", $"accepted as '{outcome.Caller.Name}': {Fuzzer.Show(credential)}");
                return true;
            },
            _ => false, Fuzzer.Show);
        Assert.True(report.Refused > report.Inputs / 2, report.ToString());
    }

    private static Authenticator Build()
    {
        var options = new AuthOptions { Jwt = new JwtOptions { Secret = Secret } };
        var key = new ApiKeyOptions { Name = "fuzz-key", Key = Key };
        key.Scopes.Add("admin");
        options.ApiKeys.Add(key);
        return new Authenticator(options);
    }

    private static string Sign(string header, string payload)
    {
        var signingInput = Base64Url(Encoding.UTF8.GetBytes(header)) + "." + Base64Url(Encoding.UTF8.GetBytes(payload));
        return signingInput + "." + Base64Url(HMACSHA256.HashData(Encoding.UTF8.GetBytes(Secret), Encoding.ASCII.GetBytes(signingInput)));
    }

    private static string Base64Url(byte[] bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');
}
