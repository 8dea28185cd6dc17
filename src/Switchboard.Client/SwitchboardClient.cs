using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Switchboard.Client.Transports;

namespace Switchboard.Client;

/// <summary>
/// A connection to a Switchboard hub over the first transport that works (WebSocket, gRPC, SSE, long polling; see
/// <see cref="SwitchboardClientOptions.Transports"/>). It reconnects with backoff and jitter, resumes every
/// subscription from its positions (no gap, no duplicate), and sends publishes in flight again with their idempotency
/// keys. Thread-safe; one per application is enough.
/// </summary>
public sealed partial class SwitchboardClient : IAsyncDisposable, IDisposable
{
    private readonly Lock _lock = new();
    private readonly HashSet<Subscription> _subscriptions = [];
    private readonly CancellationTokenSource _closing = new();
    private readonly ILogger _logger;
    private Transport? _transport;
    private Task? _starting;
    /// <summary>Completes on the first connection (faults if the client closes before one): what a start by first use waits on.</summary>
    private readonly TaskCompletionSource _firstConnection = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _reconnecting;
    /// <summary>Why the last connection was lost (a loss reported while a reconnect runs is picked up by it).</summary>
    private SwitchboardException? _lastLoss;
    /// <summary>The backoff step the next reconnect starts at: past 0 while connections drop soon after they open.</summary>
    private int _backoffStep;

    /// <summary>Creates a client; it connects on <see cref="StartAsync"/> or on first use. Prefer <see cref="ConnectAsync(SwitchboardClientOptions, CancellationToken)"/>.</summary>
    public SwitchboardClient(SwitchboardClientOptions options, ILogger<SwitchboardClient>? logger = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        Options = options.Validated();
        _logger = (ILogger?)logger ?? NullLogger.Instance;
        _firstConnection.Task.ContinueWith(static t => _ = t.Exception, CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted, TaskScheduler.Default);
        Http = new HubHttp(Options);
    }

    /// <summary>Connects to the hub at <paramref name="url"/> and returns once a transport is open.</summary>
    /// <exception cref="SwitchboardException"><c>unavailable</c> (no transport reached the hub; the message has one line per transport) or <c>unauthorized</c>.</exception>
    public static Task<SwitchboardClient> ConnectAsync(Uri url, SwitchboardClientOptions? options = null, CancellationToken cancellationToken = default)
    {
        options ??= new SwitchboardClientOptions();
        options.Url = url;
        return ConnectAsync(options, cancellationToken);
    }

    /// <summary>Connects with <paramref name="options"/> and returns once a transport is open.</summary>
    /// <exception cref="SwitchboardException"><c>unavailable</c> (no transport reached the hub) or <c>unauthorized</c>.</exception>
    public static async Task<SwitchboardClient> ConnectAsync(SwitchboardClientOptions options, CancellationToken cancellationToken = default)
    {
        var client = new SwitchboardClient(options);
        try
        {
            await client.StartAsync(cancellationToken);
        }
        catch
        {
            await client.DisposeAsync();
            throw;
        }
        return client;
    }

    /// <summary>The options it was made with.</summary>
    public SwitchboardClientOptions Options { get; }

    /// <summary>Where the connection stands.</summary>
    public ConnectionState State { get; private set; } = ConnectionState.Connecting;

    /// <summary>The transport in use (null while not connected).</summary>
    public ClientTransport? Transport { get; private set; }

    /// <summary>Raised on every change of <see cref="State"/> (and each reconnect attempt). Handlers run on the client's threads: keep them short.</summary>
    public event EventHandler<ConnectionStateChangedEventArgs>? StateChanged;

    /// <summary>A transport was passed over while connecting, and why.</summary>
    public event EventHandler<TransportFallbackEventArgs>? Fallback;

    /// <summary>A subscription's notice (<c>missed</c>, <c>epoch-changed</c>, <c>topic-deleted</c>).</summary>
    public event EventHandler<SubscriptionNotice>? Notice;

