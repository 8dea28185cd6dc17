using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using RabbitMQ.Client;
using Switchboard.Bench.Harness;

namespace Switchboard.Bench.Peers;

/// <summary>
/// A RabbitMQ node of the bench's own, from Debian's <c>rabbitmq-server</c> package (never the system service): its
/// own epmd on a free port, AMQP and distribution on free ports of 127.0.0.1, node name, data, logs, config and
/// Erlang cookie in a temp folder, no plugins (management off). Stopped with <c>rabbitmqctl stop</c>, then by PID if
/// it does not go; the epmd it started is stopped by PID. Nothing else on the machine is touched.
/// </summary>
public sealed class RabbitMqServer : IAsyncDisposable
{
    private const string Scripts = "/usr/lib/rabbitmq/bin";
    private readonly TempDirectory _folder;
    private readonly Dictionary<string, string> _environment;
    private readonly StringBuilder _output = new();
    private Process? _epmd;
    private Process? _server;

    private RabbitMqServer(TempDirectory folder, string node, int port, Dictionary<string, string> environment)
    {
        _folder = folder;
        Node = node;
        Port = port;
        _environment = environment;
    }

    public string Node { get; }
    public int Port { get; }

    /// <summary>The server's version as it announces itself on a connection (e.g. "3.10.8").</summary>
    public string Version { get; private set; } = "?";

    /// <summary>Its Erlang/OTP (e.g. "Erlang/OTP 25.2.3").</summary>
    public string Platform { get; private set; } = "?";

    /// <summary>The AMQP client's settings for this node: guest on loopback, no automatic recovery (a failure is reported, not hidden).</summary>
    public ConnectionFactory Factory(string clientName) => new()
    {
        HostName = "127.0.0.1",
        Port = Port,
        UserName = "guest",
        Password = "guest",
        ClientProvidedName = clientName,
        AutomaticRecoveryEnabled = false,
        TopologyRecoveryEnabled = false,
        RequestedHeartbeat = TimeSpan.Zero,
    };

    /// <summary>Whether Debian's rabbitmq-server is installed (the queue scenario skips RabbitMQ if not).</summary>
    public static bool Installed => File.Exists(Path.Combine(Scripts, "rabbitmq-server")) && File.Exists(Path.Combine(Scripts, "rabbitmqctl"));

    public const string Missing = "rabbitmq-server is not installed (bench/install-peers.sh, or apt-get install rabbitmq-server as root; the bench never uses the system service)";

    public static async Task<RabbitMqServer> StartAsync()
    {
        var launcher = Path.Combine(Scripts, "rabbitmq-server");
        if (!File.Exists(launcher) || !File.Exists(Path.Combine(Scripts, "rabbitmqctl")))
        {
            throw new BenchSetupException(
                $"RabbitMQ is not installed ({launcher} is missing), and the queue scenario measures against it. Install Debian's package as root: "
                + "apt-get update && apt-get install -y rabbitmq-server (the system service is not used: the bench starts and stops a node of its own).");
        }
        var epmd = new[] { "/usr/bin/epmd", "/usr/lib/erlang/bin/epmd" }.FirstOrDefault(File.Exists)
            ?? throw new BenchSetupException("epmd (Erlang's port mapper, from erlang-base) is missing: reinstall rabbitmq-server (apt-get install -y rabbitmq-server).");

        var folder = new TempDirectory();
        var node = "bench-" + Guid.NewGuid().ToString("N")[..8] + "@localhost";
        var (amqp, distribution, mapper) = FreePorts();
        await File.WriteAllTextAsync(Path.Combine(folder.Path, "rabbitmq.conf"), """
            log.console = false
            log.file.level = warning
            """);
        await File.WriteAllTextAsync(Path.Combine(folder.Path, "enabled_plugins"), "[].");
        await File.WriteAllTextAsync(Path.Combine(folder.Path, "rabbitmq-env.conf"), "");
        var environment = new Dictionary<string, string>
        {
            ["HOME"] = folder.Path, // the Erlang cookie, shared by the node and rabbitmqctl
            ["ERL_EPMD_PORT"] = mapper.ToString(CultureInfo.InvariantCulture),
            ["ERL_EPMD_ADDRESS"] = "127.0.0.1",
            ["RABBITMQ_NODENAME"] = node,
            ["RABBITMQ_NODE_IP_ADDRESS"] = "127.0.0.1",
            ["RABBITMQ_NODE_PORT"] = amqp.ToString(CultureInfo.InvariantCulture),
            ["RABBITMQ_DIST_PORT"] = distribution.ToString(CultureInfo.InvariantCulture),
            ["RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS"] = "-kernel inet_dist_use_interface {127,0,0,1}",
            ["RABBITMQ_MNESIA_BASE"] = Path.Combine(folder.Path, "mnesia"),
            ["RABBITMQ_LOG_BASE"] = Path.Combine(folder.Path, "log"),
            ["RABBITMQ_CONFIG_FILE"] = Path.Combine(folder.Path, "rabbitmq.conf"),
            ["RABBITMQ_ADVANCED_CONFIG_FILE"] = Path.Combine(folder.Path, "advanced.config"), // absent: none
            ["RABBITMQ_CONF_ENV_FILE"] = Path.Combine(folder.Path, "rabbitmq-env.conf"), // empty: /etc/rabbitmq's is not read
            ["RABBITMQ_ENABLED_PLUGINS_FILE"] = Path.Combine(folder.Path, "enabled_plugins"), // none: management off
            ["RABBITMQ_PID_FILE"] = Path.Combine(folder.Path, "rabbitmq.pid"),
        };
        var server = new RabbitMqServer(folder, node, amqp, environment);
        try
        {
            await server.StartProcessesAsync(launcher, epmd, mapper);
            return server;
        }
        catch
        {
            await server.DisposeAsync();
            throw;
        }
    }

