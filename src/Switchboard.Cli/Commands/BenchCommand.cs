using System.CommandLine;
using System.Diagnostics;
using System.Runtime.InteropServices;

namespace Switchboard.Cli.Commands;

/// <summary>
/// <c>switchboard bench</c>: runs the benchmark harness (bench/Switchboard.Bench in a Switchboard checkout) as a process
/// of its own, so the load it generates never shares a process with a server it measures, and this command carries
/// none of its dependencies (peers' clients, charts). It builds the harness in Release first unless told not to.
/// </summary>
internal static class BenchCommand
{
    private const string Project = "bench/Switchboard.Bench/Switchboard.Bench.csproj";

    /// <summary>Where the harness is built to, per configuration (Release unless told otherwise).</summary>
    private static string Dll(string configuration) => $"bench/Switchboard.Bench/bin/{configuration}/net10.0/Switchboard.Bench.dll";

    public static Command Create()
    {
        var scenarios = new Argument<string[]>("scenario")
        {
            Description = "Scenarios to run (default: all): engine, rest-publish, rest-get, grpc, queue, reqreply, longpoll, realtime, fanout, idle, scaleout, client. 'switchboard bench --list' describes them.",
            Arity = ArgumentArity.ZeroOrMore,
        };
        var quick = new Option<bool>("--quick") { Description = "Short runs and small counts, 1 run per figure: checks that everything works (what ./test.sh runs); its figures are not for quoting." };
        var runs = new Option<int?>("--runs") { Description = "Runs per figure (default 5, quick 1); the report gives min / median / max." };
        var output = new Option<DirectoryInfo?>("--out") { Description = "Write results.json, results.md and PNG charts into this folder." };
        var only = new Option<string?>("--only") { Description = "Only these, comma-separated: fan-out transports (e.g. ws-json,nats), queue systems (hub-ws,rabbitmq), request/reply contenders (ws-memory,nats); --list names them all." };
        var subscribers = new Option<string?>("--subscribers") { Description = "Fan-out: these subscriber counts, comma-separated (default 1,100,1000)." };
        var hubEnvironment = new Option<string[]>("--hub-env")
        {
            Description = "NAME=VALUE: an environment variable for every hub the bench starts, and only for them (repeatable), to measure a runtime or Switchboard__… setting against the default with the peers unchanged.",
            AllowMultipleArgumentsPerToken = false,
        };
        var list = new Option<bool>("--list") { Description = "Describe the scenarios and the harness's options, and stop." };
        var noBuild = new Option<bool>("--no-build") { Description = $"Do not build the harness first: run {Dll("Release")} as it is." };
        var configuration = new Option<string>("--configuration", "-c")
        {
            Description = "The build configuration of the harness (and of the hub it starts): Release unless for a reason.",
            DefaultValueFactory = _ => "Release",
        };
        var source = new Option<DirectoryInfo?>("--source")
        {
            Description = "The Switchboard checkout that holds bench/ (default: SWITCHBOARD_SOURCE, else the first folder upward from here, or from this program, that holds it).",
        };
        var command = new Command("bench", """
            Measure Switchboard on this machine next to the systems users would pick instead (SignalR, NATS, Redis,
            RabbitMQ, bare ASP.NET and grpc-dotnet): every server in its own process on 127.0.0.1, bounded runs, the
            load from a separate process. Writes JSON, Markdown and PNG charts with --out. Needs a Switchboard checkout
            (the harness lives in bench/) and the .NET SDK; peers that are not installed are skipped and named in the
            report (bench/install-peers.sh installs them from Debian's packages).
            """)
        {
            scenarios, quick, runs, output, only, subscribers, hubEnvironment, list, noBuild, configuration, source,
        };
        command.SetAction((parse, cancellationToken) => Cli.RunAsync(async () =>
        {
            var root = FindCheckout(parse.GetValue(source));
            var arguments = new List<string>(parse.GetValue(scenarios) ?? []);
            if (parse.GetValue(list))
            {
                arguments.Add("--help");
            }
            if (parse.GetValue(quick))
            {
                arguments.Add("--quick");
            }
            if (parse.GetValue(runs) is { } n)
            {
                arguments.AddRange(["--runs", n.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
            }
            if (parse.GetValue(output) is { } folder)
            {
                arguments.AddRange(["--out", folder.FullName]);
            }
            if (parse.GetValue(only) is { } transports)
            {
                arguments.AddRange(["--only", transports]);
            }
            if (parse.GetValue(subscribers) is { } counts)
            {
                arguments.AddRange(["--subscribers", counts]);
            }
            foreach (var setting in parse.GetValue(hubEnvironment) ?? [])
            {
                arguments.AddRange(["--hub-env", setting]);
            }
            var config = parse.GetValue(configuration)!;
            if (!parse.GetValue(noBuild))
            {
                Console.Error.WriteLine($"building the harness: dotnet build -c {config} {Project}");
                var built = await RunAsync(root, ["build", "-c", config, Path.Combine(root, Project), "--nologo", "-v", "quiet"], cancellationToken);
                if (built != 0)
                {
                    throw new CliException($"building {Project} failed (exit code {built}); see the messages above.", built);
                }
            }
            var dll = Path.Combine(root, Dll(config));
            if (!File.Exists(dll))
            {
                throw new CliException($"{dll} is missing: build it (dotnet build -c {config} {Project}) or run without --no-build.", 2);
            }
            return await RunAsync(root, [dll, .. arguments], cancellationToken);
        }));
        return command;
    }

    /// <summary>The checkout holding the harness: the option, SWITCHBOARD_SOURCE, or upward from the working folder, then from this program.</summary>
    private static string FindCheckout(DirectoryInfo? given)
    {
        var named = given?.FullName ?? Environment.GetEnvironmentVariable("SWITCHBOARD_SOURCE");
        if (named is { Length: > 0 })
        {
            return File.Exists(Path.Combine(named, Project))
                ? named
                : throw new CliException($"{named} holds no {Project}: give the root of a Switchboard checkout.", 2);
        }
        foreach (var start in new[] { Environment.CurrentDirectory, AppContext.BaseDirectory })
        {
            for (var folder = new DirectoryInfo(start); folder is not null; folder = folder.Parent)
            {
                if (File.Exists(Path.Combine(folder.FullName, Project)))
                {
                    return folder.FullName;
                }
            }
        }
        throw new CliException(
            $"'switchboard bench' runs the harness in {Project} of a Switchboard checkout, and none was found upward from {Environment.CurrentDirectory} "
            + "or from this program. Run it inside a checkout, or give one with --source DIR (or SWITCHBOARD_SOURCE).", 2);
    }

    /// <summary>
    /// Runs <c>dotnet</c> with this console (its progress shows as it comes) and returns its exit code. Ctrl+C reaches it
    /// too, and it stops its own servers; if this command is stopped otherwise (SIGTERM), it stops the harness and
    /// everything the harness started, by PID.
    /// </summary>
    private static async Task<int> RunAsync(string root, IReadOnlyList<string> arguments, CancellationToken cancellationToken)
    {
        var info = new ProcessStartInfo("dotnet") { UseShellExecute = false, WorkingDirectory = root };
        foreach (var argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }
        info.Environment["DOTNET_NOLOGO"] = "1";
        using var process = Process.Start(info) ?? throw new CliException("could not start 'dotnet' (is the .NET SDK on PATH?)", 2);
        using var terminate = PosixSignalRegistration.Create(PosixSignal.SIGTERM, _ => Stop(process));
        try
        {
            await process.WaitForExitAsync(cancellationToken);
        }
        catch (OperationCanceledException)
        {
            Stop(process);
            throw;
        }
        return process.ExitCode;
    }

    private static void Stop(Process process)
    {
        try
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
            }
        }
        catch (InvalidOperationException)
        {
            // it exited meanwhile
        }
    }
}
