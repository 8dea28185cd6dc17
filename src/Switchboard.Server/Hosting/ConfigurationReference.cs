using System.Text;

namespace Switchboard.Server;

/// <summary>One configuration key under <c>Switchboard:</c>.</summary>
/// <param name="Key">The key below <c>Switchboard:</c> (<c>Connections:Heartbeat</c>; <c>N</c> stands for a list index).</param>
/// <param name="Default">The default as it would be written in configuration (empty: none).</param>
/// <param name="Meaning">What it does and the values it takes.</param>
public sealed record ConfigurationKey(string Key, string Default, string Meaning);

/// <summary>
/// Every key <see cref="ServerConfiguration.Read"/> reads, its default and meaning: the source of docs/configuration.md.
/// A test reads the configuration through a recorder and fails if a key read here is missing, a key listed is never
/// read, a default written here does not give the default the reader has, or the document differs from <see cref="ToMarkdown"/>.
/// </summary>
public static class ConfigurationReference
{
    /// <summary>The keys, grouped as the document shows them.</summary>
    public static IReadOnlyList<(string Group, IReadOnlyList<ConfigurationKey> Keys)> Groups { get; } =
    [
        ("Engine and data", [
            new("Engine", "sqlite", "`sqlite` (embedded, durable; the default), `memory` (gone when the process ends) or `redis` (many nodes on one Redis; `serve --redis`)."),
            new("DataDirectory", "switchboard-data", "The SQLite engine's directory (`serve --data`); one hub at a time (it is locked)."),
            new("Sqlite:CheckOnOpen", "true", "Run SQLite's `quick_check` when opening; a damaged database stops the hub with the reason instead of serving wrong data."),
            new("Sqlite:MaxBatchMessages", "4096", "Most messages one group commit writes (1–100,000)."),
            new("Sqlite:MaxQueuedBytes", "268435456", "Bytes waiting for the writer before publishers are told `overloaded` (1 MiB–1 TiB)."),
            new("Sqlite:MaxReaders", "(twice the processors, 4–256)", "Read connections open at once (1–256). Reads (history, long polls, topic lookups, replies, a backup) run concurrently on them; a read past this many waits for one to be free, for as long as its caller waits. Each holds up to 3 file descriptors, which the connection budget (`Connections:MaxTotal`) keeps free."),
            new("Redis:Configuration", "", "The Redis server, `HOST:PORT` or a StackExchange.Redis configuration string (`serve --redis`). Required with `Engine=redis`."),
            new("Redis:Prefix", "sb", "Prefix of every Redis key and channel: several hubs can share one Redis under different prefixes."),
            new("Nodes:Name", "(the host name)", "This node's name in `GET /v1/nodes` (`serve --node-name`)."),
            new("Nodes:Heartbeat", "2s", "How often a node reports itself to the others (Redis engine)."),
            new("Nodes:Expiry", "10s", "A node silent this long drops out of `GET /v1/nodes` (at least twice the heartbeat)."),
        ]),
        ("Messages and topics", [
            new("MaxMessageBytes", "1048576", "Largest payload of one message, in bytes (1 B–64 MiB)."),
            new("MaxBatchMessages", "1000", "Most messages in one batch publish or send (1–100,000)."),
            new("MaxRequestBytes", "16777216", "Largest request body, in bytes (a batch) (1 KiB–1 GiB)."),
            new("IdempotencyWindow", "2m", "How long an `Idempotency-Key` is remembered: a retry within it returns the first result and stores nothing."),
            new("MaxWait", "60s", "Longest `wait=` a long poll (history, receive, reply) may hold a request."),
            new("Topics:AutoCreate", "true", "Create a topic on its first publish (else publishing to an unknown topic is `404 topic-not-found`)."),
            new("Topics:MaxCount", "100000", "Most topics the hub holds (its own `$` topics aside): creating one more, by a publish or `PUT`, is refused with `409 limit-reached` (gRPC RESOURCE_EXHAUSTED) naming this setting; `unlimited` for no limit."),
            new("Topics:Retention:MaxMessages", "unlimited", "Default retention of new topics: most messages kept (`unlimited` for no limit)."),
            new("Topics:Retention:MaxAge", "7d", "Default retention: oldest message kept (`unlimited` for no limit)."),
            new("Topics:Retention:MaxBytes", "1073741824", "Default retention: most bytes kept per topic (`unlimited` for no limit)."),
            new("RetentionSweepInterval", "5s", "How often retention removes old messages."),
            new("Resume:FullTopics", "32", "A multi-topic stream's or poll's resume id holds every topic's position (`p1.`) while it has at most this many topics (1–10,000) and `Resume:FullBytes` characters."),
            new("Resume:FullBytes", "1024", "Longest such whole-positions id (256–65,536); past it, or past `Resume:FullTopics`, the positions go into a snapshot in the store and ids (`p2.`) name it plus the topics moved since."),
            new("Resume:DeltaTopics", "32", "Past this many topics moved since the snapshot (or `Resume:FullBytes`), the stream takes a new one: ids stay bounded (1–10,000)."),
            new("Resume:SnapshotRetention", "1h", "How long a snapshot is kept (2s–30d); a live stream renews its own at half that age. A resume from a dropped one is told so (`resume-expired`). A change applies at start-up to the snapshots already kept."),
            new("Resume:SnapshotMaxCount", "unlimited", "Most snapshots kept (the oldest go first); `unlimited`: only their age limits them. A change applies at start-up, as for SnapshotRetention."),
            new("Queues:MaxCount", "100000", "Most queues the hub holds: creating one more, by a send, a request, a `PUT` or a binding, is refused with `409 limit-reached` (gRPC RESOURCE_EXHAUSTED) naming this setting; `unlimited` for no limit."),
            new("Queues:MaxLength", "1000000", "Most messages a queue holds that are not dead (ready, delayed and leased), for queues whose configuration sets no `maxLength`. A send, a request or a publish to a bound topic that would pass it is refused whole with `409 limit-reached` (WebSocket error 4409, gRPC RESOURCE_EXHAUSTED) naming the queue, its length and its limit: nothing of it is written (a publish to a topic bound to a full queue is refused too, RabbitMQ's reject-publish). 1–10^12, or `unlimited`."),
            new("Queues:MaxDeadLetters", "100000", "Most dead letters a queue keeps, for queues whose configuration sets no `maxDeadLetters`. A move past it drops the oldest dead letters (lowest ids), counted in the queue's `stats.deadDropped` and logged (event 1010, at most once a minute per queue). 1–10^12, or `unlimited`."),
            new("Queues:AutoCreate", "true", "Create a queue on its first send (else sending to an unknown queue is `404 queue-not-found`)."),
        ]),
        ("Connections", [
            new("Connections:OutboundBufferBytes", "1048576", "Each connection's outbound buffer, in bytes (16 KiB–1 GiB)."),
            new("Connections:SlowConsumerTimeout", "10s", "A connection whose buffer stays full this long is cut (WebSocket 4408, SSE `error` event) and resumes by position."),
            new("Connections:Heartbeat", "15s", "WebSocket pings and SSE heartbeat comments on idle connections (under common proxies' 60 s idle timeouts)."),
            new("Connections:CloseGrace", "10s", "How long a connection the hub closes gets to take its last frame (the reason) before it is reset."),
            new("Connections:InlineScheduling", "false", "`true`: Kestrel handles a connection's reads, and sends its writes, on the thread that has them instead of handing each to its I/O queues first (one thread hand-off less per read and per write; in `bench fanout` after a warm-up it made no consistent difference to CPU per message, see BENCHMARKS.md). Off by default: a gRPC race was seen once with it on and is not understood."),
            new("Connections:MaxPerAddress", "10000", "Connections one client address may hold at once, requests that stay open waiting included (long polls, waiting receives and requests, the stats and reply event streams); WebSocket 4429 / 429 beyond."),
            new("Connections:MaxPerPrincipal", "10000", "Connections one principal (API key, or token subject of its issuer) may hold at once, requests that stay open waiting included."),
            new("Connections:MaxTotal", "(from the open-file limit)", "Client connections held at once, all addresses together. By default as many as the open-file limit leaves room for (the limit, less the descriptors open at start, less 128 and 5% kept for the hub's own files, less 3 per SQLite reader, `Sqlite:MaxReaders`; the hub first raises its soft limit to the hard one); a larger value is lowered to that, with a warning. Beyond it a connection is refused at once: HTTP 503 `too-many-connections`, an HTTP/2 GOAWAY (gRPC UNAVAILABLE)."),
            new("Shutdown:DrainDelay", "0s", "On shutdown, keep serving this long with readiness off so load balancers move away (`serve --drain-delay`; 5–10 s in production)."),
            new("Overload:MaxMemoryBytes", "", "Above this managed heap size the hub sheds new work with `503 overloaded` (default: no limit; at least 16 MiB)."),
        ]),
        ("Monitoring", [
            new("Telemetry:OtlpEndpoint", "", "An OpenTelemetry collector (`http://127.0.0.1:4317`) to push the `Switchboard` meter and spans to over OTLP, besides `GET /metrics` (OpenTelemetry's `OTEL_EXPORTER_OTLP_ENDPOINT` works too). Without one no spans are recorded; messages still carry `traceparent`."),
            new("Telemetry:Metrics", "true", "`false` turns the meters' listeners off: no `/metrics`, no OTLP metrics, no live figures in the console or `switchboard stats` (to measure what metrics cost, or for the leanest hub)."),
            new("Telemetry:TraceSampleRatio", "1", "The share of new traces recorded when exporting (0–1); a trace a caller started follows the caller's sampled flag."),
        ]),
        ("Security", [
            new("Insecure", "false", "Allow listening beyond loopback with no credentials (`serve --insecure`): anyone who can reach the port can do anything."),
            new("Auth:ApiKeys:N:Name", "", "An API key's name (logs, audit). Keys are listed as an array (`Auth:ApiKeys:0:…`); see docs/security.md."),
            new("Auth:ApiKeys:N:Hash", "", "The key's SHA-256 (`switchboard keys hash`); the hub stores no keys, only hashes."),
            new("Auth:ApiKeys:N:Key", "", "The key itself, instead of its hash (development only)."),
            new("Auth:ApiKeys:N:Scopes", "", "What the key may do: `admin`, `publish:PATTERN`, `subscribe:PATTERN`, `consume:PATTERN` (a list)."),
            new("Auth:Jwt:Secret", "", "HS256 secret for JWTs (at least 32 bytes). Every token must name its caller: `sub` (or `client_id` / `azp`)."),
            new("Auth:Jwt:PublicKeys:N:File", "", "A PEM public key file for RS256 / ES256 JWTs."),
            new("Auth:Jwt:PublicKeys:N:Pem", "", "The PEM inline, instead of `File`."),
            new("Auth:Jwt:PublicKeys:N:Algorithm", "", "`RS256` or `ES256`: the one algorithm this key accepts."),
            new("Auth:Jwt:PublicKeys:N:KeyId", "", "The `kid` tokens name this key by."),
            new("Auth:Jwt:JwksFile", "", "A JWKS file of public keys; keys for encryption (`\"use\": \"enc\"`, or `key_ops` without `verify`) are not trusted."),
            new("Auth:Jwt:Issuer", "", "Accepted issuers (one or a list)."),
            new("Auth:Jwt:Issuers", "", "The same as `Issuer` (either name)."),
            new("Auth:Jwt:Audience", "", "Accepted audiences (one or a list)."),
            new("Auth:Jwt:Audiences", "", "The same as `Audience` (either name)."),
            new("Auth:Jwt:ClockSkew", "", "Tolerance on JWT expiry and not-before (default 30 s); a connection made with a token ends at its `exp` plus this, when requests with it are refused too."),
            new("Auth:Timeout", "10s", "How long a WebSocket may take to send its `auth` frame before it is closed with 4401."),
            new("RateLimits:PublishPerSecondPerClient", "0", "Publishes per second one client (principal or address) may make; 0 = no limit."),
            new("RateLimits:ConnectsPerSecondPerClient", "0", "New connections per second one client may open; 0 = no limit."),
            new("AllowedOrigins", "", "Browser origins allowed to open WebSockets and streams and call REST across origins (`https://app.example.com`, or `*`); a list or one value separated by commas."),
            new("TrustedProxies", "", "Addresses or networks (`10.0.0.0/8`) of load balancers whose `X-Forwarded-For` / `-Proto` are believed."),
        ]),
        ("Web server limits", [
            new("Limits:RequestHeadersTimeout", "10s", "Time a client has to send a request's headers (at least 1 s)."),
            new("Limits:KeepAliveTimeout", "130s", "Idle time before an HTTP keep-alive connection is closed (at least 1 s)."),
            new("Limits:MinRequestBodyBytesPerSecond", "1024", "Slowest request body accepted after the grace period (0 = off)."),
            new("Limits:MinRequestBodyGracePeriod", "5s", "Grace period before that rate applies (at least 2 s)."),
            new("Limits:MinResponseBytesPerSecond", "1024", "Slowest a client may read a response after the grace period (0 = off)."),
            new("Limits:MinResponseGracePeriod", "5s", "Grace period before that rate applies (at least 2 s)."),
            new("Limits:MaxRequestHeadersTotalSize", "32768", "Largest total size of a request's headers, in bytes."),
            new("Limits:MaxRequestHeaderCount", "100", "Most headers in one request."),
            new("Limits:MaxRequestLineSize", "16384", "Longest request line (method, URL, version), in bytes."),
            new("Limits:Http2:MaxStreamsPerConnection", "100", "Concurrent HTTP/2 streams (gRPC calls) per connection."),
            new("Limits:Http2:KeepAlivePingDelay", "30s", "HTTP/2 pings after this much silence (`off` to disable)."),
            new("Limits:Http2:KeepAlivePingTimeout", "20s", "A ping unanswered this long closes the HTTP/2 connection."),
        ]),
    ];

