using Microsoft.Extensions.Logging;

namespace Switchboard.Server;

// Event ids 3300-3399 belong to hardening: origins and connection limits (see docs/logging.md).
internal static partial class HardeningLog
{
    [LoggerMessage(EventId = 3300, Level = LogLevel.Information, Message = "Refused a {Kind} from origin {Origin} on {Path}: not the hub's own origin nor in Switchboard:AllowedOrigins")]
    public static partial void OriginRefused(ILogger logger, string kind, string? origin, string? path);

    [LoggerMessage(EventId = 3301, Level = LogLevel.Warning, Message = "Connection {ConnectionId} ({Transport}) cut: a message arrived too slowly ({Bytes} bytes in {ElapsedMs} ms)")]
    public static partial void SlowSender(ILogger logger, string connectionId, string transport, long bytes, long elapsedMs);
}
