using System.Net.WebSockets;
using System.Text;
using System.Threading.Channels;
using Grpc.Core;
using Switchboard.Protocol.V1;
using static Switchboard.Protocol.V1.Switchboard;

namespace Switchboard.Security.Tests.Support;

/// <summary>
/// A connection that carries frames (a WebSocket, a gRPC Connect call). A reader takes every frame from the start, so
/// the end of the connection (a close code, a gRPC status) is never lost behind a failed send: it arrives as the
/// last answer, of kind "closed", with the close code or status name as its code.
/// </summary>
internal abstract class FrameLink : IAsyncDisposable
{
    private readonly Channel<Answer> _answers = Channel.CreateUnbounded<Answer>();
    private Answer? _closed;

    protected CancellationTokenSource Stop { get; } = new();

    /// <summary>The end of the connection, once it ended.</summary>
    public Answer? Closed => Volatile.Read(ref _closed);

    public abstract Task SendAsync(string id, Command command, CancellationToken cancellationToken);

    /// <summary>The next frame, or the "closed" answer (again and again) once the connection ended.</summary>
    public async Task<Answer> NextAsync(CancellationToken cancellationToken)
    {
        if (await _answers.Reader.WaitToReadAsync(cancellationToken) && _answers.Reader.TryRead(out var answer))
        {
            return answer;
        }
        return Closed!;
    }

    /// <summary>Waits (bounded by the token) for the end of the connection, skipping frames.</summary>
    public async Task<Answer> ClosedAsync(CancellationToken cancellationToken)
    {
        while (true)
        {
            var answer = await NextAsync(cancellationToken);
            if (answer.Kind == "closed")
            {
                return answer;
            }
        }
    }

    protected void Push(Answer answer) => _answers.Writer.TryWrite(answer);

    protected void End(string code, string? detail)
    {
        var closed = new Answer("closed", null, code, detail ?? "");
        if (Interlocked.CompareExchange(ref _closed, closed, null) is null)
        {
            _answers.Writer.TryWrite(closed);
            _answers.Writer.TryComplete();
        }
    }

    public abstract ValueTask DisposeAsync();
}

/// <summary>A WebSocket to the hub: /v1/ws with a subprotocol, or plain mode (each frame a payload, answered as kind "payload").</summary>
internal sealed class WebSocketLink : FrameLink
{
    private readonly ClientWebSocket _socket = new();
    private readonly IWire? _wire;
    private Task _reading = Task.CompletedTask;
    private int _disposed;

    private WebSocketLink(IWire? wire) => _wire = wire;

    /// <summary>Connects; <paramref name="credential"/> goes in an Authorization header (null: none). <paramref name="wire"/> null = plain mode.</summary>
    public static async Task<WebSocketLink> ConnectAsync(Uri address, IWire? wire, string? credential, CancellationToken cancellationToken)
    {
        var link = new WebSocketLink(wire);
        if (wire is not null)
        {
            link._socket.Options.AddSubProtocol(wire.SubProtocol);
        }
        if (credential is not null)
        {
            link._socket.Options.SetRequestHeader("Authorization", "Bearer " + credential);
        }
        await link._socket.ConnectAsync(address, cancellationToken);
        link._reading = Task.Run(link.ReadAsync, CancellationToken.None);
        return link;
    }

    public override Task SendAsync(string id, Command command, CancellationToken cancellationToken)
        => SendRawAsync(_wire!.Encode(id, command), _wire.MessageType, cancellationToken);

    /// <summary>Sends bytes as one message; a failure is left to the reader, which reports how the connection ended.</summary>
    public async Task SendRawAsync(byte[] bytes, WebSocketMessageType type, CancellationToken cancellationToken)
    {
        try
        {
            await _socket.SendAsync(bytes, type, endOfMessage: true, cancellationToken);
        }
        catch (Exception ex) when (ex is WebSocketException or InvalidOperationException or IOException or ObjectDisposedException)
        {
            // the hub closed first; the reader has (or will have) its close code
        }
    }

