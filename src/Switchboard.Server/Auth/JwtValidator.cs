using System.Security.Cryptography;
using System.Text;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace Switchboard.Server.Auth;

/// <summary>
/// Checks JWTs with Microsoft's JsonWebTokenHandler: signature, <c>exp</c> (required), <c>nbf</c>, and <c>iss</c> /
/// <c>aud</c> when configured. Each key verifies exactly one algorithm (the HS256 secret only HS256, an RSA key only
/// its RS/PS algorithm, an EC key only its ES algorithm), so <c>alg: none</c> and algorithm confusion (an HS256 token
/// "signed" with a public key as the secret) are refused.
/// </summary>
internal sealed class JwtValidator
{
    private readonly JsonWebTokenHandler _handler = new() { MapInboundClaims = false };
    private readonly TokenValidationParameters _parameters;
    private readonly Dictionary<SecurityKey, string> _pinned = new(ReferenceEqualityComparer.Instance);

    /// <summary>How long past its <c>exp</c> (and before its <c>nbf</c>) a token is still accepted.</summary>
    public TimeSpan ClockSkew { get; }

    public JwtValidator(JwtOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        ClockSkew = options.ClockSkew;
        if (options.Secret is { } secret)
        {
            _pinned[new SymmetricSecurityKey(Encoding.UTF8.GetBytes(secret)) { KeyId = null }] = SecurityAlgorithms.HmacSha256;
        }
        foreach (var key in options.PublicKeys)
        {
            var (securityKey, algorithm) = FromPem(key.Pem ?? File.ReadAllText(key.File!), key.Algorithm, key.File ?? "Pem");
            securityKey.KeyId = key.KeyId;
            _pinned[securityKey] = algorithm;
        }
        if (options.JwksFile is { } jwksFile)
        {
            var set = new JsonWebKeySet(File.ReadAllText(jwksFile));
            var signing = set.Keys.Where(VerifiesSignatures).ToList();
            if (signing.Count == 0)
            {
                throw new InvalidOperationException($"Switchboard:Auth:Jwt:JwksFile ({jwksFile}): no key in the set verifies signatures (keys with \"use\": \"enc\", or \"key_ops\" without \"verify\", are for encryption and are not trusted for tokens).");
            }
            foreach (var jwk in signing)
            {
                _pinned[jwk] = jwk.Alg is { Length: > 0 } alg ? alg : DefaultAlgorithm(jwk, jwksFile);
            }
        }
        _parameters = new TokenValidationParameters
        {
            IssuerSigningKeys = _pinned.Keys,
            ValidAlgorithms = _pinned.Values.Distinct().ToList(),
            AlgorithmValidator = (algorithm, key, _, _) => key is not null && _pinned.TryGetValue(key, out var pinned) && pinned == algorithm,
            RequireSignedTokens = true,
            RequireExpirationTime = true,
            ValidateLifetime = true,
            ClockSkew = options.ClockSkew,
            ValidateIssuer = options.Issuers.Count > 0,
            ValidIssuers = options.Issuers,
            ValidateAudience = options.Audiences.Count > 0,
            ValidAudiences = options.Audiences,
            // A token without a kid is tried against every key; each still checks only its own algorithm.
            TryAllIssuerSigningKeys = true,
        };
    }

    /// <summary>Whether the text has the shape of a JWS compact token (three base64url parts).</summary>
    public static bool LooksLikeJwt(string credential) => credential.Count(c => c == '.') == 2;

    public async Task<JwtOutcome> ValidateAsync(string token)
    {
        TokenValidationResult result;
        try
        {
            result = await _handler.ValidateTokenAsync(token, _parameters);
        }
        catch (Exception ex) when (ex is ArgumentException or SecurityTokenException)
        {
            return JwtOutcome.Failed(Describe(ex));
        }
        if (!result.IsValid)
        {
            return JwtOutcome.Failed(Describe(result.Exception));
        }
        var jwt = (JsonWebToken)result.SecurityToken;
        return new JwtOutcome(jwt, null);
    }