    private async Task StartProcessesAsync(string launcher, string epmd, int mapper)
    {
        // An epmd of our own on a free port (ERL_EPMD_PORT tells the node and rabbitmqctl), so that an epmd already
        // running here is neither used nor stopped.
        _epmd = Launch(epmd, ["-port", mapper.ToString(CultureInfo.InvariantCulture), "-address", "127.0.0.1"], entireTree: false);
        var mapping = false;
        for (var i = 0; i < 100 && !(mapping = await AcceptsAsync(mapper)); i++)
        {
            if (_epmd.HasExited)
            {
                throw new BenchSetupException($"epmd -port {mapper} exited with code {_epmd.ExitCode}:\n{Output}");
            }
            await Task.Delay(50);
        }
        if (!mapping)
        {
            throw new BenchSetupException($"epmd -port {mapper} did not listen within 5 s:\n{Output}");
        }

        // The launcher script runs the Erlang VM as its child (and stops it on SIGTERM): tracked as a tree.
        _server = Launch(launcher, [], entireTree: true);

        // Ready = an AMQP connection opens (the listener starts last in the boot). Bounded: 180 x 500 ms = 90 s.
        Exception? last = null;
        for (var i = 0; i < 180; i++)
        {
            if (_server.HasExited)
            {
                throw new BenchSetupException($"rabbitmq-server exited with code {_server.ExitCode} while starting (node {Node}):\n{Output}\n{LogTail()}");
            }
            try
            {
                await using var connection = await Factory("bench readiness").CreateConnectionAsync();
                Version = Property(connection, "version");
                Platform = Property(connection, "platform");
                return;
            }
            catch (Exception ex) when (ex is RabbitMQ.Client.Exceptions.BrokerUnreachableException or IOException or SocketException)
            {
                last = ex;
                await Task.Delay(500);
            }
        }
        throw new BenchSetupException($"RabbitMQ (node {Node}, 127.0.0.1:{Port}) did not accept an AMQP connection within 90 s: {last?.Message}\n{Output}\n{LogTail()}");
    }

    private static string Property(IConnection connection, string name)
        => connection.ServerProperties?.TryGetValue(name, out var value) == true
            ? value switch { byte[] bytes => Encoding.UTF8.GetString(bytes), null => "?", _ => value.ToString() ?? "?" }
            : "?";

    private Process Launch(string file, string[] arguments, bool entireTree)
    {
        var info = new ProcessStartInfo(file)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
            WorkingDirectory = _folder.Path,
        };
        foreach (var argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }
        foreach (var (name, value) in _environment)
        {
            info.Environment[name] = value;
        }
        var process = Process.Start(info) ?? throw new BenchSetupException($"could not start {file}");
        ServerProcess.Track(process, entireTree);
        process.OutputDataReceived += (_, e) => OnLine(e.Data);
        process.ErrorDataReceived += (_, e) => OnLine(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return process;
    }

