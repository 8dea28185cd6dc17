using System.Text.Json;

namespace Switchboard.Client;

/// <summary>
/// Everything the client reports: the hub's refusals (its problem+json, error frames and gRPC statuses carry the
/// codes of <c>GET /v1/errors</c>: <c>forbidden</c>, <c>topic-not-found</c>, <c>lease-mismatch</c>, …), WebSocket close
/// codes, and the client's own codes in <see cref="ClientErrorCodes"/>.
/// </summary>
public sealed class SwitchboardException : Exception
{
    /// <summary>Creates an error with the hub's (or the client's) code.</summary>
    public SwitchboardException(string code, string message, Exception? innerException = null)
        : base(message, innerException)
    {
        Code = code;
    }

    /// <summary>Creates an <c>internal</c> error (for serializers and tests; the client sets a code).</summary>
    public SwitchboardException() : this(ClientErrorCodes.Internal, "The operation failed.") { }

    /// <summary>Creates an <c>internal</c> error with a message.</summary>
    public SwitchboardException(string message) : this(ClientErrorCodes.Internal, message) { }

    /// <summary>Creates an <c>internal</c> error with a message and its cause.</summary>
    public SwitchboardException(string message, Exception innerException) : this(ClientErrorCodes.Internal, message, innerException) { }

    /// <summary>The hub's error code (<c>GET /v1/errors</c> lists them) or one of <see cref="ClientErrorCodes"/>.</summary>
    public string Code { get; }

    /// <summary>The HTTP status of the refusal, when there was one (also set from error frames and gRPC statuses).</summary>
    public int? Status { get; init; }

    /// <summary>The WebSocket close code, when a close said why.</summary>
    public int? CloseCode { get; init; }

    /// <summary>How long the hub asked to be left alone before a retry (<c>Retry-After</c>), with <c>rate-limited</c>, <c>overloaded</c> and 503s.</summary>
    public TimeSpan? RetryAfter { get; init; }

    /// <summary>The hub's whole problem+json or error frame, when it sent one.</summary>
    public JsonElement? Problem { get; init; }

    /// <summary>True when another try may succeed: the connection failed, or the hub was busy or not ready. A refusal (forbidden, invalid) is not.</summary>
    public bool IsTransient => Code is ClientErrorCodes.ConnectionLost or ClientErrorCodes.Unavailable or "not-ready" or "shutting-down" or "overloaded"
        or "too-many-connections" or "storage-unavailable" or "slow-consumer" or "rate-limited" || Status == 503;

    /// <summary>Reconnecting cannot help (a refused credential, a protocol error): the client closes.</summary>
    internal bool IsFatal { get; init; }

    /// <summary>The connection rather than the hub failed: the operation is sent again on the next connection.</summary>
    internal bool IsLost => Code is ClientErrorCodes.ConnectionLost or ClientErrorCodes.Unavailable;

    internal static SwitchboardException Lost(string message, Exception? cause = null) => new(ClientErrorCodes.ConnectionLost, message, cause);

    internal static SwitchboardException Closed() => new(ClientErrorCodes.Closed, "The client is closed.");
}

/// <summary>The client's own error codes (the hub's are listed by <c>GET /v1/errors</c>).</summary>
public static class ClientErrorCodes
{
    /// <summary>The connection dropped before the hub answered. Publishes are retried by the client; other calls may be retried.</summary>
    public const string ConnectionLost = "connection-lost";

    /// <summary>No transport reached the hub (refused, unreachable, or a proxy in the way). The exception's message has one line per transport.</summary>
    public const string Unavailable = "unavailable";

    /// <summary>The client (or the subscription, or the responder) was closed.</summary>
    public const string Closed = "closed";

    /// <summary>No answer in time: a publish not confirmed within <see cref="SwitchboardClientOptions.PublishTimeout"/>, a request without a reply.</summary>
    public const string Timeout = "timeout";

    /// <summary>The operation is not possible on this transport or hub (an older hub without an endpoint the client needs).</summary>
    public const string Unsupported = "unsupported";

    /// <summary>The hub sent something the client cannot read, or closed for a protocol error.</summary>
    public const string ProtocolError = "protocol-error";

    /// <summary>The credential was refused (401, WebSocket 4401, gRPC Unauthenticated).</summary>
    public const string Unauthorized = "unauthorized";

    /// <summary>Something unexpected; the message says what.</summary>
    public const string Internal = "internal";
}
