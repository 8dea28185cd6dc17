namespace Switchboard.Server.OpenApi;

// Shapes of the health, error, connection and presence routes and of every problem+json answer, for the OpenAPI
// document only. SystemEndpoints, ConnectionsEndpoints and Problems write them with Utf8JsonWriter: keep both in
// step. As in QueueSchemas.cs, `required` marks what is always written; a nullable type, what may be written as null.
#pragma warning disable CA1812 // only described, never instantiated
#pragma warning disable CS8618 // optional members: absent rather than null, so not declared nullable

/// <summary>A health answer.</summary>
internal sealed class StatusSchema
{
    /// <summary>"live" (liveness) or "ready" (readiness).</summary>
    public required string Status { get; init; }
}

/// <summary>Readiness: what was checked.</summary>
internal sealed class ReadinessSchema
{
    /// <summary>"ready".</summary>
    public required string Status { get; init; }

    /// <summary>The engine: "sqlite", "memory" or "redis".</summary>
    public required string Engine { get; init; }

    /// <summary>Each check and its state.</summary>
    public required ReadinessChecksSchema Checks { get; init; }
}

/// <summary>The checks behind readiness.</summary>
internal sealed class ReadinessChecksSchema
{
    /// <summary>"ok": the engine answers.</summary>
    public required string Storage { get; init; }

    /// <summary>"ok" (Redis answers) or "single node".</summary>
    public required string Backplane { get; init; }
}

/// <summary>One row of the error table: a code and what it becomes on each transport.</summary>
internal sealed class ErrorSchema
{
    /// <summary>The code, as in a problem's code member.</summary>
    public required string Code { get; init; }

    /// <summary>A short, fixed summary of the code.</summary>
    public required string Title { get; init; }

    /// <summary>The HTTP status of a problem with this code.</summary>
    public required int HttpStatus { get; init; }

    /// <summary>The WebSocket close code when the error ends a connection.</summary>
    public required int WebSocketCloseCode { get; init; }

    /// <summary>The gRPC status code.</summary>
    public required int GrpcStatus { get; init; }
}

/// <summary>The error table.</summary>
internal sealed class ErrorListSchema
{
    /// <summary>Every error code.</summary>
    public required IReadOnlyList<ErrorSchema> Errors { get; init; }
}

/// <summary>A subscription of a connection.</summary>
internal sealed class ConnectionSubscriptionSchema
{
    /// <summary>The subscription's id, as the client chose it.</summary>
    public required string Id { get; init; }

    /// <summary>The topic names and patterns it follows.</summary>
    public required IReadOnlyList<string> Topics { get; init; }
}

/// <summary>A live connection of this node.</summary>
internal sealed class ConnectionSchema
{
    /// <summary>The connection's id.</summary>
    public required string Id { get; init; }

    /// <summary>The node it is connected to (its name).</summary>
    public required string Node { get; init; }

    /// <summary>The transport it came in on (such as websocket, sse or grpc).</summary>
    public required string Transport { get; init; }

    /// <summary>The API key's name; null when the hub does not authenticate.</summary>
    public required string? Principal { get; init; }

    /// <summary>The peer's address; null when unknown.</summary>
    public required string? RemoteAddress { get; init; }

    /// <summary>When it connected.</summary>
    public required DateTime ConnectedAt { get; init; }

    /// <summary>Bytes queued for it and not yet sent.</summary>
    public required long BufferedBytes { get; init; }

    /// <summary>The error code it is being closed with; left out while it is not closing.</summary>
    public string Closing { get; init; }

    /// <summary>Its subscriptions.</summary>
    public required IReadOnlyList<ConnectionSubscriptionSchema> Subscriptions { get; init; }
}

/// <summary>Live connections, oldest first; count is all of them, connections at most limit= of them.</summary>
internal sealed class ConnectionListSchema
{
    /// <summary>How many connections there are, on every node.</summary>
    public required int Count { get; init; }

    /// <summary>The nodes that answered (their names).</summary>
    public required IReadOnlyList<string> Nodes { get; init; }

    /// <summary>True when a live node did not answer in time (its connections are missing).</summary>
    public required bool Partial { get; init; }

    /// <summary>The connections, oldest first, up to limit=.</summary>
    public required IReadOnlyList<ConnectionSchema> Connections { get; init; }
}

/// <summary>A subscriber of a topic.</summary>
internal sealed class SubscriberSchema
{
    /// <summary>The connection's id.</summary>
    public required string ConnectionId { get; init; }

    /// <summary>The node it is connected to (its name).</summary>
    public required string Node { get; init; }

