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
            $"{Environment.ProcessorCount} cores ({cpu}), {long.Parse(memory, CultureInfo.InvariantCulture) / 1024 / 1024} GiB, {RuntimeInformation.OSDescription}, .NET {Environment.Version}, temp data on {TempFileSystem()}");
    }

    /// <summary>The file system that holds the benchmark databases (what fsync costs depends on it), from /proc/mounts.</summary>
    private static string TempFileSystem()
    {
        var temp = Path.GetTempPath();
        var best = (Mount: "", Text: "?");
        foreach (var line in File.ReadLines("/proc/mounts"))
        {
            var fields = line.Split(' ');
            if (fields.Length > 2 && temp.StartsWith(fields[1], StringComparison.Ordinal) && fields[1].Length > best.Mount.Length)
            {
                best = (fields[1], $"{fields[2]} ({fields[0]})");
            }
        }
        return best.Text;
    }

    /// <summary>The command line of this run, as a user would type it.</summary>
    public static string Command(string[] args)
        => "dotnet run -c Release --project bench/Switchboard.Bench" + (args.Length > 0 ? " -- " + string.Join(' ', args) : "");

    /// <summary>The command that produced this report (shown in its header).</summary>
    public string CommandLine { get; init; } = "";

    public string ToMarkdown(int runs)
    {
        var text = new StringBuilder();
        text.AppendLine(CultureInfo.InvariantCulture, $"Machine: {Machine()}. {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC. {runs} run{(runs == 1 ? "" : "s")} per figure (min / median / max); ratios are of medians.");
        if (CommandLine.Length > 0)
        {
            text.AppendLine().AppendLine(CultureInfo.InvariantCulture, $"Command: `{CommandLine}`");
        }
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
            command = CommandLine,
            date = DateTime.UtcNow,
            runs,
            measurements = _measurements.Select(m => new { m.Scenario, m.Name, m.Unit, m.Runs, m.Min, m.Median, m.Max }),
            ratios = _ratios.Select(r => new { r.Scenario, r.What, value = r.Value() }),
        };
        await File.WriteAllTextAsync(Path.Combine(directory, "results.json"), JsonSerializer.Serialize(json, Indented));
    }
}
