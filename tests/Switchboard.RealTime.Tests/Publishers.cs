using System.Net;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;

namespace Switchboard.RealTime.Tests;

/// <summary>Publishes messages {"i": n} for n = first..last, in order, over one transport.</summary>
internal static class Publishers
{
    public static Task PublishAsync(string kind, TestHub hub, string topic, int first, int last, CancellationToken cancellationToken) => kind switch
    {
        "rest" => RestAsync(hub, topic, first, last, cancellationToken),
        "ws" => WebSocketAsync(hub, topic, first, last, cancellationToken),
        _ => throw new ArgumentOutOfRangeException(nameof(kind)),
    };

    private static async Task RestAsync(TestHub hub, string topic, int first, int last, CancellationToken cancellationToken)
    {
        for (var i = first; i <= last; i++)
        {
            using var content = new StringContent($$$"""{"payload":{"i":{{{i}}}}}""", Encoding.UTF8, "application/json");
            using var response = await hub.Http.PostAsync($"/v1/topics/{topic}/messages", content, cancellationToken);
            Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        }
    }

    /// <summary>Pipelined: every publish is sent without waiting, then every answer is checked, in order.</summary>
    private static async Task WebSocketAsync(TestHub hub, string topic, int first, int last, CancellationToken cancellationToken)
    {
        using var socket = new ClientWebSocket();
        socket.Options.AddSubProtocol("switchboard.v1.json");
        await socket.ConnectAsync(hub.WebSocketAddress("/v1/ws"), cancellationToken);
        var answers = Task.Run(async () =>
        {
            for (var i = first; i <= last; i++)
            {
                using var frame = JsonDocument.Parse(await WebSockets.ReceiveAsync(socket, cancellationToken));
                Assert.Equal(i.ToString(System.Globalization.CultureInfo.InvariantCulture), frame.RootElement.GetProperty("id").GetString());
                Assert.True(frame.RootElement.TryGetProperty("published", out _), frame.RootElement.GetRawText());
            }
        }, cancellationToken);
        for (var i = first; i <= last; i++)
        {
            await socket.SendAsync(Encoding.UTF8.GetBytes("{\"id\":\"" + i + "\",\"publish\":{\"topic\":\"" + topic + "\",\"payload\":{\"i\":" + i + "}}}"), WebSocketMessageType.Text, true, cancellationToken);
        }
        await answers;
        await socket.CloseAsync(WebSocketCloseStatus.NormalClosure, "done", cancellationToken);
    }
}
