using System.Diagnostics.Metrics;

namespace Switchboard.Core.Observability;

/// <summary>
/// The hub's instruments, on one <see cref="Meter"/> named <c>Switchboard</c>: what the web console shows live and what
/// an exporter (OpenTelemetry, <c>dotnet-counters</c>) reads. Core records what happens in Core (queue sends, leases, acks,
/// dead letters, requests and replies); protocol adapters record what only they see (a publish answered, a message
/// written to a socket, a connection opened), passing the protocol as a tag — Core never knows which protocol called.
/// </summary>
/// <remarks>
/// Labels are bounded on purpose: <c>protocol</c> (a handful of values, <see cref="Protocols"/>), never a topic, so a hub
/// with a million topics still has a few dozen series. Recording with no listener costs a field read; with one, a
/// callback and no allocation (tags are passed as a single <see cref="KeyValuePair{TKey,TValue}"/>, not an array).
/// </remarks>
public sealed class HubMeters : IDisposable
{
    /// <summary>The meter's name: what a listener or exporter subscribes to.</summary>
    public const string MeterName = "Switchboard";

    private readonly bool _ownsMeter;

    /// <summary>
    /// Creates the instruments on a meter from <paramref name="factory"/> (so listeners can tell one hub's meter from
    /// another's in the same process: its <see cref="Meter.Scope"/> is the factory), or on a meter of its own when null.
    /// </summary>
    public HubMeters(IMeterFactory? factory = null)
    {
        _ownsMeter = factory is null;
        Meter = factory?.Create(new MeterOptions(MeterName)) ?? new Meter(MeterName);
        Published = Meter.CreateCounter<long>("switchboard.messages.published", "{message}", "Messages stored on topics, by the protocol that published them.");
        Delivered = Meter.CreateObservableCounter("switchboard.messages.delivered", _delivered.Observe, "{message}", "Topic messages handed to subscribers' connections (written to the socket, or answered to a poll), by protocol.");
        DeliveryDuration = Meter.CreateHistogram("switchboard.delivery.duration", "s",
            "Time from a publish being stored to the message being written to a live subscriber (catching-up reads excluded); the first (oldest) message of a sample of write bursts (a long poll's page is one): one in 16, and any 100 ms or more after the last sample.",
            tags: null, advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = LatencyBuckets });
        Connections = Meter.CreateObservableUpDownCounter("switchboard.connections", _connections.Observe, "{connection}", "Open connections (WebSocket, SSE, gRPC streams) and long polls waiting, by protocol.");
        QueueSent = Meter.CreateCounter<long>("switchboard.queue.sent", "{message}", "Messages sent to queues (requests and bound topics' copies included).");
        QueueReceived = Meter.CreateCounter<long>("switchboard.queue.received", "{message}", "Queue messages leased to consumers.");
        QueueAcked = Meter.CreateCounter<long>("switchboard.queue.acked", "{message}", "Queue messages acknowledged (done).");
        QueueNacked = Meter.CreateCounter<long>("switchboard.queue.nacked", "{message}", "Queue messages given back by consumers (to be redelivered or dead-lettered).");
        DeadLettered = Meter.CreateCounter<long>("switchboard.queue.dead_lettered", "{message}", "Queue messages moved to dead letters by a nack on their last attempt.");
        Redriven = Meter.CreateCounter<long>("switchboard.queue.redriven", "{message}", "Dead letters put back into their queue.");
        DeadLettersDropped = Meter.CreateCounter<long>("switchboard.queue.dead_letters_dropped", "{message}", "Dead letters deleted, oldest first, because their queue already held its maxDeadLetters.");
        RequestsSent = Meter.CreateCounter<long>("switchboard.requests.sent", "{request}", "Requests sent (request/reply).");
        Replies = Meter.CreateCounter<long>("switchboard.requests.replied", "{reply}", "Replies posted to requests.");
        Redelivered = Meter.CreateCounter<long>("switchboard.queue.redelivered", "{message}", "Queue messages leased again after an earlier attempt (a nack, or a lease that ran out).");
        SlowConsumerCuts = Meter.CreateCounter<long>("switchboard.connections.slow_consumer_cuts", "{connection}", "Connections cut because their outbound buffer stayed full (they resume by position), by protocol.");
        RequestDuration = Meter.CreateHistogram("switchboard.requests.duration", "s", "Request sent → reply received, for requesters that wait (REST, WebSocket and gRPC request calls).",
            tags: null, advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = LatencyBuckets });
        RequestTimeouts = Meter.CreateCounter<long>("switchboard.requests.timeouts", "{request}", "Requests whose requester stopped waiting before a reply came (answered 504, a timeout error or DEADLINE_EXCEEDED).");
        CommitDuration = Meter.CreateHistogram("switchboard.engine.commit.duration", "s", "One engine commit (a group of publishes, sends and settlements made durable together), by engine.",
            tags: null, advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = LatencyBuckets });
        CommitMessages = Meter.CreateHistogram("switchboard.engine.commit.messages", "{message}", "Messages made durable per engine commit (the group commit's batch size), by engine.",
            tags: null, advice: new InstrumentAdvice<long> { HistogramBucketBoundaries = BatchBuckets });
        RedisRoundTrip = Meter.CreateHistogram("switchboard.redis.round_trip", "s", "One command's round trip to Redis (the node's heartbeat, every few seconds).",
            tags: null, advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = LatencyBuckets });
        RedisReconnects = Meter.CreateCounter<long>("switchboard.redis.reconnects", "{reconnect}", "Connections to Redis restored after a failure.");
    }

    // One message to the writer's largest batches.
    private static readonly long[] BatchBuckets = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 4096];

    // Half a millisecond to ten seconds: loopback deliveries sit in the first buckets, a stalled consumer in the last.
    private static readonly double[] LatencyBuckets = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

    /// <summary>The meter every instrument is on.</summary>
    public Meter Meter { get; }

    /// <summary>Messages published, tagged <c>protocol</c>.</summary>
    public Counter<long> Published { get; }

    /// <summary>
    /// Messages delivered, tagged <c>protocol</c>: read from the per-protocol <see cref="Tally"/> of
    /// <see cref="DeliveredOver"/> when observed (a scrape, the console's second).
    /// </summary>
    public ObservableCounter<long> Delivered { get; }

    private readonly ProtocolTallies _delivered = new();

    /// <summary>
    /// The running count of deliveries over <paramref name="protocol"/> (one of <see cref="Protocols"/>). Deliveries are
    /// the hottest thing the hub counts — every write burst of every subscriber — so adapters add to a plain interlocked
    /// total, and <see cref="Delivered"/> reports it when observed, instead of each listener aggregating every add.
    /// </summary>
    public Tally DeliveredOver(string protocol) => _delivered.Over(protocol);

    /// <summary>The delivery totals of every protocol that has delivered so far.</summary>
    public IEnumerable<Tally> DeliveredTallies => _delivered.All;

    /// <summary>Publish → write, seconds, tagged <c>protocol</c>.</summary>
    public Histogram<double> DeliveryDuration { get; }

    /// <summary>
    /// Open connections, tagged <c>protocol</c>: read from the per-protocol <see cref="Tally"/> of
    /// <see cref="ConnectionsOver"/> when observed. Not a measurement per open and close: a long poll is one of each per
    /// request, and two measurements through every listener were a few percent of a long poll's CPU.
    /// </summary>
    public ObservableUpDownCounter<long> Connections { get; }

    private readonly ProtocolTallies _connections = new();

    /// <summary>The running count of open connections over <paramref name="protocol"/> (one of <see cref="Protocols"/>): add 1 on open, -1 on close.</summary>
    public Tally ConnectionsOver(string protocol) => _connections.Over(protocol);

    /// <summary>The open-connection counts of every protocol that has had a connection so far.</summary>
    public IEnumerable<Tally> ConnectionTallies => _connections.All;

    /// <summary>Queue sends.</summary>
    public Counter<long> QueueSent { get; }

    /// <summary>Queue leases.</summary>
    public Counter<long> QueueReceived { get; }

    /// <summary>Queue acks.</summary>
    public Counter<long> QueueAcked { get; }

    /// <summary>Queue nacks.</summary>
    public Counter<long> QueueNacked { get; }

    /// <summary>Dead-letterings.</summary>
    public Counter<long> DeadLettered { get; }

    /// <summary>Redriven dead letters.</summary>
    public Counter<long> Redriven { get; }

    /// <summary>Dead letters dropped past their queue's maxDeadLetters.</summary>
    public Counter<long> DeadLettersDropped { get; }

    /// <summary>Requests sent.</summary>
    public Counter<long> RequestsSent { get; }

    /// <summary>Replies posted.</summary>
    public Counter<long> Replies { get; }

    /// <summary>Leases of messages on a second or later attempt.</summary>
    public Counter<long> Redelivered { get; }

    /// <summary>Slow-consumer cuts, tagged <c>protocol</c>.</summary>
    public Counter<long> SlowConsumerCuts { get; }

    /// <summary>Request → reply, seconds, for waiting requesters.</summary>
    public Histogram<double> RequestDuration { get; }

    /// <summary>Requests whose requester gave up waiting.</summary>
    public Counter<long> RequestTimeouts { get; }

    /// <summary>Engine commit, seconds, tagged <c>engine</c>.</summary>
    public Histogram<double> CommitDuration { get; }

    /// <summary>Messages per engine commit, tagged <c>engine</c>.</summary>
    public Histogram<long> CommitMessages { get; }

    /// <summary>Redis round trip, seconds.</summary>
    public Histogram<double> RedisRoundTrip { get; }

    /// <summary>Redis reconnects.</summary>
    public Counter<long> RedisReconnects { get; }

    /// <summary>The tag for a protocol (use the constants of <see cref="Protocols"/>: the values are bounded).</summary>
    public static KeyValuePair<string, object?> Protocol(string protocol) => new("protocol", protocol);

    /// <inheritdoc />
    public void Dispose()
    {
        if (_ownsMeter)
        {
            Meter.Dispose();
        }
    }
}

