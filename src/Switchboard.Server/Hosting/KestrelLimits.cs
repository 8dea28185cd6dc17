using Microsoft.AspNetCore.Server.Kestrel.Core;

namespace Switchboard.Server;

/// <summary>
/// Puts <see cref="LimitsOptions"/> on Kestrel. The limits are server-wide, so they hold on every endpoint,
/// including the internal HTTP/2 Unix socket that gRPC connections are relayed to (see <see cref="Listeners"/>):
/// HTTP/2 pings and stream limits reach the real peer through the relay.
/// </summary>
/// <remarks>
/// Kestrel lifts the data rates (and the body size) from a connection once it is upgraded to a WebSocket: from then
/// on the hub's own watchdogs hold it. The WebSocket keep-alive (<see cref="ServerOptions.Heartbeat"/>: a ping after a
/// heartbeat without a frame from the peer, and a peer that answers none within two heartbeats is dropped; driven by the
/// connection watchdog's sweep, WebSockets.WebSocketKeepAlive) ends a connection that never sends and never answers; the connection watchdog (<see cref="Connections.ConnectionRegistry"/>) ends one that stops reading
/// (slow consumer) and one whose message arrives slower than <see cref="LimitsOptions.MinRequestBodyBytesPerSecond"/>;
/// the receive loop refuses a message over the size limit with 1009 as soon as it passes the limit, and compressed
/// frames are refused (no permessage-deflate). The WebSocket handshake is the upgrade request, under the headers timeout.
/// </remarks>
internal static class KestrelLimits
{
    public static void Apply(KestrelServerOptions kestrel, LimitsOptions options)
    {
        var limits = kestrel.Limits;
        limits.RequestHeadersTimeout = options.RequestHeadersTimeout;
        limits.KeepAliveTimeout = options.KeepAliveTimeout;
        limits.MinRequestBodyDataRate = options.MinRequestBodyBytesPerSecond > 0
            ? new MinDataRate(options.MinRequestBodyBytesPerSecond, options.MinRequestBodyGracePeriod)
            : null;
        limits.MinResponseDataRate = options.MinResponseBytesPerSecond > 0
            ? new MinDataRate(options.MinResponseBytesPerSecond, options.MinResponseGracePeriod)
            : null;
        limits.MaxRequestHeadersTotalSize = options.MaxRequestHeadersTotalSize;
        limits.MaxRequestHeaderCount = options.MaxRequestHeaderCount;
        limits.MaxRequestLineSize = options.MaxRequestLineSize;
        limits.Http2.MaxStreamsPerConnection = options.Http2MaxStreamsPerConnection;
        limits.Http2.KeepAlivePingDelay = options.Http2KeepAlivePingDelay;
        limits.Http2.KeepAlivePingTimeout = options.Http2KeepAlivePingTimeout;
    }
}
