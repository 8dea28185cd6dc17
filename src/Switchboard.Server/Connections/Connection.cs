using Switchboard.Core;
using Switchboard.Core.Delivery;
using Switchboard.Server.Auth;

namespace Switchboard.Server.Connections;

/// <summary>
/// One client on any transport: its identity, its subscriptions, and its outbound buffer with its own
/// writer. Transports move bytes; what a connection may do is decided by the hub.
/// </summary>
internal sealed class Connection : IAsyncDisposable
{
    private readonly CancellationTokenSource _closing = new();
    private List<IDisposable>? _owned;
    private int _subscriptionIds;
    private Caller _caller;

    public Connection(string transport, Caller caller, string? remoteAddress, Outbox outbox, DateTimeOffset connectedAt)
    {
        Transport = transport;
        _caller = caller;
        RemoteAddress = remoteAddress;
        Outbox = outbox;
        ConnectedAt = connectedAt;
    }

    /// <summary>Unique on this node: "c" + 16 hex digits of randomness.</summary>
    public string Id { get; } = "c" + Core.Security.RandomTokens.NewHex(8);

    /// <summary>ws-json, ws-proto, ws-plain, sse, grpc, …</summary>
    public string Transport { get; }

    /// <summary>Who is connected and what they may do; replaced when a WebSocket client sends a fresh token.</summary>
    public Caller Caller
    {
        get => Volatile.Read(ref _caller);
        set => Volatile.Write(ref _caller, value);
    }

    public string? Principal => Caller.Name;
    public string? RemoteAddress { get; }
    public DateTimeOffset ConnectedAt { get; }
    public Outbox Outbox { get; }

    /// <summary>A frame to send when the connection has been idle for a heartbeat interval (null: the transport has its own, e.g. WebSocket pings).</summary>
    public OutboundFrame? Heartbeat { get; set; }

    /// <summary>The transport's keep-alive, driven by the registry's once-a-second sweep (null: none, or the transport's own timer).</summary>
    public IKeepAlive? KeepAlive { get; set; }

    /// <summary>
    /// A client message is arriving in parts (WebSocket fragments, or one frame read as it comes): its bytes so far.
    /// The watchdog holds it to the minimum body rate, as Kestrel does HTTP bodies (it lifts that for upgraded connections).
    /// </summary>
    public void Receiving(long bytesSoFar)
    {
        Interlocked.CompareExchange(ref _inboundSince, System.Diagnostics.Stopwatch.GetTimestamp(), 0);
        Interlocked.Exchange(ref _inboundBytes, bytesSoFar);
    }

    /// <summary>The message that was arriving is complete.</summary>
    public void Received() => Interlocked.Exchange(ref _inboundSince, 0);

    /// <summary>How long the message now arriving has taken so far, and its bytes; null when none is arriving.</summary>
    public (TimeSpan Elapsed, long Bytes)? Inbound => Interlocked.Read(ref _inboundSince) is var since and not 0
        ? (System.Diagnostics.Stopwatch.GetElapsedTime(since), Interlocked.Read(ref _inboundBytes))
        : null;

    private long _inboundSince, _inboundBytes;

    /// <summary>
    /// Completes once every operation the client's frames started has its answer queued (set by the connection's
    /// session; null without one). Before a drain closes the connection it waits for this, so the client hears of each
    /// publish the hub took, and a frame left unanswered at the close was not taken.
    /// </summary>
    public Func<Task>? Answered { get; set; }

    /// <summary>Live subscriptions by id.</summary>
    public SubscriptionSet Subscriptions { get; } = new();

    /// <summary>Cancelled when the connection must end (the client left, it was cut, the hub drains).</summary>
    public CancellationToken Closing => _closing.Token;

    /// <summary>Why the hub ended the connection, when it did.</summary>
    public (ErrorCode Code, string Detail)? CloseReason { get; private set; }

    /// <summary>Disposes <paramref name="resource"/> (e.g. a token registration) with the connection.</summary>
    public void Own(IDisposable resource)
    {
        lock (_closing)
        {
            (_owned ??= []).Add(resource);
        }
    }

    /// <summary>This connection as a subscriber, for presence.</summary>
    public Subscriber AsSubscriber() => new(Id, Principal, Transport, DateTimeOffset.UtcNow);

    /// <summary>A subscription id for subscribe requests that did not choose one.</summary>
    public string NextSubscriptionId() => "s" + Interlocked.Increment(ref _subscriptionIds).ToString(System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>Ends the connection for a reason the transport reports to the client (close code, final event, status).</summary>
    public void Abort(ErrorCode code, string detail)
    {
        lock (_closing)
        {
            CloseReason ??= (code, detail);
        }
        try
        {
            _closing.Cancel();
        }
        catch (ObjectDisposedException)
        {
            // already gone
        }
        Outbox.Interrupt();
    }

    /// <summary>
    /// One of the connection's subscriptions stopped for good (<see cref="Core.Delivery.IMessageSink.Fail"/>): the connection
    /// ends with its error, and the client resubscribes from its positions. Nothing to tell a connection already ending.
    /// </summary>
    public void SubscriptionFailed(SwitchboardException error)
    {
        if (!_closing.IsCancellationRequested)
        {
            Abort(error.Code, error.Message);
        }
    }

    /// <summary>The client went away: nothing to report.</summary>
    public void Close()
    {
        try
        {
            _closing.Cancel();
        }
        catch (ObjectDisposedException)
        {
        }
        Outbox.Interrupt();
    }

    public async ValueTask DisposeAsync()
    {
        Close();
        List<IDisposable>? owned;
        lock (_closing)
        {
            owned = _owned;
            _owned = null;
        }
        foreach (var resource in owned ?? [])
        {
            resource.Dispose();
        }
        foreach (var subscription in Subscriptions.TakeAll())
        {
            await subscription.DisposeAsync();
        }
        Outbox.Complete();
        _closing.Dispose();
    }
}
