using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace Switchboard.Security.Tests.Support;

/// <summary>
/// Mints JWTs with Microsoft's JsonWebTokenHandler (the library the hub validates with), every claim chosen by the
/// test: nothing is added by default, so a token without <c>exp</c> really has none.
/// </summary>
internal static class Tokens
{
    public static SigningCredentials Hs256(string secret) => Hs256(Encoding.UTF8.GetBytes(secret));

    public static SigningCredentials Hs256(byte[] key) => new(new SymmetricSecurityKey(key), SecurityAlgorithms.HmacSha256);

    public static SigningCredentials Rs256(RSA rsa, string? keyId = null) => new(new RsaSecurityKey(rsa) { KeyId = keyId }, SecurityAlgorithms.RsaSha256);

    public static SigningCredentials Es256(ECDsa ec) => new(new ECDsaSecurityKey(ec), SecurityAlgorithms.EcdsaSha256);

    /// <summary>
    /// A signed token. <paramref name="expiresIn"/> is relative to now (negative = already expired); null = no
    /// <c>exp</c> at all. <paramref name="scope"/> is a string (space-separated) or a string array, under
    /// <paramref name="scopeClaim"/> (<c>scope</c> or <c>scp</c>). A null <paramref name="subject"/> leaves <c>sub</c> out;
    /// <paramref name="claims"/> adds any other (<c>client_id</c>, <c>azp</c>).
    /// </summary>
    public static string Create(SigningCredentials signing, string? subject = "user", object? scope = null, string scopeClaim = "scope",
        TimeSpan? expiresIn = null, bool withoutExpiry = false, TimeSpan? notBeforeIn = null, string? issuer = null, string? audience = null,
        IReadOnlyDictionary<string, object>? claims = null)
    {
        var now = DateTime.UtcNow;
        var payload = new Dictionary<string, object>(claims ?? new Dictionary<string, object>());
        if (subject is not null)
        {
            payload["sub"] = subject;
        }
        if (scope is not null)
        {
            payload[scopeClaim] = scope;
        }
        var descriptor = new SecurityTokenDescriptor
        {
            Claims = payload,
            SigningCredentials = signing,
            Issuer = issuer,
            Audience = audience,
            IssuedAt = now.AddMinutes(-5),
            Expires = withoutExpiry ? null : now + (expiresIn ?? TimeSpan.FromHours(1)),
            NotBefore = notBeforeIn is { } nbf ? now + nbf : null,
        };
        return new JsonWebTokenHandler { SetDefaultTimesOnTokenCreation = false }.CreateToken(descriptor);
    }

    /// <summary>The unsigned token of RFC 7519 §6: header <c>{"alg":"none"}</c>, the payload, and an empty signature.</summary>
    public static string Unsigned(string subject, string scope, string? issuer = null, string? audience = null)
    {
        var payload = new Dictionary<string, object>
        {
            ["sub"] = subject,
            ["scope"] = scope,
            ["exp"] = DateTimeOffset.UtcNow.AddHours(1).ToUnixTimeSeconds(),
        };
        if (issuer is not null)
        {
            payload["iss"] = issuer;
        }
        if (audience is not null)
        {
            payload["aud"] = audience;
        }
        return Base64Url(JsonSerializer.SerializeToUtf8Bytes(new Dictionary<string, string> { ["alg"] = "none", ["typ"] = "JWT" }))
            + "." + Base64Url(JsonSerializer.SerializeToUtf8Bytes(payload)) + ".";
    }

    /// <summary>A JSON Web Key Set with one RSA public key, as an identity provider publishes it.</summary>
    public static string Jwks(RSA rsa, string keyId)
    {
        var parameters = rsa.ExportParameters(includePrivateParameters: false);
        var key = new Dictionary<string, string>
        {
            ["kty"] = "RSA",
            ["use"] = "sig",
            ["alg"] = "RS256",
            ["kid"] = keyId,
            ["n"] = Base64Url(parameters.Modulus!),
            ["e"] = Base64Url(parameters.Exponent!),
        };
        return JsonSerializer.Serialize(new Dictionary<string, object> { ["keys"] = new[] { key } });
    }

    private static string Base64Url(byte[] bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');
}
