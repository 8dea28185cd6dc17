using System.Diagnostics;
using System.Reflection;
using StackExchange.Redis;

namespace Switchboard.Bench.Peers;

/// <summary>
/// Redis as a peer (Debian's <c>redis-server</c>, a server of the bench's own on a free loopback port, see
/// tests/Shared/RedisServer.cs; StackExchange.Redis as the client): where it is, its version, the client's settings.
/// </summary>
internal static class RedisPeer
{
    public const string Missing = "redis-server is not installed (bench/install-peers.sh, or apt-get install redis-server as root)";

    public static bool Installed => new[] { "/usr/bin/redis-server", "/usr/local/bin/redis-server" }.Any(File.Exists);

    /// <summary>The server's version, from <c>redis-server --version</c> (e.g. "7.0.15").</summary>
    public static string Version()
    {
        var path = new[] { "/usr/bin/redis-server", "/usr/local/bin/redis-server" }.FirstOrDefault(File.Exists);
        if (path is null)
        {
            return "?";
        }
        using var process = Process.Start(new ProcessStartInfo(path, "--version") { RedirectStandardOutput = true, UseShellExecute = false })!;
        var text = process.StandardOutput.ReadToEnd();
        process.WaitForExit(5000);
        var at = text.IndexOf("v=", StringComparison.Ordinal);
        return at < 0 ? text.Trim() : text[(at + 2)..].Split(' ')[0];
    }

    public static string ClientVersion()
        => typeof(ConnectionMultiplexer).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion.Split('+')[0] ?? "?";

    /// <summary>A client for the bench's own server: fail at once if it is not there, no retries hiding a failure.</summary>
    public static ConfigurationOptions Options(string configuration, string name)
    {
        var options = ConfigurationOptions.Parse(configuration);
        options.ClientName = name.Replace(' ', '-');
        options.AbortOnConnectFail = true;
        options.ConnectRetry = 1;
        options.ConnectTimeout = 10_000;
        options.SyncTimeout = 30_000;
        options.AsyncTimeout = 30_000;
        return options;
    }
}
