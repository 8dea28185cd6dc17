using System.Security.Claims;
using System.Security.Cryptography;
using System.Text;
using Microsoft.IdentityModel.JsonWebTokens;
using Switchboard.Core;

namespace Switchboard.Server.Auth;

/// <summary>
/// Turns a presented credential (an API key or a JWT, from a header, <c>?access_token=</c>, a WebSocket auth frame
/// or gRPC metadata) into a <see cref="Caller"/>. The one place every protocol authenticates through.
/// </summary>
public sealed class Authenticator
{
    private readonly Dictionary<string, (string Name, Grants Grants)> _keysByHash = new(StringComparer.Ordinal);
    private readonly JwtValidator? _jwt;

    /// <summary>Builds it from the configured keys and token settings.</summary>
    public Authenticator(AuthOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        foreach (var key in options.ApiKeys)
        {
            _keysByHash[key.Hash?.ToLowerInvariant() ?? Hash(key.Key!)] = (key.Name, Grants.FromScopes(key.Name, Caller.IdentityOf("api_key", key.Name, null), key.Scopes, out _));
        }
        _jwt = options.Jwt is null ? null : new JwtValidator(options.Jwt);
        Enabled = options.Enabled;
    }

    /// <summary>
    /// The longest credential taken, from anywhere: 16 Ki characters, as much as a request line may carry
    /// (Switchboard:Limits:MaxRequestLineSize, for ?access_token=), so a token that works in one place works in every
    /// other. A JWT with many scopes is a few KiB; a WebSocket auth frame could otherwise bring up to a whole message.
    /// </summary>
    public const int MaxCredentialLength = 16 * 1024;

    /// <summary>Whether authentication is on. Off: every caller is <see cref="Caller.Anonymous"/> with every right.</summary>
    public bool Enabled { get; }

    /// <summary>An API key's SHA-256 as lower-case hex: what to put in configuration.</summary>
    public static string Hash(string key) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(key)));

    /// <summary>Checks a credential. API keys are compared by hash; anything shaped like a JWT is validated as one.</summary>
    public async ValueTask<AuthOutcome> AuthenticateAsync(string credential)
    {
        if (string.IsNullOrWhiteSpace(credential))
        {
            return AuthOutcome.Refused("The credential is empty.");
        }
        if (credential.Length > MaxCredentialLength)
        {
            // Checked first, so an auth frame (up to a message's size) costs no JWT parsing: no real credential is this long.
            return AuthOutcome.Refused($"The credential is {credential.Length} characters long; this hub accepts up to {MaxCredentialLength}. Ask for a token with fewer claims.");
        }
        if (_keysByHash.TryGetValue(Hash(credential), out var key))
        {
            return AuthOutcome.Accepted(new Caller(key.Name, key.Grants, "api_key", null));
        }
        if (_jwt is null || !JwtValidator.LooksLikeJwt(credential))
        {
            return AuthOutcome.Refused(_jwt is null
                ? "The API key is not valid. Check it for typos, or ask an operator for a new one."
                : "The credential is neither a valid API key nor a JWT.");
        }
        var outcome = await _jwt.ValidateAsync(credential);
        return outcome.Token is { } token ? FromToken(token, _jwt.ClockSkew) : AuthOutcome.Refused(outcome.Failure!);
    }

    /// <summary>
    /// The token's principal is its <c>sub</c> (else <c>client_id</c>, <c>azp</c>). A token naming no one is refused:
    /// given a shared stand-in name, every such token would be one principal, sharing connection quotas and rate limits,
    /// and able to take over another's connection with an auth frame (a refresh only checks the principal stays the same).
    /// The caller's credential ends when the hub stops accepting the token — its <c>exp</c> plus the clock skew allowed
    /// (Switchboard:Auth:Jwt:ClockSkew) — so a connection opened with a token inside that allowance is not cut at once,
    /// and a request and a stream made with one token are served until the same instant.
    /// </summary>
    private static DateTimeOffset AcceptedUntil(DateTime validTo, TimeSpan clockSkew)
    {
        // A far-future exp (a "never expiring" service token) reads as DateTime.MaxValue: the skew must not overflow it.
        var expires = new DateTimeOffset(DateTime.SpecifyKind(validTo, DateTimeKind.Utc));
        return expires > DateTimeOffset.MaxValue - clockSkew ? DateTimeOffset.MaxValue : expires + clockSkew;
    }

    private static AuthOutcome FromToken(JsonWebToken token, TimeSpan clockSkew)
    {
        if ((Claim(token, "sub") ?? Claim(token, "client_id") ?? Claim(token, "azp")) is not { } name)
        {
            return AuthOutcome.Refused(MissingSubject);
        }
        var issuer = Claim(token, "iss");
        var grants = Grants.FromScopes(name, Caller.IdentityOf("jwt", name, issuer), Scopes(token), out _);
        return AuthOutcome.Accepted(new Caller(name, grants, "jwt", AcceptedUntil(token.ValidTo, clockSkew), issuer));
    }

    /// <summary>Why a token without a subject is refused; the claim comes first, so a WebSocket close reason (123 bytes) keeps it.</summary>
    internal const string MissingSubject = "The token has no 'sub' claim (nor 'client_id' or 'azp'): have its issuer put the caller's identity in 'sub'.";

    private static string? Claim(JsonWebToken token, string type) => token.TryGetPayloadValue<string>(type, out var value) && !string.IsNullOrWhiteSpace(value) ? value : null;

    /// <summary>
    /// Scopes from <c>scope</c> (RFC 8693: one space-separated string) or <c>scp</c>, either one a string or an array
    /// (as some providers send). The token's claims list an array as one claim per element, a string as one claim. (Reading
    /// the payload with TryGetPayloadValue&lt;string&gt; then &lt;List&lt;string&gt;&gt; granted nothing for an array.)
    /// </summary>
    private static List<string> Scopes(JsonWebToken token)
    {
        var scopes = new List<string>();
        foreach (var claim in token.Claims)
        {
            if (claim.Type is "scope" or "scp")
            {
                scopes.AddRange(claim.Value.Split(' ', StringSplitOptions.RemoveEmptyEntries));
            }
        }
        return scopes;
    }
}