    private static string Describe(Exception? error) => error switch
    {
        SecurityTokenExpiredException expired => $"The token expired at {expired.Expires:yyyy-MM-ddTHH:mm:ssZ}; get a fresh one.",
        SecurityTokenNotYetValidException early => $"The token is not valid before {early.NotBefore:yyyy-MM-ddTHH:mm:ssZ} (check the clocks).",
        SecurityTokenNoExpirationException => "The token has no 'exp' claim; this hub only accepts tokens that expire.",
        SecurityTokenInvalidAudienceException => "The token's 'aud' is not one this hub accepts (Switchboard:Auth:Jwt:Audience).",
        SecurityTokenInvalidIssuerException => "The token's 'iss' is not one this hub accepts (Switchboard:Auth:Jwt:Issuer).",
        SecurityTokenInvalidAlgorithmException => "The token is signed with an algorithm this hub's keys do not accept (each key accepts one; 'none' is never accepted).",
        SecurityTokenSignatureKeyNotFoundException or SecurityTokenInvalidSignatureException => "The token's signature does not verify with any key this hub trusts.",
        SecurityTokenMalformedException or ArgumentException => "The token is not a well-formed JWT (three base64url parts: header.payload.signature).",
        _ => "The token is not valid.",
    };

    private static (SecurityKey Key, string Algorithm) FromPem(string pem, string? algorithm, string where)
    {
        try
        {
            if (TryEc(pem) is { } ec)
            {
                var curveAlgorithm = ec.KeySize switch { 256 => SecurityAlgorithms.EcdsaSha256, 384 => SecurityAlgorithms.EcdsaSha384, _ => SecurityAlgorithms.EcdsaSha512 };
                return (new ECDsaSecurityKey(ec), Check(algorithm ?? curveAlgorithm, ["ES256", "ES384", "ES512"], where));
            }
            var rsa = RSA.Create();
            rsa.ImportFromPem(pem);
            return (new RsaSecurityKey(rsa), Check(algorithm ?? SecurityAlgorithms.RsaSha256, ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512"], where));
        }
        catch (CryptographicException ex)
        {
            throw new InvalidOperationException($"Switchboard:Auth:Jwt:PublicKeys ({where}): not a PEM RSA or EC public key ({ex.Message}).", ex);
        }
    }

    private static ECDsa? TryEc(string pem)
    {
        var ec = ECDsa.Create();
        try
        {
            ec.ImportFromPem(pem);
            return ec;
        }
        catch (Exception ex) when (ex is CryptographicException or ArgumentException)
        {
            ec.Dispose();
            return null;
        }
    }

    private static string Check(string algorithm, string[] allowed, string where)
        => allowed.Contains(algorithm, StringComparer.Ordinal)
            ? algorithm
            : throw new InvalidOperationException($"Switchboard:Auth:Jwt:PublicKeys ({where}): Algorithm '{algorithm}' does not fit this key; use one of {string.Join(", ", allowed)}.");

    /// <summary>
    /// Whether a JWKS key is for checking signatures (RFC 7517 §4.2–4.3): a key published for encryption ("use": "enc",
    /// or "key_ops" that do not include "verify") is not one the issuer signs with: trusting it would accept a token signed
    /// by whoever holds that key to encrypt (a symmetric "enc" key is shared with the other side).
    /// </summary>
    private static bool VerifiesSignatures(JsonWebKey jwk)
        => !string.Equals(jwk.Use, JsonWebKeyUseNames.Enc, StringComparison.Ordinal)
            && (jwk.KeyOps.Count == 0 || jwk.KeyOps.Contains("verify", StringComparer.Ordinal));

    private static string DefaultAlgorithm(JsonWebKey jwk, string file) => jwk.Kty switch
    {
        "RSA" => SecurityAlgorithms.RsaSha256,
        "EC" => jwk.Crv switch { "P-256" => "ES256", "P-384" => "ES384", "P-521" => "ES512", _ => throw Bad() },
        "oct" => SecurityAlgorithms.HmacSha256,
        _ => throw Bad(),
    };

    private static InvalidOperationException Bad() => new("Switchboard:Auth:Jwt:JwksFile: a key has a type or curve this hub cannot use (RSA, EC P-256/384/521 or oct); give it an 'alg'.");
}

/// <summary>A checked token, or why it was refused.</summary>
internal sealed record JwtOutcome(JsonWebToken? Token, string? Failure)
{
    public static JwtOutcome Failed(string why) => new(null, why);
}
