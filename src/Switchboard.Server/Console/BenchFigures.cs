using System.Globalization;
using System.Text.Json;

namespace Switchboard.Server.WebConsole;

/// <summary>One technique's figures measured on this hub by <c>switchboard bench</c> (medians; null where not measured).</summary>
/// <param name="Protocol">poll, longpoll, sse or websocket.</param>
/// <param name="LatencyP50Ms">Publish → delivered, p50, at 1,000 msg/s (fan-out), or publish → seen (polling every 100 ms).</param>
/// <param name="LatencyP99Ms">The same, p99.</param>
/// <param name="CpuSecondsPerMillion">Server CPU seconds per million messages delivered (fan-out to 100 subscribers).</param>
/// <param name="DeliveredPerSecond">Messages delivered per second to 100 subscribers.</param>
/// <param name="Source">The results file the figures came from, and its date.</param>
public sealed record MeasuredRow(string Protocol, double? LatencyP50Ms, double? LatencyP99Ms, double? CpuSecondsPerMillion, double? DeliveredPerSecond, string? Source);

/// <summary>
/// Fills the guide's Real-time Options Comparison with figures measured on this hub: the newest <c>switchboard bench</c>
/// results (<c>results.json</c> under <c>bench/results-*/</c>, one folder deep too) that hold each figure. Which benchmark
/// names feed which cell is listed here once (<see cref="Names"/>); a missing figure stays empty, never invented.
/// </summary>
public static class BenchFigures
{
    // Technique -> the measurement names of bench/Switchboard.Bench (fan-out to 100 subscribers for the streaming
    // transports, the long-poll scenario's polling baseline for polling). WebSocket is the JSON subprotocol, as browsers
    // use it. Each cell lists the name the harness writes now first, then the names of results recorded before it
    // named the subscriber count (fan-out ran 100 subscribers then) and renamed long poll and the polling baseline.
    private static readonly Dictionary<string, (string[] P50, string[] P99, string[] Cpu, string[] Delivered)> Names = new(StringComparer.Ordinal)
    {
        ["websocket"] = FanOut("switchboard ws-json"),
        ["sse"] = FanOut("switchboard sse"),
        ["longpoll"] = FanOut("switchboard long poll", "switchboard longpoll"),
        ["poll"] = (
            ["polling every 100 ms: publish sent -> the poll that sees it answered, p50", "polling every 100 ms: publish -> seen, p50"],
            ["polling every 100 ms: publish sent -> the poll that sees it answered, p99", "polling every 100 ms: publish -> seen, p99"],
            [], []),
    };

    private static (string[] P50, string[] P99, string[] Cpu, string[] Delivered) FanOut(params string[] systems)
    {
        string[] Figure(string figure) =>
            [.. systems.Select(s => $"{s}: {figure}, 100 subscribers"), .. systems.Select(s => $"{s}: {figure}")];
        return (Figure("latency p50 at 1,000 msg/s"), Figure("latency p99 at 1,000 msg/s"),
            Figure("server CPU per million delivered"), Figure("delivered"));
    }

    /// <summary>
    /// The measured rows, or an empty list when <paramref name="folder"/> (a bench folder) holds no results. Files that do
    /// not parse are passed over.
    /// </summary>
    public static IReadOnlyList<MeasuredRow> Read(string? folder)
    {
        if (string.IsNullOrEmpty(folder) || !Directory.Exists(folder))
        {
            return [];
        }
        var files = new List<(DateTimeOffset Date, string Path, Dictionary<string, double> Medians)>();
        foreach (var results in Directory.EnumerateDirectories(folder, "results-*"))
        {
            foreach (var file in Directory.EnumerateFiles(results, "results.json", SearchOption.TopDirectoryOnly)
                .Concat(Directory.EnumerateDirectories(results).SelectMany(d => Directory.EnumerateFiles(d, "results.json", SearchOption.TopDirectoryOnly))))
            {
                if (Parse(file) is { } parsed)
                {
                    files.Add((parsed.Date, Path.GetRelativePath(folder, file), parsed.Medians));
                }
            }
        }
        files.Sort((a, b) => b.Date.CompareTo(a.Date)); // newest first
        var rows = new List<MeasuredRow>();
        foreach (var (protocol, names) in Names)
        {
            string? source = null;
            double? Find(string[] names)
            {
                foreach (var (date, path, medians) in files)
                {
                    foreach (var name in names)
                    {
                        if (medians.TryGetValue(name, out var value))
                        {
                            source ??= $"bench/{path.Replace('\\', '/')} ({date.UtcDateTime:yyyy-MM-dd})";
                            return value;
                        }
                    }
                }
                return null;
            }
            var row = new MeasuredRow(protocol, Find(names.P50), Find(names.P99), Find(names.Cpu), Find(names.Delivered), null);
            if (row.LatencyP50Ms is not null || row.LatencyP99Ms is not null || row.CpuSecondsPerMillion is not null || row.DeliveredPerSecond is not null)
            {
                rows.Add(row with { Source = source });
            }
        }
        return rows;
    }

