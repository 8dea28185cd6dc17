using System.Diagnostics;
using System.Globalization;
using System.Reflection;
using System.Text;
using System.Text.RegularExpressions;

namespace Switchboard.Bench.Harness;

/// <summary>A server under test in its own process on 127.0.0.1 (a free port), stopped by its PID.</summary>
public sealed partial class ServerProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _output = new();
    private readonly TaskCompletionSource<Uri> _listening = new(TaskCreationOptions.RunContinuationsAsynchronously);

    // Every server this program started and has not stopped yet, so that Ctrl+C or a crash of the harness stops
    // them too (by their PIDs; nothing else is ever killed). The value: stop its child processes too (a launcher
    // script whose server runs as its child, e.g. rabbitmq-server).
    private static readonly Dictionary<Process, bool> Live = [];

    private ServerProcess(Process process) => _process = process;

    /// <summary>Stops every server still running that this program started (on exit, Ctrl+C or an unhandled error).</summary>
    public static void StopAllStarted()
    {
        KeyValuePair<Process, bool>[] running;
        lock (Live)
        {
            running = [.. Live];
            Live.Clear();
        }
        foreach (var (process, entireTree) in running)
        {
            try
            {
                if (!process.HasExited)
                {
                    process.Kill(entireProcessTree: entireTree);
                    process.WaitForExit(5000);
                }
            }
            catch (InvalidOperationException)
            {
                // it exited meanwhile
            }
        }
    }

    /// <summary>
    /// A process started by a peer's own launcher (not by this class): stopped with the others if the harness ends
    /// early. <paramref name="entireTree"/>: its child processes too. <see cref="Forget"/> it once stopped.
    /// </summary>
    public static void Track(Process process, bool entireTree)
    {
        lock (Live)
        {
            Live[process] = entireTree;
        }
    }

    public static void Forget(Process process)
    {
        lock (Live)
        {
            Live.Remove(process);
        }
    }

    public Uri Address => _listening.Task.Result;
    public int Pid => _process.Id;

    public static string HubDll
    {
        get
        {
            var path = Path.GetFullPath(typeof(ServerProcess).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().Single(a => a.Key == "SwitchboardCli").Value!);
            return File.Exists(path) ? path : throw new BenchSetupException(
                $"The hub is not built: {path} is missing. Build it first (dotnet build -c Release Switchboard.slnx), or run the bench as "
                + "'dotnet run -c Release --project bench/Switchboard.Bench', which builds it alongside.");
        }
    }

    /// <summary><c>switchboard serve</c> with the given options.</summary>
    public static Task<ServerProcess> StartHubAsync(params string[] options) => StartHubAsync(null, options);

    /// <summary>
    /// Environment variables for every hub this program starts (<c>--hub-env</c>); a scenario's own variables for a hub
    /// (what that scenario measures) take precedence over them.
    /// </summary>
    public static IReadOnlyDictionary<string, string> HubEnvironment { get; set; } = new Dictionary<string, string>();

    /// <summary><c>switchboard serve</c> with extra environment variables (e.g. GC settings).</summary>
    public static Task<ServerProcess> StartHubAsync(IReadOnlyDictionary<string, string>? environment, params string[] options)
    {
        var merged = new Dictionary<string, string>(HubEnvironment, StringComparer.Ordinal);
        foreach (var (name, value) in environment ?? new Dictionary<string, string>())
        {
            merged[name] = value;
        }
        return StartAsync(HubDll, ["serve", "--urls", "http://127.0.0.1:0", .. options], readiness: "/readyz", merged);
    }

    /// <summary>This program in one of its server modes (a peer: bare ASP.NET, SignalR).</summary>
    public static Task<ServerProcess> StartPeerAsync(string mode, IReadOnlyDictionary<string, string>? environment = null)
        => StartAsync(typeof(ServerProcess).Assembly.Location, [mode, "--urls", "http://127.0.0.1:0"], readiness: null, environment);

    private static async Task<ServerProcess> StartAsync(string dll, string[] arguments, string? readiness, IReadOnlyDictionary<string, string>? environment)
    {
        var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        info.ArgumentList.Add(dll);
        foreach (var argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }
        info.Environment["DOTNET_NOLOGO"] = "1";
        info.Environment["Logging__LogLevel__Default"] = "Warning";
        info.Environment["Logging__LogLevel__Switchboard.Server.HubLifetime"] = "Information"; // the "Listening on" line
        info.Environment["DOTNET_gcServer"] = "1";
        foreach (var (name, value) in environment ?? new Dictionary<string, string>())
        {
            info.Environment[name] = value;
        }
        var process = Process.Start(info) ?? throw new BenchSetupException("could not start 'dotnet'");
        Track(process, entireTree: false);
        var server = new ServerProcess(process);
        process.OutputDataReceived += (_, e) => server.OnLine(e.Data);
        process.ErrorDataReceived += (_, e) => server.OnLine(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        var first = await Task.WhenAny(server._listening.Task, process.WaitForExitAsync(), Task.Delay(TimeSpan.FromSeconds(60)));
        if (first != server._listening.Task)
        {
            var why = process.HasExited ? $"exited with code {process.ExitCode} before printing \"Listening on http://…\"" : "did not print \"Listening on http://…\" within 60 s";
            await server.DisposeAsync();
            throw new BenchSetupException($"'dotnet {Path.GetFileName(dll)} {string.Join(' ', arguments)}' {why}:\n{server.Output}");
        }
        if (readiness is not null)
        {
            // Bounded: 600 x 50 ms = 30 s for the hub to open its store and answer /readyz with 200.
            using var http = new HttpClient { BaseAddress = server.Address };
            var ready = false;
            for (var i = 0; i < 600 && !(ready = (await http.GetAsync(readiness)).IsSuccessStatusCode); i++)
            {
                await Task.Delay(50);
            }
            if (!ready)
            {
                await server.DisposeAsync();
                throw new BenchSetupException($"{server.Address}{readiness.TrimStart('/')} did not answer 200 within 30 s:\n{server.Output}");
            }
        }
        return server;
    }

    /// <summary>What the server printed so far (stdout and stderr).</summary>
    public string Output
    {
        get
        {
            lock (_output)
            {
                return _output.ToString();
            }
        }
    }

    private void OnLine(string? line)
    {
        if (line is null)
        {
            return;
        }
        lock (_output)
        {
            // Kept for error reports; bounded so that a chatty server cannot grow the harness without limit.
            if (_output.Length < 64 * 1024)
            {
                _output.AppendLine(line);
            }
        }
        var match = ListeningLine().Match(line);
        if (match.Success)
        {
            _listening.TrySetResult(new Uri(match.Groups[1].Value));
        }
    }

    /// <summary>CPU time the process has used (user + system), from /proc.</summary>
    public TimeSpan CpuTime() => CpuTimeOf(Pid);

    /// <summary>CPU time a process has used (user + system), from /proc: for servers that are not .NET programs too (nats-server, redis-server).</summary>
    public static TimeSpan CpuTimeOf(int pid)
        => FromTicks(StatTicks($"/proc/{pid}/stat"));

    // user + system clock ticks of a /proc stat file (a process's or one thread's); the name field may hold spaces.
    private static long StatTicks(string path)
    {
        var stat = File.ReadAllText(path);
        var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        return long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture);
    }

    private static TimeSpan FromTicks(long ticks) => TimeSpan.FromSeconds(ticks / 100.0); // USER_HZ is 100 on Linux

    /// <summary>
    /// CPU time of a .NET process's tiered-compilation worker threads (".NET Tiered Com"), from /proc: it grows while
    /// the JIT is still recompiling hot code, and is zero for programs that are not .NET (nats-server, redis-server).
    /// A worker that has exited takes its time with it, so compare two readings, not totals.
    /// </summary>
    public static TimeSpan JitTimeOf(int pid)
    {
        long ticks = 0;
        try
        {
            foreach (var task in Directory.EnumerateDirectories($"/proc/{pid}/task"))
            {
                try
                {
                    if (File.ReadAllText(Path.Combine(task, "comm")).TrimEnd('\n') != ".NET Tiered Com")
                    {
                        continue;
                    }
                    ticks += StatTicks(Path.Combine(task, "stat"));
                }
                catch (IOException)
                {
                    // the thread ended while being read
                }
            }
        }
        catch (IOException)
        {
            // the process ended
        }
        return FromTicks(ticks);
    }

    /// <summary>
    /// Bytes sent over the loopback interface so far (all processes; TCP/IP headers included), from /proc/net/dev:
    /// what "bytes on the wire" means when everything runs on 127.0.0.1.
    /// </summary>
    public static long LoopbackBytes()
    {
        foreach (var line in File.ReadLines("/proc/net/dev"))
        {
            var trimmed = line.TrimStart();
            if (trimmed.StartsWith("lo:", StringComparison.Ordinal))
            {
                var fields = trimmed[3..].Split(' ', StringSplitOptions.RemoveEmptyEntries);
                return long.Parse(fields[8], CultureInfo.InvariantCulture); // transmit bytes
            }
        }
        return 0;
    }

    /// <summary>Resident memory of the process, from /proc.</summary>
    public long ResidentBytes() => ResidentBytesOf(Pid);

    /// <summary>Resident memory of a process, from /proc.</summary>
    public static long ResidentBytesOf(int pid)
    {
        foreach (var line in File.ReadLines($"/proc/{pid}/status"))
        {
            if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
            {
                return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) * 1024;
            }
        }
        return 0;
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: false);
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            await _process.WaitForExitAsync(timeout.Token);
        }
        Forget(_process);
        _process.Dispose();
    }

    [GeneratedRegex(@"Listening on (http://[^\s,]+)")]
    private static partial Regex ListeningLine();
}
