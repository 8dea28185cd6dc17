using System.Buffers.Text;
using System.Diagnostics;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using Google.Protobuf;
using Grpc.Core;
using Grpc.Net.Client;
using Switchboard.Protocol.V1;

namespace Switchboard.Bench.Scenarios;

/// <summary>
/// A subscriber in the fan-out benchmark. Payloads carry the publisher's Stopwatch timestamp ("t"), so each
/// receipt yields a latency (publisher and subscribers share this process's clock).
/// </summary>
internal abstract class FanOutClient : IAsyncDisposable
{
    private long _received;
    private readonly List<double> _latencies = [];
    private volatile bool _sampling;

    public long Received => Interlocked.Read(ref _received);

    public abstract Task StartAsync(string topic, CancellationToken cancellationToken);

    public void Sample(bool on)
    {
        lock (_latencies)
        {
            if (on)
            {
                _latencies.Clear();
            }
            _sampling = on;
        }
    }

    public List<double> Latencies()
    {
        lock (_latencies)
        {
            return [.. _latencies];
        }
    }

    /// <summary>Counts a payload; finds its "t": without a full JSON parse.</summary>
    protected void OnPayload(ReadOnlySpan<byte> bytes)
    {
        Interlocked.Increment(ref _received);
        if (!_sampling)
        {
            return;
        }
        var at = bytes.IndexOf("\"t\":"u8);
        if (at >= 0 && Utf8Parser.TryParse(bytes[(at + 4)..], out long ticks, out _))
        {
            var latency = Stopwatch.GetElapsedTime(ticks).TotalMilliseconds;
            lock (_latencies)
            {
                _latencies.Add(latency);
            }
        }
    }

    public abstract ValueTask DisposeAsync();

    public static string Payload(int padding) => "{\"t\":" + Stopwatch.GetTimestamp() + ",\"p\":\"" + new string('x', padding) + "\"}";
}

/// <summary>
/// A multiplexed WebSocket subscriber; with <paramref name="batch"/> it connects with <c>?batch=true</c>, and the hub may
/// put every frame queued for it into one WebSocket message (JSON lines, or length-delimited protobuf); with
/// <paramref name="compact"/> it subscribes with <c>"envelope": "compact"</c> and counts only message frames (not the epoch notice).
/// </summary>
internal sealed class SwitchboardWebSocketClient(Uri hub, bool proto, bool batch = false, bool compact = false) : FanOutClient
{
    private readonly ClientWebSocket _socket = new();
    private Task _loop = Task.CompletedTask;

    public override async Task StartAsync(string topic, CancellationToken cancellationToken)
    {
        _socket.Options.AddSubProtocol(proto ? "switchboard.v1.proto" : "switchboard.v1.json");
        await _socket.ConnectAsync(new Uri(new UriBuilder(hub) { Scheme = "ws" }.Uri, batch ? "/v1/ws?batch=true" : "/v1/ws"), cancellationToken);
        if (proto)
        {
            await _socket.SendAsync(new ClientFrame { Id = "s", Subscribe = new SubscribeRequest { Topics = { topic } } }.ToByteArray(), WebSocketMessageType.Binary, true, cancellationToken);
        }
        else
        {
            var envelope = compact ? ",\"envelope\":\"compact\"" : "";
            await _socket.SendAsync(Encoding.UTF8.GetBytes("{\"id\":\"s\",\"subscribe\":{\"topics\":[\"" + topic + "\"]" + envelope + "}}"), WebSocketMessageType.Text, true, cancellationToken);
        }
        var buffer = new byte[64 * 1024];
        await _socket.ReceiveAsync(buffer, cancellationToken); // "subscribed"
        _loop = Task.Run(async () =>
        {
            try
            {
                var count = 0;
                while (true)
                {
                    if (count == buffer.Length)
                    {
                        Array.Resize(ref buffer, buffer.Length * 2);
                    }
                    var result = await _socket.ReceiveAsync(buffer.AsMemory(count), CancellationToken.None);
                    if (result.MessageType == WebSocketMessageType.Close)
                    {
                        return;
                    }
                    count += result.Count;
                    if (!result.EndOfMessage)
                    {
                        continue;
                    }
                    var message = buffer.AsSpan(0, count);
                    count = 0;
                    if (proto && batch)
                    {
                        var input = new CodedInputStream(message.ToArray()); // length-delimited frames
                        while (!input.IsAtEnd)
                        {
                            var frame = new ServerFrame();
                            input.ReadMessage(frame);
                            OnFrame(frame);
                        }
                    }
                    else if (proto)
                    {
                        OnFrame(ServerFrame.Parser.ParseFrom(message));
                    }
                    else
                    {
                        while (message.Length > 0) // JSON frames, one per line when batched
                        {
                            var end = batch ? message.IndexOf((byte)'\n') : -1;
                            var frame = end < 0 ? message : message[..end];
                            if (!compact)
                            {
                                OnPayload(frame);
                            }
                            else if (frame.StartsWith("{\"m\":"u8))
                            {
                                OnPayload(frame[frame.IndexOf("\"p\":"u8)..]); // the compact frame's own "t" is the topic
                            }
                            message = end < 0 ? [] : message[(end + 1)..];
                        }
                    }
                }
            }
            catch (WebSocketException)
            {
            }
        }, CancellationToken.None);
    }