    /// <summary>The API key's name; null when the hub does not authenticate.</summary>
    public required string? Principal { get; init; }

    /// <summary>The connection's transport.</summary>
    public required string Transport { get; init; }

    /// <summary>When it subscribed.</summary>
    public required DateTime Since { get; init; }
}

/// <summary>Who is subscribed to a topic.</summary>
internal sealed class PresenceSchema
{
    /// <summary>The topic.</summary>
    public required string Topic { get; init; }

    /// <summary>How many subscribers there are, on every node.</summary>
    public required int Count { get; init; }

    /// <summary>The nodes that answered (their names).</summary>
    public required IReadOnlyList<string> Nodes { get; init; }

    /// <summary>True when a live node did not answer in time (its subscribers are missing).</summary>
    public required bool Partial { get; init; }

    /// <summary>The subscribers, up to limit= (none with limit=0).</summary>
    public required IReadOnlyList<SubscriberSchema> Subscribers { get; init; }

    /// <summary>True when subscribers lists fewer than count.</summary>
    public required bool Truncated { get; init; }

    /// <summary>The topic on which joins and leaves are published ($presence.{topic}).</summary>
    public required string Events { get; init; }
}

/// <summary>
/// An error (RFC 9457 problem+json). code names the error; GET type (/v1/errors/{code}) explains it. Some codes add
/// members that say where to go on (below); a 503 also carries a Retry-After header.
/// </summary>
internal sealed class ProblemSchema
{
    /// <summary>Where the code is explained: /v1/errors/{code}.</summary>
    public required string Type { get; init; }

    /// <summary>The code's fixed summary.</summary>
    public required string Title { get; init; }

    /// <summary>The HTTP status.</summary>
    public required int Status { get; init; }

    /// <summary>What went wrong with this request and what to fix.</summary>
    public required string Detail { get; init; }

    /// <summary>The path of the request.</summary>
    public required string Instance { get; init; }

    /// <summary>The error code (one of GET /v1/errors).</summary>
    public required string Code { get; init; }

    /// <summary>Identifies the request in the server's logs.</summary>
    public required string TraceId { get; init; }

    /// <summary>epoch-mismatch and position-out-of-range: the topic's current epoch.</summary>
    public string Epoch { get; init; }

    /// <summary>epoch-mismatch, position-out-of-range and message-expired: the oldest retained offset.</summary>
    public long FirstOffset { get; init; }

    /// <summary>position-out-of-range and message-not-found (of a topic): the newest offset.</summary>
    public long LastOffset { get; init; }

    /// <summary>request-too-large and message-too-large: the limit, in bytes (or messages, for a batch that has too many).</summary>
    public long Limit { get; init; }

    /// <summary>message-too-large, when the hub measured the message: its size in bytes (payload + key + headers).</summary>
    public long Size { get; init; }

    /// <summary>message-too-large in a batch: the index of the message in messages.</summary>
    public int Index { get; init; }

    /// <summary>timeout of a request: the reply id, still fetchable with GET /v1/replies/{replyId} until it expires.</summary>
    public string ReplyId { get; init; }
}

/// <summary>The nodes of the cluster, by name.</summary>
internal sealed class NodeListSchema
{
    /// <summary>How many nodes are alive.</summary>
    public required int Count { get; init; }

    /// <summary>The id of the node that answered.</summary>
    public required string Self { get; init; }

    /// <summary>The nodes.</summary>
    public required IReadOnlyList<NodeSchema> Nodes { get; init; }
}

/// <summary>A node, as of its last heartbeat.</summary>
internal sealed class NodeSchema
{
    /// <summary>The node's id (new at each start).</summary>
    public required string Id { get; init; }

    /// <summary>Its name (Switchboard:Nodes:Name, the host name by default).</summary>
    public required string Name { get; init; }

    /// <summary>Where it listens.</summary>
    public required IReadOnlyList<string> Addresses { get; init; }

    /// <summary>starting, ready, draining or stopped.</summary>
    public required string State { get; init; }

    /// <summary>Its live connections.</summary>
    public required int Connections { get; init; }

    /// <summary>Its live connections per transport.</summary>
    public required IReadOnlyDictionary<string, int> ConnectionsByTransport { get; init; }

    /// <summary>Its live subscriptions.</summary>
    public required int Subscriptions { get; init; }

    /// <summary>When it started.</summary>
    public required DateTime StartedAt { get; init; }

    /// <summary>When it last reported.</summary>
    public required DateTime LastHeartbeat { get; init; }
}
