using Microsoft.Extensions.Logging;
using Switchboard.Core.Delivery;
using Switchboard.Core.Engines;

namespace Switchboard.Core;

/// <summary>
/// The message core: topics, publishing, history, long polling and subscriptions, over one store and one
/// backplane. Protocol adapters call the hub; the hub never knows which protocol called.
/// </summary>
public sealed partial class Hub : IStoreListener, IBackplaneReceiver, IAsyncDisposable
{
    private readonly IStore _store;
    private readonly IBackplane _backplane;
    private readonly ILogger _logger;
    private readonly ILoggerFactory _loggerFactory;
    private readonly TimeProvider _time;
    private readonly Engines.DeadLetterDrops _deadLetterDrops;
    private readonly Dispatcher _dispatcher;
    private readonly Interests _interests;
    private readonly CancellationTokenSource _stopping = new();
    private readonly CancellationTokenSource _draining = new();
    private Task _sweeper = Task.CompletedTask;
    private volatile HubState _state = HubState.Starting;
    private readonly Lock _stateGate = new();
    private int _disposed;
    private readonly bool _ownsMeters;
    private readonly long _memoryHighWater;
    private long _memoryUsed;
    private long _memoryReadAt = long.MinValue / 2;

    /// <summary>Creates a hub over an engine. Call <see cref="StartAsync"/> before use.</summary>
    /// <param name="store">The engine's store.</param>
    /// <param name="backplane">The engine's backplane.</param>
    /// <param name="options">Limits and defaults.</param>
    /// <param name="loggerFactory">Where the hub logs.</param>
    /// <param name="time">The clock (tests pass a fake one).</param>
    /// <param name="meters">The instruments to record on; null gives the hub a meter of its own.</param>
    public Hub(IStore store, IBackplane backplane, HubOptions options, ILoggerFactory loggerFactory, TimeProvider? time = null, Observability.HubMeters? meters = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(loggerFactory);
        options.Validate();
        _store = store;
        _backplane = backplane;
        _interests = new Interests(backplane);
        _dispatcher = new Dispatcher(_interests);
        Options = options;
        _loggerFactory = loggerFactory;
        _logger = loggerFactory.CreateLogger<Hub>();
        _time = time ?? TimeProvider.System;
        _deadLetterDrops = new Engines.DeadLetterDrops(_logger, _time);
        _ownsMeters = meters is null;
        Meters = meters ?? new Observability.HubMeters();
        _memoryHighWater = options.MaxMemoryBytes ?? GC.GetGCMemoryInfo().TotalAvailableMemoryBytes / 4 * 3;
    }

    /// <summary>The instruments the hub records on (adapters record theirs there too, tagged with their protocol).</summary>
    public Observability.HubMeters Meters { get; }

    /// <summary>The limits and defaults in force.</summary>
    public HubOptions Options { get; }

    /// <summary>Where the hub is in its life.</summary>
    public HubState State => _state;

    /// <summary>Why the engine cannot serve right now (for example, Redis is unreachable), or null when it can.</summary>
    public string? EngineUnavailable => _store.Unavailable;

    /// <summary>
    /// Topics, queues and requests that have a wait in progress on this node now (long polls, waiting receives, waiting
    /// requesters). It falls back to 0 when nobody waits: nothing is kept per request once its wait ended.
    /// </summary>
    public int WaitingOn => _dispatcher.Waiters.Keys + _queueWaiters.Keys + _replyWaiters.Keys;

    /// <summary>Local subscriptions right now (all transports).</summary>
    public int SubscriptionCount => _dispatcher.SubscriptionCount;

