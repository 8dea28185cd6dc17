using Switchboard.Core;
using Switchboard.Sqlite;

namespace Switchboard.Server;

/// <summary>Which engine holds the data.</summary>
public enum EngineKind
{
    /// <summary>The embedded durable engine (SQLite). The default.</summary>
    Sqlite,
    /// <summary>Ephemeral, in memory: everything is lost when the process ends.</summary>
    Memory,
    /// <summary>Many nodes on one Redis server (<c>Switchboard:Redis:Configuration</c>): the store and the backplane.</summary>
    Redis,
}

/// <summary>Everything the server reads from configuration (section <c>Switchboard</c>).</summary>
public sealed class ServerOptions
{
    /// <summary>The engine.</summary>
    public EngineKind Engine { get; set; } = EngineKind.Sqlite;

    /// <summary>Limits and defaults of the hub.</summary>
    public HubOptions Hub { get; set; } = new();

    /// <summary>Settings of the SQLite engine.</summary>
    public SqliteStoreOptions Sqlite { get; set; } = new();

    /// <summary>Where Redis is, for the Redis engine (<c>serve --redis HOST:PORT</c>).</summary>
    public Redis.RedisOptions Redis { get; } = new();

    /// <summary>This node's name and heartbeats (see <c>GET /v1/nodes</c>).</summary>
    public Cluster.NodeOptions Nodes { get; } = new();

    /// <summary>Where metrics go besides <c>GET /metrics</c> (OTLP).</summary>
    public TelemetryOptions Telemetry { get; } = new();

    /// <summary>
    /// Largest request body (a batch publish). 16 MiB: a full batch of small messages, or a handful of 1 MiB
    /// ones after JSON escaping and base64, while bounding what one request can make the server buffer.
    /// </summary>
    public long MaxRequestBytes { get; set; } = 16L * 1024 * 1024;

    /// <summary>
    /// How long to keep serving after shutdown begins, with readiness off, so load balancers stop sending
    /// traffic before listeners close. 0 by default (no balancer in front of a dev hub); use 5–10 s in production.
    /// </summary>
    public TimeSpan DrainDelay { get; set; } = TimeSpan.Zero;

    /// <summary>
    /// Each connection's outbound buffer. 1 MiB absorbs bursts of thousands of small messages for a reader
    /// that is briefly busy, while 10,000 connections cost at most 10 GiB only if every one of them stalls.
    /// </summary>
    public long OutboundBufferBytes { get; set; } = 1024 * 1024;

    /// <summary>
    /// Kestrel's inline scheduling (its sockets transport's <c>UnsafePreferInlineScheduling</c>): a connection's reads
    /// are handled, and its writes sent, on the thread that has them, without a hand-off through Kestrel's I/O queues.
    /// One thread hand-off less per read and per write; measured after a warm-up, no consistent CPU gain (BENCHMARKS.md).
    /// Off by default: with it on, one full test run saw a gRPC duplex call that the hub refused at its start end as an
    /// aborted request instead of with its status (through the h2c relay).
    /// </summary>
    public bool InlineScheduling { get; set; }

