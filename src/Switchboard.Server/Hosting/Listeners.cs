using System.Net;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Server.Kestrel.Core;

namespace Switchboard.Server;

/// <summary>
/// Where the hub listens. Every http:// address serves HTTP/1.1 (REST, WebSocket, SSE, gRPC-Web) and HTTP/2 with
/// prior knowledge (gRPC) on the same port: Kestrel does not mix the two on a cleartext endpoint by itself, so a
/// connection that opens with the HTTP/2 preface is told it is HTTP/2 (<see cref="DirectH2c"/>), or, where Kestrel
/// does not allow that, handed to an internal HTTP/2 endpoint on a Unix socket (see <see cref="H2cSniffer"/>).
/// https:// addresses negotiate HTTP/1.1 or HTTP/2 with ALPN (certificate from <c>Kestrel:Certificates:Default</c>).
/// Every public listener counts its connections in the <see cref="ConnectionBudget"/>.
/// </summary>
internal static class Listeners
{
    public static void Configure(IWebHostBuilder webHost, string urls, bool inlineScheduling, ConnectionBudget budget)
    {
        var addresses = urls.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(Parse).ToList();
        var internalSocket = Path.Combine(Path.GetTempPath(), $"switchboard-h2c-{Environment.ProcessId}-{Guid.NewGuid().ToString("N")[..8]}.sock");
        // With inline scheduling (Connections:InlineScheduling, off by default), Kestrel runs a connection's code on the
        // thread that completed its socket read, and a write's send on the writing thread, instead of queuing each to
        // its I/O queues first: one thread hand-off less per read and per write (every fan-out frame is a write).
        // Blocking code would hold that thread, as it would any pool thread: the socket completions themselves still
        // come from the thread pool, not from the event loop.
        webHost.UseSockets(sockets => sockets.UnsafePreferInlineScheduling = inlineScheduling);
        var origins = new RelayedOrigins(); // where each relayed gRPC connection came from (see H2cSniffer)
        webHost.ConfigureKestrel(kestrel =>
        {
            if (addresses.Any(a => !a.Tls) && !DirectH2c.Available)
            {
                kestrel.ListenUnixSocket(internalSocket, listen =>
                {
                    listen.Protocols = HttpProtocols.Http2;
                    listen.Use(next => H2cSniffer.Restore(next, kestrel.Limits, origins));
                });
            }
            foreach (var address in addresses)
            {
                Action<ListenOptions> configure = address.Tls
                    ? listen =>
                    {
                        listen.Protocols = HttpProtocols.Http1AndHttp2;
                        listen.Use(budget.Guard); // before the handshake: over the budget, closed at once
                        listen.UseHttps();
                    }
                    : listen =>
                    {
                        listen.Protocols = HttpProtocols.Http1;
                        listen.Use(next => H2cSniffer.Create(next, internalSocket, kestrel.Limits, origins, budget));
                    };
                switch (address.Host)
                {
                    case "localhost":
                        kestrel.ListenLocalhost(address.Port, configure);
                        break;
                    case "*" or "+" or "0.0.0.0" or "[::]":
                        kestrel.ListenAnyIP(address.Port, configure);
                        break;
                    default:
                        kestrel.Listen(IPAddress.Parse(address.Host.Trim('[', ']')), address.Port, configure);
                        break;
                }
            }
        });
    }

    /// <summary>The addresses in <paramref name="urls"/> that are reachable from other machines (anything but loopback).</summary>
    public static IReadOnlyList<string> BeyondLoopback(string urls)
        => [.. urls.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Where(url => Parse(url).Host is var host && host != "localhost" && !(IPAddress.TryParse(host.Trim('[', ']'), out var ip) && IPAddress.IsLoopback(ip)))];

    /// <summary>Whether an address Kestrel reports is one of the public ones (not the internal HTTP/2 socket).</summary>
    public static bool IsPublic(string address) => !address.StartsWith("http://unix:", StringComparison.Ordinal);

    private sealed record Address(bool Tls, string Host, int Port);

    private static Address Parse(string url)
    {
        // Uri would reject the "*" and "+" hosts ASP.NET Core accepts, so take the URL apart by hand.
        var tls = url.StartsWith("https://", StringComparison.OrdinalIgnoreCase);
        if (!tls && !url.StartsWith("http://", StringComparison.OrdinalIgnoreCase))
        {
            throw new InvalidOperationException($"--urls: '{url}' must start with http:// or https:// (e.g. http://127.0.0.1:7070).");
        }
        var rest = url[(tls ? 8 : 7)..].TrimEnd('/');
        var colon = rest.LastIndexOf(':');
        if (colon <= 0 || !int.TryParse(rest[(colon + 1)..], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var port) || port > 65535)
        {
            throw new InvalidOperationException($"--urls: '{url}' needs a port (e.g. http://127.0.0.1:7070; 0 picks a free one).");
        }
        var host = rest[..colon];
        if (host is not ("localhost" or "*" or "+" or "0.0.0.0" or "[::]") && !IPAddress.TryParse(host.Trim('[', ']'), out _))
        {
            throw new InvalidOperationException($"--urls: '{url}' names host '{host}'; use an IP address (127.0.0.1, [::1], 0.0.0.0) or localhost.");
        }
        return new Address(tls, host, port);
    }
}
