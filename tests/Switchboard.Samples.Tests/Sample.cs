using System.ComponentModel;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Reflection;
using System.Text;

namespace Switchboard.Samples.Tests;

/// <summary>
/// One sample program in a child process, started the way its README says from the repository root (node for the
/// JavaScript samples, dotnet with the built assembly for the .NET ones), with SWITCHBOARD_SERVER set (the name the
/// samples share with the switchboard command line) and no other hub settings inherited. Its lines are kept
/// for assertions and can be awaited; on dispose it is killed (with its own children) if it is still running.
/// </summary>
internal sealed class Sample : IAsyncDisposable
{
    /// <summary>The longest any single wait in these tests may take: generous for a loaded two-core machine running
    /// other test projects beside this one (a sample normally answers within seconds).</summary>
    public static readonly TimeSpan Patience = TimeSpan.FromSeconds(120);

    public static string Root { get; } = Path.GetFullPath(Metadata("RepositoryRoot"));

    private readonly Process _process;
    private readonly string _name;
    private readonly List<string> _stdout = [];
    private readonly List<string> _stderr = [];
    private readonly List<(Func<string, bool> Match, TaskCompletionSource<string> Found)> _waiters = [];

    private Sample(Process process, string name)
    {
        _process = process;
        _name = name;
    }

    public static string Metadata(string key) =>
        typeof(Sample).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().Single(a => a.Key == key).Value!;

    /// <summary><c>node samples/…/x.mjs args</c>, as the README says. Node and samples/node_modules must be there.</summary>
    public static Sample Node(Uri hub, string script, params string[] arguments) => Node(Server(hub), script, arguments);

    /// <summary><see cref="Node(Uri, string, string[])"/> with the hub settings given as environment variables (null: unset).</summary>
    public static Sample Node(IReadOnlyDictionary<string, string?> environment, string script, params string[] arguments)
    {
        Assert.True(Directory.Exists(Path.Combine(Root, "samples", "node_modules", "ws")),
            $"{Root}samples/node_modules is missing: run 'npm ci' in samples/ (./test.sh does).");
        return Start("node", [script, .. arguments], environment);
    }

    /// <summary>A .NET sample's built assembly (what <c>dotnet run --project samples/X</c> runs after building it).</summary>
    public static Sample Dotnet(Uri hub, string metadataKey, params string[] arguments) => Dotnet(Server(hub), metadataKey, arguments);

    /// <summary><see cref="Dotnet(Uri, string, string[])"/> with the hub settings given as environment variables (null: unset).</summary>
    public static Sample Dotnet(IReadOnlyDictionary<string, string?> environment, string metadataKey, params string[] arguments) =>
        Start("dotnet", [Path.GetFullPath(Metadata(metadataKey)), .. arguments], environment);

    /// <summary>The hub's address as the samples read it first: SWITCHBOARD_SERVER, the switchboard command line's name.</summary>
    public static Dictionary<string, string?> Server(Uri hub) => new() { ["SWITCHBOARD_SERVER"] = hub.ToString().TrimEnd('/') };

    /// <summary>Every environment variable a sample reads for its hub: unset unless <paramref name="environment"/> sets it.</summary>
    private static readonly string[] HubVariables = ["SWITCHBOARD_SERVER", "SWITCHBOARD_URL", "SWITCHBOARD_API_KEY", "SWITCHBOARD_TOKEN"];

    public static Sample Start(string program, IEnumerable<string> arguments, IReadOnlyDictionary<string, string?> environment)
    {
        var info = new ProcessStartInfo(program)
        {
            WorkingDirectory = Root,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            StandardOutputEncoding = Encoding.UTF8,
            StandardErrorEncoding = Encoding.UTF8,
        };
        foreach (var argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }
        info.Environment["DOTNET_NOLOGO"] = "1";
        foreach (var name in HubVariables)
        {
            info.Environment.Remove(name);
        }
        foreach (var (name, value) in environment)
        {
            if (value is null)
            {
                info.Environment.Remove(name);
            }
            else
            {
                info.Environment[name] = value;
            }
        }
        var process = new Process { StartInfo = info };
        var sample = new Sample(process, $"{program} {string.Join(' ', info.ArgumentList.Select(Path.GetFileName))}");
        process.OutputDataReceived += (_, e) => sample.OnLine(e.Data, sample._stdout);
        process.ErrorDataReceived += (_, e) => sample.OnLine(e.Data, sample._stderr);
        try
        {
            process.Start();
        }
        catch (Win32Exception ex)
        {
            process.Dispose();
            throw new InvalidOperationException($"'{program}' is not on the PATH; ./test.sh installs what the samples need.", ex);
        }
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return sample;
    }

