using System.Globalization;
using System.Text;

namespace Switchboard.Bench.Harness;

/// <summary>The report as Markdown: header (machine, versions, command), per scenario its table, the comparison with the best peer, extra tables and charts.</summary>
public sealed partial class Report
{
    /// <summary>The command line of this run, as a user would type it.</summary>
    public static string Command(string[] args)
        => "switchboard bench" + (args.Length > 0 ? " " + string.Join(' ', args) : "");

    public string ToMarkdown(IReadOnlyList<ChartFile>? charts = null, HostLoad? host = null)
    {
        var text = new StringBuilder();
        text.AppendLine(CultureInfo.InvariantCulture, $"Machine: {Machine.Describe()}.");
        if (host is not null)
        {
            text.AppendLine().AppendLine(host.Describe() + ".");
        }
        text.AppendLine().AppendLine(CultureInfo.InvariantCulture,
            $"{Started:yyyy-MM-dd HH:mm} UTC. {Runs} run{(Runs == 1 ? "" : "s")} per figure (min / median / max){(Quick ? ", quick mode (short runs, small counts: a check that everything works, not figures to quote)" : "")}; ratios are of medians.");
        if (CommandLine.Length > 0)
        {
            text.AppendLine().AppendLine(CultureInfo.InvariantCulture, $"Command: `{CommandLine}`");
        }
        if (_versions.Count > 0)
        {
            text.AppendLine().AppendLine("Versions: " + string.Join("; ", _versions.Select(v => $"{v.Key} {v.Value}")) + ".");
        }
        var comparisons = Comparisons();
        if (comparisons.Count > 0)
        {
            text.AppendLine().AppendLine("## Switchboard against the best peer").AppendLine();
            text.AppendLine("Every Switchboard figure beside the best peer's median of the same figure; the ratio is Switchboard / peer "
                + "(above 1 is better for rates, below 1 is better for latency, CPU, memory and bytes).").AppendLine();
            AppendComparisons(text, comparisons);
        }
        foreach (var table in _tables)
        {
            AppendTable(text, table);
        }
        foreach (var scenario in _measurements.Select(m => m.Scenario).Concat(_skips.Select(s => s.Scenario)).Distinct().ToList())
        {
            AppendScenario(text, scenario, charts ?? []);
        }
        if (_skips.Count > 0)
        {
            text.AppendLine().AppendLine("## Skipped").AppendLine();
            foreach (var skip in _skips)
            {
                text.AppendLine(CultureInfo.InvariantCulture, $"- {skip.Scenario}: **{skip.What}** — {skip.Reason}");
            }
        }
        var failed = _scenarios.Where(s => s.Status == "failed").ToList();
        if (failed.Count > 0)
        {
            text.AppendLine().AppendLine("## Failed").AppendLine();
            foreach (var outcome in failed)
            {
                text.AppendLine(CultureInfo.InvariantCulture, $"- {outcome.Name}: {outcome.Error}");
            }
        }
        return text.ToString();
    }

    private static void AppendComparisons(StringBuilder text, IReadOnlyList<Comparison> comparisons)
    {
        text.AppendLine("| scenario | figure | Switchboard | median | best peer | median | ratio |");
        text.AppendLine("| --- | --- | --- | ---: | --- | ---: | ---: |");
        foreach (var c in comparisons)
        {
            var ratio = c.BestPeer is null ? "no peer ran" : c.Ahead ? $"**{c.Ratio:0.00}×**" : $"{c.Ratio:0.00}× (behind)";
            text.AppendLine(CultureInfo.InvariantCulture,
                $"| {c.Scenario} | {c.Figure} ({c.Unit}) | {c.Switchboard} | {Measurement.Format(c.Ours)} | {c.BestPeer ?? "–"} | {Measurement.Format(c.Theirs)} | {ratio} |");
        }
    }

    private static void AppendTable(StringBuilder text, ExtraTable table)
    {
        text.AppendLine().AppendLine(CultureInfo.InvariantCulture, $"## {table.Title}").AppendLine();
        text.AppendLine("| " + string.Join(" | ", table.Header) + " |");
        text.AppendLine("| " + string.Join(" | ", table.Header.Select((_, i) => i == 0 ? "---" : "---:")) + " |");
        foreach (var row in table.Rows)
        {
            text.AppendLine("| " + string.Join(" | ", row) + " |");
        }
        if (table.Note is not null)
        {
            text.AppendLine().AppendLine(table.Note);
        }
    }

    private void AppendScenario(StringBuilder text, string scenario, IReadOnlyList<ChartFile> charts)
    {
        text.AppendLine().AppendLine(CultureInfo.InvariantCulture, $"### {scenario}").AppendLine();
        var measurements = _measurements.Where(m => m.Scenario == scenario).ToList();
        if (measurements.Count > 0)
        {
            text.AppendLine("| measurement | unit | min | median | max |").AppendLine("| --- | --- | ---: | ---: | ---: |");
            foreach (var m in measurements)
            {
                text.AppendLine(CultureInfo.InvariantCulture, $"| {m.Name} | {m.Unit} | {Measurement.Format(m.Min)} | {Measurement.Format(m.Median)} | {Measurement.Format(m.Max)} |");
            }
            foreach (var (_, what, value) in _ratios.Where(r => r.Scenario == scenario))
            {
                text.AppendLine(CultureInfo.InvariantCulture, $"| **{what}** | ratio of medians | | **{value():0.00}×** | |");
            }
        }
        foreach (var (_, note) in _notes.Where(n => n.Scenario == scenario))
        {
            text.AppendLine().AppendLine("Note: " + note);
        }
        foreach (var skip in _skips.Where(s => s.Scenario == scenario))
        {
            text.AppendLine().AppendLine(CultureInfo.InvariantCulture, $"Skipped: **{skip.What}** — {skip.Reason}");
        }
        foreach (var chart in charts.Where(c => c.Scenario == scenario))
        {
            text.AppendLine().AppendLine(CultureInfo.InvariantCulture, $"![{scenario}: {chart.Unit}]({Path.GetFileName(chart.Path)})");
        }
    }
}