    /// <summary>Errors nobody else was told of: a subscription handler that threw, a responder's failure, a refused credential refresh.</summary>
    public event EventHandler<SwitchboardErrorEventArgs>? Error;

    internal HubHttp Http { get; }

    /// <summary>Cancelled when the client closes: every loop and wait of the client listens to it.</summary>
    internal CancellationToken ClosingToken => _closing.Token;

    /// <summary>Connects (the first time) and returns once a transport is open. Safe to call again: later calls wait for the same start.</summary>
    /// <exception cref="SwitchboardException"><c>unavailable</c>, <c>unauthorized</c>, or <c>closed</c>.</exception>
    public Task StartAsync(CancellationToken cancellationToken = default)
    {
        lock (_lock)
        {
            if (State == ConnectionState.Closed && _starting is not { IsFaulted: true })
            {
                // Disposed (or given up): not "connected" because a start once succeeded. A failed start still says why.
                return Task.FromException(SwitchboardException.Closed());
            }
            _starting ??= StartCoreAsync();
            return _starting.WaitAsync(cancellationToken);
        }
    }

    private async Task StartCoreAsync()
    {
        Transport opened;
        try
        {
            opened = await OpenAnyAsync();
        }
        catch (SwitchboardException error)
        {
            Shutdown(error);
            throw;
        }
        if (IsCurrent(opened))
        {
            Connected(0);
        }
        // else it dropped as it opened: the reconnect its loss started says how it goes.
    }

    private bool IsCurrent(Transport transport)
    {
        lock (_lock)
        {
            return ReferenceEquals(_transport, transport);
        }
    }

    /// <summary>Operations made before <see cref="StartAsync"/> start the client (the DI registration relies on it); a failed first connection is retried like a reconnect.</summary>
    private void EnsureStarted()
    {
        if (State == ConnectionState.Closed)
        {
            throw SwitchboardException.Closed();
        }
        lock (_lock)
        {
            if (_starting is not null)
            {
                return;
            }
            // A later StartAsync waits for this first connection, as its doc says, not for nothing.
            _starting = _firstConnection.Task;
        }
        _ = ReconnectAsync(null, firstAttemptNow: true);
    }

    private void SetState(ConnectionState state, SwitchboardException? error, int attempt = 0)
    {
        State = state;
        Transport = state == ConnectionState.Connected ? _transport?.Kind : null;
        if (state == ConnectionState.Connected)
        {
            _firstConnection.TrySetResult();
        }
        else if (state == ConnectionState.Closed)
        {
            _firstConnection.TrySetException(error ?? SwitchboardException.Closed());
        }
        Log.StateChanged(_logger, state, Transport, error?.Message);
        var args = new ConnectionStateChangedEventArgs(state, Transport, error, attempt);
        RunUserCode("StateChanged handler", () => StateChanged?.Invoke(this, args));
    }

