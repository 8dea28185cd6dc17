using System.Diagnostics;
using System.Reflection;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.RegularExpressions;

namespace Switchboard.EndToEnd.Tests;

/// <summary>
/// The real <c>switchboard</c> program in a child process: started on a free loopback port, stopped by PID
/// (SIGTERM for a graceful stop, SIGKILL for a crash), its output kept for assertions.
/// </summary>
internal sealed partial class HubProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _output = new();
    private readonly TaskCompletionSource<Uri> _listening = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private TaskCompletionSource _lineArrived = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private HubProcess(Process process)
    {
        _process = process;
    }

    public static string CliPath { get; } = Path.GetFullPath(typeof(HubProcess).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().Single(a => a.Key == "SwitchboardCli").Value!);

    public Uri Address => _listening.Task.IsCompletedSuccessfully ? _listening.Task.Result : throw new InvalidOperationException("The hub is not listening.");
    public int Pid => _process.Id;

    /// <summary>Completes with the first address the hub reports listening on.</summary>
    public Task<Uri> Listening => _listening.Task;
    public string Output { get { lock (_output) { return _output.ToString(); } } }
    public bool HasExited => _process.HasExited;
    public int ExitCode => _process.ExitCode;

    /// <summary>Starts <c>switchboard serve</c> with the given options on 127.0.0.1 with a free port.</summary>
    public static Task<HubProcess> StartAsync(params string[] serveArguments) => StartAsync(null, serveArguments);

    /// <summary>Starts <c>switchboard serve</c> with extra environment variables.</summary>
    public static Task<HubProcess> StartAsync(IReadOnlyDictionary<string, string>? environment, params string[] serveArguments)
        => StartAsync(Launch(["serve", "--urls", "http://127.0.0.1:0", .. serveArguments], environment: environment));

    /// <summary>
    /// Starts <c>switchboard serve</c> with its open-file limit (soft and hard) set to <paramref name="openFiles"/>, as
    /// <c>ulimit -n</c> or systemd's <c>LimitNOFILE=</c> would (through util-linux's <c>prlimit</c>, which execs the program: same PID).
    /// </summary>
    public static Task<HubProcess> StartWithOpenFileLimitAsync(int openFiles, params string[] serveArguments)
        => StartAsync(Launch(["serve", "--urls", "http://127.0.0.1:0", .. serveArguments], openFiles: openFiles));

    private static async Task<HubProcess> StartAsync(HubProcess hub)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var exited = hub._process.WaitForExitAsync(timeout.Token);
        var first = await Task.WhenAny(hub._listening.Task, exited);
        if (first != hub._listening.Task)
        {
            throw new InvalidOperationException($"switchboard serve did not start listening (exit code {(hub._process.HasExited ? hub._process.ExitCode : -1)}):\n{hub.Output}");
        }
        await hub.WaitReadyAsync(timeout.Token);
        return hub;
    }

    /// <summary>Runs a command that ends by itself (no standard input), and returns its exit code and output.</summary>
    public static async Task<(int ExitCode, string Output)> RunAsync(TimeSpan timeout, params string[] arguments)
    {
        await using var process = Launch(arguments);
        process.StandardInput.Close();
        var code = await process.WaitForExitAsync(timeout);
        return (code, process.Output);
    }

    /// <summary>Starts the program with arbitrary arguments (for commands that are expected to end by themselves).</summary>
    public static HubProcess Launch(IEnumerable<string> arguments, string? workingDirectory = null, IReadOnlyDictionary<string, string>? environment = null, int? openFiles = null)
    {
        var info = new ProcessStartInfo(openFiles is null ? "dotnet" : "prlimit")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
            WorkingDirectory = workingDirectory ?? Path.GetTempPath(),
        };
        if (openFiles is { } limit)
        {
            info.ArgumentList.Add($"--nofile={limit}:{limit}");
            info.ArgumentList.Add("--");
            info.ArgumentList.Add("dotnet");
        }
        info.ArgumentList.Add(CliPath);
        foreach (var argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }
        info.Environment["DOTNET_NOLOGO"] = "1";
        foreach (var (name, value) in environment ?? new Dictionary<string, string>())
        {
            info.Environment[name] = value;
        }
        var process = new Process { StartInfo = info, EnableRaisingEvents = true };
        var hub = new HubProcess(process);
        process.OutputDataReceived += (_, e) => hub.OnLine(e.Data);
        process.ErrorDataReceived += (_, e) => hub.OnLine(e.Data);
        if (!process.Start())
        {
            throw new InvalidOperationException("Could not start dotnet " + CliPath);
        }
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return hub;
    }

    public StreamWriter StandardInput => _process.StandardInput;

    private void OnLine(string? line)
    {
        if (line is null)
        {
            return;
        }
        TaskCompletionSource arrived;
        lock (_output)
        {
            _output.AppendLine(line);
            arrived = _lineArrived;
            _lineArrived = new(TaskCreationOptions.RunContinuationsAsynchronously);
        }
        arrived.TrySetResult();
        var match = ListeningLine().Match(line);
        if (match.Success)
        {
            _listening.TrySetResult(new Uri(match.Groups[1].Value));
        }
    }

    /// <summary>The first output line (already written or still to come) that <paramref name="match"/> accepts.</summary>
    public async Task<string> LineAsync(Func<string, bool> match, TimeSpan timeout)
    {
        string? found = null;
        await WaitForOutputAsync(output => (found = output.Split('\n').Select(l => l.TrimEnd('\r')).FirstOrDefault(match)) is not null, timeout);
        return found!;
    }

    private async Task WaitReadyAsync(CancellationToken cancellationToken)
    {
        using var http = new HttpClient { BaseAddress = Address };
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            try
            {
                using var response = await http.GetAsync("/readyz", cancellationToken);
                if (response.IsSuccessStatusCode)
                {
                    return;
                }
            }
            catch (HttpRequestException) when (!_process.HasExited)
            {
            }
            if (_process.HasExited)
            {
                throw new InvalidOperationException($"switchboard exited while starting ({_process.ExitCode}):\n{Output}");
            }
            // Readiness is a state to poll; 20 ms between polls keeps startup waits short without spinning.
            await Task.Delay(20, cancellationToken);
        }
    }

    /// <summary>Waits until the output (stdout and stderr, line by line) satisfies <paramref name="condition"/>; re-checked on each new line.</summary>
    public async Task WaitForOutputAsync(Func<string, bool> condition, TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        while (true)
        {
            Task arrived;
            string output;
            lock (_output)
            {
                output = _output.ToString();
                arrived = _lineArrived.Task;
            }
            if (condition(output))
            {
                return;
            }
            try
            {
                await arrived.WaitAsync(cts.Token);
            }
            catch (OperationCanceledException)
            {
                throw new TimeoutException($"the output did not show what was awaited within {timeout.TotalSeconds} s (exited: {_process.HasExited}):\n{Output}");
            }
        }
    }

    /// <summary>SIGKILL: the process dies at once, as in a crash or a power cut (as far as the process can tell).</summary>
    public async Task KillAsync()
    {
        _process.Kill(); // SIGKILL on Unix
        await _process.WaitForExitAsync();
    }

    /// <summary>SIGTERM: a graceful stop.</summary>
    public void Terminate()
    {
        if (Kill(_process.Id, 15) != 0)
        {
            throw new InvalidOperationException($"kill({_process.Id}, SIGTERM) failed: errno {Marshal.GetLastPInvokeError()}");
        }
    }

    public async Task<int> WaitForExitAsync(TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        await _process.WaitForExitAsync(cts.Token);
        return _process.ExitCode;
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill();
            await _process.WaitForExitAsync();
        }
        _process.Dispose();
    }

    [GeneratedRegex(@"Listening on (http://[^\s,""]+)")]
    private static partial Regex ListeningLine();

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static partial int Kill(int pid, int signal);
}
