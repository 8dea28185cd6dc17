using System.Globalization;
using System.Text.Json;

namespace Switchboard.Cli.Commands;

/// <summary>What a frame shows besides the snapshot itself: where it came from and how the watch is going.</summary>
/// <param name="Server">The hub's address, as given.</param>
/// <param name="Status">The second line: "live", or why the figures are old (the stream was lost and is being retried).</param>
/// <param name="NodeName">The node's configured name, when <c>GET /v1/nodes</c> told it.</param>
/// <param name="StartedAt">When the node started, when <c>GET /v1/nodes</c> told it (for the uptime).</param>
/// <param name="Queues">At most this many queues, deepest first.</param>
/// <param name="Width">Lines are cut to this many characters (a terminal's width; no limit when printing plain blocks).</param>
/// <param name="Height">The queue table shrinks so a frame fits this many lines (a terminal's height).</param>
internal sealed record StatsFrame(string Server, string? Status, string? NodeName, DateTimeOffset? StartedAt, int Queues, int Width, int Height);

/// <summary>
/// One <c>GET /v1/sys/stats</c> snapshot (fields in docs/console.md) as the lines of a compact screen: totals and rates,
/// latency, connections, a row per protocol, and the deepest queues. Pure: the same snapshot and frame give the same lines.
/// A field an older hub does not send shows as "-".
/// </summary>
internal static class StatsScreen
{
    private static readonly CultureInfo Invariant = CultureInfo.InvariantCulture;

    public static List<string> Render(JsonElement snapshot, StatsFrame frame)
    {
        var totals = Get(snapshot, "totals");
        var rates = Get(snapshot, "rates");
        var latency = Get(snapshot, "latency");
        var lines = new List<string>
        {
            Header(snapshot, frame),
            frame.Status is null ? "" : $"[{frame.Status}]",
            $"messages   published {Count(totals, "published")} ({Rate(rates, "publishedPerSecond")}/s)  delivered {Count(totals, "delivered")} ({Rate(rates, "deliveredPerSecond")}/s)",
            Latency(latency),
            $"clients    connections {Count(totals, "connections")}" + (totals?.TryGetProperty("subscriptions", out _) == true ? $"  subscriptions {Count(totals, "subscriptions")}" : ""),
            $"queues     sent {Count(totals, "queueSent")} ({Rate(rates, "queueSentPerSecond")}/s)  received {Count(totals, "queueReceived")} ({Rate(rates, "queueReceivedPerSecond")}/s)"
                + $"  acked {Count(totals, "queueAcked")} ({Rate(rates, "queueAckedPerSecond")}/s)  nacked {Count(totals, "queueNacked")}",
            $"           dead-lettered {Count(totals, "deadLettered")} ({Rate(rates, "deadLetteredPerSecond")}/s)  redriven {Count(totals, "redriven")}",
            $"requests   sent {Count(totals, "requests")} ({Rate(rates, "requestsPerSecond")}/s)  replied {Count(totals, "replies")} ({Rate(rates, "repliesPerSecond")}/s)",
            "",
            $"{"PROTOCOL",-10} {"IN/S",10} {"OUT/S",10} {"PUBLISHED",12} {"DELIVERED",12} {"CONNS",7} {"P99 MS",8}",
        };
        if (Get(snapshot, "protocols") is { ValueKind: JsonValueKind.Object } protocols)
        {
            foreach (var protocol in protocols.EnumerateObject())
            {
                var p = protocol.Value;
                lines.Add($"{protocol.Name,-10} {Rate(p, "publishedPerSecond"),10} {Rate(p, "deliveredPerSecond"),10} {Count(p, "published"),12} {Count(p, "delivered"),12} {Count(p, "connections"),7} {Milliseconds(p, "latencyP99Ms"),8}");
            }
        }
        lines.Add("");
        AddQueues(lines, snapshot, frame);
        return [.. lines.Select(l => l.Length > frame.Width ? l[..frame.Width] : l)];
    }

