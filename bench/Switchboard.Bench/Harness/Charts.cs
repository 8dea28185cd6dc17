using System.Globalization;
using System.Text;
using ScottPlot;

namespace Switchboard.Bench.Harness;

/// <summary>A chart written for a report: which scenario and unit it shows, and its file.</summary>
public sealed record ChartFile(string Scenario, string Unit, string Path);

/// <summary>
/// PNG charts with ScottPlot: one per scenario and unit, a horizontal bar per measurement (the median, labelled with
/// min–max), Switchboard in blue, peers in orange, details in grey.
/// </summary>
internal static class Charts
{
    /// <summary>Bars per chart: beyond this the labels get unreadable, so a figure set is split into parts.</summary>
    private const int MaxBars = 30;

    private static readonly Color Ours = Color.FromHex("#1f77b4");
    private static readonly Color Peers = Color.FromHex("#ff7f0e");
    private static readonly Color Details = Color.FromHex("#9e9e9e");

    public static IReadOnlyList<ChartFile> Write(Report report, string directory)
    {
        var files = new List<ChartFile>();
        foreach (var scenario in report.Measurements.GroupBy(m => m.Scenario))
        {
            foreach (var unit in scenario.Where(m => m.Measured).GroupBy(m => m.Unit))
            {
                // Measurements of one figure side by side (all systems' "delivered, 100 subscribers" together), in the order measured.
                var chunks = unit.OrderBy(m => m.Figure ?? "", StringComparer.Ordinal).Chunk(MaxBars).ToList();
                for (var part = 0; part < chunks.Count; part++)
                {
                    var name = $"{Slug(scenario.Key)}-{Slug(unit.Key)}{(chunks.Count > 1 ? "-" + (part + 1).ToString(CultureInfo.InvariantCulture) : "")}.png";
                    var path = Path.Combine(directory, name);
                    Draw(chunks[part], $"{scenario.Key}: {unit.Key}{(chunks.Count > 1 ? $" ({part + 1}/{chunks.Count})" : "")}", unit.Key, unit.First().HigherIsBetter, path);
                    files.Add(new ChartFile(scenario.Key, unit.Key, path));
                }
            }
        }
        return files;
    }

    private static void Draw(IReadOnlyList<Measurement> measurements, string title, string unit, bool higherIsBetter, string path)
    {
        using var plot = new Plot();
        var bars = new List<Bar>();
        var positions = new double[measurements.Count];
        var labels = new string[measurements.Count];
        for (var i = 0; i < measurements.Count; i++)
        {
            var m = measurements[i];
            var position = measurements.Count - 1 - i; // the first measurement on top
            positions[i] = position;
            labels[i] = Shorten(m.Name, 100);
            bars.Add(new Bar
            {
                Position = position,
                Value = m.Median,
                ValueBase = 0,
                FillColor = m.Side switch { Side.Switchboard => Ours, Side.Peer => Peers, _ => Details },
                Label = m.Runs.Count > 1 ? $"{Measurement.Format(m.Median)} ({Measurement.Format(m.Min)}–{Measurement.Format(m.Max)})" : Measurement.Format(m.Median),
            });
        }
        var plotted = plot.Add.Bars(bars);
        plotted.Horizontal = true;
        plotted.ValueLabelStyle.FontSize = 11;
        plot.Axes.Left.SetTicks(positions, labels);
        plot.Axes.Left.TickLabelStyle.FontSize = 11;
        plot.Axes.Margins(left: 0, right: 0.15, bottom: 0.02, top: 0.02);
        plot.Title(title);
        plot.XLabel($"{unit} (median, min–max in brackets; {(higherIsBetter ? "longer is better" : "shorter is better")}; blue Switchboard, orange peers)");
        plot.SavePng(path, 1400, 110 + 26 * measurements.Count);
    }

    private static string Shorten(string text, int length) => text.Length <= length ? text : text[..(length - 1)] + "…";

    /// <summary>A file-name-safe form: letters and digits, runs of anything else as one dash.</summary>
    public static string Slug(string text)
    {
        var slug = new StringBuilder();
        foreach (var c in text.ToLowerInvariant())
        {
            if (char.IsAsciiLetterOrDigit(c))
            {
                slug.Append(c);
            }
            else if (slug.Length > 0 && slug[^1] != '-')
            {
                slug.Append('-');
            }
        }
        return slug.ToString().Trim('-');
    }
}
