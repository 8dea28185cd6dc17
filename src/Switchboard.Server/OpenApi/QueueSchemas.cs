using System.Text.Json.Serialization;

namespace Switchboard.Server.OpenApi;

// Shapes of the queue and reply routes, for the OpenAPI document only. QueueJson and QueuesEndpoints write them
// with Utf8JsonWriter; QueueDocuments and PublishBodyReader read them: keep both in step.
// Like every shape of the document (TopicSchemas.cs, SystemSchemas.cs), these are classes rather than positional records (whose every parameter comes out "required"), so that the
// document says exactly what is always there: a member marked `required` is always written (or must be sent);
// any other member is left out when it does not apply, and is written as null only where its type says so.
#pragma warning disable CA1812 // only described, never instantiated
#pragma warning disable CS8618 // optional members: absent rather than null, so not declared nullable

/// <summary>A queue: its settings and its counts at this instant.</summary>
internal sealed class QueueSchema
{
    /// <summary>The queue's name.</summary>
    public required string Name { get; init; }

    /// <summary>How long a received message stays invisible to other consumers (the visibility timeout), as a duration such as "30s".</summary>
    public required string Lease { get; init; }

    /// <summary>Deliveries before a message moves to the dead letters.</summary>
    public required int MaxAttempts { get; init; }

    /// <summary>The wait before a redelivery.</summary>
    public required BackoffSchema Backoff { get; init; }

    /// <summary>The queue's own maxLength; left out when it follows the hub's default (see limits).</summary>
    public long MaxLength { get; init; }

    /// <summary>The queue's own maxDeadLetters; left out when it follows the hub's default (see limits).</summary>
    public long MaxDeadLetters { get; init; }

    /// <summary>Free text; left out when the queue has none.</summary>
    public string Description { get; init; }

    /// <summary>Goes up by one with every change of the settings.</summary>
    public required long ConfigVersion { get; init; }

    /// <summary>When the queue was created.</summary>
    public required DateTime CreatedAt { get; init; }

    /// <summary>The counts at this instant.</summary>
    public required QueueStatsSchema Stats { get; init; }

    /// <summary>The limits in force.</summary>
    public required QueueLimitsSchema Limits { get; init; }
}

/// <summary>The limits in force for a queue: its own, else the hub's defaults (Switchboard:Queues:MaxLength, MaxDeadLetters).</summary>
internal sealed class QueueLimitsSchema
{
    /// <summary>The most messages the queue holds that are not dead; a send, request or bound publish past it is refused whole (409 limit-reached). Null: no limit.</summary>
    public required long? MaxLength { get; init; }

    /// <summary>The most dead letters kept; past it the oldest are dropped (counted in stats.deadDropped). Null: no limit.</summary>
    public required long? MaxDeadLetters { get; init; }
}

/// <summary>The wait before a redelivery (after a nack without a delay, or an expired lease): initial, doubled on each attempt up to max.</summary>
internal sealed class BackoffSchema
{
    /// <summary>The first wait, as a duration such as "1s".</summary>
    public required string Initial { get; init; }

    /// <summary>The longest wait, as a duration such as "5m".</summary>
    public required string Max { get; init; }
}

/// <summary>A queue's counts at one instant.</summary>
internal sealed class QueueStatsSchema
{
    /// <summary>Visible now, waiting for a consumer.</summary>
    public required long Ready { get; init; }

    /// <summary>Received and not yet acked, lease running.</summary>
    public required long Leased { get; init; }

    /// <summary>Not visible yet (a delay, a backoff, or an expired lease waiting for its redelivery).</summary>
    public required long Delayed { get; init; }

    /// <summary>In the dead letters.</summary>
    public required long Dead { get; init; }

    /// <summary>What counts against maxLength: ready + leased + delayed.</summary>
    public required long Length { get; init; }

    /// <summary>Dead letters dropped past maxDeadLetters since the queue was created (the oldest first).</summary>
    public required long DeadDropped { get; init; }
}

/// <summary>A page of queues in name order; pass next as cursor= for the following page.</summary>
internal sealed class QueueListSchema
{
    /// <summary>The queues of this page.</summary>
    public required IReadOnlyList<QueueSchema> Queues { get; init; }

    /// <summary>The cursor of the next page; null on the last page.</summary>
    public required string? Next { get; init; }
}

