namespace Switchboard.Core;

/// <summary>How one error code appears on each protocol.</summary>
/// <param name="Code">The error.</param>
/// <param name="Name">The wire name, e.g. <c>topic-not-found</c>.</param>
/// <param name="HttpStatus">The HTTP status code.</param>
/// <param name="WebSocketCloseCode">The WebSocket close code used when the error ends a connection.</param>
/// <param name="GrpcStatus">The gRPC status code (numeric value of <c>Grpc.Core.StatusCode</c>).</param>
/// <param name="Title">A sentence for humans, the same for every occurrence.</param>
public sealed record ErrorInfo(ErrorCode Code, string Name, int HttpStatus, int WebSocketCloseCode, int GrpcStatus, string Title);

/// <summary>
/// The one table of error codes shared by every protocol. Adapters look codes up here; they never
/// invent statuses of their own.
/// </summary>
public static class ErrorTable
{
    // gRPC status numbers (grpc/status.h); Core does not reference Grpc.Core.
    private const int GrpcInvalidArgument = 3, GrpcDeadlineExceeded = 4, GrpcNotFound = 5, GrpcPermissionDenied = 7,
        GrpcResourceExhausted = 8, GrpcFailedPrecondition = 9, GrpcOutOfRange = 11, GrpcUnimplemented = 12,
        GrpcInternal = 13, GrpcUnavailable = 14, GrpcUnauthenticated = 16;