    /// <summary>Where the hub and the CLI look by default: <c>bench</c> under the current directory.</summary>
    public static string DefaultFolder => Path.Combine(Directory.GetCurrentDirectory(), "bench");

    /// <summary>Writes the rows as a JSON array.</summary>
    public static void Write(Utf8JsonWriter w, IReadOnlyList<MeasuredRow> rows)
    {
        ArgumentNullException.ThrowIfNull(w);
        ArgumentNullException.ThrowIfNull(rows);
        w.WriteStartArray();
        foreach (var row in rows)
        {
            w.WriteStartObject();
            w.WriteString("protocol", row.Protocol);
            Number(w, "latencyP50Ms", row.LatencyP50Ms);
            Number(w, "latencyP99Ms", row.LatencyP99Ms);
            Number(w, "cpuSecondsPerMillion", row.CpuSecondsPerMillion);
            Number(w, "deliveredPerSecond", row.DeliveredPerSecond);
            w.WriteString("source", row.Source);
            w.WriteEndObject();
        }
        w.WriteEndArray();
    }

    /// <summary>A figure as the console and the CLI print it.</summary>
    public static string Format(double? value, string unit) => value switch
    {
        null => "–",
        >= 1_000_000 => (value.Value / 1_000_000).ToString("0.00", CultureInfo.InvariantCulture) + " M " + unit,
        >= 100 => value.Value.ToString("#,0", CultureInfo.InvariantCulture) + " " + unit,
        _ => value.Value.ToString("0.##", CultureInfo.InvariantCulture) + " " + unit,
    };

    private static void Number(Utf8JsonWriter w, string name, double? value)
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

    private static (DateTimeOffset Date, Dictionary<string, double> Medians)? Parse(string file)
    {
        try
        {
            using var document = JsonDocument.Parse(File.ReadAllBytes(file));
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                return null;
            }
            // A quick run (--quick) checks that the harness works; its short runs and small counts are not figures to quote.
            if (root.TryGetProperty("quick", out var quick) && quick.ValueKind == JsonValueKind.True)
            {
                return null;
            }
            var date = root.TryGetProperty("date", out var d) && d.ValueKind == JsonValueKind.String && d.TryGetDateTimeOffset(out var parsed) ? parsed : File.GetLastWriteTimeUtc(file);
            var medians = new Dictionary<string, double>(StringComparer.Ordinal);
            if (root.TryGetProperty("measurements", out var measurements) && measurements.ValueKind == JsonValueKind.Array)
            {
                foreach (var m in measurements.EnumerateArray())
                {
                    // The harness writes camelCase ("name", "median"); results recorded before it did hold "Name", "Median".
                    if (m.ValueKind == JsonValueKind.Object
                        && (m.TryGetProperty("name", out var name) || m.TryGetProperty("Name", out name)) && name.ValueKind == JsonValueKind.String
                        && (m.TryGetProperty("median", out var median) || m.TryGetProperty("Median", out median)) && median.ValueKind == JsonValueKind.Number && median.TryGetDouble(out var value)) // null: not measured
                    {
                        medians.TryAdd(name.GetString()!, value);
                    }
                }
            }
            return (date, medians);
        }
        catch (Exception ex) when (ex is JsonException or IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }
}
