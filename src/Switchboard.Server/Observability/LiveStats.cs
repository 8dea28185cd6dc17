using System.Diagnostics.Metrics;
using Microsoft.Extensions.Hosting;
using Switchboard.Core.Observability;

namespace Switchboard.Server.Observability;

/// <summary>
/// Turns the hub's meters into per-second figures for the console (and <c>GET /v1/sys/stats</c>): a
/// <see cref="MeterListener"/> on this hub's <c>Switchboard</c> meter adds each measurement into fixed arrays (one slot per
/// protocol, Interlocked, no allocation), and once a second a snapshot is taken, differenced against the last one and
/// handed to whoever watches. Observable instruments (queue depths, subscriptions) are only observed while someone watches,
/// so an unwatched hub reads nothing from its store for them.
/// </summary>
internal sealed partial class LiveStats : BackgroundService
{
    private static readonly TimeSpan Interval = TimeSpan.FromSeconds(1);

    // A plain GET keeps the observable figures fresh this long after it (so the next GET sees queues), streams while open.
    private static readonly TimeSpan WantedFor = TimeSpan.FromSeconds(10);

    private readonly HubMeters _meters;
    private readonly HubGauges _gauges;
    private readonly TimeProvider _time;
    private readonly string _node;
    private readonly MeterListener _listener = new();
    private readonly Totals _totals = new();
    private readonly LatencyWindow[] _latency = [.. Protocols.All.Select(_ => new LatencyWindow())];
    private readonly Lock _gate = new();
    private TaskCompletionSource<StatsSnapshot> _next = NewNext();
    private StatsSnapshot _current;
    private long[] _previous;
    private long _previousAt;
    private int _watchers;
    private long _wantedUntil;
    private IReadOnlyList<QueueDepth> _queues = [];
    private long _subscriptions = -1;

    public LiveStats(HubMeters meters, HubGauges gauges, TimeProvider time, Cluster.NodeIdentity node, ServerOptions options)
    {
        Enabled = options.Telemetry.Metrics;
        _gauges = gauges; // created before the listener starts, so its instruments are published to it
        _meters = meters;
        _time = time;
        _node = node.Id.ToString("N");
        _previous = Read();
        _previousAt = time.GetTimestamp();
        _current = StatsSnapshot.Empty(time.GetUtcNow(), _node);
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (ReferenceEquals(instrument.Meter, _meters.Meter) && SlotOf(instrument) is { } slot)
            {
                listener.EnableMeasurementEvents(instrument, slot);
            }
        };
        _listener.SetMeasurementEventCallback<long>(OnLong);
        _listener.SetMeasurementEventCallback<int>((instrument, value, tags, state) => OnLong(instrument, value, tags, state));
        _listener.SetMeasurementEventCallback<double>(OnDouble);
        if (Enabled)
        {
            _listener.Start();
        }
    }

    /// <summary>False when metrics are turned off (<c>Switchboard:Telemetry:Metrics</c>): nothing is listened to.</summary>
    public bool Enabled { get; }

    /// <summary>The latest figures (a second old at most while the hub runs).</summary>
    public StatsSnapshot Current
    {
        get
        {
            if (Interlocked.Exchange(ref _wantedUntil, _time.GetTimestamp() + (long)(WantedFor.TotalSeconds * _time.TimestampFrequency)) < _time.GetTimestamp())
            {
                _gauges.Refresh(); // was not observed lately: read the queues now for the next second
            }
            return Volatile.Read(ref _current);
        }
    }

    /// <summary>Completes with the next second's figures.</summary>
    public Task<StatsSnapshot> NextAsync()
    {
        lock (_gate)
        {
            return _next.Task;
        }
    }

    /// <summary>A watcher (a stats stream) starts; dispose to stop. While any watch, observable figures are read every second.</summary>
    public IDisposable Watch()
    {
        Interlocked.Increment(ref _watchers);
        _gauges.Refresh(); // read the queues now, so the watcher's next second has them
        return new Watcher(this);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!Enabled)
        {
            return;
        }
        using var timer = new PeriodicTimer(Interval, _time);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                // A tick that came late (a busy machine) is followed at once by the one it missed: PeriodicTimer keeps its
                // schedule. Taken, that second snapshot would be milliseconds after the first, its rates over milliseconds
                // (one publish in 5 ms, 200/s). Skipped, the next tick covers the time.
                if (_time.GetTimestamp() - Volatile.Read(ref _previousAt) < _time.TimestampFrequency * Interval.TotalSeconds / 2)
                {
                    continue;
                }
                Tick();
            }
        }
        catch (OperationCanceledException)
        {
            // stopping
        }
    }

    /// <summary>Takes one second's figures (the timer calls it; tests may too).</summary>
    internal void Tick()
    {
        var observing = Volatile.Read(ref _watchers) > 0 || _time.GetTimestamp() < Interlocked.Read(ref _wantedUntil);
        if (observing)
        {
            _observedQueues = [];
            _listener.RecordObservableInstruments(); // queue depths and subscriptions, into _observedQueues / _subscriptions
            _queues = [.. _observedQueues.Values.OrderBy(q => q.Name, StringComparer.Ordinal)];
        }
        var now = _time.GetTimestamp();
        var totals = Read();
        var seconds = Math.Max(0.001, (now - _previousAt) / (double)_time.TimestampFrequency);
        var latency = new long[Protocols.All.Count][];
        for (var i = 0; i < latency.Length; i++)
        {
            latency[i] = LatencyWindow.NewCounts();
            _latency[i].TakeInto(latency[i]);
        }
        var snapshot = StatsSnapshot.From(_time.GetUtcNow(), _node, totals, _previous, seconds, latency, observing ? _queues : _current.Queues, observing ? _subscriptions : _current.Subscriptions);
        _previous = totals;
        _previousAt = now;
        Volatile.Write(ref _current, snapshot);
        TaskCompletionSource<StatsSnapshot> done;
        lock (_gate)
        {
            done = _next;
            _next = NewNext();
        }
        done.TrySetResult(snapshot);
    }

    private long[] Read()
    {
        var totals = _totals.Read();
        ReadTallies(totals);
        return totals;
    }

    public override void Dispose()
    {
        _listener.Dispose();
        base.Dispose();
    }

    private static TaskCompletionSource<StatsSnapshot> NewNext() => new(TaskCreationOptions.RunContinuationsAsynchronously);

    private sealed class Watcher(LiveStats stats) : IDisposable
    {
        private int _disposed;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _disposed, 1) == 0)
            {
                Interlocked.Decrement(ref stats._watchers);
            }
        }
    }
}