/// <summary>
/// The members of every queue message. payload: JSON as JSON, text as a string, other types base64 (encoding = "base64").
/// </summary>
internal abstract class QueueMessageSchema
{
    /// <summary>Its id in the queue (from 1, in send order): the {id} of ack, nack and extend.</summary>
    [JsonPropertyOrder(-10)]
    public required long Id { get; init; }

    /// <summary>Deliveries so far (this one included, for a received message).</summary>
    public required int Attempts { get; init; }

    /// <summary>When it was sent.</summary>
    public required DateTime EnqueuedAt { get; init; }

    /// <summary>Application headers (messages fed by a binding also carry sb-topic and sb-offset).</summary>
    public required IReadOnlyDictionary<string, string> Headers { get; init; }

    /// <summary>The key it was sent with; left out when none.</summary>
    public string Key { get; init; }

    /// <summary>Requests only: the reply id; answer with POST /v1/replies/{replyTo}.</summary>
    public string ReplyTo { get; init; }

    /// <summary>Requests only: ties the reply to its request.</summary>
    public string CorrelationId { get; init; }

    /// <summary>The error text of the last nack that gave one.</summary>
    [JsonPropertyOrder(10)]
    public string LastError { get; init; }

    /// <summary>The payload's media type.</summary>
    [JsonPropertyOrder(11)]
    public required string ContentType { get; init; }

    /// <summary>The payload: any JSON value for JSON types; a string for text and (with encoding) for base64.</summary>
    [JsonPropertyOrder(12)]
    public required object Payload { get; init; }

    /// <summary>"base64" when the payload is binary; left out otherwise.</summary>
    [JsonPropertyOrder(13)]
    public PayloadEncodingSchema Encoding { get; init; }
}

/// <summary>A received message, leased to the receiver: ack, nack or extend it with its id and lease before leaseExpiresAt.</summary>
internal sealed class ReceivedMessageSchema : QueueMessageSchema
{
    /// <summary>The lease token: ack, nack and extend need it.</summary>
    [JsonPropertyOrder(-9)]
    public required string Lease { get; init; }

    /// <summary>When the lease runs out and the message becomes visible again.</summary>
    [JsonPropertyOrder(-8)]
    public required DateTime LeaseExpiresAt { get; init; }
}

/// <summary>A dead letter: a message that used up its attempts. Redrive puts it back into the queue.</summary>
internal sealed class DeadLetterSchema : QueueMessageSchema
{
    /// <summary>Why it was dead-lettered: nacked on its last attempt, or its lease ran out on its last attempt.</summary>
    [JsonPropertyOrder(1)]
    public required DeadReasonSchema Reason { get; init; }

    /// <summary>When it was dead-lettered.</summary>
    [JsonPropertyOrder(2)]
    public DateTime DeadAt { get; init; }
}

/// <summary>Why a message was dead-lettered.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<DeadReasonSchema>))]
internal enum DeadReasonSchema
{
    /// <summary>Nacked on its last attempt.</summary>
    [JsonStringEnumMemberName("nacked")]
    Nacked,

    /// <summary>Its lease ran out on its last attempt.</summary>
    [JsonStringEnumMemberName("lease-expired")]
    LeaseExpired,
}

/// <summary>How a payload that is not JSON or UTF-8 text is carried in JSON.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<PayloadEncodingSchema>))]
internal enum PayloadEncodingSchema
{
    /// <summary>The payload string is base64.</summary>
    [JsonStringEnumMemberName("base64")]
    Base64,
}

/// <summary>Receive's answer: the leased messages, possibly none (the wait ended, or the queue is empty).</summary>
internal sealed class ReceivedSchema
{
    /// <summary>Up to max= messages, each leased until its leaseExpiresAt.</summary>
    public required IReadOnlyList<ReceivedMessageSchema> Messages { get; init; }
}

/// <summary>A message seen by peek, not leased: no lease token, and nothing about it changed by looking.</summary>
internal sealed class PeekedMessageSchema : QueueMessageSchema
{
    /// <summary>Where it is now: ready (a receive would take it, in this order), delayed (until visibleAt) or leased (until leaseExpiresAt).</summary>
    [JsonPropertyOrder(-9)]
    public required PeekStateSchema State { get; init; }

    /// <summary>Leased messages only: when the current lease runs out.</summary>
    [JsonPropertyOrder(-8)]
    public DateTime LeaseExpiresAt { get; init; }

    /// <summary>Delayed messages only: when it becomes visible.</summary>
    [JsonPropertyOrder(-7)]
    public DateTime VisibleAt { get; init; }
}