/// <summary>One <see cref="Tally"/> per value of the <c>protocol</c> tag, made on first use, observed together.</summary>
internal sealed class ProtocolTallies
{
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, Tally> _tallies = new(StringComparer.Ordinal);

    public Tally Over(string protocol) => _tallies.GetOrAdd(protocol, static name => new Tally(HubMeters.Protocol(name)));

    public IEnumerable<Tally> All => _tallies.Values;

    public IEnumerable<Measurement<long>> Observe()
    {
        foreach (var tally in _tallies.Values)
        {
            yield return new Measurement<long>(tally.Value, tally.Tag);
        }
    }
}

/// <summary>A running total added to from any thread (one interlocked add), read by an observable instrument.</summary>
public sealed class Tally(KeyValuePair<string, object?> tag)
{
    private long _value;

    /// <summary>The tag the total is reported with.</summary>
    public KeyValuePair<string, object?> Tag { get; } = tag;

    /// <summary>The total so far.</summary>
    public long Value => Interlocked.Read(ref _value);

    /// <summary>Adds <paramref name="count"/>.</summary>
    public void Add(long count) => Interlocked.Add(ref _value, count);
}

/// <summary>The values of the <c>protocol</c> tag, each with its tag precomputed (so recording allocates nothing).</summary>
public static class Protocols
{
    /// <summary>REST publishes and sends.</summary>
    public const string Rest = "rest";