    /// <summary>A connection whose buffer stays full this long is cut (it resumes by position). 10 s rides out GC pauses and network hiccups.</summary>
    public TimeSpan SlowConsumerTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// How long a connection being closed by the hub gets to take its last frame (the close frame or final event
    /// saying why) before it is reset. 10 s: a client busy for a moment still learns the reason.
    /// </summary>
    public TimeSpan CloseGrace { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// Server pings on idle WebSockets and heartbeat comments on SSE streams. 15 s stays under the idle timeouts
    /// of common proxies (nginx 60 s, AWS ALB 60 s) with room for a lost beat.
    /// </summary>
    public TimeSpan Heartbeat { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>Web server limits: timeouts, minimum data rates, header sizes, HTTP/2 (see <see cref="LimitsOptions"/>).</summary>
    public LimitsOptions Limits { get; set; } = new();

    /// <summary>Load balancers whose X-Forwarded-For / X-Forwarded-Proto are believed (see <see cref="TrustedProxies"/>).</summary>
    public List<System.Net.IPNetwork> TrustedProxies { get; } = [];

    /// <summary>Browser origins allowed to open WebSockets and event streams and to call REST across origins (see <see cref="OriginPolicy"/>).</summary>
    public List<string> AllowedOrigins { get; } = [];

    /// <summary>
    /// Connections one client address may hold at once (every transport). 10,000: far beyond any one browser or service,
    /// while one misbehaving host cannot take every file descriptor of the process.
    /// </summary>
    public int MaxConnectionsPerAddress { get; set; } = 10_000;

    /// <summary>Connections one principal (API key or token subject) may hold at once. 10,000, for the same reason.</summary>
    public int MaxConnectionsPerPrincipal { get; set; } = 10_000;

    /// <summary>
    /// Client connections the hub holds at once, all addresses together (see <see cref="ConnectionBudget"/>). Null (the
    /// default): as many as the process's open-file limit leaves room for; a value above that is lowered to it.
    /// </summary>
    public int? MaxConnections { get; set; }

    /// <summary>How long a WebSocket client that did not authenticate with the upgrade has to send its auth frame. 10 s.</summary>
    public TimeSpan AuthTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>When a multi-topic stream's resume id turns from the whole positions (<c>p1.</c>) to a snapshot and a delta (<c>p2.</c>).</summary>
    public ResumeOptions Resume { get; } = new();

    /// <summary>Rate limits per client (off by default).</summary>
    public RateLimitOptions RateLimits { get; } = new();

    /// <summary>Authentication: API keys and JWTs; none = off (and the hub listens on loopback only).</summary>
    public AuthOptions Auth { get; } = new();

    /// <summary>Listen beyond loopback without authentication (<c>--insecure</c>): refused at start otherwise.</summary>
    public bool Insecure { get; set; }
}

/// <summary>
/// Resume ids of multi-topic streams and polls (<c>Switchboard:Resume</c>). An id holding every topic's position grows with
/// the topics a pattern matches, and a browser sends it back as a header; past these sizes the stream keeps its positions
/// in a snapshot (<see cref="HubOptions.ResumeSnapshotRetention"/>) and its ids name the snapshot plus what changed since.
/// </summary>
public sealed class ResumeOptions
{
    /// <summary>Ids hold every position while there are at most this many topics. 32.</summary>
    public int FullTopics { get; set; } = 32;

    /// <summary>… and while such an id is at most this long, in characters. 1,024: far under any proxy's header limit.</summary>
    public int FullBytes { get; set; } = 1024;

    /// <summary>
    /// A snapshot's delta (the topics moved since it was taken) past this many topics (or past <see cref="FullBytes"/>)
    /// makes the stream take a new snapshot, so an id, and the work of writing it on every event, stays bounded. 32.
    /// </summary>
    public int DeltaTopics { get; set; } = 32;
}

/// <summary>Metrics export (<c>Switchboard:Telemetry</c>).</summary>
public sealed class TelemetryOptions
{
    /// <summary>An OpenTelemetry collector to push metrics and traces to over OTLP (e.g. <c>http://127.0.0.1:4317</c>); null: only <c>GET /metrics</c>, and no spans recorded.</summary>
    public Uri? OtlpEndpoint { get; set; }

    /// <summary>
    /// The share of new traces recorded when exporting (0 to 1; a trace a caller started keeps the caller's decision, its
    /// <c>traceparent</c> sampled flag). Message headers carry trace context whatever this says.
    /// </summary>
    public double TraceSampleRatio { get; set; } = 1.0;

    /// <summary>
    /// False turns the meters' listeners off: no <c>/metrics</c>, no OTLP metrics, no live figures for the console or
    /// <c>switchboard stats</c> (recording then costs a field read). For the leanest hub, or to measure what metrics cost.
    /// </summary>
    public bool Metrics { get; set; } = true;
}
