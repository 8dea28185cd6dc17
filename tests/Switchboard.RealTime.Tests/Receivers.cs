using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using Google.Protobuf;
using Switchboard.Protocol.V1;

namespace Switchboard.RealTime.Tests;

/// <summary>A message as a test client saw it.</summary>
internal readonly record struct Received(long Offset, string Epoch, JsonElement Payload);

/// <summary>
/// A subscriber over one transport that reads a topic from a position until told to stop, and reports the
/// messages it saw. Each implementation is what a real client of that transport does.
/// </summary>
internal abstract class Receiver
{
    public static Receiver Create(string kind, TestHub hub) => kind switch
    {
        "ws-json" => new WebSocketJsonReceiver(hub),
        "ws-compact" => new WebSocketCompactReceiver(hub),
        "ws-proto" => new WebSocketProtoReceiver(hub),
        "ws-plain" => new WebSocketPlainReceiver(hub),
        "sse" => new SseReceiver(hub),
        "longpoll" => new PollReceiver(hub, wait: true),
        "poll" => new PollReceiver(hub, wait: false),
        "grpc" => new GrpcReceiver(hub),
        _ => throw new ArgumentOutOfRangeException(nameof(kind)),
    };

    /// <summary>Reads messages after <paramref name="after"/> (epoch:offset, or an offset) until <paramref name="stopAt"/> messages were seen in this session.</summary>
    public abstract Task<List<Received>> ReadAsync(string topic, string after, int stopAt, CancellationToken cancellationToken);

    protected static Received FromJson(JsonElement message)
        => new(message.GetProperty("offset").GetInt64(), message.GetProperty("epoch").GetString()!, message.GetProperty("payload").Clone());
}

internal sealed class WebSocketJsonReceiver(TestHub hub) : Receiver
{
    public override async Task<List<Received>> ReadAsync(string topic, string after, int stopAt, CancellationToken cancellationToken)
    {
        using var socket = new ClientWebSocket();
        socket.Options.AddSubProtocol("switchboard.v1.json");
        await socket.ConnectAsync(hub.WebSocketAddress("/v1/ws"), cancellationToken);
        Assert.Equal("switchboard.v1.json", socket.SubProtocol);
        await socket.SendAsync(Encoding.UTF8.GetBytes($$$"""{"id":"s","subscribe":{"topics":["{{{topic}}}"],"after":"{{{after}}}"}}"""), WebSocketMessageType.Text, true, cancellationToken);
        var received = new List<Received>();
        while (received.Count < stopAt)
        {
            using var frame = JsonDocument.Parse(await WebSockets.ReceiveAsync(socket, cancellationToken));
            var root = frame.RootElement;
            if (root.TryGetProperty("message", out var message))
            {
                received.Add(FromJson(message));
            }
            else if (root.TryGetProperty("error", out var error))
            {
                Assert.Fail("error frame: " + error.GetRawText());
            }
        }
        await socket.CloseAsync(WebSocketCloseStatus.NormalClosure, "done", cancellationToken);
        return received;
    }
}

/// <summary>The JSON protocol with <c>"envelope": "compact"</c>: messages carry topic and offset, the epoch comes in a notice before them.</summary>
internal sealed class WebSocketCompactReceiver(TestHub hub) : Receiver
{
    public override async Task<List<Received>> ReadAsync(string topic, string after, int stopAt, CancellationToken cancellationToken)
    {
        using var socket = new ClientWebSocket();
        socket.Options.AddSubProtocol("switchboard.v1.json");
        await socket.ConnectAsync(hub.WebSocketAddress("/v1/ws?batch=true"), cancellationToken);
        await socket.SendAsync(Encoding.UTF8.GetBytes($$$"""{"id":"s","subscribe":{"topics":["{{{topic}}}"],"after":"{{{after}}}","envelope":"compact"}}"""), WebSocketMessageType.Text, true, cancellationToken);
        var epochs = new Dictionary<string, string>();
        var received = new List<Received>();
        while (received.Count < stopAt)
        {
            foreach (var line in Encoding.UTF8.GetString(await WebSockets.ReceiveAsync(socket, cancellationToken)).Split('\n'))
            {
                var root = JsonDocument.Parse(line).RootElement;
                if (root.TryGetProperty("m", out var message))
                {
                    var name = message.GetProperty("t").GetString()!;
                    Assert.True(epochs.TryGetValue(name, out var epoch), $"a compact message of {name} came before its epoch: {line}");
                    received.Add(new Received(message.GetProperty("o").GetInt64(), epoch, message.GetProperty("p").Clone()));
                }
                else if (root.TryGetProperty("notice", out var notice))
                {
                    epochs[notice.GetProperty("topic").GetString()!] = notice.GetProperty("epoch").GetString()!;
                }
                else if (root.TryGetProperty("error", out var error))
                {
                    Assert.Fail("error frame: " + error.GetRawText());
                }
            }
        }
        await socket.CloseAsync(WebSocketCloseStatus.NormalClosure, "done", cancellationToken);
        return received;
    }
}

