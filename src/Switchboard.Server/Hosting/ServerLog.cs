using Microsoft.Extensions.Logging;

namespace Switchboard.Server;

// Event ids 3000-3099 belong to the server host (see docs/logging.md).
internal static partial class ServerLog
{
    [LoggerMessage(EventId = 3000, Level = LogLevel.Error, Message = "{Method} {Path} failed (trace id {TraceId}, as in the problem answered)")]
    public static partial void RequestFailed(ILogger logger, string method, string? path, string traceId, Exception exception);

    [LoggerMessage(EventId = 3001, Level = LogLevel.Information, Message = "Switchboard {Version} starting: engine {Engine}{Location}")]
    public static partial void Starting(ILogger logger, string version, string engine, string location);

    [LoggerMessage(EventId = 3002, Level = LogLevel.Critical, Message = "Switchboard cannot start: {Reason}")]
    public static partial void StartFailed(ILogger logger, string reason, Exception? exception);

    [LoggerMessage(EventId = 3003, Level = LogLevel.Information, Message = "Draining for {DelayMs} ms before closing listeners")]
    public static partial void Draining(ILogger logger, long delayMs);

    [LoggerMessage(EventId = 3004, Level = LogLevel.Information, Message = "Switchboard stopped")]
    public static partial void Stopped(ILogger logger);

    [LoggerMessage(EventId = 3005, Level = LogLevel.Information, Message = "Listening on {Addresses}")]
    public static partial void Listening(ILogger logger, string addresses);

    [LoggerMessage(EventId = 3006, Level = LogLevel.Warning, Message = "API key {Name} is configured in plain text; store its SHA-256 hash instead (switchboard keys hash, or switchboard keys new for a fresh key)")]
    public static partial void PlainTextKey(ILogger logger, string name);

    [LoggerMessage(EventId = 3007, Level = LogLevel.Warning, Message = "Authentication is off (no Switchboard:Auth credentials): anyone who can reach the hub can use it; {Exposure}")]
    public static partial void AuthOff(ILogger logger, string exposure);

    [LoggerMessage(EventId = 3008, Level = LogLevel.Warning, Message = "API key {Name} has no Scopes: it can authenticate but do nothing (give it e.g. admin or publish:orders.>)")]
    public static partial void KeyWithoutScopes(ILogger logger, string name);

    [LoggerMessage(EventId = 3009, Level = LogLevel.Warning, Message = "JWTs are accepted for any {Claim}: set Switchboard:Auth:Jwt:Issuer and Audience so tokens minted for other services are refused")]
    public static partial void JwtUnbound(ILogger logger, string claim);

    [LoggerMessage(EventId = 3010, Level = LogLevel.Warning, Message = "The engine is unavailable ({Reason}); not ready, retrying in {Seconds} s")]
    public static partial void EngineUnavailable(ILogger logger, string reason, double seconds);

    [LoggerMessage(EventId = 3011, Level = LogLevel.Information, Message = "Up to {Max} connections at once (open-file limit {Limit}; Switchboard:Connections:MaxTotal)")]
    public static partial void ConnectionBudget(ILogger logger, int max, string limit);

    [LoggerMessage(EventId = 3012, Level = LogLevel.Warning, Message = "{Reason}")]
    public static partial void ConnectionBudgetLowered(ILogger logger, string reason);

    [LoggerMessage(EventId = 3013, Level = LogLevel.Warning, Message = "Refused {Count} connections: the hub holds {Max}, as many as it allows (Switchboard:Connections:MaxTotal; open-file limit {Limit}); raise the limit (ulimit -n, systemd's LimitNOFILE=) or add nodes")]
    public static partial void ConnectionsRefused(ILogger logger, long count, int max, long limit);
}