    /// <summary>Tries each transport in order; the first that opens is used (and returned).</summary>
    private async Task<Transport> OpenAnyAsync()
    {
        var errors = new List<string>();
        foreach (var kind in Options.Transports)
        {
            if (_closing.IsCancellationRequested)
            {
                throw SwitchboardException.Closed();
            }
            Transport transport = kind switch
            {
                ClientTransport.WebSocket => new WebSocketTransport(this),
                ClientTransport.Grpc => new GrpcTransport(this),
                ClientTransport.Sse => new SseTransport(this),
                _ => new LongPollingTransport(this),
            };
            Subscription[] subscriptions;
            try
            {
                await transport.OpenAsync(_closing.Token);
                lock (_lock)
                {
                    if (State == ConnectionState.Closed)
                    {
                        // Disposed while it opened (a credential provider that does not heed cancellation): let it go
                        // rather than make a closed client current again with a connection nobody will close.
                        throw new OperationCanceledException();
                    }
                    _transport = transport;
                    transport.OpenedAt = System.Diagnostics.Stopwatch.GetTimestamp();
                    subscriptions = [.. _subscriptions];
                }
                transport.Lost = OnLost;
                if (transport.IsClosed)
                {
                    // Closed while it opened (a 4429 right after the upgrade), before it had anyone to tell: not open.
                    lock (_lock)
                    {
                        if (ReferenceEquals(_transport, transport))
                        {
                            _transport = null;
                        }
                    }
                    throw new SwitchboardException(ClientErrorCodes.Unavailable, $"The connection closed as soon as it opened ({transport.CloseCause?.Message ?? "no reason given"}).", transport.CloseCause);
                }
            }
            catch (Exception ex) when (ex is SwitchboardException or OperationCanceledException)
            {
                transport.Close();
                if (ex is OperationCanceledException)
                {
                    throw SwitchboardException.Closed();
                }
                var error = (SwitchboardException)ex;
                if (error.IsFatal || error.Code == ClientErrorCodes.Unauthorized)
                {
                    throw error;
                }
                errors.Add($"{kind}: {error.Message}");
                Log.TransportRefused(_logger, kind, error.Message);
                RunUserCode("Fallback handler", () => Fallback?.Invoke(this, new TransportFallbackEventArgs(kind, error)));
                continue;
            }
            Transport = kind;
            foreach (var subscription in subscriptions)
            {
                _ = ActivateAsync(subscription, transport);
            }
            DispatchOutbox();
            return transport;
        }
        throw new SwitchboardException(ClientErrorCodes.Unavailable, $"No transport reached the hub at {Http.BaseUrl} ({string.Join("; ", errors)}).");
    }

    private void OnLost(Transport transport, SwitchboardException error)
    {
        lock (_lock)
        {
            if (_transport != transport)
            {
                return;
            }
            _transport = null;
        }
        if (State == ConnectionState.Closed)
        {
            return;
        }
        Log.ConnectionLost(_logger, transport.Kind, error.Message);
        _lastLoss = error;
        if (System.Diagnostics.Stopwatch.GetElapsedTime(transport.OpenedAt) >= Options.MaxReconnectDelay)
        {
            // It lasted: the next reconnect starts from the first step. One that dropped soon after it opened (a hub
            // that takes the socket and closes it at once with 4429 or 1013) counts as a failed attempt, so the backoff
            // goes on growing instead of starting over at every such close. Measured from this transport's own open,
            // not from when a reconnect loop last reported Connected: a loss can come before that report.
            Volatile.Write(ref _backoffStep, 0);
        }
        if (error.IsFatal)
        {
            Fail(error);
            return;
        }
        _ = ReconnectAsync(error, firstAttemptNow: false);
    }

    private async Task ReconnectAsync(SwitchboardException? error, bool firstAttemptNow)
    {
        if (_closing.IsCancellationRequested || Interlocked.Exchange(ref _reconnecting, 1) != 0)
        {
            return;
        }
        try
        {
            SetState(firstAttemptNow ? ConnectionState.Connecting : ConnectionState.Reconnecting, error);
            var from = Volatile.Read(ref _backoffStep);
            for (var attempt = 0; attempt < Options.MaxReconnectAttempts || (firstAttemptNow && attempt == 0); attempt++)
            {
                if (!(firstAttemptNow && attempt == 0))
                {
                    await Task.Delay(Backoff.Delay(from + attempt, Options.ReconnectDelay, Options.MaxReconnectDelay), _closing.Token);
                    SetState(ConnectionState.Reconnecting, error, attempt + 1);
                }
                try
                {
                    var opened = await OpenAnyAsync();
                    if (!IsCurrent(opened))
                    {
                        // Lost as it opened (a 4429, a hub going down again): that loss's own reconnect was turned
                        // away by the guard above, so this loop goes on rather than report Connected with nothing.
                        error = _lastLoss ?? SwitchboardException.Lost("The connection dropped as it opened.");
                        continue;
                    }
                    Connected(Math.Min(from + attempt + 1, 30));
                    return;
                }
                catch (SwitchboardException failure)
                {
                    if (failure.IsFatal || failure.Code is ClientErrorCodes.Unauthorized or ClientErrorCodes.Closed)
                    {
                        Fail(failure);
                        return;
                    }
                    error = failure;
                }
            }
            Fail(new SwitchboardException(ClientErrorCodes.Unavailable, $"Gave up reconnecting after {Options.MaxReconnectAttempts} attempts: {error?.Message}", error));
        }
        catch (OperationCanceledException)
        {
            // closed while waiting
        }
        finally
        {
            Volatile.Write(ref _reconnecting, 0);
        }
        // A loss reported after the check above and before the guard was released was turned away: pick it up.
        if (State != ConnectionState.Closed && !_closing.IsCancellationRequested && Volatile.Read(ref _transport) is null)
        {
            _ = ReconnectAsync(_lastLoss, firstAttemptNow: false);
        }
    }