/// <summary>Who is calling and what they may do; carried by the request's identity and by each connection.</summary>
/// <param name="Name">The key's name or the token's subject.</param>
/// <param name="Grants">Their scopes.</param>
/// <param name="Method"><c>api_key</c>, <c>jwt</c> or <c>none</c> (authentication off).</param>
/// <param name="ExpiresAt">When the hub stops accepting the credential (a token's <c>exp</c> plus the clock skew allowed); connections end then unless refreshed.</param>
/// <param name="Issuer">A token's <c>iss</c>: a subject is unique only within its issuer (OpenID Connect Core §2).</param>
public sealed record Caller(string? Name, Grants Grants, string Method, DateTimeOffset? ExpiresAt, string? Issuer = null)
{
    /// <summary>Authentication off.</summary>
    public static Caller Anonymous { get; } = new(null, Grants.Everything, "none", null);

    /// <summary>A WebSocket connection whose client is to send its credential in the first frame, by <paramref name="deadline"/>.</summary>
    public static Caller Pending(DateTimeOffset deadline) => new(null, Grants.Nothing, "pending", deadline);

    /// <summary>
    /// Who, without ambiguity: the method and the name (<c>api_key:billing</c>, <c>jwt:billing</c>), so a token whose
    /// subject happens to be a key's name is not that key's principal (limits, rate limits, refresh); and a token's
    /// issuer (<c>jwt:23:https://id.example.com/:alice</c>, its length first so no issuer and name run together), so
    /// two identity providers' users of the same subject are two principals. Null while pending.
    /// </summary>
    public string? Identity => Grants.Owner; // made once, with the grants (IdentityOf), not per question

    /// <summary>The <see cref="Identity"/> of a caller by <paramref name="method"/> named <paramref name="name"/> (by <paramref name="issuer"/>, for a token): its grants' <see cref="Grants.Owner"/>.</summary>
    public static string IdentityOf(string method, string name, string? issuer) => issuer is null ? method + ":" + name
        : string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{method}:{issuer.Length}:{issuer}:{name}");

    /// <summary>Whether the credential is still to come (<see cref="Pending"/>).</summary>
    public bool IsPending => Method == "pending";

    /// <summary>This caller as a claims identity (for ASP.NET Core's authentication).</summary>
    public ClaimsPrincipal ToPrincipal(string scheme)
        => new(new CallerIdentity(this, [new Claim(ClaimTypes.Name, Name ?? ""), new Claim("auth_method", Method)], scheme));
}

/// <summary>An authenticated identity that carries its <see cref="Caller"/>.</summary>
internal sealed class CallerIdentity(Caller caller, IEnumerable<Claim> claims, string scheme) : ClaimsIdentity(claims, scheme)
{
    public Caller Caller { get; } = caller;
}

/// <summary>A checked credential, or why it was refused.</summary>
public sealed record AuthOutcome(Caller? Caller, string? Failure)
{
    /// <summary>Accepted.</summary>
    public static AuthOutcome Accepted(Caller caller) => new(caller, null);

    /// <summary>Refused, with what to fix.</summary>
    public static AuthOutcome Refused(string why) => new(null, why);
}