internal sealed class WebSocketProtoReceiver(TestHub hub) : Receiver
{
    public override async Task<List<Received>> ReadAsync(string topic, string after, int stopAt, CancellationToken cancellationToken)
    {
        using var socket = new ClientWebSocket();
        socket.Options.AddSubProtocol("switchboard.v1.proto");
        await socket.ConnectAsync(hub.WebSocketAddress("/v1/ws"), cancellationToken);
        Assert.Equal("switchboard.v1.proto", socket.SubProtocol);
        var position = Core.Position.Parse(after);
        var subscribe = new ClientFrame { Id = "s", Subscribe = new SubscribeRequest { Topics = { topic }, AfterOffset = position.Offset, Epoch = position.Epoch ?? "" } };
        await socket.SendAsync(subscribe.ToByteArray(), WebSocketMessageType.Binary, true, cancellationToken);
        var received = new List<Received>();
        while (received.Count < stopAt)
        {
            var frame = ServerFrame.Parser.ParseFrom(await WebSockets.ReceiveAsync(socket, cancellationToken, WebSocketMessageType.Binary));
            if (frame.KindCase == ServerFrame.KindOneofCase.Message)
            {
                received.Add(new Received(frame.Message.Offset, frame.Message.Epoch, JsonDocument.Parse(frame.Message.Payload.Memory).RootElement.Clone()));
            }
            Assert.NotEqual(ServerFrame.KindOneofCase.Error, frame.KindCase);
        }
        await socket.CloseAsync(WebSocketCloseStatus.NormalClosure, "done", cancellationToken);
        return received;
    }
}

/// <summary>Plain mode carries payloads only: the test's payloads hold their own index, which equals the offset.</summary>
internal sealed class WebSocketPlainReceiver(TestHub hub) : Receiver
{
    public override async Task<List<Received>> ReadAsync(string topic, string after, int stopAt, CancellationToken cancellationToken)
    {
        using var socket = new ClientWebSocket();
        await socket.ConnectAsync(hub.WebSocketAddress($"/v1/topics/{topic}/ws?after={after}"), cancellationToken);
        var epoch = after.Contains(':', StringComparison.Ordinal) ? after[..after.IndexOf(':', StringComparison.Ordinal)] : "";
        var received = new List<Received>();
        while (received.Count < stopAt)
        {
            var payload = JsonDocument.Parse(await WebSockets.ReceiveAsync(socket, cancellationToken)).RootElement.Clone();
            received.Add(new Received(payload.GetProperty("i").GetInt64(), epoch, payload));
        }
        await socket.CloseAsync(WebSocketCloseStatus.NormalClosure, "done", cancellationToken);
        return received;
    }
}

internal sealed class SseReceiver(TestHub hub) : Receiver
{
    public override async Task<List<Received>> ReadAsync(string topic, string after, int stopAt, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, $"/v1/topics/{topic}/events");
        request.Headers.TryAddWithoutValidation("Last-Event-ID", after);
        using var response = await hub.Http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
        Assert.Equal("text/event-stream", response.Content.Headers.ContentType?.MediaType);
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync(cancellationToken));
        var received = new List<Received>();
        await foreach (var sse in SseParser.ReadAsync(reader, cancellationToken))
        {
            if (sse.Event is null && sse.Data.Length > 0)
            {
                using var message = JsonDocument.Parse(sse.Data);
                var item = FromJson(message.RootElement);
                Assert.Equal($"{item.Epoch}:{item.Offset}", sse.Id); // the id is the message's position
                received.Add(item);
                if (received.Count == stopAt)
                {
                    break;
                }
            }
        }
        return received;
    }
}

