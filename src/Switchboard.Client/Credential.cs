using System.Text.Json;

namespace Switchboard.Client;

/// <summary>
/// A credential as the client presents it: an API key (<c>X-Api-Key</c>) or a bearer token from the
/// <see cref="SwitchboardClientOptions.AccessTokenProvider"/>. A JWT's <c>exp</c> is read (not verified: the hub does
/// that) so transports without an <c>auth</c> frame can renew their streams and polls before the hub would refuse them.
/// </summary>
internal sealed record Credential(string Kind, string Value)
{
    public const string BearerKind = "bearer";
    public const string ApiKeyKind = "apiKey";

    /// <summary>No credential configured: requests go without one.</summary>
    public static readonly Credential None = new("none", "");

    private readonly Lazy<DateTimeOffset?> _expiresAt = new(() => Kind == BearerKind ? JwtExpiry(Value) : null);

    public bool IsNone => Kind == None.Kind;

    /// <summary>When the token stops being accepted (a JWT's <c>exp</c>); null for API keys and tokens that say nothing.</summary>
    public DateTimeOffset? ExpiresAt => _expiresAt.Value;

    /// <summary>
    /// How long to wait before asking for a fresh credential when the current one has <paramref name="left"/> to live:
    /// at four fifths of that, or 30 s before the end when that is sooner (a short-lived token must not be renewed at the
    /// last moment: a busy machine or a slow provider would miss it), but never sooner than 1 s from now.
    /// </summary>
    public static TimeSpan RefreshDelay(TimeSpan left)
    {
        var delay = TimeSpan.FromTicks(Math.Min((long)(left.Ticks * 0.8), (left - TimeSpan.FromSeconds(30)).Ticks));
        return delay < TimeSpan.FromSeconds(1) ? TimeSpan.FromSeconds(1) : delay;
    }

    /// <summary>The <c>exp</c> claim of a compact JWT (header.payload.signature), or null when the token is not one.</summary>
    private static DateTimeOffset? JwtExpiry(string token)
    {
        var first = token.IndexOf('.');
        var second = first < 0 ? -1 : token.IndexOf('.', first + 1);
        if (second < 0)
        {
            return null;
        }
        try
        {
            var payload = System.Buffers.Text.Base64Url.DecodeFromChars(token.AsSpan(first + 1, second - first - 1));
            using var claims = JsonDocument.Parse(payload);
            return claims.RootElement.ValueKind == JsonValueKind.Object && claims.RootElement.TryGetProperty("exp", out var exp) && exp.TryGetInt64(out var seconds)
                ? DateTimeOffset.FromUnixTimeSeconds(seconds)
                : null;
        }
        catch (Exception ex) when (ex is FormatException or JsonException or ArgumentOutOfRangeException)
        {
            return null; // not a JWT (an opaque token or an API key): no expiry known
        }
    }
}