    private void OnFrame(ServerFrame frame)
    {
        if (frame.KindCase == ServerFrame.KindOneofCase.Message)
        {
            OnPayload(frame.Message.Payload.Span);
        }
    }

    public override async ValueTask DisposeAsync()
    {
        try
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
            await _socket.CloseAsync(WebSocketCloseStatus.NormalClosure, "done", timeout.Token);
        }
        catch (Exception ex) when (ex is WebSocketException or OperationCanceledException)
        {
        }
        _socket.Dispose();
        await _loop;
    }
}

/// <summary>An SSE subscriber; <paramref name="query"/> picks the stream's form (<c>?data=payload</c>: the payload alone).</summary>
internal sealed class SwitchboardSseClient(HttpClient http, string query = "") : FanOutClient
{
    private readonly CancellationTokenSource _stop = new();
    private Task _loop = Task.CompletedTask;

    public override async Task StartAsync(string topic, CancellationToken cancellationToken)
    {
        var response = await http.GetAsync($"/v1/topics/{topic}/events{query}", HttpCompletionOption.ResponseHeadersRead, cancellationToken);
        var reader = new StreamReader(await response.Content.ReadAsStreamAsync(cancellationToken));
        await reader.ReadLineAsync(cancellationToken); // retry:, the stream is open
        _loop = Task.Run(async () =>
        {
            try
            {
                using (response)
                {
                    while (await reader.ReadLineAsync(_stop.Token) is { } line)
                    {
                        if (line.StartsWith("data: ", StringComparison.Ordinal))
                        {
                            OnPayload(Encoding.UTF8.GetBytes(line));
                        }
                    }
                }
            }
            catch (Exception ex) when (ex is OperationCanceledException or IOException or HttpRequestException)
            {
            }
        }, CancellationToken.None);
    }

    public override async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        await _loop;
        _stop.Dispose();
    }
}

/// <summary>
/// A long-polling subscriber (<paramref name="wait"/> seconds per poll), or with <paramref name="wait"/> 0 a polling one: it
/// asks again at once when a page came back full, else after <paramref name="interval"/> (what a polling client does).
/// </summary>
internal sealed class SwitchboardLongPollClient(HttpClient http, int wait = 30, TimeSpan interval = default, string query = "") : FanOutClient
{
    private const int PageSize = 1000;
    private readonly CancellationTokenSource _stop = new();
    private Task _loop = Task.CompletedTask;

