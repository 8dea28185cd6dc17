using System.Buffers.Text;
using System.Diagnostics;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using Google.Protobuf;
using Microsoft.AspNetCore.Http.Connections;
using Microsoft.AspNetCore.SignalR.Client;
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

internal sealed class SwitchboardWebSocketClient(Uri hub, bool proto) : FanOutClient
{
    private readonly ClientWebSocket _socket = new();
    private Task _loop = Task.CompletedTask;

    public override async Task StartAsync(string topic, CancellationToken cancellationToken)
    {
        _socket.Options.AddSubProtocol(proto ? "switchboard.v1.proto" : "switchboard.v1.json");
        await _socket.ConnectAsync(new Uri(new UriBuilder(hub) { Scheme = "ws" }.Uri, "/v1/ws"), cancellationToken);
        if (proto)
        {
            await _socket.SendAsync(new ClientFrame { Id = "s", Subscribe = new SubscribeRequest { Topics = { topic } } }.ToByteArray(), WebSocketMessageType.Binary, true, cancellationToken);
        }
        else
        {
            await _socket.SendAsync(Encoding.UTF8.GetBytes("{\"id\":\"s\",\"subscribe\":{\"topics\":[\"" + topic + "\"]}}"), WebSocketMessageType.Text, true, cancellationToken);
        }
        var buffer = new byte[64 * 1024];
        await _socket.ReceiveAsync(buffer, cancellationToken); // "subscribed"
        _loop = Task.Run(async () =>
        {
            try
            {
                while (true)
                {
                    var result = await _socket.ReceiveAsync(buffer, CancellationToken.None);
                    if (result.MessageType == WebSocketMessageType.Close)
                    {
                        return;
                    }
                    if (proto)
                    {
                        var frame = ServerFrame.Parser.ParseFrom(buffer.AsSpan(0, result.Count));
                        if (frame.KindCase == ServerFrame.KindOneofCase.Message)
                        {
                            OnPayload(frame.Message.Payload.Span);
                        }
                    }
                    else
                    {
                        OnPayload(buffer.AsSpan(0, result.Count));
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

internal sealed class SwitchboardSseClient(HttpClient http) : FanOutClient
{
    private readonly CancellationTokenSource _stop = new();
    private Task _loop = Task.CompletedTask;

    public override async Task StartAsync(string topic, CancellationToken cancellationToken)
    {
        var response = await http.GetAsync($"/v1/topics/{topic}/events", HttpCompletionOption.ResponseHeadersRead, cancellationToken);
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

internal sealed class SwitchboardLongPollClient(HttpClient http) : FanOutClient
{
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
                    var bytes = await http.GetByteArrayAsync($"/v1/topics/{topic}/messages?after={after}&wait=30&limit=1000", _stop.Token);
                    using var page = JsonDocument.Parse(bytes);
                    foreach (var message in page.RootElement.GetProperty("messages").EnumerateArray())
                    {
                        OnPayload(Encoding.UTF8.GetBytes(message.GetProperty("payload").GetRawText()));
                    }
                    after = page.RootElement.GetProperty("next").GetString()!;
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

internal sealed class SignalRClient(Uri server, HttpTransportType transport) : FanOutClient
{
    private HubConnection? _connection;

    public override async Task StartAsync(string topic, CancellationToken cancellationToken)
    {
        _connection = new HubConnectionBuilder()
            .WithUrl(new Uri(server, "/hub"), transport, o => o.SkipNegotiation = transport == HttpTransportType.WebSockets)
            .Build();
        _connection.On<string>("message", payload => OnPayload(Encoding.UTF8.GetBytes(payload)));
        await _connection.StartAsync(cancellationToken);
        await _connection.InvokeAsync("Subscribe", topic, cancellationToken);
    }

    public override async ValueTask DisposeAsync()
    {
        if (_connection is not null)
        {
            await _connection.DisposeAsync();
        }
    }
}