    /// <summary>Every key, in document order.</summary>
    public static IEnumerable<ConfigurationKey> All => Groups.SelectMany(g => g.Keys);

    /// <summary>docs/configuration.md, as it must read.</summary>
    public static string ToMarkdown()
    {
        var text = new StringBuilder();
        text.Append("""
            # Configuration reference

            Generated from `src/Switchboard.Server/Hosting/ConfigurationReference.cs`; a test fails when a key the hub reads is
            missing here, a default here is not the hub's, or this file is out of date (rewrite it with
            `SWITCHBOARD_WRITE_DOCS=1 dotnet test tests/Switchboard.Server.Tests --filter ConfigurationReferenceTests`).

            Every key is under the section `Switchboard`, from any of: `appsettings.json` next to the program, a file given
            with `serve --config FILE`, environment variables (`Switchboard__Connections__Heartbeat=30s`: `__` for `:`), and the
            `serve` options that set some of them. Durations are written `500ms`, `30s`, `2m`, `1h`, `7d` (or ISO 8601); a wrong
            value stops the hub at start with a message naming the key and what it accepts. The listen addresses are
            `serve --urls` (or `Urls`), and log levels ASP.NET Core's `Logging:LogLevel:<category>` (see docs/logging.md).

            """.Replace("\r", "", StringComparison.Ordinal));
        foreach (var (group, keys) in Groups)
        {
            text.Append("\n## ").Append(group).Append("\n\n| key | default | meaning |\n| --- | --- | --- |\n");
            foreach (var key in keys)
            {
                text.Append("| `").Append(key.Key).Append("` | ").Append(key.Default.Length == 0 ? "–" : $"`{key.Default}`").Append(" | ").Append(key.Meaning).Append(" |\n");
            }
        }
        return text.ToString();
    }
}
