using System.ComponentModel.DataAnnotations;
using System.Text.Json.Serialization;

namespace Switchboard.Server.OpenApi;

// Shapes of the topic and message routes, for the OpenAPI document only. TopicJson, MessageJson and
// MessagesEndpoints write them with Utf8JsonWriter (JSON payloads are copied through as raw bytes, which a
// serialisable type cannot express); TopicConfigDocument and PublishBodyReader read them: keep both in step.
// As for the queue shapes (QueueSchemas.cs): a member marked `required` is always written (or must be sent);
// any other member is left out when it does not apply, and is written as null only where its type says so.
#pragma warning disable CA1812 // only described, never instantiated
#pragma warning disable CS8618 // optional members: absent rather than null, so not declared nullable

/// <summary>
/// A topic's configuration, as sent with PUT (the body may also be empty) or as a JSON merge patch (RFC 7396) with
/// PATCH, where null removes a member. Every member is optional. With PUT a missing retention limit takes the
/// server's default; null means no limit. The members a GET also returns (name, epoch, createdAt, stats) are
/// accepted and ignored, so that a GET-edit-PUT round trip works; any other member is refused.
/// </summary>
internal sealed class TopicConfigSchema
{
    /// <summary>How much history the topic keeps; null for no limits at all.</summary>
    public RetentionConfigSchema? Retention { get; init; }

    /// <summary>Free text; null for none.</summary>
    public string? Description { get; init; }

    /// <summary>Ignored (a member of the GET answer, accepted with any value).</summary>
    public object Name { get; init; }

    /// <summary>Ignored (a member of the GET answer, accepted with any value).</summary>
    public object Epoch { get; init; }

    /// <summary>Ignored (a member of the GET answer, accepted with any value).</summary>
    public object CreatedAt { get; init; }

    /// <summary>Ignored (a member of the GET answer, accepted with any value).</summary>
    public object Stats { get; init; }
}

/// <summary>Retention limits to set. A member left out takes the server's default (PUT) or stays as it is (PATCH); null means no limit.</summary>
internal sealed class RetentionConfigSchema
{
    /// <summary>Most messages kept: a whole number, or null for no limit.</summary>
    public long? MaxMessages { get; init; }

    /// <summary>Oldest message kept: seconds or a duration such as "7d", "12h", "30m"; null for no limit.</summary>
    [Duration]
    public string? MaxAge { get; init; }

    /// <summary>Most bytes kept (payload + key + headers): a whole number, or null for no limit.</summary>
    public long? MaxBytes { get; init; }
}

/// <summary>How much history a topic keeps. A limit that is left out does not apply.</summary>
internal sealed class RetentionSchema
{
    /// <summary>Most messages kept; left out when there is no such limit.</summary>
    public long MaxMessages { get; init; }

    /// <summary>Oldest message kept, as a duration such as "7d", "12h", "30m"; left out when there is no such limit.</summary>
    public string MaxAge { get; init; }

    /// <summary>Most bytes kept (payload + key + headers); left out when there is no such limit.</summary>
    public long MaxBytes { get; init; }
}

/// <summary>A topic: its configuration, its incarnation (epoch) and its statistics at this instant.</summary>
internal sealed class TopicSchema
{
    /// <summary>The topic's name.</summary>
    public required string Name { get; init; }

    /// <summary>The incarnation: a topic deleted and created again gets a new epoch, and positions of the old one are refused.</summary>
    public required string Epoch { get; init; }

    /// <summary>How much history the topic keeps (an empty object: no limits).</summary>
    public required RetentionSchema Retention { get; init; }

    /// <summary>Free text; left out when the topic has none.</summary>
    public string Description { get; init; }

    /// <summary>When this incarnation was created.</summary>
    public required DateTime CreatedAt { get; init; }

    /// <summary>The statistics at this instant.</summary>
    public required TopicStatsSchema Stats { get; init; }
}

/// <summary>A topic's statistics at one instant.</summary>
internal sealed class TopicStatsSchema
{
    /// <summary>The oldest retained offset (lastOffset + 1 when no message is retained).</summary>
    public required long FirstOffset { get; init; }

    /// <summary>The newest offset (0 before the first publish).</summary>
    public required long LastOffset { get; init; }

    /// <summary>Messages retained.</summary>
    public required long MessageCount { get; init; }

    /// <summary>Bytes retained (payload + key + headers).</summary>
    public required long Bytes { get; init; }

    /// <summary>When the last message was published; left out before the first publish.</summary>
    public DateTime LastPublishedAt { get; init; }
}

/// <summary>A page of topics in name order; pass next as cursor= for the following page.</summary>
internal sealed class TopicListSchema
{
    /// <summary>The topics of this page.</summary>
    public required IReadOnlyList<TopicSchema> Topics { get; init; }

    /// <summary>The cursor of the next page; null on the last page.</summary>
    public required string? Next { get; init; }
}

