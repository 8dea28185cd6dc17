using System.Text.Json;

namespace Switchboard.Client;

/// <summary>A way of reaching the hub. The client tries them in the order of <see cref="SwitchboardClientOptions.Transports"/>.</summary>
public enum ClientTransport
{
    /// <summary><c>/v1/ws</c>, the multiplexed protocol: every subscription and publish on one socket.</summary>
    WebSocket,

    /// <summary>gRPC over HTTP/2: the <c>Subscribe</c> stream per subscription, unary <c>Publish</c>.</summary>
    Grpc,

    /// <summary>Server-Sent Events (<c>/v1/events</c>) per subscription; publishes over REST.</summary>
    Sse,

    /// <summary>Long polling (<c>GET /v1/topics/{topic}/messages?wait=</c>, or <c>GET /v1/messages?topic=PATTERN</c> for a pattern) per subscription; publishes over REST.</summary>
    LongPolling,
}

/// <summary>How the WebSocket carries each message (<see cref="SwitchboardClientOptions.Envelope"/>).</summary>
public enum MessageEnvelope
{
    /// <summary>Every message with its topic, epoch, offset, timestamp, headers, key and content type.</summary>
    Full,

    /// <summary>Topic, offset and payload (key, headers and a non-JSON content type when present); the hub names each topic's epoch once; no timestamp.</summary>
    Compact,
}

/// <summary>Where the connection to the hub stands.</summary>
public enum ConnectionState
{
    /// <summary>The first connection is being made.</summary>
    Connecting,

    /// <summary>A transport is open; subscriptions and publishes flow.</summary>
    Connected,

    /// <summary>The connection was lost; the client is reconnecting with backoff. Publishes wait, subscriptions resume afterwards.</summary>
    Reconnecting,

    /// <summary>Closed for good: by <see cref="SwitchboardClient.DisposeAsync"/>, a refused credential, or reconnect attempts exhausted.</summary>
    Closed,
}

/// <summary>How a <see cref="SwitchboardClient"/> connects. Durations the client keeps are <see cref="TimeSpan"/>s.</summary>
public sealed class SwitchboardClientOptions
{
    /// <summary>The hub's address: <c>http(s)://host:port</c> (a <c>ws(s)://</c> address is taken as its HTTP twin).</summary>
    public Uri? Url { get; set; }

    /// <summary>The transports to try, in order (default WebSocket, gRPC, SSE, long polling).</summary>
    public IList<ClientTransport> Transports { get; set; } = [ClientTransport.WebSocket, ClientTransport.Grpc, ClientTransport.Sse, ClientTransport.LongPolling];

    /// <summary>An API key, sent as <c>X-Api-Key</c> (REST, streams, gRPC) or in the WebSocket's first frame.</summary>
    public string? ApiKey { get; set; }

    /// <summary>
    /// A credential source (an API key or a JWT), called for every connection and REST request, and again on the
    /// WebSocket before the credential expires, so short-lived JWTs refresh by themselves. Takes precedence over <see cref="ApiKey"/>.
    /// </summary>
    public Func<CancellationToken, ValueTask<string?>>? AccessTokenProvider { get; set; }

    /// <summary>The first reconnect waits about this long, doubling each attempt up to <see cref="MaxReconnectDelay"/> (jittered: each wait is between half and all of its step).</summary>
    public TimeSpan ReconnectDelay { get; set; } = TimeSpan.FromMilliseconds(250);