    public IReadOnlyList<string> Lines { get { lock (_waiters) { return [.. _stdout]; } } }

    public string Output { get { lock (_waiters) { return $"{_name}\n--- stdout\n{string.Join('\n', _stdout)}\n--- stderr\n{string.Join('\n', _stderr)}"; } } }

    private void OnLine(string? line, List<string> into)
    {
        if (line is null)
        {
            return;
        }
        lock (_waiters)
        {
            into.Add(line);
            if (into != _stdout)
            {
                return;
            }
            foreach (var waiter in _waiters.Where(w => w.Match(line)).ToList())
            {
                _waiters.Remove(waiter);
                waiter.Found.TrySetResult(line);
            }
        }
    }

    /// <summary>The first line of standard output (already printed or still to come) that matches; fails after <see cref="Patience"/>.</summary>
    public async Task<string> LineAsync(Func<string, bool> match, string what)
    {
        var found = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        lock (_waiters)
        {
            if (_stdout.FirstOrDefault(match) is { } line)
            {
                return line;
            }
            _waiters.Add((match, found));
        }
        var exited = _process.WaitForExitAsync();
        var first = await Task.WhenAny(found.Task, exited, Task.Delay(Patience));
        if (first == found.Task)
        {
            return await found.Task;
        }
        if (first == exited)
        {
            // The process ended; its last lines may still be on their way through the output pipe.
            _process.WaitForExit();
            lock (_waiters)
            {
                if (_stdout.FirstOrDefault(match) is { } late)
                {
                    return late;
                }
            }
        }
        throw new TimeoutException($"No line with {what} {(first == exited ? $"before it exited ({_process.ExitCode})" : $"within {Patience}")}:\n{Output}");
    }

    public Task<string> LineAsync(string contains) => LineAsync(line => line.Contains(contains, StringComparison.Ordinal), $"'{contains}'");

    public async Task WriteLineAsync(string line)
    {
        await _process.StandardInput.WriteLineAsync(line);
        await _process.StandardInput.FlushAsync();
    }

    public void CloseInput() => _process.StandardInput.Close();

    /// <summary>Waits for the program to end by itself (at most <see cref="Patience"/>) and returns its exit code.</summary>
    public async Task<int> ExitAsync()
    {
        using var timeout = new CancellationTokenSource(Patience);
        try
        {
            await _process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            throw new TimeoutException($"Still running after {Patience}:\n{Output}");
        }
        _process.WaitForExit(); // the output is read to its end
        return _process.ExitCode;
    }

    /// <summary>Waits for the end and asserts the exit code, showing everything the program said when it differs.</summary>
    public async Task ExitsWithAsync(int expected)
    {
        var code = await ExitAsync();
        Assert.True(code == expected, $"Exit code {code}, expected {expected}:\n{Output}");
    }

    /// <summary>Kills the program (SIGKILL, with its own children) if it is still running, and waits for it to end.</summary>
    public async Task KillAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }
    }

    public async ValueTask DisposeAsync()
    {
        await KillAsync();
        _process.Dispose();
    }

    /// <summary>A loopback address where nothing listens: a port the system gave out and that was closed again.</summary>
    public static Uri NowhereAddress()
    {
        // Bound and never listening, for as long as the tests run: a connection is refused, and no hub another test
        // project starts meanwhile can be given the port (a port only looked up and let go was, once, and answered).
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        lock (Held)
        {
            Held.Add(socket);
        }
        return new Uri($"http://127.0.0.1:{((IPEndPoint)socket.LocalEndPoint!).Port}");
    }

    private static readonly List<Socket> Held = [];
}
