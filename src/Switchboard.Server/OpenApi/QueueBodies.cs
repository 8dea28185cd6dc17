using System.Text.Json.Serialization;

namespace Switchboard.Server.OpenApi;

// Request bodies of the queue and reply routes, and the reply shapes, for the OpenAPI document only (see QueueSchemas.cs).
#pragma warning disable CA1812 // only described, never instantiated
#pragma warning disable CS8618 // optional members: absent rather than null, so not declared nullable

/// <summary>
/// A queue's settings, as sent with PUT (the body may also be empty). Every field is optional: a missing one takes
/// its default (lease 30s, maxAttempts 10, backoff 1s doubling to 5m, maxLength and maxDeadLetters the hub's). Durations are seconds (a number) or text such as "30s".
/// </summary>
internal sealed class QueueConfigSchema
{
    /// <summary>How long a received message stays invisible to other consumers: 1s to 12h.</summary>
    [Duration]
    public string Lease { get; init; }

    /// <summary>Deliveries before a message moves to the dead letters: 1 to 1000.</summary>
    public int MaxAttempts { get; init; }

    /// <summary>
    /// The most messages the queue holds that are not dead (ready, delayed, leased): 1 to 10^12. A send, request or
    /// publish to a bound topic that would pass it is refused whole (409 limit-reached). Null or absent: the hub's
    /// default (Switchboard:Queues:MaxLength, 1000000).
    /// </summary>
    public long? MaxLength { get; init; }

    /// <summary>
    /// The most dead letters kept: 1 to 10^12; past it the oldest are dropped and counted (stats.deadDropped). Null or
    /// absent: the hub's default (Switchboard:Queues:MaxDeadLetters, 100000).
    /// </summary>
    public long? MaxDeadLetters { get; init; }

    /// <summary>The wait before a redelivery.</summary>
    public BackoffConfigSchema Backoff { get; init; }

    /// <summary>Free text, up to 1024 characters; null for none.</summary>
    public string? Description { get; init; }
}

/// <summary>The wait before a redelivery: initial, doubled on each attempt up to max. Each field is optional.</summary>
internal sealed class BackoffConfigSchema
{
    /// <summary>The first wait: 0s to 7d.</summary>
    [Duration]
    public string Initial { get; init; }

    /// <summary>The longest wait: 0s to 7d, and not shorter than initial.</summary>
    [Duration]
    public string Max { get; init; }
}

/// <summary>An ack: the lease token of the received message.</summary>
internal sealed class AckSchema
{
    /// <summary>The lease field of receive's answer.</summary>
    public required string Lease { get; init; }
}

/// <summary>A batch of acks: up to 1000 received messages of the queue, each with its lease token.</summary>
internal sealed class AckBatchSchema
{
    /// <summary>The messages to ack, each once.</summary>
    public required IReadOnlyList<AckItemSchema> Messages { get; init; }
}

/// <summary>One message of an ack batch.</summary>
internal sealed class AckItemSchema
{
    /// <summary>The id field of receive's answer.</summary>
    public required long Id { get; init; }

    /// <summary>The lease field of receive's answer.</summary>
    public required string Lease { get; init; }
}

/// <summary>A nack: the lease token, and optionally when to deliver the message again and why it failed.</summary>
internal sealed class NackSchema
{
    /// <summary>The lease field of receive's answer.</summary>
    public required string Lease { get; init; }

    /// <summary>Deliver again after this long (0s to 7d); default: the queue's backoff.</summary>
    [Duration]
    public string Delay { get; init; }

    /// <summary>Why it failed (up to 4096 characters), kept as the message's lastError.</summary>
    public string? Error { get; init; }
}

/// <summary>An extend: the lease token, and optionally the new lease length counted from now.</summary>
internal sealed class ExtendSchema
{
    /// <summary>The lease field of receive's answer.</summary>
    public required string Lease { get; init; }

    /// <summary>The lease runs this long from now (1s to 12h); default: the queue's lease.</summary>
    [Duration]
    public string ExtendBy { get; init; }
}

/// <summary>A batch of messages, stored in one transaction with consecutive ids.</summary>
internal sealed class QueueBatchSchema
{
    /// <summary>The messages, in order.</summary>
    public required IReadOnlyList<EnvelopeSchema> Messages { get; init; }
}

/// <summary>A request's reply slot: pending until a responder answers, then the reply (status replied, with its payload).</summary>
internal sealed class ReplySchema
{
    /// <summary>The reply id (the request's replyTo).</summary>
    public required string Id { get; init; }

    /// <summary>The queue the request went to.</summary>
    public required string Queue { get; init; }

    /// <summary>pending or replied.</summary>
    public required ReplyStatusSchema Status { get; init; }

    /// <summary>When the requester stops waiting; a reply after it is refused (410).</summary>
    public required DateTime ExpiresAt { get; init; }

    /// <summary>Replied only: when the reply came.</summary>
    public DateTime RepliedAt { get; init; }

    /// <summary>Replied only: the reply's headers.</summary>
    public IReadOnlyDictionary<string, string> Headers { get; init; }

    /// <summary>Replied only, when the reply has a key.</summary>
    public string Key { get; init; }

    /// <summary>Replied only: the reply payload's media type.</summary>
    public string ContentType { get; init; }

    /// <summary>Replied only: the reply payload (JSON as JSON, text as a string, other types base64).</summary>
    public object Payload { get; init; }

    /// <summary>"base64" when the reply payload is binary.</summary>
    public PayloadEncodingSchema Encoding { get; init; }
}

/// <summary>Where a reply slot is.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<ReplyStatusSchema>))]
internal enum ReplyStatusSchema
{
    /// <summary>No reply yet.</summary>
    [JsonStringEnumMemberName("pending")]
    Pending,

    /// <summary>The reply is there.</summary>
    [JsonStringEnumMemberName("replied")]
    Replied,
}

/// <summary>An asynchronous request's first answer (202): its pending reply slot and where to fetch the reply.</summary>
internal sealed class RequestAcceptedSchema
{
    /// <summary>The reply id.</summary>
    public required string Id { get; init; }

    /// <summary>The queue the request went to.</summary>
    public required string Queue { get; init; }

    /// <summary>Always pending.</summary>
    public required AcceptedStatusSchema Status { get; init; }

    /// <summary>Until when the reply URL takes a reply.</summary>
    public required DateTime ExpiresAt { get; init; }

    /// <summary>The reply's URL (also in the Location header): GET it, with wait= to long-poll.</summary>
    public required string Location { get; init; }
}

/// <summary>The status of a request just accepted.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<AcceptedStatusSchema>))]
internal enum AcceptedStatusSchema
{
    /// <summary>No reply yet.</summary>
    [JsonStringEnumMemberName("pending")]
    Pending,
}
