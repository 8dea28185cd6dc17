using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Switchboard.Client.Tests;

/// <summary>
/// A real TCP proxy on 127.0.0.1 in front of the hub, of the kind that makes clients fall back: it passes plain
/// HTTP/1.1 requests (REST, event streams, long polls) byte for byte, but answers a WebSocket upgrade with 403 (as
/// corporate proxies and some load balancers do) and hangs up on HTTP/2 (gRPC's prior-knowledge preface).
/// </summary>
internal sealed class RefusingProxy : IAsyncDisposable
{
    private static readonly byte[] Forbidden = Encoding.ASCII.GetBytes("HTTP/1.1 403 Forbidden\r\nContent-Type: text/plain\r\nContent-Length: 31\r\nConnection: close\r\n\r\nWebSockets are not allowed here");
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly Uri _upstream;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _accepting;
    private int _upgrades, _http2, _passed;

    public RefusingProxy(Uri upstream)
    {
        _upstream = upstream;
        _listener.Start();
        Url = new Uri($"http://127.0.0.1:{((IPEndPoint)_listener.LocalEndpoint).Port}");
        _accepting = AcceptAsync();
    }

    public Uri Url { get; }
    public int Upgrades => Volatile.Read(ref _upgrades);
    public int Http2 => Volatile.Read(ref _http2);
    public int Passed => Volatile.Read(ref _passed);

    private async Task AcceptAsync()
    {
        var connections = new List<Task>();
        try
        {
            while (true)
            {
                var client = await _listener.AcceptTcpClientAsync(_stop.Token);
                connections.RemoveAll(t => t.IsCompleted);
                connections.Add(ServeAsync(client));
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException or SocketException or ObjectDisposedException)
        {
        }
        await Task.WhenAll(connections);
    }

    private async Task ServeAsync(TcpClient client)
    {
        using (client)
        {
            try
            {
                var downstream = client.GetStream();
                using var upstream = new TcpClient();
                NetworkStream? up = null;
                var buffer = new byte[64 * 1024];
                while (true)
                {
                    var read = await downstream.ReadAsync(buffer, _stop.Token);
                    if (read == 0)
                    {
                        return;
                    }
                    var text = Encoding.ASCII.GetString(buffer, 0, read);
                    if (text.StartsWith("PRI * HTTP/2.0", StringComparison.Ordinal))
                    {
                        Interlocked.Increment(ref _http2);
                        return; // hang up: this proxy speaks HTTP/1.1 only
                    }
                    if (text.Contains("\r\nupgrade:", StringComparison.OrdinalIgnoreCase))
                    {
                        Interlocked.Increment(ref _upgrades);
                        await downstream.WriteAsync(Forbidden, _stop.Token);
                        return;
                    }
                    if (up is null)
                    {
                        Interlocked.Increment(ref _passed);
                        await upstream.ConnectAsync(_upstream.Host, _upstream.Port, _stop.Token);
                        up = upstream.GetStream();
                        _ = PumpAsync(up, downstream);
                    }
                    await up.WriteAsync(buffer.AsMemory(0, read), _stop.Token);
                }
            }
            catch (Exception ex) when (ex is IOException or SocketException or OperationCanceledException or ObjectDisposedException)
            {
            }
        }
    }

    private async Task PumpAsync(Stream from, Stream to)
    {
        try
        {
            await from.CopyToAsync(to, _stop.Token);
        }
        catch (Exception ex) when (ex is IOException or SocketException or OperationCanceledException or ObjectDisposedException)
        {
        }
        finally
        {
            to.Close();
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Stop();
        await _accepting.WaitAsync(TimeSpan.FromSeconds(10));
        _stop.Dispose();
    }
}

/// <summary>Something on a loopback port that is not a hub: it accepts and never answers, or answers every request with <paramref name="answer"/>.</summary>
internal sealed class NotAHub : IAsyncDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly CancellationTokenSource _stop = new();
    private readonly List<TcpClient> _held = [];
    private readonly Task _accepting;

    public NotAHub(string? answer)
    {
        _listener.Start();
        Url = new Uri($"http://127.0.0.1:{((IPEndPoint)_listener.LocalEndpoint).Port}");
        _accepting = AcceptAsync(answer is null ? null : Encoding.ASCII.GetBytes(answer));
    }

    public Uri Url { get; }

    /// <summary>A port nothing listens on (taken from the OS, then released).</summary>
    public static Uri ClosedPort()
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return new Uri($"http://127.0.0.1:{port}");
    }

    private async Task AcceptAsync(byte[]? answer)
    {
        try
        {
            while (true)
            {
                var client = await _listener.AcceptTcpClientAsync(_stop.Token);
                lock (_held)
                {
                    _held.Add(client);
                }
                if (answer is not null)
                {
                    _ = AnswerAsync(client, answer);
                }
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException or SocketException or ObjectDisposedException)
        {
        }
    }

    private async Task AnswerAsync(TcpClient client, byte[] answer)
    {
        try
        {
            var stream = client.GetStream();
            var buffer = new byte[16 * 1024];
            if (await stream.ReadAsync(buffer, _stop.Token) > 0)
            {
                await stream.WriteAsync(answer, _stop.Token);
            }
            client.Close();
        }
        catch (Exception ex) when (ex is IOException or SocketException or OperationCanceledException or ObjectDisposedException)
        {
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Stop();
        await _accepting.WaitAsync(TimeSpan.FromSeconds(10));
        lock (_held)
        {
            foreach (var client in _held)
            {
                client.Dispose();
            }
        }
        _stop.Dispose();
    }
}
