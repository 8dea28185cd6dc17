namespace Switchboard.Client.Transports;

/// <summary>What the hub's WebSocket close codes mean to the client (docs/websocket-protocol.md).</summary>
internal static class CloseCodes
{
    /// <summary>code → (error code, fatal: reconnecting cannot help).</summary>
    private static readonly Dictionary<int, (string Code, bool Fatal)> Known = new()
    {
        [1000] = (ClientErrorCodes.ConnectionLost, false),
        [1001] = ("shutting-down", false),
        [1002] = (ClientErrorCodes.ProtocolError, true),
        [1003] = (ClientErrorCodes.ProtocolError, true),
        [1006] = (ClientErrorCodes.ConnectionLost, false),
        [1007] = (ClientErrorCodes.ProtocolError, true),
        [1009] = ("message-too-large", false),
        [1011] = (ClientErrorCodes.Internal, false),
        [1013] = ("overloaded", false),
        [4400] = ("invalid-request", false),
        [4401] = (ClientErrorCodes.Unauthorized, true),
        [4403] = ("forbidden", true),
        [4408] = ("slow-consumer", false),
        [4429] = ("rate-limited", false),
    };

    /// <summary>The error a close stands for; fatal when reconnecting cannot help (a refused credential, a protocol error).</summary>
    public static SwitchboardException FromClose(int code, string? reason)
    {
        var (name, fatal) = Known.TryGetValue(code, out var known) ? known : (ClientErrorCodes.ConnectionLost, false);
        var text = $"The hub closed the WebSocket with {code}" + (string.IsNullOrEmpty(reason) ? "." : $": {reason}");
        return new SwitchboardException(name, text) { CloseCode = code, IsFatal = fatal };
    }
}
