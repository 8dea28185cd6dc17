using System.Text.Json;
using System.Text.Json.Serialization;

namespace Switchboard.Bench.Harness;

/// <summary>A scenario's outcome in a report: ran, failed (with the error) and how long it took.</summary>
public sealed record ScenarioOutcome(string Name, string Description, string Status, double Seconds, string? Error);

/// <summary>Something a scenario could not measure (a peer not installed, not started): said in the report, never silently left out.</summary>
public sealed record Skip(string Scenario, string What, string Reason);

/// <summary>A table a scenario composes itself (e.g. the guide's real-time comparison, measured).</summary>
public sealed record ExtraTable(string Scenario, string Title, IReadOnlyList<string> Header, IReadOnlyList<IReadOnlyList<string>> Rows, string? Note);

/// <summary>A Switchboard figure next to the best peer's of the same figure.</summary>
public sealed record Comparison(string Scenario, string Figure, string Unit, string Switchboard, double Ours, string? BestPeer, double Theirs, bool HigherIsBetter)
{
    /// <summary>Ours / theirs (NaN without a peer).</summary>
    public double Ratio => BestPeer is null ? double.NaN : Ours / Theirs;

    /// <summary>Whether Switchboard is at least as good as the best peer, in the figure's direction.</summary>
    public bool Ahead => BestPeer is not null && (HigherIsBetter ? Ours >= Theirs : Ours <= Theirs);
}

/// <summary>
/// Collects measurements, ratios, skipped peers, peer versions and extra tables; prints them as Markdown and writes
/// results.json, results.md and PNG charts into a folder.
/// </summary>
public sealed partial class Report
{
    private static readonly JsonSerializerOptions Indented = new()
    {
        WriteIndented = true,
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.CamelCase) },
    };

    private readonly List<Measurement> _measurements = [];
    private readonly List<(string Scenario, string What, Func<double> Value)> _ratios = [];
    private readonly List<Skip> _skips = [];
    private readonly SortedDictionary<string, string> _versions = new(StringComparer.Ordinal);
    private readonly List<ExtraTable> _tables = [];
    private readonly List<ScenarioOutcome> _scenarios = [];
    private readonly List<(string Scenario, string Text)> _notes = [];

    public MachineInfo Machine { get; } = MachineInfo.Read();

    public DateTime Started { get; } = DateTime.UtcNow;

    private readonly HostLoad.Counters? _cpuAtStart = HostLoad.Counters.Read();

    /// <summary>The machine's CPU load from the start of the run until now (null where /proc/stat is missing).</summary>
    public HostLoad? Host => HostLoad.Between(_cpuAtStart, HostLoad.Counters.Read());

    /// <summary>The command that produced this report (shown in its header).</summary>
    public string CommandLine { get; init; } = "";

    public int Runs { get; init; } = BenchOptions.DefaultRuns;

    public bool Quick { get; init; }

    public IReadOnlyList<Measurement> Measurements => _measurements;

    public IReadOnlyList<Skip> Skips => _skips;

    public IReadOnlyList<ScenarioOutcome> Scenarios => _scenarios;

    /// <summary>A measurement that is not compared with any other (a detail of a scenario).</summary>
    public Measurement Add(string scenario, string name, string unit, bool higherIsBetter)
        => Keep(new Measurement(scenario, name, unit, higherIsBetter));

    /// <summary>
    /// A measurement of <paramref name="figure"/> by <paramref name="system"/>: Switchboard's figures are shown with their
    /// ratio to the best peer of the same figure (same scenario, same figure name).
    /// </summary>
    public Measurement Add(string scenario, string system, string figure, string unit, bool higherIsBetter, Side side)
        => Keep(new Measurement(scenario, $"{system}: {figure}", unit, higherIsBetter) { System = system, Figure = figure, Side = side });

    private Measurement Keep(Measurement measurement)
    {
        lock (_measurements)
        {
            _measurements.Add(measurement);
        }
        return measurement;
    }

    /// <summary>A ratio of medians (ours / another), shown with the table: for comparisons the best-peer table does not make (durable vs in memory).</summary>
    public void Ratio(string scenario, string what, Measurement ours, Measurement peer)
        => _ratios.Add((scenario, what, () => ours.Median / peer.Median));

    /// <summary>A peer (or part of a scenario) that was not measured, and why; printed at once and listed in the report.</summary>
    public void Skip(string scenario, string what, string reason)
    {
        _skips.Add(new Skip(scenario, what, reason));
        BenchOptions.Progress($"SKIPPED {what}: {reason}");
    }

    /// <summary>The version of a server or client library that was measured (e.g. "nats-server" → "2.9.10").</summary>
    public void Version(string component, string version)
    {
        lock (_versions)
        {
            _versions[component] = version;
        }
    }

    public void Table(ExtraTable table) => _tables.Add(table);

    /// <summary>A remark on what was seen (e.g. messages a peer dropped), printed at once and shown under the scenario.</summary>
    public void Note(string scenario, string text)
    {
        lock (_notes)
        {
            _notes.Add((scenario, text));
        }
        BenchOptions.Progress("NOTE " + text);
    }

    public void Outcome(ScenarioOutcome outcome) => _scenarios.Add(outcome);

    /// <summary>Every Switchboard figure beside the best peer's median of the same figure (by the figure's direction).</summary>
    public IReadOnlyList<Comparison> Comparisons()
    {
        var result = new List<Comparison>();
        foreach (var group in _measurements.Where(m => m.Side != Side.None && m.Measured).GroupBy(m => (m.Scenario, m.Figure!)))
        {
            var peers = group.Where(m => m.Side == Side.Peer).ToList();
            var best = peers.Count == 0 ? null
                : peers.Aggregate((a, b) => a.AtLeastAsGood(a.Median, b.Median) ? a : b);
            foreach (var ours in group.Where(m => m.Side == Side.Switchboard))
            {
                result.Add(new Comparison(ours.Scenario, ours.Figure!, ours.Unit, ours.System!, ours.Median, best?.System, best?.Median ?? double.NaN, ours.HigherIsBetter));
            }
        }
        return result;
    }

    /// <summary>Writes results.json, results.md and the charts (PNG) into <paramref name="directory"/>; returns the chart files.</summary>
    public async Task<IReadOnlyList<ChartFile>> WriteAsync(string directory)
    {
        Directory.CreateDirectory(directory);
        var charts = Charts.Write(this, directory);
        var host = Host;
        await File.WriteAllTextAsync(Path.Combine(directory, "results.md"), ToMarkdown(charts, host));
        var json = new
        {
            machine = Machine,
            host,
            versions = _versions,
            command = CommandLine,
            date = Started,
            runs = Runs,
            quick = Quick,
            scenarios = _scenarios,
            measurements = _measurements.Select(m => new { m.Scenario, m.Name, m.System, m.Figure, m.Side, m.Unit, m.HigherIsBetter, m.Runs, m.Min, m.Median, m.Max }),
            ratios = _ratios.Select(r => new { r.Scenario, r.What, value = r.Value() }),
            comparisons = Comparisons().Select(c => new { c.Scenario, c.Figure, c.Unit, c.Switchboard, c.Ours, c.BestPeer, c.Theirs, c.Ratio, c.Ahead }),
            skipped = _skips,
            notes = _notes.Select(n => new { n.Scenario, n.Text }),
            tables = _tables,
            charts = charts.Select(c => new { c.Scenario, c.Unit, file = Path.GetFileName(c.Path) }),
        };
        await File.WriteAllTextAsync(Path.Combine(directory, "results.json"), JsonSerializer.Serialize(json, Indented));
        return charts;
    }
}
