using System.Net.WebSockets;
using System.Text;
using Microsoft.AspNetCore.Http.Connections;
using Microsoft.AspNetCore.SignalR.Client;

namespace Switchboard.Bench.Scenarios;

/// <summary>The publisher of the fan-out benchmark.</summary>
internal interface IFanOutPublisher : IAsyncDisposable
{
    Task PublishAsync(string payload);

    /// <summary>Waits until every publish so far is answered.</summary>
    Task FlushAsync();
}

/// <summary>Publishes over the multiplexed WebSocket, pipelined, with a bounded window of unanswered publishes.</summary>
internal sealed class SwitchboardPublisher : IFanOutPublisher
{
    // 512 publishes in flight: enough to keep group commits full, bounded so the publisher cannot run away.
    private readonly SemaphoreSlim _window = new(512);
    private readonly ClientWebSocket _socket = new();
    private readonly string _topic;
    private Task _acks = Task.CompletedTask;

    private SwitchboardPublisher(string topic) => _topic = topic;

    public static async Task<SwitchboardPublisher> ConnectAsync(Uri hub, string topic)
    {
        var publisher = new SwitchboardPublisher(topic);
        publisher._socket.Options.AddSubProtocol("switchboard.v1.json");
        await publisher._socket.ConnectAsync(new Uri(new UriBuilder(hub) { Scheme = "ws" }.Uri, "/v1/ws"), CancellationToken.None);
        publisher._acks = Task.Run(async () =>
        {
            var buffer = new byte[16 * 1024];
            try
            {
                while (true)
                {
                    var result = await publisher._socket.ReceiveAsync(buffer, CancellationToken.None);
                    if (result.MessageType == WebSocketMessageType.Close)
                    {
                        return;
                    }
                    if (result.EndOfMessage)
                    {
                        if (buffer.AsSpan(0, result.Count).IndexOf("\"error\""u8) >= 0)
                        {
                            throw new InvalidOperationException("publish refused: " + Encoding.UTF8.GetString(buffer, 0, result.Count));
                        }
                        publisher._window.Release();
                    }
                }
            }
            catch (WebSocketException)
            {
            }
        });
        return publisher;
    }

    public async Task PublishAsync(string payload)
    {
        await _window.WaitAsync();
        await _socket.SendAsync(Encoding.UTF8.GetBytes("{\"publish\":{\"topic\":\"" + _topic + "\",\"payload\":" + payload + "}}"), WebSocketMessageType.Text, true, CancellationToken.None);
    }

    public async Task FlushAsync()
    {
        for (var i = 0; i < 512; i++)
        {
            await _window.WaitAsync();
        }
        _window.Release(512);
    }

    public async ValueTask DisposeAsync()
    {
        await _socket.CloseAsync(WebSocketCloseStatus.NormalClosure, "done", CancellationToken.None);
        await _acks;
        _socket.Dispose();
        _window.Dispose();
    }
}

internal sealed class SignalRPublisher(HubConnection connection, string topic) : IFanOutPublisher
{
    public static async Task<SignalRPublisher> ConnectAsync(Uri server, string topic)
    {
        var connection = new HubConnectionBuilder().WithUrl(new Uri(server, "/hub"), HttpTransportType.WebSockets, o => o.SkipNegotiation = true).Build();
        await connection.StartAsync();
        return new SignalRPublisher(connection, topic);
    }

    public Task PublishAsync(string payload) => connection.SendAsync("Publish", topic, payload);

    public Task FlushAsync() => connection.InvokeAsync("Subscribe", "flush-" + topic); // a round trip: everything sent before it was handled

    public ValueTask DisposeAsync() => connection.DisposeAsync();
}
