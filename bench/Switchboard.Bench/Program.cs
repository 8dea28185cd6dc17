using System.Globalization;
using Switchboard.Bench;
using Switchboard.Bench.Harness;
using Switchboard.Bench.Peers;
using Switchboard.Bench.Scenarios;

// Server modes: this program doubles as the peers it measures against, each in its own process.
if (args.Length > 0 && args[0] == "baseline-server")
{
    await BaselineServer.RunAsync(args[1..]);
    return 0;
}
if (args.Length > 0 && args[0] == "signalr-server")
{
    await SignalRServer.RunAsync(args[1..]);
    return 0;
}

IScenario[] all = [new EngineScenario(), new RestPublishScenario(), new LongPollScenario(), new FanOutScenario(), new IdleConnectionsScenario()];
var options = new BenchOptions();
var chosen = new List<IScenario>();
for (var i = 0; i < args.Length; i++)
{
    switch (args[i])
    {
        case "--quick":
            options.Quick = true;
            break;
        case "--runs":
            options.Runs = int.Parse(args[++i], CultureInfo.InvariantCulture);
            break;
        case "--out":
            options.Out = args[++i];
            break;
        case "-h" or "--help":
            Console.WriteLine("switchboard bench [SCENARIO…] [--quick] [--runs N] [--out DIR]\n\nScenarios:");
            foreach (var scenario in all)
            {
                Console.WriteLine($"  {scenario.Name,-12} {scenario.Description}");
            }
            return 0;
        default:
            chosen.Add(all.FirstOrDefault(s => s.Name == args[i]) ?? throw new ArgumentException($"unknown scenario '{args[i]}'; see --help"));
            break;
    }
}
if (options.Quick && options.Runs == BenchOptions.DefaultRuns)
{
    options.Runs = 3;
}
var report = new Report();
Console.WriteLine($"Switchboard bench on {Report.Machine()}: {options.Runs} runs per figure{(options.Quick ? ", quick" : "")}.");
foreach (var scenario in chosen.Count > 0 ? chosen : [.. all])
{
    Console.WriteLine($"\n== {scenario.Name}: {scenario.Description}");
    await scenario.RunAsync(report, options);
}
Console.WriteLine();
Console.WriteLine(report.ToMarkdown(options.Runs));
if (options.Out is { } directory)
{
    await report.WriteAsync(directory, options.Runs);
    Console.WriteLine($"Wrote {Path.Combine(directory, "results.md")} and results.json.");
}
return 0;
