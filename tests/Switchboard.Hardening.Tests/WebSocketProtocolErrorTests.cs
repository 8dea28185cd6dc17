using System.Net.WebSockets;

namespace Switchboard.Hardening.Tests;

/// <summary>
/// Frames that break RFC 6455 itself, sent byte by byte: the WebSocket below the hub closes the connection (1002, or 1007
/// for text that is not UTF-8) on its own, with no reason; the hub fills the reason in, naming what was wrong, so a
/// client author can fix it. Other connections carry on.
/// </summary>
public sealed class WebSocketProtocolErrorTests
{
    public static TheoryData<string, string, int, string> Violations => new()
    {
        { "/v1/ws", "unmasked", 1002, "not masked" },
        { "/v1/ws", "reserved opcode", 1002, "opcode 0x3 is reserved" },
        { "/v1/ws", "reserved bit", 1002, "reserved bits" },
        { "/v1/ws", "fragmented ping", 1002, "control frame is fragmented" },
        { "/v1/ws", "long ping", 1002, "over 125 bytes" },
        { "/v1/ws", "lone continuation", 1002, "continuation frame with no message" },
        { "/v1/ws", "interleaved message", 1002, "before the last one's final frame" },
        { "/v1/ws", "invalid UTF-8", 1007, "not valid UTF-8" },
        { "/v1/topics/raw.errors/ws", "unmasked", 1002, "not masked" },
        { "/v1/topics/raw.errors/ws", "invalid UTF-8", 1007, "not valid UTF-8" },
    };

    [Theory]
    [MemberData(nameof(Violations))]
    public async Task A_frame_that_breaks_the_protocol_is_closed_with_its_code_and_a_reason_that_names_the_fault(string path, string violation, int code, string says)
    {
        await using var hub = await TestHub.StartAsync();
        await using var bystander = await RawConnection.OpenAsync(hub.Address);
        Assert.Equal(101, (await bystander.UpgradeAsync("/v1/ws", subProtocol: "switchboard.v1.json")).Status);
        await using var raw = await RawConnection.OpenAsync(hub.Address);
        Assert.Equal(101, (await raw.UpgradeAsync(path, subProtocol: path == "/v1/ws" ? "switchboard.v1.json" : null)).Status);

        switch (violation)
        {
            case "unmasked":
                await raw.SendAsync(new byte[] { 0x81, 0x02, (byte)'h', (byte)'i' });
                break;
            case "reserved opcode":
                await raw.SendWebSocketFrameAsync(0x3, "?"u8.ToArray());
                break;
            case "reserved bit":
                await raw.SendWebSocketFrameAsync(0x1, "{}"u8.ToArray(), rsv1: true);
                break;
            case "fragmented ping":
                await raw.SendWebSocketFrameAsync(0x9, "p"u8.ToArray(), fin: false);
                break;
            case "long ping":
                await raw.SendWebSocketFrameAsync(0x9, new byte[126]);
                break;
            case "lone continuation":
                await raw.SendWebSocketFrameAsync(0x0, "{}"u8.ToArray());
                break;
            case "interleaved message":
                await raw.SendWebSocketFrameAsync(0x1, "{\"id\":"u8.ToArray(), fin: false);
                await raw.SendWebSocketFrameAsync(0x1, "{}"u8.ToArray());
                break;
            case "invalid UTF-8":
                await raw.SendWebSocketFrameAsync(0x1, new byte[] { (byte)'{', 0xc0, 0x80, (byte)'}' });
                break;
        }

        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var close = await raw.ReadWebSocketFrameAsync(timeout.Token);
        Assert.Equal(0x8, close.Type);
        Assert.Equal(code, close.CloseCode);
        Assert.Contains(says, close.CloseReason, StringComparison.Ordinal);
        Assert.True(System.Text.Encoding.UTF8.GetByteCount(close.CloseReason) <= 123, "a close reason fits a control frame");

        // The other connection is untouched: it still answers a ping.
        await bystander.SendWebSocketFrameAsync(0x1, """{"id":"still","ping":{}}"""u8.ToArray());
        var pong = await bystander.ReadWebSocketFrameAsync(timeout.Token);
        Assert.Contains("\"still\"", System.Text.Encoding.UTF8.GetString(pong.Payload), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_close_frame_the_hub_sends_for_its_own_reasons_is_left_as_it_is()
    {
        // The hub's own closes carry their reasons already (here: a binary frame on the JSON subprotocol, 1003).
        await using var hub = await TestHub.StartAsync();
        await using var raw = await RawConnection.OpenAsync(hub.Address);
        Assert.Equal(101, (await raw.UpgradeAsync("/v1/ws", subProtocol: "switchboard.v1.json")).Status);
        await raw.SendWebSocketFrameAsync(0x2, new byte[] { 1, 2, 3 });
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var close = await raw.ReadWebSocketFrameAsync(timeout.Token);
        Assert.Equal((int)WebSocketCloseStatus.InvalidMessageType, close.CloseCode);
        Assert.Contains("text frames", close.CloseReason, StringComparison.Ordinal);
    }
}