    private static string Header(JsonElement snapshot, StatsFrame frame)
    {
        // Like top's first line: the time, the uptime, then which hub (the address last: the user typed it).
        var header = "switchboard";
        var time = Get(snapshot, "time") is { ValueKind: JsonValueKind.String } t && t.TryGetDateTimeOffset(out var at) ? at : (DateTimeOffset?)null;
        if (time is { } shown)
        {
            header += "  " + shown.UtcDateTime.ToString("HH:mm:ss", Invariant) + " UTC";
        }
        if (time is { } now && frame.StartedAt is { } started && now >= started)
        {
            header += "  up " + Uptime(now - started);
        }
        if (Get(snapshot, "node") is { ValueKind: JsonValueKind.String } node)
        {
            var id = node.GetString()!;
            header += $"  node {(id.Length > 8 ? id[..8] : id)}" + (frame.NodeName is { Length: > 0 } name ? $" ({name})" : "");
        }
        return $"{header}  {frame.Server}";
    }

    private static string Latency(JsonElement? latency)
    {
        var samples = latency is { } l && l.TryGetProperty("latencySamples", out var s) && s.ValueKind == JsonValueKind.Number ? s.GetInt64() : 0;
        return samples == 0
            ? "latency    p99 -  p50 -  (no deliveries in the last second)"
            : $"latency    p99 {Milliseconds(latency, "latencyP99Ms")} ms  p50 {Milliseconds(latency, "latencyP50Ms")} ms  (publish to write, {samples.ToString("N0", Invariant)} deliveries)";
    }

    private static void AddQueues(List<string> lines, JsonElement snapshot, StatsFrame frame)
    {
        if (frame.Queues <= 0)
        {
            return;
        }
        var queues = Get(snapshot, "queues") is { ValueKind: JsonValueKind.Array } array
            ? array.EnumerateArray()
                .Select(q => (Name: q.TryGetProperty("name", out var n) ? n.GetString() ?? "" : "", Ready: Long(q, "ready"), Leased: Long(q, "leased"), Delayed: Long(q, "delayed"), Dead: Long(q, "dead")))
                .OrderByDescending(q => q.Ready + q.Leased + q.Delayed + q.Dead).ThenBy(q => q.Name, StringComparer.Ordinal)
                .ToList()
            : [];
        if (queues.Count == 0)
        {
            lines.Add("no queues");
            return;
        }
        // The header, the table's header and the "more" line must fit too; a terminal shows at least one queue.
        var room = Math.Max(1, frame.Height - lines.Count - 2);
        var shown = Math.Min(queues.Count, Math.Min(frame.Queues, room));
        var width = Math.Clamp(queues.Take(shown).Max(q => q.Name.Length), 5, 40);
        lines.Add($"{"QUEUE".PadRight(width)} {"READY",10} {"LEASED",10} {"DELAYED",10} {"DEAD",10}");
        foreach (var q in queues.Take(shown))
        {
            var name = q.Name.Length > width ? q.Name[..(width - 1)] + "…" : q.Name.PadRight(width);
            lines.Add($"{name} {Number(q.Ready),10} {Number(q.Leased),10} {Number(q.Delayed),10} {Number(q.Dead),10}");
        }
        if (queues.Count > shown)
        {
            lines.Add($"… {queues.Count - shown} more, not shown (the deepest {shown} of {queues.Count}; --queues N shows more)");
        }
    }

    private static string Uptime(TimeSpan up) => up switch
    {
        { TotalDays: >= 1 } => $"{(int)up.TotalDays}d {up.Hours}h",
        { TotalHours: >= 1 } => $"{(int)up.TotalHours}h {up.Minutes:00}m",
        { TotalMinutes: >= 1 } => $"{(int)up.TotalMinutes}m {up.Seconds:00}s",
        _ => $"{(int)up.TotalSeconds}s",
    };

    private static JsonElement? Get(JsonElement? element, string name)
        => element is { ValueKind: JsonValueKind.Object } e && e.TryGetProperty(name, out var value) ? value : null;

    private static long Long(JsonElement element, string name) => Get(element, name) is { ValueKind: JsonValueKind.Number } n ? n.GetInt64() : 0;

    private static string Number(long value) => value.ToString("N0", Invariant);

    private static string Count(JsonElement? element, string name) => Get(element, name) is { ValueKind: JsonValueKind.Number } n ? Number(n.GetInt64()) : "-";

    private static string Rate(JsonElement? element, string name) => Get(element, name) is { ValueKind: JsonValueKind.Number } n ? n.GetDouble().ToString("N1", Invariant) : "-";

    private static string Milliseconds(JsonElement? element, string name) => Get(element, name) is { ValueKind: JsonValueKind.Number } n ? n.GetDouble().ToString("0.0##", Invariant) : "-";
}
