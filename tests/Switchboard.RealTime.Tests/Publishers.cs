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
        "grpc" => GrpcAsync(hub, topic, first, last, cancellationToken),
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

    /// <summary>gRPC: unary Publish for odd counts, PublishStream (client streaming) for the rest, so both modes feed the matrix.</summary>
    private static async Task GrpcAsync(TestHub hub, string topic, int first, int last, CancellationToken cancellationToken)
    {
        using var channel = Grpc.Net.Client.GrpcChannel.ForAddress(hub.Address);
        var client = new Switchboard.Protocol.V1.Switchboard.SwitchboardClient(channel);
        Google.Protobuf.ByteString Payload(int i) => Google.Protobuf.ByteString.CopyFromUtf8("{\"i\":" + i + "}");
        var half = first + (last - first) / 2;
        for (var i = first; i <= half; i++)
        {
            await client.PublishAsync(new Switchboard.Protocol.V1.PublishRequest { Topic = topic, Payload = Payload(i) }, cancellationToken: cancellationToken);
        }
        using var upload = client.PublishStream(cancellationToken: cancellationToken);
        for (var i = half + 1; i <= last; i++)
        {
            await upload.RequestStream.WriteAsync(new Switchboard.Protocol.V1.PublishRequest { Topic = topic, Payload = Payload(i) }, cancellationToken);
        }
        await upload.RequestStream.CompleteAsync();
        Assert.Equal(last - half, (await upload).Count);
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
