using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using NATS.Client.Core;
using Switchboard.Bench.Harness;

namespace Switchboard.Bench.Peers;

/// <summary>
/// A nats-server of the bench's own (Debian's <c>nats-server</c>, never a system service): a free port on 127.0.0.1,
/// JetStream on with its store in a temp folder (file storage: written to disk, as the hub's engine is; NATS syncs
/// the store on its own interval rather than per message, so its acknowledged messages are on disk, not fsync'd),
/// stopped by PID.
/// </summary>
public sealed class NatsServer : IAsyncDisposable
{
    private readonly TempDirectory _store;
    private readonly Process _process;
    private readonly StringBuilder _output = new();

    private NatsServer(TempDirectory store, Process process, int port)
    {
        _store = store;
        _process = process;
        Port = port;
    }

    public int Port { get; }
    public int Pid => _process.Id;
    public string Url => $"nats://127.0.0.1:{Port}";

    /// <summary>nats-server's path, or null when it is not installed (the scenarios skip NATS then).</summary>
    public static string? Find() => new[] { "/usr/sbin/nats-server", "/usr/bin/nats-server", "/usr/local/bin/nats-server" }.FirstOrDefault(File.Exists);

    public const string Missing = "nats-server is not installed (bench/install-peers.sh, or apt-get install nats-server as root)";

    /// <summary>What <c>nats-server --version</c> prints (e.g. "v2.9.10").</summary>
    public static string Version()
    {
        var path = Find();
        if (path is null)
        {
            return "?";
        }
        using var process = Process.Start(new ProcessStartInfo(path, "--version") { RedirectStandardOutput = true, UseShellExecute = false })!;
        var text = process.StandardOutput.ReadToEnd().Trim();
        process.WaitForExit(5000);
        return text.Replace("nats-server: ", "", StringComparison.Ordinal);
    }

    /// <summary>The NATS.Net package version, as its assembly says.</summary>
    public static string ClientVersion() => typeof(NatsConnection).Assembly
        .GetCustomAttributes(typeof(System.Reflection.AssemblyInformationalVersionAttribute), false)
        .OfType<System.Reflection.AssemblyInformationalVersionAttribute>().FirstOrDefault()?.InformationalVersion.Split('+')[0].Trim() ?? "?";

    public static async Task<NatsServer> StartAsync()
    {
        var path = Find() ?? throw new BenchSetupException(Missing);
        var store = new TempDirectory();
        int port;
        using (var listener = new TcpListener(IPAddress.Loopback, 0))
        {
            listener.Start();
            port = ((IPEndPoint)listener.LocalEndpoint).Port;
        }
        var info = new ProcessStartInfo(path) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        // -js: JetStream; -sd: its store; no monitoring port, no cluster. max_pending stays at its default (64 MiB per
        // client before the server cuts a slow consumer), as a user would run it.
        foreach (var argument in new[] { "-a", "127.0.0.1", "-p", port.ToString(CultureInfo.InvariantCulture), "-js", "-sd", store.Path, "-n", "bench" })
        {
            info.ArgumentList.Add(argument);
        }
        var process = Process.Start(info) ?? throw new BenchSetupException("could not start nats-server");
        ServerProcess.Track(process, entireTree: false);
        var server = new NatsServer(store, process, port);
        process.OutputDataReceived += (_, e) => server.OnLine(e.Data);
        process.ErrorDataReceived += (_, e) => server.OnLine(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        // Bounded: 400 x 50 ms = 20 s to accept connections.
        for (var i = 0; i < 400; i++)
        {
            if (process.HasExited)
            {
                await server.DisposeAsync();
                throw new BenchSetupException($"nats-server exited with code {process.ExitCode}:\n{server.Output}");
            }
            if (await AcceptsAsync(port))
            {
                return server;
            }
            await Task.Delay(50);
        }
        await server.DisposeAsync();
        throw new BenchSetupException($"nats-server did not accept connections on 127.0.0.1:{port} within 20 s:\n{server.Output}");
    }

    /// <summary>A client connection with the bench's settings: no reconnects (a failure is reported, not hidden).</summary>
    public NatsConnection Connect(string name) => new(new NatsOpts
    {
        Url = Url,
        Name = name,
        MaxReconnectRetry = 0,
        // A subscriber's queue of messages not yet handled: wait rather than drop, so a subscriber that falls behind
        // slows its socket (and the server, past max_pending, cuts it) instead of losing messages silently.
        SubPendingChannelCapacity = 64 * 1024,
        SubPendingChannelFullMode = System.Threading.Channels.BoundedChannelFullMode.Wait,
    });

    private string Output
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
        lock (_output)
        {
            if (line is not null && _output.Length < 16 * 1024)
            {
                _output.AppendLine(line);
            }
        }
    }

    private static async Task<bool> AcceptsAsync(int port)
    {
        try
        {
            using var client = new TcpClient();
            await client.ConnectAsync(IPAddress.Loopback, port);
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: false);
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            await _process.WaitForExitAsync(timeout.Token);
        }
        ServerProcess.Forget(_process);
        _process.Dispose();
        _store.Dispose();
    }
}