    private void OnLine(string? line)
    {
        if (line is null)
        {
            return;
        }
        lock (_output)
        {
            if (_output.Length < 64 * 1024)
            {
                _output.AppendLine(line);
            }
        }
    }

    /// <summary>What the node, epmd and rabbitmqctl printed so far.</summary>
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

    private string LogTail()
    {
        var log = Path.Combine(_folder.Path, "log", Node + ".log");
        return File.Exists(log) ? "log " + log + ":\n" + string.Join('\n', File.ReadLines(log).TakeLast(30)) : "";
    }

    /// <summary>Three distinct free ports of 127.0.0.1 (held together while chosen, so they differ).</summary>
    private static (int, int, int) FreePorts()
    {
        var listeners = Enumerable.Range(0, 3).Select(_ => new TcpListener(IPAddress.Loopback, 0)).ToArray();
        try
        {
            foreach (var listener in listeners)
            {
                listener.Start();
            }
            var ports = listeners.Select(l => ((IPEndPoint)l.LocalEndpoint).Port).ToArray();
            return (ports[0], ports[1], ports[2]);
        }
        finally
        {
            foreach (var listener in listeners)
            {
                listener.Dispose();
            }
        }
    }

    private static async Task<bool> AcceptsAsync(int port)
    {
        using var client = new TcpClient();
        try
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(1));
            await client.ConnectAsync(IPAddress.Loopback, port, timeout.Token);
            return true;
        }
        catch (Exception ex) when (ex is SocketException or OperationCanceledException)
        {
            return false;
        }
    }

    /// <summary>rabbitmqctl against this node, bounded in time (its own processes are ended by PID on a time-out).</summary>
    public async Task<(int ExitCode, string Output)> ControlAsync(TimeSpan timeout, params string[] arguments)
    {
        var info = new ProcessStartInfo(Path.Combine(Scripts, "rabbitmqctl"))
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
            WorkingDirectory = _folder.Path,
        };
        foreach (var argument in (string[])["-n", Node, .. arguments])
        {
            info.ArgumentList.Add(argument);
        }
        foreach (var (name, value) in _environment)
        {
            info.Environment[name] = value;
        }
        using var process = Process.Start(info) ?? throw new BenchSetupException("could not start rabbitmqctl");
        ServerProcess.Track(process, entireTree: true);
        try
        {
            var stdout = process.StandardOutput.ReadToEndAsync();
            var stderr = process.StandardError.ReadToEndAsync();
            using var limit = new CancellationTokenSource(timeout);
            try
            {
                await process.WaitForExitAsync(limit.Token);
            }
            catch (OperationCanceledException)
            {
                process.Kill(entireProcessTree: true);
                await process.WaitForExitAsync();
                return (-1, $"rabbitmqctl {string.Join(' ', arguments)} did not finish within {timeout.TotalSeconds:N0} s");
            }
            return (process.ExitCode, (await stdout) + (await stderr));
        }
        finally
        {
            ServerProcess.Forget(process);
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_server is { HasExited: false } server)
        {
            // The orderly stop; then SIGTERM to the launcher (which stops the VM); then SIGKILL to the tree.
            var (code, text) = await ControlAsync(TimeSpan.FromSeconds(60), "stop");
            if (!await ExitsAsync(server, TimeSpan.FromSeconds(30)))
            {
                Console.Error.WriteLine($"   (rabbitmqctl stop answered {code}: {text.Trim()}; stopping PID {server.Id})");
                server.Kill(entireProcessTree: true);
                await ExitsAsync(server, TimeSpan.FromSeconds(30));
            }
        }
        foreach (var process in new[] { _server, _epmd })
        {
            if (process is null)
            {
                continue;
            }
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: false);
                await ExitsAsync(process, TimeSpan.FromSeconds(10));
            }
            ServerProcess.Forget(process);
            process.Dispose();
        }
        _folder.Dispose();
    }

    private static async Task<bool> ExitsAsync(Process process, TimeSpan timeout)
    {
        using var limit = new CancellationTokenSource(timeout);
        try
        {
            await process.WaitForExitAsync(limit.Token);
            return true;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }
}