/// <summary>A peeked message's state.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<PeekStateSchema>))]
internal enum PeekStateSchema
{
    /// <summary>Visible: the next receives take ready messages in the order listed.</summary>
    [JsonStringEnumMemberName("ready")]
    Ready,

    /// <summary>Waiting for its delay or its backoff.</summary>
    [JsonStringEnumMemberName("delayed")]
    Delayed,

    /// <summary>Under a live lease.</summary>
    [JsonStringEnumMemberName("leased")]
    Leased,
}

/// <summary>A page of peeked messages in id order; continue with after = next.</summary>
internal sealed class PeekPageSchema
{
    /// <summary>The messages of this page.</summary>
    public required IReadOnlyList<PeekedMessageSchema> Messages { get; init; }

    /// <summary>The after= of the next page (a message id, as a string); null on the last page.</summary>
    public required string? Next { get; init; }
}

/// <summary>A page of dead letters in id order; continue with after = next.</summary>
internal sealed class DeadLetterPageSchema
{
    /// <summary>The dead letters of this page, with their reasons.</summary>
    public required IReadOnlyList<DeadLetterSchema> Messages { get; init; }

    /// <summary>The after= of the next page (a message id, as a string); null on the last page.</summary>
    public required string? Next { get; init; }
}

/// <summary>What a send stored: id for one message; firstId, lastId and count for a batch (ids follow each other).</summary>
internal sealed class EnqueuedSchema
{
    /// <summary>The queue.</summary>
    public required string Queue { get; init; }

    /// <summary>One message: its id.</summary>
    public long Id { get; init; }

    /// <summary>A batch: the first id.</summary>
    public long FirstId { get; init; }

    /// <summary>A batch: the last id.</summary>
    public long LastId { get; init; }

    /// <summary>A batch: how many messages.</summary>
    public int Count { get; init; }
}

/// <summary>What a nack did.</summary>
internal sealed class NackedSchema
{
    /// <summary>True when the message went to the dead letters (it was its last attempt).</summary>
    public required bool DeadLettered { get; init; }

    /// <summary>When it will be delivered again; left out when dead-lettered.</summary>
    public DateTime VisibleAt { get; init; }
}

/// <summary>What an ack batch did: each message is either acked or failed with its own problem.</summary>
internal sealed class AckedBatchSchema
{
    /// <summary>The ids acked (deleted), in the order given.</summary>
    public required IReadOnlyList<long> Acked { get; init; }

    /// <summary>The ids not acked, in the order given, each with why (lease-mismatch, lease-expired); empty when all were acked.</summary>
    public required IReadOnlyList<AckFailureSchema> Failed { get; init; }
}

/// <summary>One message of an ack batch that was not acked: its id and the problem an ack of it alone would have answered.</summary>
internal sealed class AckFailureSchema
{
    /// <summary>The message id.</summary>
    public required long Id { get; init; }

    /// <summary>The HTTP status an ack of this message alone would have answered (409).</summary>
    public required int Status { get; init; }

    /// <summary>The error code (lease-mismatch, lease-expired).</summary>
    public required string Code { get; init; }

    /// <summary>Where the code is explained: /v1/errors/{code}.</summary>
    public required string Type { get; init; }

    /// <summary>What happened and what to do.</summary>
    public required string Detail { get; init; }
}

/// <summary>What an extend did.</summary>
internal sealed class ExtendedSchema
{
    /// <summary>When the lease now runs out.</summary>
    public required DateTime LeaseExpiresAt { get; init; }
}

/// <summary>How many dead letters went back into the queue.</summary>
internal sealed class RedrivenSchema
{
    /// <summary>The number of messages redriven.</summary>
    public required long Redriven { get; init; }
}

/// <summary>How many dead letters were deleted.</summary>
internal sealed class PurgedSchema
{
    /// <summary>The number of dead letters deleted.</summary>
    public required long Purged { get; init; }
}

/// <summary>A topic (or pattern) feeding a queue: every message published to a matching topic is also enqueued there.</summary>
internal sealed class BindingSchema
{
    /// <summary>A topic name or pattern (* one token, > the rest).</summary>
    public required string Pattern { get; init; }

    /// <summary>The queue.</summary>
    public required string Queue { get; init; }
}

/// <summary>The bindings feeding a queue.</summary>
internal sealed class BindingListSchema
{
    /// <summary>The bindings.</summary>
    public required IReadOnlyList<BindingSchema> Bindings { get; init; }
}
