using System.Collections.Concurrent;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Switchboard.Core;
using Switchboard.Core.Observability;
using Switchboard.Server.Auth;

namespace Switchboard.Server.Connections;

/// <summary>
/// Every live connection on this node, whatever its transport, and the slow-consumer watchdog: a connection
/// whose outbound buffer stays full for <see cref="ServerOptions.SlowConsumerTimeout"/> is cut with its reason
/// (it resumes by position), so one slow reader never costs the hub unbounded memory.
/// </summary>
internal sealed class ConnectionRegistry(ServerOptions options, TimeProvider time, RateLimits rateLimits, Hub hub, ILogger<ConnectionRegistry> logger) : BackgroundService
{
    /// <summary>The connection's id and transport in the logging scope while it is served (see <see cref="ConnectionLog.Scope"/>).</summary>
    public IDisposable? LogScope(Connection connection) => ConnectionLog.Scope(logger, connection);

    /// <summary>Logs why a connection ended (for transports whose handlers have no logger of their own: gRPC streams).</summary>
    public void LogClosed(Connection connection, string reason) => ConnectionLog.Closed(logger, connection.Id, connection.Transport, reason);

    private readonly ConcurrentDictionary<string, Observability.DeliveryMeter> _deliveryMeters = new(StringComparer.Ordinal);

    /// <summary>The delivery meter of a transport, shared by its connections (and by the polls of <c>longpoll</c> / <c>poll</c>).</summary>
    public Observability.DeliveryMeter MeterOf(string transport)
        => _deliveryMeters.GetOrAdd(transport, name => new Observability.DeliveryMeter(hub.Meters, Protocols.TagOfTransport(name), time));

    private readonly ConcurrentDictionary<string, Connection> _connections = new(StringComparer.Ordinal);

    public int Count => _connections.Count;

    public IEnumerable<Connection> All => _connections.Values;

    private readonly ConcurrentDictionary<string, int> _perAddress = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, int> _perPrincipal = new(StringComparer.Ordinal);

    /// <summary>The rate limits every transport applies to its clients.</summary>
    public RateLimits RateLimits => rateLimits;

    /// <summary>
    /// Registers a connection, or throws <see cref="ErrorCode.RateLimited"/> when its address or its principal already
    /// holds the most connections allowed (<see cref="ServerOptions.MaxConnectionsPerAddress"/>, <see cref="ServerOptions.MaxConnectionsPerPrincipal"/>).
    /// </summary>
    public Connection Open(string transport, Caller caller, string? remoteAddress)
    {
        rateLimits.AdmitConnection(caller, remoteAddress);
        TakeSlot(caller, remoteAddress);
        var meter = MeterOf(transport);
        var connection = new Connection(transport, caller, remoteAddress, new Outbox(options.OutboundBufferBytes, time, meter), time.GetUtcNow());
        _connections[connection.Id] = connection;
        meter.Open.Add(1);
        return connection;
    }

    /// <summary>Gives a connection the credential that came after it opened (a WebSocket auth frame), counting it against its principal.</summary>
    public void Authenticate(Connection connection, Caller caller)
    {
        var previous = connection.Caller.Identity;
        if (caller.Identity is { } identity && previous != identity && !Take(_perPrincipal, identity, options.MaxConnectionsPerPrincipal))
        {
            throw TooMany(caller.Name!);
        }
        if (previous is not null && previous != caller.Identity)
        {
            Release(_perPrincipal, previous);
        }
        connection.Caller = caller;
    }

    /// <summary>
    /// Counts a request that stays open waiting (a long poll, a receive or request that waits for its answer, the stats
    /// and reply event streams, gRPC Receive and PublishStream) against the same caps as connections, for as long as it
    /// waits: otherwise a client over its cap could still hold any number of requests open. Refused the way
    /// <see cref="Open"/> refuses. Not a connection (nothing is delivered through the registry, it is not listed), and
    /// not held to the connect rate: a long-polling client asks again after every answer. Dispose to give the slot back.
    /// </summary>
    public Waiting Hold(Caller caller, string? remoteAddress)
    {
        TakeSlot(caller, remoteAddress);
        return new Waiting(this, remoteAddress ?? "", caller.Identity);
    }

