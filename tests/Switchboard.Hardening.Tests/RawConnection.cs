using System.Buffers.Binary;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;

namespace Switchboard.Hardening.Tests;

/// <summary>An HTTP answer as it came over the socket.</summary>
internal sealed record HttpAnswer(int Status, Dictionary<string, string> Headers, string Body)
{
    public string? Header(string name) => Headers.TryGetValue(name, out var value) ? value : null;
}

/// <summary>One WebSocket or HTTP/2 frame as it came over the socket.</summary>
internal sealed record RawFrame(int Type, int Flags, byte[] Payload)
{
    /// <summary>The status code of a WebSocket close frame.</summary>
    public int CloseCode => Payload.Length >= 2 ? BinaryPrimitives.ReadUInt16BigEndian(Payload) : 1005;

    /// <summary>The reason of a WebSocket close frame (UTF-8 after the code).</summary>
    public string CloseReason => Payload.Length > 2 ? Encoding.UTF8.GetString(Payload, 2, Payload.Length - 2) : "";
}

/// <summary>
/// A client on a bare TCP socket: it sends exactly the bytes a test says, when the test says (a byte a second, a
/// frame with a reserved bit, no answer to a ping), and reads what comes back. Every read is bounded in time.
/// </summary>
internal sealed class RawConnection : IAsyncDisposable
{
    private readonly Socket _socket;
    private readonly NetworkStream _stream;
    private readonly byte[] _buffer = new byte[256 * 1024];
    private int _start, _end;

    private RawConnection(Socket socket)
    {
        _socket = socket;
        _stream = new NetworkStream(socket, ownsSocket: true);
    }

