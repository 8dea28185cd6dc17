using Microsoft.AspNetCore.Http;
using Switchboard.Core;

namespace Switchboard.Server.Rest.Parsing;

/// <summary>The <c>Idempotency-Key</c> header of a publish, send or request.</summary>
internal static class IdempotencyHeader
{
    /// <summary>
    /// Null when the header is absent; otherwise the key as sent, even empty, for the hub to check its form (an empty key is
    /// a mistake, not "no key"). Sent more than once it is refused: joined, two keys would make a third that neither
    /// retry would send.
    /// </summary>
    public static string? Read(HttpRequest request)
    {
        var values = request.Headers["Idempotency-Key"];
        return values.Count switch
        {
            0 => null,
            1 => values[0] ?? "",
            _ => throw new SwitchboardException(ErrorCode.ValidationFailed,
                $"Idempotency-Key was sent {values.Count} times; send it once, with one key (1 to {Hub.MaxIdempotencyKeyLength} visible ASCII characters, e.g. a UUID)."),
        };
    }
}
