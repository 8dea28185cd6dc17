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
if (args.Length > 0 && args[0] == "grpc-baseline-server")
{
    await GrpcBaselineServer.RunAsync(args[1..]);
    return 0;
}
if (args.Length > 0 && args[0] == "signalr-server")
{
    await SignalRServer.RunAsync(args[1..]);
    return 0;
}

IScenario[] all = [new EngineScenario(), new RestPublishScenario(), new GrpcScenario(), new QueueScenario(), new LongPollScenario(), new FanOutScenario(), new IdleConnectionsScenario(), new ScaleOutScenario(), new ClientScenario()];
BenchOptions options;
List<IScenario> chosen;
try
{
    (options, chosen) = Parse(args, all);
}
catch (BenchSetupException ex)
{
    await Console.Error.WriteLineAsync("bench: " + ex.Message);
    return 2;
}
if (options.Help)
{
    Console.WriteLine("""
        dotnet run -c Release --project bench/Switchboard.Bench -- [SCENARIO…] [--quick] [--runs N] [--out DIR]

          SCENARIO   one or more of the names below (default: all, in this order)
          --quick    shorter runs, 3 runs per figure unless --runs says otherwise
          --runs N   repeat every measurement N times (default 5); the report gives min / median / max
          --out DIR  also write DIR/results.json and DIR/results.md
          --only A,B fan-out: only these transports (ws-json, ws-proto, sse, longpoll, websockets, signalr-sse,
                     longpolling), e.g. to profile one of them

        Scenarios:
        """);
    foreach (var scenario in all)
    {
        Console.WriteLine($"  {scenario.Name,-13} {scenario.Description}");
    }
    return 0;
}

// Whatever ends this program (Ctrl+C, an unhandled error), the servers it started end with it.
Console.CancelKeyPress += (_, _) => ServerProcess.StopAllStarted();
AppDomain.CurrentDomain.ProcessExit += (_, _) => ServerProcess.StopAllStarted();

var report = new Report { CommandLine = Report.Command(args) };
Console.WriteLine($"Switchboard bench on {Report.Machine()}: {options.Runs} run{(options.Runs == 1 ? "" : "s")} per figure{(options.Quick ? ", quick" : "")}.");
try
{
    foreach (var scenario in chosen)
    {
        Console.WriteLine($"\n== {scenario.Name}: {scenario.Description}");
        await scenario.RunAsync(report, options);
    }
}
catch (BenchSetupException ex)
{
    await Console.Error.WriteLineAsync("bench: " + ex.Message);
    return 2;
}
finally
{
    ServerProcess.StopAllStarted();
}
Console.WriteLine();
Console.WriteLine(report.ToMarkdown(options.Runs));
if (options.Out is { } directory)
{
    await report.WriteAsync(directory, options.Runs);
    Console.WriteLine($"Wrote {Path.Combine(directory, "results.md")} and results.json.");
}
return 0;

static (BenchOptions, List<IScenario>) Parse(string[] args, IScenario[] all)
{
    var options = new BenchOptions();
    var chosen = new List<IScenario>();
    var runsGiven = false;
    string Value(int i) => i < args.Length ? args[i] : throw new BenchSetupException($"{args[i - 1]} needs a value; see --help");
    for (var i = 0; i < args.Length; i++)
    {
        switch (args[i])
        {
            case "--quick":
                options.Quick = true;
                break;
            case "--runs":
                options.Runs = int.TryParse(Value(++i), NumberStyles.None, CultureInfo.InvariantCulture, out var runs) && runs is >= 1 and <= 100
                    ? runs
                    : throw new BenchSetupException($"--runs is '{args[i]}'; use a whole number from 1 to 100");
                runsGiven = true;
                break;
            case "--out":
                options.Out = Value(++i);
                break;
            case "--only":
                options.Only = [.. Value(++i).Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)];
                break;
            case "-h" or "--help":
                options.Help = true;
                break;
            default:
                var scenario = all.FirstOrDefault(s => s.Name == args[i])
                    ?? throw new BenchSetupException($"unknown scenario or option '{args[i]}'; the scenarios are {string.Join(", ", all.Select(s => s.Name))} (see --help)");
                if (!chosen.Contains(scenario))
                {
                    chosen.Add(scenario);
                }
                break;
        }
    }
    if (options.Quick && !runsGiven)
    {
        options.Runs = 3;
    }
    return (options, chosen.Count > 0 ? chosen : [.. all]);
}