    public static async Task<RawConnection> OpenAsync(Uri address)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        await socket.ConnectAsync(address.Host, address.Port);
        return new RawConnection(socket);
    }

    // A test may answer pings from one task while it sends from another: one write at a time keeps frames whole.
    private readonly SemaphoreSlim _writing = new(1, 1);

    public async ValueTask SendAsync(ReadOnlyMemory<byte> bytes)
    {
        await _writing.WaitAsync();
        try
        {
            await _stream.WriteAsync(bytes);
        }
        finally
        {
            _writing.Release();
        }
    }

    public ValueTask SendAsync(string ascii) => SendAsync(Encoding.ASCII.GetBytes(ascii));

    /// <summary>Reads until the hub closes the connection (end of stream or reset): true, or false when <paramref name="within"/> passes first.</summary>
    public async Task<bool> ClosedWithinAsync(TimeSpan within)
    {
        using var timeout = new CancellationTokenSource(within);
        _start = _end = 0;
        try
        {
            while (await _stream.ReadAsync(_buffer, timeout.Token) > 0)
            {
            }
            return true;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
        catch (IOException)
        {
            return true; // reset
        }
    }

    /// <summary>Reads an HTTP/1.1 response: status line, headers and a body of Content-Length bytes.</summary>
    public async Task<HttpAnswer> ReadResponseAsync(CancellationToken cancellationToken)
    {
        var statusLine = await ReadLineAsync(cancellationToken);
        var status = int.Parse(statusLine.Split(' ')[1]);
        var headers = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        while (await ReadLineAsync(cancellationToken) is { Length: > 0 } line)
        {
            var colon = line.IndexOf(':', StringComparison.Ordinal);
            var name = line[..colon];
            var value = line[(colon + 1)..].Trim();
            headers[name] = headers.TryGetValue(name, out var earlier) ? earlier + ", " + value : value;
        }
        var length = headers.TryGetValue("Content-Length", out var text) ? int.Parse(text) : 0;
        var body = status == 101 ? [] : await ReadExactlyAsync(length, cancellationToken);
        return new HttpAnswer(status, headers, Encoding.UTF8.GetString(body));
    }

    public async Task<byte[]> ReadExactlyAsync(int count, CancellationToken cancellationToken)
    {
        var result = new byte[count];
        var copied = 0;
        while (copied < count)
        {
            if (_start == _end)
            {
                await FillAsync(cancellationToken);
            }
            var take = Math.Min(count - copied, _end - _start);
            _buffer.AsSpan(_start, take).CopyTo(result.AsSpan(copied));
            _start += take;
            copied += take;
        }
        return result;
    }

    private async Task<string> ReadLineAsync(CancellationToken cancellationToken)
    {
        var line = new StringBuilder();
        while (true)
        {
            if (_start == _end)
            {
                await FillAsync(cancellationToken);
            }
            var b = (char)_buffer[_start++];
            if (b == '\n')
            {
                return line.ToString().TrimEnd('\r');
            }
            line.Append(b);
        }
    }

    private async Task FillAsync(CancellationToken cancellationToken)
    {
        _start = 0;
        _end = await _stream.ReadAsync(_buffer, cancellationToken);
        if (_end == 0)
        {
            throw new EndOfStreamException("the hub closed the connection");
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stream.DisposeAsync();
        _socket.Dispose();
        _writing.Dispose();
    }

    // ---- WebSocket (RFC 6455) ----

    /// <summary>Sends the upgrade request and reads the answer (101, or an error with its body).</summary>
    public async Task<HttpAnswer> UpgradeAsync(string pathAndQuery, string? origin = null, string? extensions = null, string? subProtocol = null)
    {
        var key = Convert.ToBase64String(RandomNumberGenerator.GetBytes(16));
        var request = new StringBuilder()
            .Append($"GET {pathAndQuery} HTTP/1.1\r\nHost: {((System.Net.IPEndPoint)_socket.RemoteEndPoint!).Address}:{((System.Net.IPEndPoint)_socket.RemoteEndPoint!).Port}\r\n")
            .Append("Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n")
            .Append($"Sec-WebSocket-Key: {key}\r\n");
        if (origin is not null)
        {
            request.Append($"Origin: {origin}\r\n");
        }
        if (extensions is not null)
        {
            request.Append($"Sec-WebSocket-Extensions: {extensions}\r\n");
        }
        if (subProtocol is not null)
        {
            request.Append($"Sec-WebSocket-Protocol: {subProtocol}\r\n");
        }
        await SendAsync(request.Append("\r\n").ToString());
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        return await ReadResponseAsync(timeout.Token);
    }

    /// <summary>Sends one client frame, masked as RFC 6455 requires; <paramref name="rsv1"/> marks it compressed, <paramref name="fin"/> false leaves the message open for continuation frames.</summary>
    public async Task SendWebSocketFrameAsync(int opcode, ReadOnlyMemory<byte> payload, bool rsv1 = false, bool fin = true)
    {
        var header = new List<byte> { (byte)((fin ? 0x80 : 0) | (rsv1 ? 0x40 : 0) | opcode) };
        if (payload.Length < 126)
        {
            header.Add((byte)(0x80 | payload.Length));
        }
        else if (payload.Length <= ushort.MaxValue)
        {
            header.AddRange([0x80 | 126, (byte)(payload.Length >> 8), (byte)payload.Length]);
        }
        else
        {
            header.Add(0x80 | 127);
            var length = new byte[8];
            BinaryPrimitives.WriteUInt64BigEndian(length, (ulong)payload.Length);
            header.AddRange(length);
        }
        var mask = RandomNumberGenerator.GetBytes(4);
        header.AddRange(mask);
        var masked = payload.ToArray();
        for (var i = 0; i < masked.Length; i++)
        {
            masked[i] ^= mask[i % 4];
        }
        await SendAsync(header.Concat(masked).ToArray());
    }

    /// <summary>Reads one server frame (servers do not mask). Type is the opcode; Flags holds FIN and RSV1-3.</summary>
    public async Task<RawFrame> ReadWebSocketFrameAsync(CancellationToken cancellationToken)
    {
        var head = await ReadExactlyAsync(2, cancellationToken);
        long length = head[1] & 0x7F;
        if (length == 126)
        {
            length = BinaryPrimitives.ReadUInt16BigEndian(await ReadExactlyAsync(2, cancellationToken));
        }
        else if (length == 127)
        {
            length = (long)BinaryPrimitives.ReadUInt64BigEndian(await ReadExactlyAsync(8, cancellationToken));
        }
        return new RawFrame(head[0] & 0x0F, head[0] & 0xF0, await ReadExactlyAsync((int)length, cancellationToken));
    }

    // ---- HTTP/2 (RFC 9113) ----

    public static readonly byte[] Http2Preface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"u8.ToArray();

    public const int Http2Settings = 0x4, Http2Ping = 0x6, Http2GoAway = 0x7, Http2SettingsMaxConcurrentStreams = 0x3;

    public Task SendHttp2FrameAsync(int type, int flags, ReadOnlySpan<byte> payload)
    {
        var frame = new byte[9 + payload.Length];
        frame[0] = (byte)(payload.Length >> 16);
        frame[1] = (byte)(payload.Length >> 8);
        frame[2] = (byte)payload.Length;
        frame[3] = (byte)type;
        frame[4] = (byte)flags;
        payload.CopyTo(frame.AsSpan(9));
        return SendAsync(frame).AsTask();
    }

    public async Task<RawFrame> ReadHttp2FrameAsync(CancellationToken cancellationToken)
    {
        var head = await ReadExactlyAsync(9, cancellationToken);
        var length = (head[0] << 16) | (head[1] << 8) | head[2];
        return new RawFrame(head[3], head[4], await ReadExactlyAsync(length, cancellationToken));
    }
}
