namespace Switchboard.Core;

/// <summary>
/// How deep JSON may nest, the same on every way into and out of the hub, so that whatever one protocol accepts every
/// other one can carry and every client can read.
/// </summary>
public static class JsonLimits
{
    /// <summary>
    /// A JSON payload nests at most this deep (System.Text.Json's own default, so a .NET reader with default options reads
    /// any payload the hub accepts). Checked on every publish, send and reply, whatever the protocol.
    /// </summary>
    public const int PayloadDepth = 64;

    /// <summary>
    /// A document that carries payloads — a request body, a WebSocket frame, a page of history — nests at most this deep:
    /// a payload's depth and the envelope around it (a batch's array, a frame's command, a page's message list).
    /// </summary>
    public const int DocumentDepth = PayloadDepth + 8;
}