    /// <summary><see cref="Hold(Caller, string?)"/> for an HTTP request: its caller, from its client's address.</summary>
    public Waiting Hold(Microsoft.AspNetCore.Http.HttpContext context) => Hold(context.Caller(), context.Connection.RemoteIpAddress?.ToString());

    /// <summary>A slot of <see cref="Hold(Caller, string?)"/>; disposing it (once or more) gives the slot back.</summary>
    public sealed class Waiting(ConnectionRegistry registry, string address, string? identity) : IDisposable
    {
        private int _released;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _released, 1) == 0)
            {
                registry.ReleaseSlot(address, identity);
            }
        }
    }

    private void TakeSlot(Caller caller, string? remoteAddress)
    {
        var address = remoteAddress ?? "";
        if (!Take(_perAddress, address, options.MaxConnectionsPerAddress))
        {
            throw new SwitchboardException(ErrorCode.RateLimited,
                $"{address} already has {options.MaxConnectionsPerAddress} connections open, the most one address may hold (Switchboard:Connections:MaxPerAddress); close some, or share one connection.") { RetryAfterSeconds = 5 };
        }
        if (caller.Identity is { } identity && !Take(_perPrincipal, identity, options.MaxConnectionsPerPrincipal))
        {
            Release(_perAddress, address);
            throw TooMany(caller.Name!);
        }
    }

    private void ReleaseSlot(string address, string? identity)
    {
        Release(_perAddress, address);
        if (identity is not null)
        {
            Release(_perPrincipal, identity);
        }
    }

    private SwitchboardException TooMany(string principal) => new(ErrorCode.RateLimited,
        $"'{principal}' already has {options.MaxConnectionsPerPrincipal} connections open, the most one principal may hold (Switchboard:Connections:MaxPerPrincipal); close some, or share one connection.") { RetryAfterSeconds = 5 };

    public async ValueTask CloseAsync(Connection connection)
    {
        if (_connections.TryRemove(connection.Id, out _))
        {
            MeterOf(connection.Transport).Open.Add(-1);
            ReleaseSlot(connection.RemoteAddress ?? "", connection.Caller.Identity);
        }
        await connection.DisposeAsync();
    }

    private static bool Take(ConcurrentDictionary<string, int> counts, string key, int max)
    {
        while (true)
        {
            var current = counts.GetOrAdd(key, 0);
            if (current >= max)
            {
                return false;
            }
            if (counts.TryUpdate(key, current + 1, current))
            {
                return true;
            }
        }
    }

    private static void Release(ConcurrentDictionary<string, int> counts, string key)
    {
        while (counts.TryGetValue(key, out var current))
        {
            if (current <= 1 ? counts.TryRemove(new KeyValuePair<string, int>(key, current)) : counts.TryUpdate(key, current - 1, current))
            {
                return;
            }
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        // Checking once a second bounds the cut to timeout + 1 s, at the cost of one pass over the connections. It also
        // drives the WebSocket keep-alive: one timer for every connection rather than one per socket.
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(1), time);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                var now = Environment.TickCount64;
                foreach (var connection in _connections.Values)
                {
                    connection.KeepAlive?.Tick(now);
                    if (connection.Heartbeat is { } heartbeat && connection.Outbox.IdleFor >= options.Heartbeat)
                    {
                        connection.Outbox.Enqueue(heartbeat); // keeps proxies from closing an idle stream
                    }
                    if (connection.Caller.ExpiresAt is { } expires && time.GetUtcNow() >= expires && connection.CloseReason is null)
                    {
                        connection.Abort(ErrorCode.Unauthorized, connection.Caller.IsPending
                            ? "No credentials came in time: send {\"auth\": {\"token\": \"…\"}} as the first frame, or connect with ?access_token= or an Authorization header."
                            : $"The credential expired at {expires:yyyy-MM-ddTHH:mm:ssZ}. Reconnect with a fresh one (on /v1/ws, send an auth frame with a fresh token before it expires) and resume from your last position.");
                    }
                    if (SlowSender(connection) is { } slow)
                    {
                        HardeningLog.SlowSender(logger, connection.Id, connection.Transport, slow.Bytes, (long)slow.Elapsed.TotalMilliseconds);
                        connection.Abort(ErrorCode.Timeout,
                            $"A message was still arriving after {slow.Elapsed.TotalSeconds:0} s ({slow.Bytes} bytes so far), slower than the hub's minimum of {options.Limits.MinRequestBodyBytesPerSecond} bytes/s.");
                    }
                    var full = connection.Outbox.FullFor;
                    if (full >= options.SlowConsumerTimeout && connection.CloseReason is null)
                    {
                        ConnectionLog.SlowConsumer(logger, connection.Id, connection.Transport, connection.Outbox.Bytes, (long)full.TotalMilliseconds);
                        hub.Meters.SlowConsumerCuts.Add(1, Core.Observability.Protocols.TagOfTransport(connection.Transport));
                        connection.Abort(ErrorCode.SlowConsumer,
                            $"This connection did not read its messages for {full.TotalSeconds:0} s while its {options.OutboundBufferBytes}-byte buffer was full. Reconnect and resume from your last position; nothing retained is lost.");
                    }
                }
            }
        }
        catch (OperationCanceledException)
        {
            // stopping
        }
    }

    /// <summary>
    /// A message that has been arriving for longer than the grace period at less than the minimum body rate
    /// (Switchboard:Limits:MinRequestBodyBytesPerSecond): Kestrel's rule for HTTP bodies, for the upgraded connections it
    /// lifts it from. Otherwise a client could hold a buffer of up to the message limit open for hours, trickling
    /// fragments or the bytes of one frame, every byte keeping the connection alive. Both are watched: the message (its
    /// fragments, as the connection's reader sees them) and the frame (its bytes, as the stream under a WebSocket sees
    /// them). Not while the hub itself is not reading: a client whose answers fill its outbox waits for room
    /// (FrameSession), and is a slow consumer instead.
    /// </summary>
    private (TimeSpan Elapsed, long Bytes)? SlowSender(Connection connection)
    {
        var rate = options.Limits.MinRequestBodyBytesPerSecond;
        if (rate <= 0 || connection.CloseReason is not null || connection.Outbox.OverCapacity)
        {
            return null;
        }
        foreach (var arriving in (ReadOnlySpan<(TimeSpan Elapsed, long Bytes)?>)[connection.Inbound, connection.KeepAlive?.Arriving])
        {
            if (arriving is { } inbound && inbound.Elapsed > options.Limits.MinRequestBodyGracePeriod && inbound.Bytes < rate * inbound.Elapsed.TotalSeconds)
            {
                return inbound;
            }
        }
        return null;
    }
}

