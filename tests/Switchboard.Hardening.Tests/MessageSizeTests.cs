using System.Net;
using System.Net.WebSockets;
using System.Text.Json;
using Google.Protobuf;
using Grpc.Core;
using Grpc.Net.Client;
using Switchboard.Protocol.V1;

namespace Switchboard.Hardening.Tests;

/// <summary>
/// The message size limit (Switchboard:MaxMessageBytes, 1 MiB by default) on every protocol: 413 on REST, close
/// 1009 on WebSocket, RESOURCE_EXHAUSTED on gRPC; and WebSocket compression is never negotiated, so no frame can
/// inflate past the limit.
/// </summary>
public sealed class MessageSizeTests
{
    private const int Limit = 1024 * 1024;

    // The WebSocket receive loop allows the limit plus 64 KiB for a frame's envelope (topic, headers, JSON escaping).
    private const int FrameLimit = Limit + (64 * 1024);

    [Fact]
    public async Task REST_answers_413_problem_json_one_byte_over_the_default_limit()
    {
        await using var hub = await TestHub.StartAsync();

        using var over = await hub.Http.PostAsync("/v1/topics/size.rest/messages", Body(Limit + 1));
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, over.StatusCode);
        Assert.Equal("application/problem+json", over.Content.Headers.ContentType?.MediaType);
        using var problem = JsonDocument.Parse(await over.Content.ReadAsStringAsync());
        Assert.Equal("message-too-large", problem.RootElement.GetProperty("code").GetString());
        Assert.Equal(Limit, problem.RootElement.GetProperty("limit").GetInt64());

        using var fits = await hub.Http.PostAsync("/v1/topics/size.rest/messages", Body(Limit));
        Assert.Equal(HttpStatusCode.Created, fits.StatusCode);
    }

    public static TheoryData<string, string?, WebSocketMessageType> WebSocketModes => new()
    {
        { "/v1/ws", "switchboard.v1.json", WebSocketMessageType.Text },
        { "/v1/ws", "switchboard.v1.proto", WebSocketMessageType.Binary },
        { "/v1/topics/size.plain/ws", null, WebSocketMessageType.Text },
        { "/v1/topics/size.plain/ws", null, WebSocketMessageType.Binary },
    };

    [Theory]
    [MemberData(nameof(WebSocketModes))]
    public async Task A_WebSocket_frame_over_the_default_limit_is_closed_with_1009(string path, string? subProtocol, WebSocketMessageType type)
    {
        await using var hub = await TestHub.StartAsync();
        using var socket = new ClientWebSocket();
        if (subProtocol is not null)
        {
            socket.Options.AddSubProtocol(subProtocol);
        }
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await socket.ConnectAsync(hub.WebSocketAddress(path), timeout.Token);

        // The hub stops reading at the limit and closes; the rest of the frame need not arrive.
        var sending = socket.SendAsync(new byte[FrameLimit + 1].AsMemory(), type, endOfMessage: true, timeout.Token).AsTask();
        var buffer = new byte[4096];
        WebSocketReceiveResult result;
        do
        {
            result = await socket.ReceiveAsync(buffer, timeout.Token);
        }
        while (result.MessageType != WebSocketMessageType.Close);

        Assert.Equal(WebSocketCloseStatus.MessageTooBig, result.CloseStatus);
        Assert.Contains(FrameLimit.ToString(System.Globalization.CultureInfo.InvariantCulture), result.CloseStatusDescription, StringComparison.Ordinal);
        await Task.WhenAny(sending); // the rest of the frame may or may not have gone out before the close
    }

    [Fact]
    public async Task gRPC_answers_RESOURCE_EXHAUSTED_over_the_default_limit()
    {
        await using var hub = await TestHub.StartAsync();
        using var channel = GrpcChannel.ForAddress(hub.Address);
        var client = new Switchboard.Protocol.V1.Switchboard.SwitchboardClient(channel);

        // Over the message limit: the hub refuses it (with its error code in a trailer).
        var tooBig = await Assert.ThrowsAsync<RpcException>(() => client.PublishAsync(Publish(Limit + 1)).ResponseAsync);
        Assert.Equal((StatusCode.ResourceExhausted, "message-too-large"), (tooBig.StatusCode, tooBig.Trailers.GetValue("switchboard-error")));
        // Over the request limit (a batch's 16 MiB): grpc-dotnet refuses the frame before it is decoded.
        var hugeFrame = await Assert.ThrowsAsync<RpcException>(() => client.PublishAsync(Publish((16 * 1024 * 1024) + 1)).ResponseAsync);
        Assert.Equal(StatusCode.ResourceExhausted, hugeFrame.StatusCode);

        Assert.Equal(1, (await client.PublishAsync(Publish(Limit))).Offset);
    }

    [Theory]
    [InlineData("/v1/ws")]
    [InlineData("/v1/topics/size.deflate/ws")]
    public async Task A_client_offering_permessage_deflate_gets_no_extension_and_a_compressed_frame_is_refused_with_1002(string path)
    {
        await using var hub = await TestHub.StartAsync();
        await using var raw = await RawConnection.OpenAsync(hub.Address);

        var upgrade = await raw.UpgradeAsync(path, extensions: "permessage-deflate; client_max_window_bits");
        Assert.Equal(101, upgrade.Status);
        Assert.Null(upgrade.Header("Sec-WebSocket-Extensions"));

        // RSV1 marks a compressed frame (RFC 7692). Without the extension it is a protocol error, so a small frame
        // that would inflate to gigabytes is never inflated at all.
        await raw.SendWebSocketFrameAsync(0x1, "a compressed frame, supposedly"u8.ToArray(), rsv1: true);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var close = await raw.ReadWebSocketFrameAsync(timeout.Token);
        Assert.Equal(0x8, close.Type);
        Assert.Equal((int)WebSocketCloseStatus.ProtocolError, close.CloseCode);
        Assert.Equal(HttpStatusCode.NotFound, (await hub.Http.GetAsync("/v1/topics/size.deflate")).StatusCode);
    }

    private static PublishRequest Publish(int bytes) => new() { Topic = "size.grpc", Payload = ByteString.CopyFrom(new byte[bytes]), ContentType = "application/octet-stream" };

    private static ByteArrayContent Body(int bytes)
    {
        var content = new ByteArrayContent(new byte[bytes]);
        content.Headers.ContentType = new("application/octet-stream");
        return content;
    }
}
