using Switchboard.Core.Observability;

namespace Switchboard.Server.Observability;

/// <summary>
/// Records a connection's deliveries as its writer takes them from the outbox, per write burst (the frames a writer takes
/// at once before it flushes): one count for the burst's messages, and for the first message of a sample of the bursts
/// delivered live, the time from its publish to now (publish → handed to the socket's writer). Under load a burst holds
/// many messages and the hot path counts once per burst instead of once per message; the first of a burst waited
/// longest, so the latency sampled is the burst's worst. Frames that carry no message (answers, notices, heartbeats)
/// are not counted. One per protocol, shared by that protocol's connections.
/// </summary>
/// <remarks>A traced message (one whose headers carry a <c>traceparent</c>) also gets its <c>deliver</c> span here, when a tracer listens.</remarks>
internal sealed class DeliveryMeter(HubMeters meters, KeyValuePair<string, object?> protocol, TimeProvider time)
{
    private readonly Tally _delivered = meters.DeliveredOver((string)protocol.Value!);

    /// <summary>The protocol's open connections (long polls while they wait): add 1 on open, -1 on close.</summary>
    public Tally Open { get; } = meters.ConnectionsOver((string)protocol.Value!);

    // Of the bursts' first messages, the latency of one in 16 is recorded, and of any that comes 100 ms or more after the
    // last one recorded (a quiet protocol keeps every sample). A record costs ~75 ns (a clock read and the histogram's
    // aggregation): per message at low rates, where every message is a burst of its own, it was most of what the
    // metrics cost the delivery path (bench/Switchboard.Micro TelemetryBenchmarks). The quiet test uses the timestamp
    // the outbox already read for the take, so a burst that is not sampled reads no clock.
    private const int SampleMask = 15; // one in 16
    private const long QuietDivisor = 10; // 100 ms: a tenth of the timestamp frequency

    // Shared by the protocol's writers without locks: a lost increment or a stale time only shifts which burst is sampled.
    private int _bursts;
    private long _sampledAt = long.MinValue / 2;

    /// <summary>
    /// A frame taken by the writer at <paramref name="timestamp"/> (of the meter's clock, which the outbox shares): 1 when
    /// it carries a message (for the burst's count), else 0.
    /// </summary>
    public int Take(Connections.OutboundFrame frame, long timestamp, bool firstOfBurst)
    {
        var stamp = frame.Stamp;
        if (stamp == 0)
        {
            return 0;
        }
        if (firstOfBurst && stamp > 0 && meters.DeliveryDuration.Enabled && Sampled(timestamp))
        {
            Record(time.GetUtcNow().UtcTicks - stamp);
        }
        if (frame.Message is { } message && message.Headers.Count > 0)
        {
            HubTracing.Delivered(message.Topic, message.Offset, message.Timestamp, message.Headers, (string)protocol.Value!, live: stamp > 0);
        }
        return 1;
    }

    private void Record(long ticks) => meters.DeliveryDuration.Record(ticks <= 0 ? 0 : ticks / (double)TimeSpan.TicksPerSecond, protocol);

    private bool Sampled(long timestamp)
    {
        if ((unchecked(_bursts++) & SampleMask) != 0 && timestamp - Volatile.Read(ref _sampledAt) < time.TimestampFrequency / QuietDivisor)
        {
            return false;
        }
        Volatile.Write(ref _sampledAt, timestamp);
        return true;
    }

    /// <summary>A burst's messages, written.</summary>
    public void Count(int messages) => _delivered.Add(messages);

    /// <summary>
    /// A page of messages answering a poll or long poll, taken as one burst: counted, and for a sample of the pages that
    /// reached the topic's end (a client at the live edge; a page of old history would say nothing about the hub) the age
    /// of its first message, the one that waited longest.
    /// </summary>
    public void Page(IReadOnlyList<Core.Message> messages, bool live)
    {
        Count(messages.Count);
        if (live && meters.DeliveryDuration.Enabled && Sampled(time.GetTimestamp()))
        {
            Record(time.GetUtcNow().UtcTicks - messages[0].Timestamp.UtcTicks);
        }
        if (HubTracing.Source.HasListeners())
        {
            foreach (var message in messages)
            {
                HubTracing.Delivered(message.Topic, message.Offset, message.Timestamp, message.Headers, (string)protocol.Value!, live);
            }
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
