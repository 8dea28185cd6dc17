namespace Switchboard.Server;

/// <summary>Authentication (section <c>Switchboard:Auth</c>): API keys for services, JWTs for users. Neither = off.</summary>
public sealed class AuthOptions
{
    /// <summary>API keys.</summary>
    public List<ApiKeyOptions> ApiKeys { get; } = [];

    /// <summary>JWT bearer tokens; null when none are accepted.</summary>
    public JwtOptions? Jwt { get; set; }

    /// <summary>Whether any credential is configured (authentication on, deny by default).</summary>
    public bool Enabled => ApiKeys.Count > 0 || Jwt is not null;
}

/// <summary>One API key.</summary>
public sealed class ApiKeyOptions
{
    /// <summary>A name for logs and audit (who called).</summary>
    public string Name { get; set; } = "";

    /// <summary>The key's SHA-256 as 64 hex digits (preferred: the key itself is never stored).</summary>
    public string? Hash { get; set; }

    /// <summary>The key in plain text (accepted for development; a warning is logged).</summary>
    public string? Key { get; set; }

    /// <summary>What the key may do (<c>admin</c>, <c>publish:orders.&gt;</c>, …). None: nothing (deny by default).</summary>
    public List<string> Scopes { get; } = [];
}

/// <summary>How JWTs are checked. Every key pins its algorithm: a token signed any other way is refused.</summary>
public sealed class JwtOptions
{
    /// <summary>HS256 shared secret (its UTF-8 bytes, at least 32 of them).</summary>
    public string? Secret { get; set; }

    /// <summary>Public keys (PEM, RSA or EC) for RS256 / ES256 and kin.</summary>
    public List<JwtKeyOptions> PublicKeys { get; } = [];

    /// <summary>A JSON Web Key Set file (what an identity provider publishes at its jwks_uri), read at start.</summary>
    public string? JwksFile { get; set; }

    /// <summary>Accepted <c>iss</c> values; empty = any issuer (a warning is logged).</summary>
    public List<string> Issuers { get; } = [];

    /// <summary>Accepted <c>aud</c> values; empty = any audience (a warning is logged).</summary>
    public List<string> Audiences { get; } = [];

    /// <summary>Tolerated clock difference for <c>exp</c> and <c>nbf</c>. 30 s: enough for NTP-synced hosts, short enough to matter.</summary>
    public TimeSpan ClockSkew { get; set; } = TimeSpan.FromSeconds(30);
}

/// <summary>One public key for JWTs.</summary>
public sealed class JwtKeyOptions
{
    /// <summary>A PEM file holding the public key.</summary>
    public string? File { get; set; }

    /// <summary>The PEM text itself (instead of <see cref="File"/>).</summary>
    public string? Pem { get; set; }

    /// <summary>The one algorithm this key verifies (RS256, RS384, RS512, PS256, ES256, ES384, ES512); default RS256 for RSA, ES256/384/512 by curve for EC.</summary>
    public string? Algorithm { get; set; }

    /// <summary>The key id (<c>kid</c>) tokens name it by; optional.</summary>
    public string? KeyId { get; set; }
}

/// <summary>Rate limits (section <c>Switchboard:RateLimits</c>); 0 = off.</summary>
public sealed class RateLimitOptions
{
    /// <summary>Messages one client may publish or send per second (a batch counts each message).</summary>
    public int PublishPerSecondPerClient { get; set; }

    /// <summary>Connections (WebSocket, SSE, gRPC streams) one client may open per second.</summary>
    public int ConnectsPerSecondPerClient { get; set; }
}