    /// <summary>WebSocket, multiplexed or plain.</summary>
    public const string WebSocket = "websocket";

    /// <summary>Server-Sent Events.</summary>
    public const string Sse = "sse";

    /// <summary>gRPC (unary, streams, Connect, gRPC-Web).</summary>
    public const string Grpc = "grpc";

    /// <summary>Long polling (<c>GET …/messages?wait=</c>).</summary>
    public const string LongPoll = "longpoll";

    /// <summary>Polling (<c>GET …/messages</c> without a wait).</summary>
    public const string Poll = "poll";

    /// <summary>Every value, in the order the console shows them.</summary>
    public static IReadOnlyList<string> All { get; } = [Rest, WebSocket, Sse, Grpc, LongPoll, Poll];

    /// <summary>The tag of <see cref="Rest"/>.</summary>
    public static readonly KeyValuePair<string, object?> RestTag = HubMeters.Protocol(Rest);

    /// <summary>The tag of <see cref="WebSocket"/>.</summary>
    public static readonly KeyValuePair<string, object?> WebSocketTag = HubMeters.Protocol(WebSocket);

    /// <summary>The tag of <see cref="Sse"/>.</summary>
    public static readonly KeyValuePair<string, object?> SseTag = HubMeters.Protocol(Sse);

    /// <summary>The tag of <see cref="Grpc"/>.</summary>
    public static readonly KeyValuePair<string, object?> GrpcTag = HubMeters.Protocol(Grpc);

    /// <summary>The tag of <see cref="LongPoll"/>.</summary>
    public static readonly KeyValuePair<string, object?> LongPollTag = HubMeters.Protocol(LongPoll);

    /// <summary>The tag of <see cref="Poll"/>.</summary>
    public static readonly KeyValuePair<string, object?> PollTag = HubMeters.Protocol(Poll);

    /// <summary>The tag of a connection's transport name (<c>ws-json</c>, <c>ws-proto</c>, <c>ws-plain</c>, <c>sse</c>, <c>grpc</c>).</summary>
    public static KeyValuePair<string, object?> TagOfTransport(string transport) => transport switch
    {
        "sse" => SseTag,
        "grpc" => GrpcTag,
        _ when transport.StartsWith("ws", StringComparison.Ordinal) => WebSocketTag,
        _ => HubMeters.Protocol(transport),
    };
}