    /// <summary>A transport opened and is current: <paramref name="backoffStep"/> is where a reconnect starts if it drops soon.</summary>
    private void Connected(int backoffStep)
    {
        Volatile.Write(ref _backoffStep, backoffStep);
        SetState(ConnectionState.Connected, null);
    }

    private void Fail(SwitchboardException error)
    {
        if (State == ConnectionState.Closed)
        {
            return;
        }
        ReportError(error);
        Shutdown(error);
    }

    /// <summary>Closes for good: transports, subscriptions, publishes not yet confirmed, responders.</summary>
    private void Shutdown(SwitchboardException? error)
    {
        Transport? transport;
        Subscription[] subscriptions;
        lock (_lock)
        {
            if (State == ConnectionState.Closed)
            {
                return;
            }
            transport = _transport;
            _transport = null;
            subscriptions = [.. _subscriptions];
            _subscriptions.Clear();
            State = ConnectionState.Closed;
        }
        _closing.Cancel();
        transport?.Close();
        SetState(ConnectionState.Closed, error);
        FailOutbox(error ?? SwitchboardException.Closed());
        foreach (var subscription in subscriptions)
        {
            if (error is { IsFatal: true } or { Code: ClientErrorCodes.Unauthorized })
            {
                subscription.Failed(error);
            }
            else
            {
                subscription.Ended();
            }
        }
    }

    internal void ReportError(SwitchboardException error)
    {
        Log.Error(_logger, error.Code, error.Message);
        try
        {
            Error?.Invoke(this, new SwitchboardErrorEventArgs(error));
        }
        catch (Exception ex)
        {
            Log.Error(_logger, ClientErrorCodes.Internal, $"The application's Error handler threw (ignored): {ex.Message}");
        }
    }

    internal void ReportNotice(Subscription subscription, SubscriptionNotice notice)
    {
        Log.Notice(_logger, notice.Kind, notice.Topic, subscription.Pattern);
        RunUserCode("OnNotice callback", () => subscription.Options.OnNotice?.Invoke(notice));
        RunUserCode("Notice handler", () => Notice?.Invoke(this, notice));
    }

    /// <summary>
    /// Runs the application's event handler or callback on the client's thread. One that throws is reported on
    /// <see cref="Error"/> and otherwise ignored: it must not end a reconnect, a receive loop or a subscription's pump.
    /// </summary>
    private void RunUserCode(string what, Action action)
    {
        try
        {
            action();
        }
        catch (Exception ex)
        {
            ReportError(new SwitchboardException(ClientErrorCodes.Internal, $"The application's {what} threw: {ex.Message}", ex));
        }
    }

    /// <summary>Closes the connection, ends every subscription and responder, and fails publishes not yet confirmed with <c>closed</c>.</summary>
    public async ValueTask DisposeAsync()
    {
        Shutdown(null);
        await StopRespondersAsync();
        Http.Dispose();
    }

    /// <summary>As <see cref="DisposeAsync"/>, without waiting for responders to finish the requests they are handling (they are cancelled).</summary>
    public void Dispose()
    {
        Shutdown(null);
        Http.Dispose();
    }
}
