using Switchboard.Core;

namespace Switchboard.Server.Auth;

/// <summary>
/// The end of a caller's credential (a JWT's <c>exp</c>), for the long calls that are not connections of the registry
/// (which ends those itself): gRPC Receive and PublishStream, the stats event stream, a reply's event stream. Each
/// ends then, saying why the way its protocol does (UNAUTHENTICATED, an <c>error</c> event), as connections do.
/// </summary>
internal static class CredentialExpiry
{
    /// <summary>Cancelled when <paramref name="caller"/>'s credential expires (at once if it has); null for credentials that do not expire.</summary>
    public static CancellationTokenSource? Watch(Caller caller)
    {
        ArgumentNullException.ThrowIfNull(caller);
        if (caller.ExpiresAt is not { } expires)
        {
            return null;
        }
        var source = new CancellationTokenSource();
        var left = expires - DateTimeOffset.UtcNow;
        if (left <= TimeSpan.Zero)
        {
            source.Cancel();
        }
        else if (left < TimeSpan.FromDays(24))
        {
            // CancelAfter takes at most about 24.8 days; a credential that lives longer outlives any call worth cutting.
            source.CancelAfter(left);
        }
        return source;
    }

    /// <summary>What a call ended by its credential's expiry is told; <paramref name="then"/> says how to go on.</summary>
    public static SwitchboardException Expired(Caller caller, string then)
    {
        ArgumentNullException.ThrowIfNull(caller);
        return new(ErrorCode.Unauthorized, $"The credential expired at {caller.ExpiresAt:yyyy-MM-ddTHH:mm:ssZ}. {then}");
    }
}
