using Switchboard.Core.Observability;

namespace Switchboard.Server.Observability;

/// <summary>
/// Records a connection's deliveries as its writer takes them from the outbox: one count per message, and for a message
/// delivered live, the time from its publish to now (publish → handed to the socket's writer). Frames that carry no
/// message (answers, notices, heartbeats) are not counted. One per protocol, shared by that protocol's connections.
/// </summary>
/// <remarks>A traced message (one whose headers carry a <c>traceparent</c>) also gets its <c>deliver</c> span here, when a tracer listens.</remarks>
internal sealed class DeliveryMeter(HubMeters meters, KeyValuePair<string, object?> protocol)
{
    public void Record(Connections.OutboundFrame frame, TimeProvider time)
    {
        var stamp = frame.Stamp;
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
        if (frame.Message is { } message)
        {
            HubTracing.Delivered(message.Topic, message.Offset, message.Timestamp, message.Headers, (string)protocol.Value!, live: stamp > 0);
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
