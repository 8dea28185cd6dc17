using System.Net.WebSockets;
using Switchboard.Server.Connections;

namespace Switchboard.Server.WebSockets;

/// <summary>
/// The WebSocket heartbeat, driven by the registry's once-a-second sweep instead of a timer per socket. With a
/// keep-alive timeout, the WebSocket's own heartbeat wakes every socket every quarter of the interval (3.75 s at the
/// default 15 s): with 2,000 idle connections that cost a tenth of a core on this machine's thread pool, against 4%
/// without it. Same rules as the WebSocket's own: a ping (an empty one, written between the WebSocket's frames by
/// <see cref="CoalescingStream.PingAsync"/>) after an interval with nothing from the peer; anything the peer sends
/// answers it (browsers answer pings by themselves); no answer within two intervals aborts the socket, as a half-open
/// TCP connection never closes by itself.
/// </summary>
internal sealed class WebSocketKeepAlive(WebSocket socket, CoalescingStream stream, TimeSpan interval) : IKeepAlive
{
    private readonly long _intervalMs = (long)interval.TotalMilliseconds;
    private long _pingSentAt; // 0: no ping waiting for an answer (only the sweep touches it)

    public (TimeSpan Elapsed, long Bytes)? Arriving => stream.Frames.Arriving;

    public void Tick(long now)
    {
        var heard = stream.LastRead;
        if (_pingSentAt != 0)
        {
            if (heard >= _pingSentAt)
            {
                _pingSentAt = 0; // answered
            }
            else if (now - _pingSentAt >= 2 * _intervalMs)
            {
                socket.Abort(); // the receive loop ends, and the connection with it
                return;
            }
            else
            {
                return;
            }
        }
        if (now - heard >= _intervalMs && socket.State == WebSocketState.Open)
        {
            _pingSentAt = now;
            _ = PingAsync();
        }
    }

    private async Task PingAsync()
    {
        try
        {
            await stream.PingAsync(CancellationToken.None);
        }
        catch (Exception ex) when (ex is IOException or ObjectDisposedException or OperationCanceledException or InvalidOperationException)
        {
            // the connection is ending; its receive loop sees why
        }
    }
}
