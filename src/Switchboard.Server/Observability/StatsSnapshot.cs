using System.Buffers;
using System.Text.Json;
using Switchboard.Core.Observability;
using Switchboard.Server.Rest.Json;

namespace Switchboard.Server.Observability;

/// <summary>One queue's depth by state, as last observed.</summary>
internal sealed record QueueDepth(string Name, long Ready, long Leased, long Delayed, long Dead);

/// <summary>
/// One second of the hub's figures, encoded once as JSON (<see cref="Json"/>) and sent as is to every watcher: rates per
/// second over the last interval, totals since start, connections now, latency percentiles of the last second.
/// </summary>
internal sealed class StatsSnapshot
{
    private StatsSnapshot(byte[] json, IReadOnlyList<QueueDepth> queues, long subscriptions)
    {
        Json = json;
        Queues = queues;
        Subscriptions = subscriptions;
    }

    /// <summary>The snapshot as UTF-8 JSON (see docs/console.md for its fields).</summary>
    public byte[] Json { get; }

    public IReadOnlyList<QueueDepth> Queues { get; }

    public long Subscriptions { get; }

    public static StatsSnapshot Empty(DateTimeOffset at, string node)
        => From(at, node, new long[LiveStats.Totals.Count], new long[LiveStats.Totals.Count], 1, [.. Protocols.All.Select(_ => LatencyWindow.NewCounts())], [], -1);

    public static StatsSnapshot From(DateTimeOffset at, string node, long[] totals, long[] previous, double seconds, long[][] latency, IReadOnlyList<QueueDepth> queues, long subscriptions)
    {
        double Rate(int index) => Math.Round((totals[index] - previous[index]) / seconds, 2);
        long Sum(int from) => Enumerable.Range(from, LiveStats.Totals.ProtocolSlots).Sum(i => totals[i]);
        double SumRate(int from) => Math.Round(Enumerable.Range(from, LiveStats.Totals.ProtocolSlots).Sum(i => (totals[i] - previous[i]) / seconds), 2);

        var buffer = new ArrayBufferWriter<byte>(2048);
        using (var w = new Utf8JsonWriter(buffer, JsonWriting.Options))
        {
            w.WriteStartObject();
            w.WriteString("time", at.UtcDateTime);
            w.WriteString("node", node);
            w.WriteNumber("intervalSeconds", Math.Round(seconds, 3));

            w.WriteStartObject("protocols");
            var all = LatencyWindow.NewCounts();
            for (var i = 0; i < Protocols.All.Count; i++)
            {
                w.WriteStartObject(Protocols.All[i]);
                w.WriteNumber("publishedPerSecond", Rate(LiveStats.Totals.Published + i));
                w.WriteNumber("deliveredPerSecond", Rate(LiveStats.Totals.Delivered + i));
                w.WriteNumber("published", totals[LiveStats.Totals.Published + i]);
                w.WriteNumber("delivered", totals[LiveStats.Totals.Delivered + i]);
                w.WriteNumber("connections", totals[LiveStats.Totals.Connections + i]);
                WriteLatency(w, latency[i]);
                w.WriteEndObject();
                for (var b = 0; b < all.Length; b++)
                {
                    all[b] += latency[i][b];
                }
            }
            w.WriteEndObject();

            w.WriteStartObject("totals");
            w.WriteNumber("published", Sum(LiveStats.Totals.Published));
            w.WriteNumber("delivered", Sum(LiveStats.Totals.Delivered));
            w.WriteNumber("connections", Sum(LiveStats.Totals.Connections));
            if (subscriptions >= 0)
            {
                w.WriteNumber("subscriptions", subscriptions);
            }
            w.WriteNumber("queueSent", totals[LiveStats.Totals.QueueSent]);
            w.WriteNumber("queueReceived", totals[LiveStats.Totals.QueueReceived]);
            w.WriteNumber("queueAcked", totals[LiveStats.Totals.QueueAcked]);
            w.WriteNumber("queueNacked", totals[LiveStats.Totals.QueueNacked]);
            w.WriteNumber("deadLettered", totals[LiveStats.Totals.DeadLettered]);
            w.WriteNumber("redriven", totals[LiveStats.Totals.Redriven]);
            w.WriteNumber("requests", totals[LiveStats.Totals.RequestsSent]);
            w.WriteNumber("replies", totals[LiveStats.Totals.Replies]);
            w.WriteEndObject();

            w.WriteStartObject("rates");
            w.WriteNumber("publishedPerSecond", SumRate(LiveStats.Totals.Published));
            w.WriteNumber("deliveredPerSecond", SumRate(LiveStats.Totals.Delivered));
            w.WriteNumber("queueSentPerSecond", Rate(LiveStats.Totals.QueueSent));
            w.WriteNumber("queueReceivedPerSecond", Rate(LiveStats.Totals.QueueReceived));
            w.WriteNumber("queueAckedPerSecond", Rate(LiveStats.Totals.QueueAcked));
            w.WriteNumber("deadLetteredPerSecond", Rate(LiveStats.Totals.DeadLettered));
            w.WriteNumber("requestsPerSecond", Rate(LiveStats.Totals.RequestsSent));
            w.WriteNumber("repliesPerSecond", Rate(LiveStats.Totals.Replies));
            w.WriteEndObject();

            w.WriteStartObject("latency");
            WriteLatency(w, all);
            w.WriteEndObject();

            w.WriteStartArray("queues");
            foreach (var queue in queues)
            {
                w.WriteStartObject();
                w.WriteString("name", queue.Name);
                w.WriteNumber("ready", queue.Ready);
                w.WriteNumber("leased", queue.Leased);
                w.WriteNumber("delayed", queue.Delayed);
                w.WriteNumber("dead", queue.Dead);
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WriteEndObject();
        }
        return new StatsSnapshot(buffer.WrittenSpan.ToArray(), queues, subscriptions);
    }

    private static void WriteLatency(Utf8JsonWriter w, long[] counts)
    {
        w.WriteNumber("latencySamples", LatencyWindow.Count(counts));
        Write(w, "latencyP50Ms", LatencyWindow.Percentile(counts, 0.50));
        Write(w, "latencyP99Ms", LatencyWindow.Percentile(counts, 0.99));
    }

    private static void Write(Utf8JsonWriter w, string name, double? value)
    {
        if (value is { } v)
        {
            w.WriteNumber(name, Math.Round(v, 3));
        }
        else
        {
            w.WriteNull(name);
        }
    }
}