/// <summary>One message to publish. payload is any JSON value; with a non-JSON contentType it is a string (text, or base64 with encoding).</summary>
internal sealed class EnvelopeSchema
{
    /// <summary>The payload (required; null is a JSON payload too).</summary>
    public required object Payload { get; init; }

    /// <summary>Application headers: string values; null for none.</summary>
    public IReadOnlyDictionary<string, string>? Headers { get; init; }

    /// <summary>An optional key (1 to 1024 characters), kept with the message.</summary>
    public string? Key { get; init; }

    /// <summary>The payload's media type; default application/json.</summary>
    public string? ContentType { get; init; }

    /// <summary>"base64" when payload is base64 of binary data.</summary>
    public PayloadEncodingSchema? Encoding { get; init; }
}

/// <summary>A batch of messages, stored in one transaction with consecutive offsets. No other member may sit beside messages.</summary>
internal sealed class PublishBatchSchema
{
    /// <summary>The messages, in order: at least one, at most the hub's batch limit.</summary>
    [MinLength(1)]
    public required IReadOnlyList<EnvelopeSchema> Messages { get; init; }
}

/// <summary>What a publish of one message stored.</summary>
internal sealed class PublishedSchema
{
    /// <summary>The topic.</summary>
    public required string Topic { get; init; }

    /// <summary>The topic's incarnation.</summary>
    public required string Epoch { get; init; }

    /// <summary>The message's offset.</summary>
    public required long Offset { get; init; }

    /// <summary>When it was stored.</summary>
    public required DateTime Timestamp { get; init; }
}

/// <summary>What a publish of a batch stored: consecutive offsets from firstOffset to lastOffset.</summary>
internal sealed class PublishedBatchSchema
{
    /// <summary>The topic.</summary>
    public required string Topic { get; init; }

    /// <summary>The topic's incarnation.</summary>
    public required string Epoch { get; init; }

    /// <summary>The first message's offset.</summary>
    public required long FirstOffset { get; init; }

    /// <summary>The last message's offset.</summary>
    public required long LastOffset { get; init; }

    /// <summary>How many messages.</summary>
    public required int Count { get; init; }

    /// <summary>When they were stored.</summary>
    public required DateTime Timestamp { get; init; }
}

/// <summary>
/// A stored message. payload: JSON as JSON, text as a string, other types base64 (encoding = "base64").
/// With fields= only the members named there are written.
/// </summary>
internal sealed class MessageSchema
{
    /// <summary>The topic.</summary>
    public required string Topic { get; init; }

    /// <summary>The topic's incarnation.</summary>
    public required string Epoch { get; init; }

    /// <summary>The message's offset (from 1, in publish order).</summary>
    public required long Offset { get; init; }

    /// <summary>When it was stored.</summary>
    public required DateTime Timestamp { get; init; }

    /// <summary>Application headers (an empty object when none).</summary>
    public required IReadOnlyDictionary<string, string> Headers { get; init; }

    /// <summary>The key it was published with; left out when none.</summary>
    public string Key { get; init; }

    /// <summary>The payload's media type.</summary>
    public required string ContentType { get; init; }

    /// <summary>The payload: any JSON value for JSON types; a string for text and (with encoding) for base64.</summary>
    public required object Payload { get; init; }

    /// <summary>"base64" when the payload is binary; left out otherwise.</summary>
    public PayloadEncodingSchema Encoding { get; init; }
}

/// <summary>Offsets asked for but already removed by retention.</summary>
internal sealed class MissedSchema
{
    /// <summary>The first offset missed.</summary>
    public required long FromOffset { get; init; }

    /// <summary>The last offset missed.</summary>
    public required long ToOffset { get; init; }

    /// <summary>Why: retention removed them.</summary>
    public required MissedReasonSchema Reason { get; init; }
}

/// <summary>Why messages were missed.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<MissedReasonSchema>))]
internal enum MissedReasonSchema
{
    /// <summary>Removed by the topic's retention.</summary>
    [JsonStringEnumMemberName("retention")]
    Retention,
}

/// <summary>A page of history (possibly empty: the wait ended); continue with after = next.</summary>
internal sealed class HistorySchema
{
    /// <summary>The topic.</summary>
    public required string Topic { get; init; }

    /// <summary>The topic's incarnation.</summary>
    public required string Epoch { get; init; }

    /// <summary>The oldest retained offset.</summary>
    public required long FirstOffset { get; init; }

    /// <summary>The newest offset.</summary>
    public required long LastOffset { get; init; }

    /// <summary>Offsets after the position that retention had already removed; left out when none were.</summary>
    public MissedSchema Missed { get; init; }

    /// <summary>The messages of this page, in offset order.</summary>
    public required IReadOnlyList<MessageSchema> Messages { get; init; }

    /// <summary>The position to continue from (epoch:offset), also on an empty page.</summary>
    public required string Next { get; init; }
}
