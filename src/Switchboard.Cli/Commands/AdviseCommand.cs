using System.CommandLine;
using System.Text.Json;
using Switchboard.Server.WebConsole;

namespace Switchboard.Cli.Commands;

/// <summary>
/// <c>switchboard advise</c>: the protocol advisor on the command line. Same table (Server/Console/advisor.json) and same
/// code as the console's advisor, so both give the same answer; with bench results present, the guide's comparison table
/// with the figures measured on this hub.
/// </summary>
internal static class AdviseCommand
{
    public static Command Create()
    {
        var advisor = ProtocolAdvisor.Default;
        var command = new Command("advise", """
            Recommend a protocol for a use (the protocol guide's Protocol Selection Guide), with the guide's reasons.
            Every option has a default; the console's Advisor page asks the same questions and gives the same answer.
            """);
        var options = new List<(string Question, Option<string?> Option)>();
        foreach (var question in advisor.Questions)
        {
            var choices = advisor.Options(question);
            var option = new Option<string?>("--" + question) { Description = $"One of: {string.Join(", ", choices)}." };
            option.AcceptOnlyFromAmong([.. choices]);
            options.Add((question, option));
            command.Options.Add(option);
        }
        var json = new Option<bool>("--json") { Description = "Print the answer as JSON (as GET /console/advise answers it)." };
        var bench = new Option<string?>("--bench") { Description = "The bench folder with results-*/results.json (default: ./bench); its figures fill the comparison table." };
        command.Options.Add(json);
        command.Options.Add(bench);
        command.SetAction(parse =>
        {
            var answers = options.ToDictionary(o => o.Question, o => parse.GetValue(o.Option), StringComparer.Ordinal);
            Advice advice;
            try
            {
                advice = advisor.Advise(answers);
            }
            catch (ArgumentException ex)
            {
                Console.Error.WriteLine($"switchboard: {ex.Message}");
                return 2;
            }
            if (parse.GetValue(json))
            {
                using var stdout = Console.OpenStandardOutput();
                using (var writer = new Utf8JsonWriter(stdout, new JsonWriterOptions { Indented = true, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
                {
                    ProtocolAdvisor.Write(writer, advice, advisor);
                }
                stdout.Write("\n"u8);
                return 0;
            }
            Print(advice, advisor, BenchFigures.Read(parse.GetValue(bench) ?? BenchFigures.DefaultFolder));
            return 0;
        });
        return command;
    }

    private static void Print(Advice advice, ProtocolAdvisor advisor, IReadOnlyList<MeasuredRow> measured)
    {
        Console.WriteLine($"Recommended: {advice.Name}");
        Console.WriteLine($"  for: {string.Join(", ", advice.Answers.Select(a => $"{a.Key} {a.Value}"))}");
        Console.WriteLine($"  on this hub: {advice.Use}");
        Console.WriteLine("Why:");
        foreach (var reason in advice.Reasons)
        {
            Console.WriteLine($"  - {reason}");
        }
        if (advice.Alternatives.Count > 0)
        {
            Console.WriteLine($"Also possible: {string.Join(", ", advice.Alternatives.Select(advisor.NameOf))}");
        }
        Console.WriteLine();
        Console.WriteLine("Real-time options compared (guide columns; measured: medians from switchboard bench, 100 subscribers):");
        var rows = advisor.ComparisonRows.Select(r =>
        {
            var m = measured.FirstOrDefault(x => x.Protocol == r["protocol"]);
            return new[]
            {
                r["technique"], r["latency"], $"{BenchFigures.Format(m?.LatencyP50Ms, "ms")} / {BenchFigures.Format(m?.LatencyP99Ms, "ms")}",
                r["serverLoad"], BenchFigures.Format(m?.CpuSecondsPerMillion, "s"), BenchFigures.Format(m?.DeliveredPerSecond, "msg/s"),
                r["browserSupport"], r["complexity"],
            };
        }).ToList();
        string[] header = ["technique", "latency", "p50 / p99 measured", "server load", "CPU per M", "delivered", "browsers", "complexity"];
        var widths = header.Select((h, i) => Math.Max(h.Length, rows.Max(r => r[i].Length))).ToArray();
        Console.WriteLine("  " + string.Join("  ", header.Select((h, i) => h.PadRight(widths[i]))));
        foreach (var row in rows)
        {
            Console.WriteLine("  " + string.Join("  ", row.Select((c, i) => c.PadRight(widths[i]))));
        }
        Console.WriteLine(measured.Count == 0
            ? "  (no bench results found: run the bench, or pass --bench DIR, to fill the measured columns)"
            : "  from " + string.Join("; ", measured.Select(m => m.Source).Distinct()));
    }
}
