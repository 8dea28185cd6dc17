using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;

namespace Switchboard.Bench.Harness;

/// <summary>Collects measurements and ratios, prints them as a Markdown table, writes results.json and results.md.</summary>
public sealed class Report
{
    private static readonly JsonSerializerOptions Indented = new() { WriteIndented = true };
    private readonly List<Measurement> _measurements = [];
    private readonly List<(string Scenario, string What, Func<double> Value)> _ratios = [];

    public Measurement Add(string scenario, string name, string unit, bool higherIsBetter)
    {
        var measurement = new Measurement(scenario, name, unit, higherIsBetter);
        _measurements.Add(measurement);
        return measurement;
    }

    /// <summary>A ratio of medians (ours / peer), shown with the table.</summary>
    public void Ratio(string scenario, string what, Measurement ours, Measurement peer)
        => _ratios.Add((scenario, what, () => ours.Median / peer.Median));

    public static string Machine()
    {
        var memory = File.ReadLines("/proc/meminfo").First(l => l.StartsWith("MemTotal", StringComparison.Ordinal)).Split(' ', StringSplitOptions.RemoveEmptyEntries)[1];
        var cpu = File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal))?.Split(':')[1].Trim() ?? "?";
        return string.Create(CultureInfo.InvariantCulture,
            $"{Environment.ProcessorCount} cores ({cpu}), {long.Parse(memory, CultureInfo.InvariantCulture) / 1024 / 1024} GiB, {RuntimeInformation.OSDescription}, .NET {Environment.Version}");
    }

    public string ToMarkdown(int runs)
    {
        var text = new StringBuilder();
        text.AppendLine(CultureInfo.InvariantCulture, $"Machine: {Machine()}. {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC. {runs} runs per figure (min / median / max).");
        foreach (var scenario in _measurements.Select(m => m.Scenario).Distinct())
        {
            text.AppendLine().AppendLine(CultureInfo.InvariantCulture, $"### {scenario}").AppendLine();
            text.AppendLine("| measurement | unit | min | median | max |").AppendLine("| --- | --- | ---: | ---: | ---: |");
            foreach (var m in _measurements.Where(m => m.Scenario == scenario))
            {
                text.AppendLine(CultureInfo.InvariantCulture, $"| {m.Name} | {m.Unit} | {Measurement.Format(m.Min)} | {Measurement.Format(m.Median)} | {Measurement.Format(m.Max)} |");
            }
            foreach (var (_, what, value) in _ratios.Where(r => r.Scenario == scenario))
            {
                text.AppendLine(CultureInfo.InvariantCulture, $"| **{what}** | ratio of medians | | **{value():0.00}×** | |");
            }
        }
        return text.ToString();
    }

    public async Task WriteAsync(string directory, int runs)
    {
        Directory.CreateDirectory(directory);
        await File.WriteAllTextAsync(Path.Combine(directory, "results.md"), ToMarkdown(runs));
        var json = new
        {
            machine = Machine(),
            date = DateTime.UtcNow,
            runs,
            measurements = _measurements.Select(m => new { m.Scenario, m.Name, m.Unit, m.Runs, m.Min, m.Median, m.Max }),
            ratios = _ratios.Select(r => new { r.Scenario, r.What, value = r.Value() }),
        };
        await File.WriteAllTextAsync(Path.Combine(directory, "results.json"), JsonSerializer.Serialize(json, Indented));
    }
}
