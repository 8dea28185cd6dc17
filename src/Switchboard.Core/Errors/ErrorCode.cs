namespace Switchboard.Core;

/// <summary>
/// Every error Switchboard can report, on every protocol. The wire name (kebab-case) is what clients
/// see in problem+json <c>code</c>, WebSocket error frames and gRPC status details.
/// </summary>
public enum ErrorCode
{
    /// <summary>The request is malformed in a way no more specific code describes.</summary>
    InvalidRequest,
    /// <summary>The body is not well-formed JSON.</summary>
    InvalidJson,
    /// <summary>A topic name or pattern breaks the naming rules.</summary>
    InvalidTopicName,
    /// <summary>A position, offset or cursor cannot be parsed or is out of range.</summary>
    InvalidPosition,
    /// <summary>The request is well-formed but its values are not acceptable.</summary>
    ValidationFailed,
    /// <summary>The body's content type is not accepted here.</summary>
    UnsupportedMediaType,
    /// <summary>One message is larger than the configured limit.</summary>
    MessageTooLarge,
    /// <summary>The whole request (for example a batch) is larger than the configured limit.</summary>
    RequestTooLarge,
    /// <summary>No credentials, or credentials that are not valid.</summary>
    Unauthorized,
    /// <summary>Valid credentials that do not allow this operation.</summary>
    Forbidden,
    /// <summary>The topic does not exist.</summary>
    TopicNotFound,
    /// <summary>The message does not exist (never published).</summary>
    MessageNotFound,
    /// <summary>The message existed but retention has removed it.</summary>
    MessageExpired,
    /// <summary>The route does not exist.</summary>
    RouteNotFound,
    /// <summary>The HTTP method is not allowed on this resource.</summary>
    MethodNotAllowed,
    /// <summary>The position names another incarnation (epoch) of the topic.</summary>
    EpochMismatch,
    /// <summary>The position lies beyond the end of the topic.</summary>
    PositionOutOfRange,
    /// <summary>An idempotency key was reused with a different request.</summary>
    IdempotencyKeyReused,
    /// <summary>A precondition header (If-Match) did not hold.</summary>
    PreconditionFailed,
    /// <summary>Too many requests; slow down.</summary>
    RateLimited,
    /// <summary>The consumer did not keep up with its subscription and was cut.</summary>
    SlowConsumer,
    /// <summary>The hub is starting and not ready to serve yet.</summary>
    NotReady,
    /// <summary>The hub is shutting down.</summary>
    ShuttingDown,
    /// <summary>The storage engine cannot be reached or written.</summary>
    StorageUnavailable,
    /// <summary>A wait ran out of time.</summary>
    Timeout,
    /// <summary>The operation exists in the protocol but this hub does not offer it (yet).</summary>
    Unsupported,
    /// <summary>The queue does not exist.</summary>
    QueueNotFound,
    /// <summary>The queue name breaks the naming rules.</summary>
    InvalidQueueName,
    /// <summary>The lease token does not match the message's current lease (it was leased again, or acked).</summary>
    LeaseMismatch,
    /// <summary>The lease ran out before the ack, nack or extend.</summary>
    LeaseExpired,
    /// <summary>No request waits for a reply under this id.</summary>
    ReplyNotFound,
    /// <summary>The request's wait for a reply is over.</summary>
    ReplyExpired,
    /// <summary>The request already has its reply.</summary>
    ReplyAlreadySent,
    /// <summary>The queue has no binding to that topic or pattern.</summary>
    BindingNotFound,
    /// <summary>The hub is saturated (memory high-water mark or a full write backlog) and sheds new messages: retry after Retry-After. Consumers are still served.</summary>
    Overloaded,
    /// <summary>
    /// The hub holds as many connections as its open-file limit leaves room for (Switchboard:Connections:MaxTotal): a new
    /// connection is refused at once, before any request is read; retry after Retry-After, or on another node.
    /// </summary>
    TooManyConnections,
    /// <summary>
    /// The hub holds as many of something a client creates (topics, queues) as its configuration allows: the message
    /// names the limit and its setting. Not 429 or 503: waiting does not make room, so clients must not retry it.
    /// </summary>
    LimitReached,
    /// <summary>A fault inside the hub. Never caused by the client.</summary>
    Internal,
}
