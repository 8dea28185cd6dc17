using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace Switchboard.Testing;

/// <summary>
/// A real <c>redis-server</c> on a free loopback port, in its own temporary directory, started and stopped by the
/// test that owns it (by PID). Fails loudly when <c>redis-server</c> is not installed (<c>./test.sh</c> installs it).
/// </summary>
public sealed class RedisServer : IAsyncDisposable
{
    private readonly string _directory = Path.Combine(Path.GetTempPath(), "switchboard-redis-" + Guid.NewGuid().ToString("N")[..12]);
    private readonly string _appendFsync;
    private Process? _process;

    private RedisServer(int port, string appendFsync)
    {
        Port = port;
        _appendFsync = appendFsync;
        Directory.CreateDirectory(_directory);
    }

    /// <summary>The port it listens on (127.0.0.1 only); the same across <see cref="RestartAsync"/>.</summary>
    public int Port { get; }

    /// <summary>The StackExchange.Redis configuration string for it.</summary>
    public string Configuration => $"127.0.0.1:{Port}";

    /// <summary>The server's process id while it runs (the bench reads its CPU time and memory from /proc).</summary>
    public int? Pid => _process is { HasExited: false } process ? process.Id : null;

    /// <summary>Whether the server process is running.</summary>
    public bool IsRunning => _process is { HasExited: false };

    /// <summary>Starts a server with an append-only file (fsync per <paramref name="appendFsync"/>) and waits until it accepts connections.</summary>
    public static async Task<RedisServer> StartAsync(string appendFsync = "everysec")
    {
        var server = new RedisServer(FreePort(), appendFsync);
        await server.LaunchAsync();
        return server;
    }

    /// <summary>A server on a reserved free port that is not started yet (start it with <see cref="RestartAsync"/>).</summary>
    public static RedisServer Unstarted(string appendFsync = "everysec") => new(FreePort(), appendFsync);

    /// <summary>Kills the server with SIGKILL (what a crash looks like to the nodes).</summary>
    public async Task KillAsync()
    {
        if (_process is { HasExited: false } process)
        {
            process.Kill();
            await process.WaitForExitAsync();
        }
    }

    /// <summary>Starts the server (again) on the same port and data directory.</summary>
    public Task RestartAsync() => LaunchAsync();

    private async Task LaunchAsync()
    {
        var path = FindExecutable() ?? throw new InvalidOperationException(
            "redis-server is not installed: these tests need a real Redis. Run ./test.sh (it installs Debian's redis-server) or apt-get install redis-server.");
        var info = new ProcessStartInfo(path)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = _directory,
        };
        foreach (var arg in new[]
        {
            "--port", Port.ToString(System.Globalization.CultureInfo.InvariantCulture), "--bind", "127.0.0.1",
            "--dir", _directory, "--save", "", "--appendonly", "yes", "--appendfsync", _appendFsync,
            "--protected-mode", "yes", "--daemonize", "no", "--loglevel", "warning",
        })
        {
            info.ArgumentList.Add(arg);
        }
        var process = Process.Start(info) ?? throw new InvalidOperationException("could not start redis-server");
        _process = process;
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();

        // Ready when it answers PING; a server that exits (port taken, bad flag) fails the test with its exit code.
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (DateTime.UtcNow < deadline)
        {
            if (process.HasExited)
            {
                throw new InvalidOperationException($"redis-server exited with code {process.ExitCode} on port {Port}");
            }
            if (await PingAsync())
            {
                return;
            }
            await Task.Delay(25);
        }
        throw new TimeoutException($"redis-server did not answer PING on port {Port} within 20 s");
    }

    private async Task<bool> PingAsync()
    {
        try
        {
            using var client = new TcpClient();
            await client.ConnectAsync(IPAddress.Loopback, Port);
            var stream = client.GetStream();
            await stream.WriteAsync("PING\r\n"u8.ToArray());
            var buffer = new byte[16];
            var read = await stream.ReadAsync(buffer);
            return read >= 5 && buffer[0] == (byte)'+';
        }
        catch (SocketException)
        {
            return false;
        }
        catch (IOException)
        {
            return false;
        }
    }

    private static string? FindExecutable()
    {
        foreach (var candidate in new[] { "/usr/bin/redis-server", "/usr/local/bin/redis-server" })
        {
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }
        return null;
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        await KillAsync();
        _process?.Dispose();
        try
        {
            Directory.Delete(_directory, recursive: true);
        }
        catch (IOException)
        {
            // a file still held open: the temp directory is cleaned by the OS
        }
    }
}