internal sealed class PollReceiver(TestHub hub, bool wait) : Receiver
{
    public override async Task<List<Received>> ReadAsync(string topic, string after, int stopAt, CancellationToken cancellationToken)
    {
        var received = new List<Received>();
        while (received.Count < stopAt)
        {
            var limit = Math.Min(100, stopAt - received.Count);
            using var page = JsonDocument.Parse(await hub.Http.GetStringAsync($"/v1/topics/{topic}/messages?after={after}&limit={limit}{(wait ? "&wait=10" : "")}", cancellationToken));
            foreach (var message in page.RootElement.GetProperty("messages").EnumerateArray())
            {
                received.Add(FromJson(message));
            }
            after = page.RootElement.GetProperty("next").GetString()!;
            if (!wait && page.RootElement.GetProperty("messages").GetArrayLength() == 0)
            {
                // Polling has an interval by nature; 10 ms keeps the test quick.
                await Task.Delay(10, cancellationToken);
            }
        }
        return received;
    }
}

/// <summary>gRPC server streaming: Subscribe from a position.</summary>
internal sealed class GrpcReceiver(TestHub hub) : Receiver
{
    public override async Task<List<Received>> ReadAsync(string topic, string after, int stopAt, CancellationToken cancellationToken)
    {
        using var channel = Grpc.Net.Client.GrpcChannel.ForAddress(hub.Address);
        var client = new Switchboard.Protocol.V1.Switchboard.SwitchboardClient(channel);
        var position = Core.Position.Parse(after);
        using var call = client.Subscribe(new SubscribeRequest { Topics = { topic }, AfterOffset = position.Offset, Epoch = position.Epoch ?? "" }, cancellationToken: cancellationToken);
        var received = new List<Received>();
        while (received.Count < stopAt && await call.ResponseStream.MoveNext(cancellationToken))
        {
            var message = call.ResponseStream.Current;
            Assert.Null(message.Notice);
            received.Add(new Received(message.Offset, message.Epoch, JsonDocument.Parse(message.Payload.Memory).RootElement.Clone()));
        }
        return received;
    }
}

/// <summary>Whole WebSocket messages.</summary>
internal static class WebSockets
{
    public static async Task<byte[]> ReceiveAsync(ClientWebSocket socket, CancellationToken cancellationToken, WebSocketMessageType? expected = null)
    {
        var buffer = new byte[16 * 1024];
        using var message = new MemoryStream();
        while (true)
        {
            var result = await socket.ReceiveAsync(buffer, cancellationToken);
            if (result.MessageType == WebSocketMessageType.Close)
            {
                throw new WebSocketClosedException(result.CloseStatus, result.CloseStatusDescription);
            }
            if (expected is { } type)
            {
                Assert.Equal(type, result.MessageType);
            }
            message.Write(buffer, 0, result.Count);
            if (result.EndOfMessage)
            {
                return message.ToArray();
            }
        }
    }
}

internal sealed class WebSocketClosedException(WebSocketCloseStatus? status, string? description)
    : Exception($"closed by the hub: {(int?)status} {description}")
{
    public WebSocketCloseStatus? Status { get; } = status;
    public string? Description { get; } = description;
}

/// <summary>One Server-Sent Event.</summary>
internal sealed record SseEvent(string? Id, string? Event, string Data);

/// <summary>A minimal, spec-following SSE parser (fields, multi-line data, comments).</summary>
internal static class SseParser
{
    public static async IAsyncEnumerable<SseEvent> ReadAsync(StreamReader reader, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken)
    {
        string? id = null, name = null;
        var data = new StringBuilder();
        var sawData = false;
        while (await reader.ReadLineAsync(cancellationToken) is { } line)
        {
            if (line.Length == 0)
            {
                if (sawData || id is not null || name is not null)
                {
                    yield return new SseEvent(id, name, sawData ? data.ToString(0, data.Length - 1) : "");
                }
                id = null;
                name = null;
                data.Clear();
                sawData = false;
                continue;
            }
            if (line[0] == ':')
            {
                continue;
            }
            var colon = line.IndexOf(':', StringComparison.Ordinal);
            var field = colon < 0 ? line : line[..colon];
            var value = colon < 0 ? "" : line[(colon + 1)..];
            if (value.StartsWith(' '))
            {
                value = value[1..];
            }
            switch (field)
            {
                case "data":
                    data.Append(value).Append('\n');
                    sawData = true;
                    break;
                case "id":
                    id = value;
                    break;
                case "event":
                    name = value;
                    break;
            }
        }
    }
}
