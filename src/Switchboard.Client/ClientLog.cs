using Microsoft.Extensions.Logging;

namespace Switchboard.Client;

/// <summary>The client's log events (category <c>Switchboard.Client.SwitchboardClient</c>); ids 5000–5099, never reused.</summary>
internal static partial class Log
{
    [LoggerMessage(5000, LogLevel.Information, "Connection {State} (transport {Transport}){Reason}")]
    private static partial void StateChangedCore(ILogger logger, ConnectionState state, ClientTransport? transport, string reason);

    public static void StateChanged(ILogger logger, ConnectionState state, ClientTransport? transport, string? reason)
        => StateChangedCore(logger, state, transport, reason is null ? "" : ": " + reason);

    [LoggerMessage(5001, LogLevel.Warning, "Transport {Transport} did not open: {Reason}")]
    public static partial void TransportRefused(ILogger logger, ClientTransport transport, string reason);

    [LoggerMessage(5002, LogLevel.Warning, "Connection over {Transport} lost: {Reason}")]
    public static partial void ConnectionLost(ILogger logger, ClientTransport transport, string reason);

    [LoggerMessage(5003, LogLevel.Error, "{Code}: {Reason}")]
    public static partial void Error(ILogger logger, string code, string reason);

    [LoggerMessage(5004, LogLevel.Warning, "Notice {Kind} on {Topic} (subscription {Pattern})")]
    public static partial void Notice(ILogger logger, string kind, string topic, string pattern);

    [LoggerMessage(5005, LogLevel.Debug, "Publish to {Topic} sent again (key {IdempotencyKey}): {Reason}")]
    public static partial void PublishRetry(ILogger logger, string topic, string idempotencyKey, string reason);
}