    // WebSocket close codes: 1xxx from RFC 6455, 4xxx private-use codes that mirror the HTTP status.
    private static readonly ErrorInfo[] Table =
    [
        new(ErrorCode.InvalidRequest, "invalid-request", 400, 4400, GrpcInvalidArgument, "The request is malformed."),
        new(ErrorCode.InvalidJson, "invalid-json", 400, 4400, GrpcInvalidArgument, "The body is not well-formed JSON."),
        new(ErrorCode.InvalidTopicName, "invalid-topic-name", 400, 4400, GrpcInvalidArgument, "The topic name breaks the naming rules."),
        new(ErrorCode.InvalidPosition, "invalid-position", 400, 4400, GrpcInvalidArgument, "The position, offset or cursor is not valid."),
        new(ErrorCode.ValidationFailed, "validation-failed", 422, 4422, GrpcInvalidArgument, "The request's values are not acceptable."),
        new(ErrorCode.UnsupportedMediaType, "unsupported-media-type", 415, 1003, GrpcInvalidArgument, "The content type is not accepted here."),
        new(ErrorCode.MessageTooLarge, "message-too-large", 413, 1009, GrpcResourceExhausted, "A message is larger than the limit."),
        new(ErrorCode.RequestTooLarge, "request-too-large", 413, 1009, GrpcResourceExhausted, "The request is larger than the limit."),
        new(ErrorCode.Unauthorized, "unauthorized", 401, 4401, GrpcUnauthenticated, "Credentials are missing or not valid."),
        new(ErrorCode.Forbidden, "forbidden", 403, 4403, GrpcPermissionDenied, "The credentials do not allow this operation."),
        new(ErrorCode.TopicNotFound, "topic-not-found", 404, 4404, GrpcNotFound, "The topic does not exist."),
        new(ErrorCode.MessageNotFound, "message-not-found", 404, 4404, GrpcNotFound, "The message does not exist."),
        new(ErrorCode.MessageExpired, "message-expired", 410, 4410, GrpcNotFound, "Retention has removed the message."),
        new(ErrorCode.RouteNotFound, "route-not-found", 404, 4404, GrpcUnimplemented, "No such route."),
        new(ErrorCode.MethodNotAllowed, "method-not-allowed", 405, 4405, GrpcUnimplemented, "The method is not allowed on this resource."),
        new(ErrorCode.EpochMismatch, "epoch-mismatch", 409, 4409, GrpcFailedPrecondition, "The position belongs to another incarnation of the topic."),
        new(ErrorCode.PositionOutOfRange, "position-out-of-range", 409, 4409, GrpcOutOfRange, "The position lies beyond the end of the topic."),
        new(ErrorCode.IdempotencyKeyReused, "idempotency-key-reused", 422, 4422, GrpcFailedPrecondition, "The idempotency key was already used for a different request."),
        new(ErrorCode.PreconditionFailed, "precondition-failed", 412, 4412, GrpcFailedPrecondition, "A precondition did not hold."),
        new(ErrorCode.RateLimited, "rate-limited", 429, 4429, GrpcResourceExhausted, "Too many requests."),
        new(ErrorCode.SlowConsumer, "slow-consumer", 503, 4408, GrpcResourceExhausted, "The consumer did not keep up and was disconnected."),
        new(ErrorCode.NotReady, "not-ready", 503, 1013, GrpcUnavailable, "The hub is starting."),
        new(ErrorCode.ShuttingDown, "shutting-down", 503, 1001, GrpcUnavailable, "The hub is shutting down."),
        new(ErrorCode.StorageUnavailable, "storage-unavailable", 503, 1011, GrpcUnavailable, "The storage engine is unavailable."),
        new(ErrorCode.Timeout, "timeout", 504, 4408, GrpcDeadlineExceeded, "The operation timed out."),
        new(ErrorCode.Unsupported, "unsupported", 501, 4501, GrpcUnimplemented, "This operation is not offered by this hub."),
        new(ErrorCode.QueueNotFound, "queue-not-found", 404, 4404, GrpcNotFound, "The queue does not exist."),
        new(ErrorCode.InvalidQueueName, "invalid-queue-name", 400, 4400, GrpcInvalidArgument, "The queue name breaks the naming rules."),
        new(ErrorCode.LeaseMismatch, "lease-mismatch", 409, 4409, GrpcFailedPrecondition, "The lease token does not match the message's current lease."),
        new(ErrorCode.LeaseExpired, "lease-expired", 409, 4409, GrpcFailedPrecondition, "The lease ran out; the message is (or will be) delivered again."),
        new(ErrorCode.ReplyNotFound, "reply-not-found", 404, 4404, GrpcNotFound, "No request waits for a reply under this id."),
        new(ErrorCode.ReplyExpired, "reply-expired", 410, 4410, GrpcNotFound, "The request's wait for a reply is over."),
        new(ErrorCode.ReplyAlreadySent, "reply-already-sent", 409, 4409, GrpcFailedPrecondition, "The request already has its reply."),
        new(ErrorCode.BindingNotFound, "binding-not-found", 404, 4404, GrpcNotFound, "The queue has no binding to that topic or pattern."),
        new(ErrorCode.Overloaded, "overloaded", 503, 1013, GrpcUnavailable, "The hub is saturated and sheds new messages for a moment; consumers are still served."),
        new(ErrorCode.TooManyConnections, "too-many-connections", 503, 1013, GrpcUnavailable, "The hub holds as many connections as it can; retry shortly."),
        new(ErrorCode.LimitReached, "limit-reached", 409, 4409, GrpcResourceExhausted, "The hub holds as many of these as its configuration allows."),
        new(ErrorCode.Internal, "internal", 500, 1011, GrpcInternal, "An internal error occurred."),
    ];

    private static readonly Dictionary<string, ErrorInfo> ByName = Table.ToDictionary(e => e.Name, StringComparer.Ordinal);

    static ErrorTable()
    {
        // The table is indexed by the enum's value; keep them in step.
        for (var i = 0; i < Table.Length; i++)
        {
            if ((int)Table[i].Code != i)
            {
                throw new InvalidOperationException($"ErrorTable row {i} is {Table[i].Code}; rows must follow ErrorCode's order.");
            }
        }
        if (Table.Length != Enum.GetValues<ErrorCode>().Length)
        {
            throw new InvalidOperationException("ErrorTable must have one row per ErrorCode.");
        }
    }

    /// <summary>All rows, in <see cref="ErrorCode"/> order.</summary>
    public static IReadOnlyList<ErrorInfo> All => Table;

    /// <summary>The row for <paramref name="code"/>.</summary>
    public static ErrorInfo Get(ErrorCode code) => Table[(int)code];

    /// <summary>Finds a row by its wire name.</summary>
    public static bool TryGet(string name, out ErrorInfo info) => ByName.TryGetValue(name, out info!);
}
