namespace Switchboard.Server;

/// <summary>
/// Connection and request limits of the web server, set on purpose rather than left to Kestrel's defaults
/// (section <c>Switchboard:Limits</c>). They keep clients that send headers or bodies slowly, or never answer,
/// from pinning sockets and buffers. Kestrel applies them server-wide, so the public endpoints and the
/// internal HTTP/2 endpoint behind the h2c sniffer get the same ones.
/// </summary>
public sealed class LimitsOptions
{
    /// <summary>
    /// Time to send a request's headers. 10 s: a real client sends them in one or two packets, even over a slow
    /// mobile link with a few round trips of latency; a "slowloris" client that trickles them is cut in a third
    /// of Kestrel's default 30 s. Covers the HTTP request that upgrades to a WebSocket (its handshake), and the
    /// HTTP/2 preface a gRPC client sends on the cleartext port.
    /// </summary>
    public TimeSpan RequestHeadersTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// How long an idle connection (no request in flight) stays open, HTTP/1.1 between requests or HTTP/2 with no
    /// stream. 130 s (Kestrel's default, kept on purpose): longer than the 60 s idle timeout of common balancers
    /// (AWS ALB, nginx's upstream keep-alive), so a balancer never sends a request on a connection the hub is
    /// closing at that moment. Behind Google Cloud's balancers (600 s) use 620 s.
    /// </summary>
    public TimeSpan KeepAliveTimeout { get; set; } = TimeSpan.FromSeconds(130);

    /// <summary>
    /// Slowest request body the hub waits for, in bytes per second; 0 turns the check off. 1 KiB/s (Kestrel: 240)
    /// is far below any working uplink (even GPRS sends several KiB/s), so only a client that trickles its body on
    /// purpose is cut, and holding a request open then costs it real traffic. Kestrel only counts time while the
    /// hub is reading the body; gRPC lifts the check for client-streaming and duplex calls, which idle by design.
    /// </summary>
    public int MinRequestBodyBytesPerSecond { get; set; } = 1024;

    /// <summary>The start of a body (TCP slow start, a retransmitted packet) is not held to the rate. 5 s, Kestrel's.</summary>
    public TimeSpan MinRequestBodyGracePeriod { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// Slowest reader of a response the hub waits for, in bytes per second; 0 turns the check off. 1 KiB/s, as for
    /// bodies. Kestrel only counts time while a write waits on the client, and allows each write the larger of the
    /// grace period and its size divided by the rate: a reader stalled on a small write is reset after the grace
    /// period, while a 64 KiB burst to an SSE client that stopped reading gets a minute, so the slow-consumer
    /// watchdog (10 s, then a final event saying why) ends such streams first. Upgraded connections are not held to it.
    /// </summary>
    public int MinResponseBytesPerSecond { get; set; } = 1024;

    /// <summary>Grace before the response rate is held (5 s, Kestrel's).</summary>
    public TimeSpan MinResponseGracePeriod { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// All request headers together. 32 KiB (Kestrel's default, nginx's 4 × 8 KiB): room for a large JWT with many
    /// scopes plus what proxies add, while a client cannot make the hub buffer megabytes of headers.
    /// </summary>
    public int MaxRequestHeadersTotalSize { get; set; } = 32 * 1024;

    /// <summary>Number of request headers. 100 (Kestrel's default): browsers send about 15, proxies add a few.</summary>
    public int MaxRequestHeaderCount { get; set; } = 100;

    /// <summary>
    /// The request line (method, path and query). 16 KiB, twice Kestrel's 8 KiB: browsers pass a token as
    /// <c>?access_token=</c> on EventSource and WebSocket URLs, and a JWT with many scopes can pass 8 KiB.
    /// </summary>
    public int MaxRequestLineSize { get; set; } = 16 * 1024;

    /// <summary>
    /// Concurrent HTTP/2 streams (gRPC calls) per connection. 100 (Kestrel's default, and what grpc-dotnet clients
    /// expect before they open a second connection): every stream holds buffers and a call, so one connection
    /// cannot open thousands; the connection's flow-control window bounds what all of them buffer together.
    /// </summary>
    public int Http2MaxStreamsPerConnection { get; set; } = 100;

    /// <summary>
    /// Ping an HTTP/2 connection from which nothing arrived for this long (Kestrel: never). 30 s finds a gRPC peer
    /// that vanished without closing (a half-open TCP connection holding streams and subscriptions) within a
    /// minute, at the cost of one 17-byte frame per idle half minute.
    /// </summary>
    public TimeSpan Http2KeepAlivePingDelay { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// An HTTP/2 peer that does not answer a ping within this is closed. 20 s (Kestrel's): several round trips on
    /// the worst mobile link, short enough that a dead subscriber's streams are freed within a minute.
    /// </summary>
    public TimeSpan Http2KeepAlivePingTimeout { get; set; } = TimeSpan.FromSeconds(20);
}
