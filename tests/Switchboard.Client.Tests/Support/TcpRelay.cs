using System.Net;
using System.Net.Sockets;

namespace Switchboard.Client.Tests;

/// <summary>
/// A plain TCP relay on 127.0.0.1 in front of the hub that can go silent: <see cref="FreezeExisting"/> stops every
/// byte on the connections it holds (in one direction or both) without closing them — a half-open connection, as a
/// dead NAT entry or a pulled cable leaves it; <see cref="CutExisting"/> drops them. New connections pass as before.
/// </summary>
internal sealed class TcpRelay : IAsyncDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly Uri _upstream;
    private readonly CancellationTokenSource _stop = new();
    private readonly List<Link> _links = [];
    private readonly Task _accepting;

    public TcpRelay(Uri upstream)
    {
        _upstream = upstream;
        _listener.Start();
        Url = new Uri($"http://127.0.0.1:{((IPEndPoint)_listener.LocalEndpoint).Port}");
        _accepting = AcceptAsync();
    }

    public Uri Url { get; }

    /// <summary>Raised when a client hangs up a connection it made through the relay (its side ended or broke).</summary>
    public event Action? ClientClosed;

    /// <summary>Raised when a client opens a connection through the relay (before it is passed on).</summary>
    public event Action? Accepted;

    public int Connections
    {
        get
        {
            lock (_links)
            {
                return _links.Count;
            }
        }
    }

    /// <summary>From now on the connections open so far carry nothing from the hub (and, unless <paramref name="downstreamOnly"/>, nothing to it).</summary>
    public void FreezeExisting(bool downstreamOnly = false)
    {
        lock (_links)
        {
            foreach (var link in _links)
            {
                link.FrozenDown = true;
                link.FrozenUp = !downstreamOnly;
            }
        }
    }

    /// <summary>Drops every connection open so far, both ways at once, as a network that fails does; new connections pass as before.</summary>
    public void CutExisting()
    {
        lock (_links)
        {
            foreach (var link in _links)
            {
                link.Client.Client.LingerState = new LingerOption(true, 0); // a reset, not an orderly end
                link.Client.Dispose();
                link.Upstream.Dispose();
            }
            _links.Clear();
        }
    }

    private sealed class Link(TcpClient client, TcpClient upstream)
    {
        public TcpClient Client { get; } = client;
        public TcpClient Upstream { get; } = upstream;
        public volatile bool FrozenUp;
        public volatile bool FrozenDown;
    }

    private async Task AcceptAsync()
    {
        try
        {
            while (true)
            {
                var client = await _listener.AcceptTcpClientAsync(_stop.Token);
                Accepted?.Invoke();
                var upstream = new TcpClient();
                await upstream.ConnectAsync(_upstream.Host, _upstream.Port, _stop.Token);
                var link = new Link(client, upstream);
                lock (_links)
                {
                    _links.Add(link);
                }
                _ = PumpAsync(client.GetStream(), upstream.GetStream(), () => link.FrozenUp, () => ClientClosed?.Invoke());
                _ = PumpAsync(upstream.GetStream(), client.GetStream(), () => link.FrozenDown);
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException or SocketException or ObjectDisposedException)
        {
        }
    }

    private async Task PumpAsync(NetworkStream from, NetworkStream to, Func<bool> frozen, Action? ended = null)
    {
        var buffer = new byte[64 * 1024];
        try
        {
            while (true)
            {
                var read = await from.ReadAsync(buffer, _stop.Token);
                if (read == 0)
                {
                    to.Socket.Shutdown(SocketShutdown.Send);
                    return;
                }
                if (frozen())
                {
                    continue; // swallowed: the other side never hears of it, and nothing closes
                }
                await to.WriteAsync(buffer.AsMemory(0, read), _stop.Token);
            }
        }
        catch (Exception ex) when (ex is IOException or SocketException or OperationCanceledException or ObjectDisposedException)
        {
        }
        finally
        {
            ended?.Invoke();
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Stop();
        await _accepting.WaitAsync(TimeSpan.FromSeconds(10));
        lock (_links)
        {
            foreach (var link in _links)
            {
                link.Client.Dispose();
                link.Upstream.Dispose();
            }
        }
        _stop.Dispose();
    }
}
