using System.Diagnostics.Metrics;
using Switchboard.Core;
using Switchboard.Core.Observability;

namespace Switchboard.Server.Observability;

/// <summary>
/// The observable instruments, which need a hub to read: <c>switchboard.queue.messages</c> (tags <c>queue</c> and
/// <c>state</c>: ready, leased, delayed, dead) and <c>switchboard.subscriptions</c>. Queue depths come from the store, so
/// they are read at most once a second and only when something observes them (the console's stats, an exporter): an
/// observation answers from the last read and starts the next one in the background — a callback must not block on I/O.
/// At most <see cref="MaxQueues"/> queues (by name) are reported, so the series stay bounded.
/// </summary>
internal sealed class HubGauges
{
    public const string QueueMessagesName = "switchboard.queue.messages";
    public const string SubscriptionsName = "switchboard.subscriptions";

    // Queues are made by operators and services, not per message; a hundred series is enough for a dashboard, and bounds a
    // hub that makes a queue per client from exporting a series per client.
    public const int MaxQueues = 100;

    private static readonly TimeSpan RefreshEvery = TimeSpan.FromSeconds(1);

    private readonly Hub _hub;
    private readonly TimeProvider _time;
    private IReadOnlyList<QueueInfo> _queues = [];
    private long _readAt;
    private bool _read;
    private int _reading;

    public HubGauges(Hub hub, HubMeters meters, TimeProvider time)
    {
        _hub = hub;
        _time = time;
        meters.Meter.CreateObservableGauge(QueueMessagesName, ObserveQueues, "{message}", "Messages in each queue by state (ready, leased, delayed, dead); at most 100 queues, by name.");
        meters.Meter.CreateObservableUpDownCounter(SubscriptionsName, () => (long)hub.SubscriptionCount, "{subscription}", "Live subscriptions on this node, every transport.");
    }

    private IEnumerable<Measurement<long>> ObserveQueues()
    {
        Refresh();
        foreach (var queue in _queues)
        {
            var name = new KeyValuePair<string, object?>("queue", queue.Name);
            yield return new Measurement<long>(queue.Stats.Ready, name, new("state", "ready"));
            yield return new Measurement<long>(queue.Stats.Leased, name, new("state", "leased"));
            yield return new Measurement<long>(queue.Stats.Delayed, name, new("state", "delayed"));
            yield return new Measurement<long>(queue.Stats.Dead, name, new("state", "dead"));
        }
    }

    /// <summary>Starts reading the queues' depths in the background unless a read is running or the last one is under a second old.</summary>
    public void Refresh()
    {
        var now = _time.GetTimestamp();
        if (_hub.State != HubState.Ready || (Volatile.Read(ref _read) && now - Interlocked.Read(ref _readAt) < RefreshEvery.TotalSeconds * _time.TimestampFrequency)
            || Interlocked.Exchange(ref _reading, 1) == 1)
        {
            return;
        }
        _ = Task.Run(async () =>
        {
            try
            {
                var page = await _hub.ListQueuesAsync(null, null, MaxQueues);
                Volatile.Write(ref _queues, page.Queues);
            }
            catch (SwitchboardException)
            {
                // the engine is away: keep the last figures until it answers again
            }
            finally
            {
                Interlocked.Exchange(ref _readAt, _time.GetTimestamp());
                Volatile.Write(ref _read, true);
                Interlocked.Exchange(ref _reading, 0);
            }
        });
    }
}
