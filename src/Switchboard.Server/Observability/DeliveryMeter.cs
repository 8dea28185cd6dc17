using Switchboard.Core.Observability;

namespace Switchboard.Server.Observability;

/// <summary>
/// Records a connection's deliveries as its writer takes them from the outbox: one count per message, and for a message
/// delivered live, the time from its publish to now (publish → handed to the socket's writer). Frames that carry no
/// message (answers, notices, heartbeats) are not counted. One per protocol, shared by that protocol's connections.
/// </summary>
internal sealed class DeliveryMeter(HubMeters meters, KeyValuePair<string, object?> protocol)
{
    public void Record(long stamp, TimeProvider time)
    {
        if (stamp == 0)
        {
            return;
        }
        meters.Delivered.Add(1, protocol);
        if (stamp > 0)
        {
            var ticks = time.GetUtcNow().UtcTicks - stamp;
            meters.DeliveryDuration.Record(ticks <= 0 ? 0 : ticks / (double)TimeSpan.TicksPerSecond, protocol);
        }
    }
}

/// <summary>What adapters record on the hub's meters.</summary>
internal static class AdapterMeters
{
    /// <summary>A publish over <paramref name="protocol"/> was stored (a replayed idempotent publish stored nothing).</summary>
    public static void CountPublished(this HubMeters meters, Core.Engines.AppendResult result, KeyValuePair<string, object?> protocol)
    {
        if (!result.Replayed)
        {
            meters.Published.Add(result.Count, protocol);
        }
    }
}