    /// <summary>The longest wait between reconnect attempts.</summary>
    public TimeSpan MaxReconnectDelay { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Reconnect attempts before the client gives up and closes (default: never gives up).</summary>
    public int MaxReconnectAttempts { get; set; } = int.MaxValue;

    /// <summary>How long a transport may take to open before the next is tried.</summary>
    public TimeSpan ConnectTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// How long a publish may wait for the hub's confirmation, across reconnects, before it fails with <c>timeout</c>
    /// (default 60 s, inside the hub's 2-minute idempotency window, so a retry never stores a message twice).
    /// </summary>
    public TimeSpan PublishTimeout { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>
    /// After this much silence on a WebSocket the client sends a ping; <see cref="HeartbeatTimeout"/> more without a frame
    /// counts as a lost connection. Over SSE and long polling with a credential whose scopes do not cover the idle probe,
    /// how often the client checks that the hub is still there (15 s when 0).
    /// </summary>
    public TimeSpan HeartbeatInterval { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>See <see cref="HeartbeatInterval"/>.</summary>
    public TimeSpan HeartbeatTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>How long each long poll waits at the hub (at most 60 s).</summary>
    public TimeSpan LongPollWait { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// How the WebSocket carries messages: <see cref="MessageEnvelope.Full"/> (the default) or
    /// <see cref="MessageEnvelope.Compact"/> — topic, offset and payload, the epoch sent once per topic: about half the
    /// bytes of a small message, and messages then have no <see cref="Message.Timestamp"/>. Other transports ignore it.
    /// </summary>
    public MessageEnvelope Envelope { get; set; } = MessageEnvelope.Full;

    /// <summary>Messages a subscription holds for the application before the client stops reading from the hub (backpressure; the hub cuts a reader that stalls too long, and the client resumes without loss).</summary>
    public int SubscriptionBufferSize { get; set; } = 1024;

    /// <summary>How payloads given as .NET objects are serialized to JSON, and JSON payloads read back (default: the web defaults, camelCase).</summary>
    public JsonSerializerOptions JsonSerializerOptions { get; set; } = JsonSerializerOptions.Web;

    /// <summary>The handler under every HTTP, WebSocket-less and gRPC call (tests, proxies, certificates). Default: a <see cref="SocketsHttpHandler"/> the client owns.</summary>
    public HttpMessageHandler? HttpMessageHandler { get; set; }

    /// <summary>Headers added to every HTTP request and the WebSocket upgrade.</summary>
    public IDictionary<string, string> Headers { get; set; } = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);

    internal SwitchboardClientOptions Validated()
    {
        if (Url is null)
        {
            throw new ArgumentException("SwitchboardClientOptions.Url is required: the hub's address, e.g. http://127.0.0.1:7070.", nameof(Url));
        }
        if (!Url.IsAbsoluteUri || Url.Scheme is not ("http" or "https" or "ws" or "wss"))
        {
            throw new ArgumentException($"The hub's address must be an absolute http(s):// or ws(s):// URL; got '{Url}'.", nameof(Url));
        }
        if (Transports.Count == 0)
        {
            throw new ArgumentException("SwitchboardClientOptions.Transports is empty: name at least one transport.", nameof(Transports));
        }
        if (Transports.Distinct().Count() != Transports.Count)
        {
            throw new ArgumentException("SwitchboardClientOptions.Transports names a transport twice.", nameof(Transports));
        }
        Positive(ReconnectDelay, nameof(ReconnectDelay));
        Positive(MaxReconnectDelay, nameof(MaxReconnectDelay));
        Positive(ConnectTimeout, nameof(ConnectTimeout));
        Positive(PublishTimeout, nameof(PublishTimeout));
        if (HeartbeatInterval < TimeSpan.Zero || HeartbeatTimeout <= TimeSpan.Zero)
        {
            throw new ArgumentException("HeartbeatInterval must be 0 (off) or more, HeartbeatTimeout more than 0.", nameof(HeartbeatInterval));
        }
        if (LongPollWait < TimeSpan.Zero || LongPollWait > TimeSpan.FromSeconds(60))
        {
            throw new ArgumentException("LongPollWait must be between 0 and 60 seconds (the hub holds a long poll for at most 60 s).", nameof(LongPollWait));
        }
        if (!Enum.IsDefined(Envelope))
        {
            throw new ArgumentException($"Envelope is {(int)Envelope}; use MessageEnvelope.Full or MessageEnvelope.Compact.", nameof(Envelope));
        }
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxReconnectAttempts, 0);
        ArgumentOutOfRangeException.ThrowIfLessThan(SubscriptionBufferSize, 1);
        return this;
    }

    private static void Positive(TimeSpan value, string name)
    {
        if (value <= TimeSpan.Zero)
        {
            throw new ArgumentException($"{name} must be more than zero; got {value}.", name);
        }
    }
}