    public Task SendTextAsync(string text, CancellationToken cancellationToken) => SendRawAsync(Encoding.UTF8.GetBytes(text), WebSocketMessageType.Text, cancellationToken);

    private async Task ReadAsync()
    {
        var buffer = new byte[64 * 1024];
        using var message = new MemoryStream();
        try
        {
            while (true)
            {
                var result = await _socket.ReceiveAsync(buffer, Stop.Token);
                if (result.MessageType == WebSocketMessageType.Close)
                {
                    End(result.CloseStatus is { } status ? ((int)status).ToString(System.Globalization.CultureInfo.InvariantCulture) : "none", result.CloseStatusDescription);
                    using var grace = new CancellationTokenSource(TimeSpan.FromSeconds(2));
                    await _socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, "", grace.Token);
                    return;
                }
                message.Write(buffer, 0, result.Count);
                if (result.EndOfMessage)
                {
                    var bytes = message.ToArray();
                    message.SetLength(0);
                    Push(_wire is null ? new Answer("payload", null, Text: Encoding.UTF8.GetString(bytes)) : _wire.Decode(bytes));
                }
            }
        }
        catch (Exception ex)
        {
            End("aborted", ex.GetType().Name + ": " + ex.Message);
        }
    }

    public override async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
        {
            return;
        }
        if (_socket.State == WebSocketState.Open)
        {
            using var grace = new CancellationTokenSource(TimeSpan.FromSeconds(2));
            try
            {
                await _socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, "done", grace.Token);
                await _reading.WaitAsync(grace.Token);
            }
            catch (Exception ex) when (ex is WebSocketException or OperationCanceledException or IOException)
            {
            }
        }
        await Stop.CancelAsync();
        await _reading.ContinueWith(static _ => { }, TaskScheduler.Default);
        _socket.Dispose();
        Stop.Dispose();
    }
}

/// <summary>A gRPC Connect call (the multiplexed protocol's proto frames over a bidirectional stream).</summary>
internal sealed class GrpcConnectLink : FrameLink
{
    private readonly AsyncDuplexStreamingCall<ClientFrame, ServerFrame> _call;
    private readonly Task _reading;

    private GrpcConnectLink(SwitchboardClient client, string? credential)
    {
        var headers = new Metadata();
        if (credential is not null)
        {
            headers.Add("authorization", "Bearer " + credential);
        }
        _call = client.Connect(headers, cancellationToken: Stop.Token);
        _reading = Task.Run(ReadAsync, CancellationToken.None);
    }

    public static GrpcConnectLink Open(SwitchboardClient client, string? credential) => new(client, credential);

    public override async Task SendAsync(string id, Command command, CancellationToken cancellationToken)
    {
        try
        {
            await _call.RequestStream.WriteAsync(ProtoWire.Frame(id, command), cancellationToken);
        }
        catch (Exception ex) when (ex is RpcException or InvalidOperationException or IOException or ObjectDisposedException)
        {
            // the call ended; the reader has its status
        }
    }

    private async Task ReadAsync()
    {
        try
        {
            while (await _call.ResponseStream.MoveNext(Stop.Token))
            {
                Push(ProtoWire.Answer(_call.ResponseStream.Current));
            }
            End("OK", "the call ended without a status");
        }
        catch (RpcException ex)
        {
            End(ex.StatusCode.ToString(), ex.Status.Detail);
        }
        catch (Exception ex)
        {
            End("aborted", ex.GetType().Name + ": " + ex.Message);
        }
    }

    public override async ValueTask DisposeAsync()
    {
        try
        {
            await _call.RequestStream.CompleteAsync();
        }
        catch (Exception ex) when (ex is RpcException or InvalidOperationException or IOException or ObjectDisposedException)
        {
        }
        await Stop.CancelAsync();
        await _reading.ContinueWith(static _ => { }, TaskScheduler.Default);
        _call.Dispose();
        Stop.Dispose();
    }
}