    /// <summary>Opens and checks the engine, joins the backplane, and starts serving.</summary>
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        _store.SetListener(this);
        await _store.OpenAsync(cancellationToken);
        await ApplyResumeRetentionAsync(cancellationToken);
        await _backplane.StartAsync(this, cancellationToken);
        _sweeper = Task.Run(() => SweepLoopAsync(_stopping.Token), CancellationToken.None);
        lock (_stateGate)
        {
            if (_state != HubState.Starting)
            {
                return; // shutdown began while the engine was opening
            }
            _state = HubState.Ready;
        }
        HubLog.Ready(_logger);
    }

    /// <summary>
    /// Begins shutdown: readiness turns off, long polls answer now with what they have, new waits do not wait.
    /// Requests in flight finish.
    /// </summary>
    public void BeginDrain()
    {
        lock (_stateGate)
        {
            if (_state is not (HubState.Ready or HubState.Starting))
            {
                return;
            }
            _state = HubState.Draining;
        }
        _dispatcher.Waiters.WakeAll(draining: true);
        _queueWaiters.WakeAll(draining: true);
        _replyWaiters.WakeAll(draining: true);
        _draining.Cancel();
        HubLog.Draining(_logger);
    }

    /// <summary>A token cancelled when the hub begins to drain: streaming transports end their streams then.</summary>
    public CancellationToken Stopping => _draining.Token;

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
        {
            return;
        }
        BeginDrain();
        _state = HubState.Stopped;
        await _stopping.CancelAsync();
        try
        {
            await _sweeper;
        }
        catch (OperationCanceledException)
        {
            // stopping
        }
        await _backplane.DisposeAsync();
        await _store.DisposeAsync();
        if (_ownsMeters)
        {
            Meters.Dispose();
        }
        _stopping.Dispose();
        _draining.Dispose();
    }

    void IStoreListener.OnAppended(AppendResult result)
    {
        if (result.Messages.Count > 0)
        {
            _backplane.Publish(new MessagesAppended(result.Topic, result.Epoch, result.Messages));
        }
    }

    void IStoreListener.OnTopicDeleted(string topic, string epoch) => _backplane.Publish(new TopicDeleted(topic, epoch));

    void IBackplaneReceiver.OnEvent(BackplaneEvent backplaneEvent)
    {
        switch (backplaneEvent)
        {
            case TopicEvent topicEvent:
                _dispatcher.OnEvent(topicEvent);
                break;
            case QueueReady ready:
                _queueWaiters.Notify(ready.Queue, 0, deleted: false);
                break;
            case ReplyPosted replied:
                _replyWaiters.Notify(replied.ReplyId, 0, deleted: false);
                break;
            case BackplaneResync:
                _dispatcher.Resync();
                _queueWaiters.WakeAll(draining: false);
                _replyWaiters.WakeAll(draining: false);
                HubLog.Resynced(_logger);
                break;
        }
    }

    private void EnsureServing()
    {
        switch (_state)
        {
            case HubState.Starting:
                throw new SwitchboardException(ErrorCode.NotReady, "The hub is still opening its storage; retry in a moment.") { RetryAfterSeconds = 1 };
            case HubState.Stopped:
                throw new SwitchboardException(ErrorCode.ShuttingDown, "The hub has stopped; retry against another node or after it restarts.") { RetryAfterSeconds = 1 };
        }
    }

    /// <summary>
    /// Sheds new messages while managed memory is above the high-water mark (<see cref="HubOptions.MaxMemoryBytes"/>):
    /// a saturated hub refuses work with 503 + Retry-After instead of falling over, and keeps serving consumers,
    /// whose acks and reads are what bring it back down.
    /// </summary>
    private void EnsureRoom()
    {
        // Summing the heaps takes the GC's lock: read it at most every 50 ms, not on every publish of a busy hub.
        var now = Environment.TickCount64;
        var used = Volatile.Read(ref _memoryUsed);
        if (now - Volatile.Read(ref _memoryReadAt) >= 50)
        {
            used = GC.GetTotalMemory(forceFullCollection: false);
            Volatile.Write(ref _memoryUsed, used);
            Volatile.Write(ref _memoryReadAt, now);
        }
        if (used > _memoryHighWater)
        {
            throw new SwitchboardException(ErrorCode.Overloaded,
                $"The hub is saturated ({used / (1024 * 1024)} MiB of managed memory in use, above its high-water mark of {_memoryHighWater / (1024 * 1024)} MiB, Switchboard:Overload:MaxMemoryBytes); retry after a moment.")
            {
                RetryAfterSeconds = 1,
            };
        }
    }

    private async Task SweepLoopAsync(CancellationToken token)
    {
        using var timer = new PeriodicTimer(Options.RetentionSweepInterval, _time);
        while (await timer.WaitForNextTickAsync(token))
        {
            try
            {
                var dropped = await _store.SweepAsync(_time.GetUtcNow(), token);
                if (dropped > 0)
                {
                    HubLog.Swept(_logger, dropped);
                }
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                HubLog.SweepFailed(_logger, ex);
            }
        }
    }
}
