using System.Diagnostics;
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
if (args.Length > 0 && args[0] == "otlp-sink")
{
    await OtlpSink.RunAsync(args[1..]);
    return 0;
}
if (args.Length > 0 && args[0] == "signalr-server")
{
    await SignalRServer.RunAsync(args[1..]);
    return 0;
}

IScenario[] all =
[
    new EngineScenario(), new RestPublishScenario(), new RestGetScenario(), new GrpcScenario(), new QueueScenario(), new ReqReplyScenario(),
    new LongPollScenario(), new RealtimeScenario(), new FanOutScenario(), new IdleConnectionsScenario(), new ScaleOutScenario(), new ClientScenario(),
    new TelemetryScenario(),
];
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
ServerProcess.HubEnvironment = options.HubEnvironment;
if (options.Help)
{
    Console.WriteLine("""
        switchboard bench [SCENARIO…] [--quick] [--runs N] [--out DIR]
        (or: dotnet run -c Release --project bench/Switchboard.Bench -- [SCENARIO…] [options])

          SCENARIO          one or more of the names below (default: all, in this order)
          --quick           short runs and small counts, 1 run per figure unless --runs says otherwise: checks
                            that everything works (the smoke test); its figures are not for quoting
          --runs N          repeat every measurement N times (default 5); the report gives min / median / max
          --out DIR         write DIR/results.json, DIR/results.md and DIR/*.png (charts)
          --only A,B        fan-out: only these transports (ws-json, ws-proto, ws-json-batch, ws-compact,
                            ws-compact-batch, ws-proto-batch, ws-plain, sse, sse-payload, longpoll, longpoll-payload, poll, grpc, websockets, signalr-sse, longpolling, nats, redis);
                            queue: only these systems (hub-rest, hub-ws, hub-redis, rabbitmq, nats, redis-streams);
                            reqreply: only these (rest-sqlite, ws-sqlite, grpc-sqlite, grpc-connect-sqlite, rest-memory,
                            ws-memory, grpc-memory, grpc-connect-memory, echo, grpc-echo, nats)
          --subscribers N,M fan-out: these subscriber counts (default 1,100,1000; quick 10)
          --hub-env N=V     an environment variable for every hub the bench starts, and only for them (repeatable):
                            a runtime or Switchboard__… setting measured against the default, peers unchanged

        Peers missing from the machine are skipped and named in the report; bench/install-peers.sh installs them.

        Scenarios:
        """);
    foreach (var scenario in all)
    {
        Console.WriteLine($"  {scenario.Name,-13} {scenario.Description}");
    }
    return 0;
}

// Whatever ends this program (Ctrl+C, SIGTERM, an unhandled error), the servers it started end with it. Since .NET 10 the
// runtime has no SIGTERM handler of its own (ProcessExit is not raised on `kill PID`), so SIGTERM is registered here; the
// handler does not cancel it, so the program still ends once the servers are stopped.
Console.CancelKeyPress += (_, _) => ServerProcess.StopAllStarted();
AppDomain.CurrentDomain.ProcessExit += (_, _) => ServerProcess.StopAllStarted();
using var terminated = System.Runtime.InteropServices.PosixSignalRegistration.Create(
    System.Runtime.InteropServices.PosixSignal.SIGTERM, _ => ServerProcess.StopAllStarted());

var report = new Report { CommandLine = Report.Command(args), Runs = options.Runs, Quick = options.Quick };
Console.WriteLine($"Switchboard bench on {report.Machine.Describe()}");
Console.WriteLine($"{chosen.Count} scenario{(chosen.Count == 1 ? "" : "s")}, {options.Runs} run{(options.Runs == 1 ? "" : "s")} per figure{(options.Quick ? ", quick" : "")}.");
var total = Stopwatch.StartNew();
for (var i = 0; i < chosen.Count; i++)
{
    var scenario = chosen[i];
    Console.WriteLine($"\n== [{i + 1}/{chosen.Count}] {scenario.Name}: {scenario.Description}");
    var clock = Stopwatch.StartNew();
    try
    {
        await scenario.RunAsync(report, options);
        report.Outcome(new ScenarioOutcome(scenario.Name, scenario.Description, "ran", clock.Elapsed.TotalSeconds, null));
        BenchOptions.Progress($"{scenario.Name} done in {clock.Elapsed.TotalSeconds:0.0} s");
    }
    catch (Exception ex)
    {
        // One scenario's failure is reported and the others still run; the exit code says something failed.
        var error = ex is BenchSetupException ? ex.Message : ex.ToString();
        report.Outcome(new ScenarioOutcome(scenario.Name, scenario.Description, "failed", clock.Elapsed.TotalSeconds, error));
        await Console.Error.WriteLineAsync($"bench: {scenario.Name} failed: {error}");
    }
    finally
    {
        ServerProcess.StopAllStarted();
    }
}
Console.WriteLine();
Console.WriteLine(report.ToMarkdown(host: report.Host));
if (options.Out is { } directory)
{
    var charts = await report.WriteAsync(directory);
    Console.WriteLine($"Wrote {Path.Combine(directory, "results.md")}, results.json and {charts.Count} charts (PNG) in {total.Elapsed.TotalSeconds:0} s.");
}
var failed = report.Scenarios.Count(s => s.Status == "failed");
if (failed > 0)
{
    await Console.Error.WriteLineAsync($"bench: {failed} scenario{(failed == 1 ? "" : "s")} failed: {string.Join(", ", report.Scenarios.Where(s => s.Status == "failed").Select(s => s.Name))}");
    return 1;
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
            case "--hub-env":
                var setting = Value(++i);
                var equals = setting.IndexOf('=', StringComparison.Ordinal);
                if (equals < 1)
                {
                    throw new BenchSetupException($"--hub-env is '{setting}'; give NAME=VALUE (e.g. DOTNET_TieredPGO=0), once per variable");
                }
                options.HubEnvironment[setting[..equals]] = setting[(equals + 1)..];
                break;
            case "--subscribers":
                var counts = Value(++i).Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
                options.Subscribers = [.. counts.Select(c => int.TryParse(c, NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n is >= 1 and <= 5000
                    ? n
                    : throw new BenchSetupException($"--subscribers has '{c}'; use whole numbers from 1 to 5,000 (each is a socket in the server and one here)"))];
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
        options.Runs = 1;
    }
    return (options, chosen.Count > 0 ? chosen : [.. all]);
}
