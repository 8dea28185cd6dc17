using System.Security.Claims;
using System.Security.Cryptography;
using System.Text;
using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Authentication;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Switchboard.Core;
using Switchboard.Server.Errors;

namespace Switchboard.Server.Auth;

/// <summary>
/// API keys for services: <c>Authorization: Bearer KEY</c>, <c>X-Api-Key: KEY</c>, or <c>?access_token=KEY</c>
/// for browser APIs that cannot set headers (EventSource, WebSocket). Keys are configured as SHA-256 hashes
/// and compared by hash, so the server never holds the keys themselves.
/// </summary>
internal sealed class ApiKeyAuthenticationHandler(
    IOptionsMonitor<AuthenticationSchemeOptions> options, ILoggerFactory logger, UrlEncoder encoder, ApiKeyRegistry keys)
    : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
{
    public const string SchemeName = "ApiKey";

    protected override Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        var presented = Presented();
        if (presented is null)
        {
            return Task.FromResult(AuthenticateResult.NoResult());
        }
        if (!keys.TryFind(presented, out var name))
        {
            return Task.FromResult(AuthenticateResult.Fail("The API key is not valid."));
        }
        var identity = new ClaimsIdentity([new Claim(ClaimTypes.Name, name), new Claim("auth_method", "api_key")], SchemeName);
        return Task.FromResult(AuthenticateResult.Success(new AuthenticationTicket(new ClaimsPrincipal(identity), SchemeName)));
    }

    protected override Task HandleChallengeAsync(AuthenticationProperties properties)
    {
        var failed = Context.Features.Get<Microsoft.AspNetCore.Authentication.IAuthenticateResultFeature>()?.AuthenticateResult?.Failure is not null
            || Presented() is not null;
        return Problems.WriteAsync(Context, ErrorTable.Get(ErrorCode.Unauthorized), failed
            ? "The API key is not valid. Check it for typos, or ask an operator for a new one."
            : "This hub requires an API key: send 'Authorization: Bearer <key>' (or 'X-Api-Key: <key>'; browsers may use ?access_token=<key>).");
    }

    protected override Task HandleForbiddenAsync(AuthenticationProperties properties)
        => Problems.WriteAsync(Context, ErrorTable.Get(ErrorCode.Forbidden), "Your API key does not allow this operation.");

    private string? Presented()
    {
        var authorization = Request.Headers.Authorization.ToString();
        if (authorization.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
        {
            return authorization["Bearer ".Length..].Trim();
        }
        if (Request.Headers["X-Api-Key"].ToString() is { Length: > 0 } header)
        {
            return header.Trim();
        }
        return Request.Query["access_token"].ToString() is { Length: > 0 } query ? query : null;
    }
}

/// <summary>The configured keys, by SHA-256.</summary>
public sealed class ApiKeyRegistry
{
    private readonly Dictionary<string, string> _namesByHash = new(StringComparer.Ordinal);

    /// <summary>Builds the registry from configuration.</summary>
    public ApiKeyRegistry(IEnumerable<ApiKeyOptions> keys)
    {
        ArgumentNullException.ThrowIfNull(keys);
        foreach (var key in keys)
        {
            _namesByHash[key.Hash?.ToLowerInvariant() ?? Hash(key.Key!)] = key.Name;
        }
    }

    /// <summary>Whether any key is configured (authentication on).</summary>
    public bool Enabled => _namesByHash.Count > 0;

    /// <summary>The key's SHA-256 as lower-case hex: what to put in configuration.</summary>
    public static string Hash(string key) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(key)));

    /// <summary>Finds the name of a presented key.</summary>
    public bool TryFind(string presented, out string name) => _namesByHash.TryGetValue(Hash(presented), out name!);
}