// Event ids 3100-3199 belong to connections and real-time transports (see docs/logging.md).
internal static partial class ConnectionLog
{
    private static readonly Func<ILogger, string, string, IDisposable?> ConnectionScope =
        LoggerMessage.DefineScope<string, string>("Switchboard connection {Connection} over {Transport}");

    /// <summary>
    /// Puts the connection's id and transport in scope of everything logged while it is served (Core's messages included:
    /// scopes are ambient), so one connection's story can be filtered out of the logs. Dispose when the connection ends.
    /// </summary>
    public static IDisposable? Scope(ILogger logger, Connection connection) => ConnectionScope(logger, connection.Id, connection.Transport);

    [LoggerMessage(EventId = 3100, Level = LogLevel.Warning, Message = "Connection {ConnectionId} ({Transport}) cut as a slow consumer: {Bytes} bytes buffered for {FullMs} ms")]
    public static partial void SlowConsumer(ILogger logger, string connectionId, string transport, long bytes, long fullMs);

    [LoggerMessage(EventId = 3101, Level = LogLevel.Debug, Message = "Connection {ConnectionId} ({Transport}) opened from {RemoteAddress}")]
    public static partial void Opened(ILogger logger, string connectionId, string transport, string? remoteAddress);

    [LoggerMessage(EventId = 3102, Level = LogLevel.Debug, Message = "Connection {ConnectionId} ({Transport}) closed: {Reason}")]
    public static partial void Closed(ILogger logger, string connectionId, string transport, string reason);

    [LoggerMessage(EventId = 3103, Level = LogLevel.Warning, Message = "Connection {ConnectionId} ({Transport}) failed")]
    public static partial void Failed(ILogger logger, string connectionId, string transport, Exception exception);
}