    public override async Task StartAsync(string topic, CancellationToken cancellationToken)
    {
        using var info = JsonDocument.Parse(await http.GetStringAsync($"/v1/topics/{topic}", cancellationToken));
        var after = info.RootElement.GetProperty("epoch").GetString() + ":" + info.RootElement.GetProperty("stats").GetProperty("lastOffset").GetInt64();
        _loop = Task.Run(async () =>
        {
            try
            {
                while (!_stop.IsCancellationRequested)
                {
                    var bytes = await http.GetByteArrayAsync($"/v1/topics/{topic}/messages?after={after}&wait={wait}&limit={PageSize}{query}", _stop.Token);
                    using var page = JsonDocument.Parse(bytes);
                    var count = 0;
                    foreach (var message in page.RootElement.GetProperty("messages").EnumerateArray())
                    {
                        OnPayload(Encoding.UTF8.GetBytes(message.GetProperty("payload").GetRawText()));
                        count++;
                    }
                    after = page.RootElement.GetProperty("next").GetString()!;
                    if (wait == 0 && count < PageSize)
                    {
                        await Task.Delay(interval, _stop.Token);
                    }
                }
            }
            catch (Exception ex) when (ex is OperationCanceledException or HttpRequestException)
            {
            }
        }, CancellationToken.None);
    }

    public override async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        await _loop;
        _stop.Dispose();
    }
}

/// <summary>A plain WebSocket subscriber (<c>/v1/topics/{topic}/ws</c>): every text frame is one payload, nothing else.</summary>
internal sealed class SwitchboardPlainWebSocketClient(Uri hub) : FanOutClient
{
    private readonly ClientWebSocket _socket = new();
    private Task _loop = Task.CompletedTask;

    public override async Task StartAsync(string topic, CancellationToken cancellationToken)
    {
        await _socket.ConnectAsync(new Uri(new UriBuilder(hub) { Scheme = "ws" }.Uri, $"/v1/topics/{topic}/ws"), cancellationToken);
        _loop = Task.Run(async () =>
        {
            var buffer = new byte[64 * 1024];
            var count = 0;
            try
            {
                while (true)
                {
                    var result = await _socket.ReceiveAsync(buffer.AsMemory(count), CancellationToken.None);
                    if (result.MessageType == WebSocketMessageType.Close)
                    {
                        return;
                    }
                    count += result.Count;
                    if (result.EndOfMessage)
                    {
                        OnPayload(buffer.AsSpan(0, count));
                        count = 0;
                    }
                    else if (count == buffer.Length)
                    {
                        Array.Resize(ref buffer, buffer.Length * 2);
                    }
                }
            }
            catch (WebSocketException)
            {
            }
        }, CancellationToken.None);
    }

    public override async ValueTask DisposeAsync()
    {
        try
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
            await _socket.CloseAsync(WebSocketCloseStatus.NormalClosure, "done", timeout.Token);
        }
        catch (Exception ex) when (ex is WebSocketException or OperationCanceledException)
        {
        }
        _socket.Dispose();
        await _loop;
    }
}

/// <summary>A gRPC server-streaming subscriber (<c>Subscribe</c> from now), on an HTTP/2 connection of its own, as a separate client would be.</summary>
internal sealed class SwitchboardGrpcClient(Uri hub) : FanOutClient
{
    private readonly GrpcChannel _channel = GrpcChannel.ForAddress(hub);
    private readonly CancellationTokenSource _stop = new();
    private Task _loop = Task.CompletedTask;

    public override Task StartAsync(string topic, CancellationToken cancellationToken)
    {
        var call = new Protocol.V1.Switchboard.SwitchboardClient(_channel).Subscribe(new SubscribeRequest { Topics = { topic } }, cancellationToken: _stop.Token);
        _loop = Task.Run(async () =>
        {
            try
            {
                using (call)
                {
                    while (await call.ResponseStream.MoveNext(_stop.Token))
                    {
                        if (call.ResponseStream.Current is { Notice: null } message)
                        {
                            OnPayload(message.Payload.Span);
                        }
                    }
                }
            }
            catch (Exception ex) when (ex is RpcException or OperationCanceledException)
            {
            }
        }, CancellationToken.None);
        return Task.CompletedTask;
    }

    public override async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        await _loop;
        _stop.Dispose();
        _channel.Dispose();
    }
}
