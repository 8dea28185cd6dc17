namespace Switchboard.Server.OpenApi;

// Shapes for the OpenAPI document only. The endpoints write these shapes with Utf8JsonWriter (JSON payloads
// are copied through as raw bytes, which a serialisable type cannot express); keep both in step.
#pragma warning disable CA1812 // only described, never instantiated

/// <summary>A topic's configuration, as sent with PUT or PATCH.</summary>
internal sealed record TopicConfigSchema(RetentionSchema? Retention, string? Description);

/// <summary>How much history a topic keeps; null = no limit.</summary>
/// <param name="MaxMessages">Most messages kept.</param>
/// <param name="MaxAge">Oldest message kept, as a duration (<c>7d</c>, <c>12h</c>, <c>30m</c>).</param>
/// <param name="MaxBytes">Most bytes kept (payload + key + headers).</param>
internal sealed record RetentionSchema(long? MaxMessages, string? MaxAge, long? MaxBytes);

/// <summary>A topic with its incarnation and statistics.</summary>
internal sealed record TopicSchema(string Name, string Epoch, RetentionSchema Retention, string? Description, DateTime CreatedAt, TopicStatsSchema Stats);

/// <summary>A topic's statistics.</summary>
internal sealed record TopicStatsSchema(long FirstOffset, long LastOffset, long MessageCount, long Bytes, DateTime? LastPublishedAt);

/// <summary>A page of topics; pass next as cursor= for the following page.</summary>
internal sealed record TopicListSchema(IReadOnlyList<TopicSchema> Topics, string? Next);

/// <summary>One message to publish. payload is any JSON value; with a non-JSON contentType it is a string (text, or base64 with encoding).</summary>
internal sealed record EnvelopeSchema(object Payload, IReadOnlyDictionary<string, string>? Headers, string? Key, string? ContentType, string? Encoding);

/// <summary>A publish: one envelope, or {"messages": [envelope, …]}.</summary>
internal sealed record PublishSchema(object? Payload, IReadOnlyDictionary<string, string>? Headers, string? Key, string? ContentType, string? Encoding, IReadOnlyList<EnvelopeSchema>? Messages);

/// <summary>What a publish stored: offset for one message; firstOffset, lastOffset and count for a batch.</summary>
internal sealed record PublishedSchema(string Topic, string Epoch, long? Offset, long? FirstOffset, long? LastOffset, int? Count, DateTime Timestamp);

/// <summary>A stored message. payload: JSON as JSON, text as a string, other types base64 (encoding = "base64").</summary>
internal sealed record MessageSchema(string Topic, string Epoch, long Offset, DateTime Timestamp, IReadOnlyDictionary<string, string> Headers, string? Key, string ContentType, object Payload, string? Encoding);

/// <summary>Offsets asked for but removed by retention.</summary>
internal sealed record MissedSchema(long FromOffset, long ToOffset, string Reason);

/// <summary>A page of history; continue with after = next.</summary>
internal sealed record HistorySchema(string Topic, string Epoch, long FirstOffset, long LastOffset, MissedSchema? Missed, IReadOnlyList<MessageSchema> Messages, string Next);

/// <summary>A health answer.</summary>
internal sealed record StatusSchema(string Status);

/// <summary>One row of the error table.</summary>
internal sealed record ErrorSchema(string Code, string Title, int HttpStatus, int WebSocketCloseCode, int GrpcStatus);

/// <summary>The error table.</summary>
internal sealed record ErrorListSchema(IReadOnlyList<ErrorSchema> Errors);

/// <summary>A subscription of a connection.</summary>
internal sealed record ConnectionSubscriptionSchema(string Id, IReadOnlyList<string> Topics);

/// <summary>A live connection.</summary>
internal sealed record ConnectionSchema(string Id, string Transport, string? Principal, string? RemoteAddress, DateTime ConnectedAt, long BufferedBytes, string? Closing, IReadOnlyList<ConnectionSubscriptionSchema> Subscriptions);

/// <summary>Live connections.</summary>
internal sealed record ConnectionListSchema(int Count, IReadOnlyList<ConnectionSchema> Connections);

/// <summary>A subscriber of a topic.</summary>
internal sealed record SubscriberSchema(string ConnectionId, string? Principal, string Transport, DateTime Since);

/// <summary>Who is subscribed to a topic.</summary>
internal sealed record PresenceSchema(string Topic, int Count, IReadOnlyList<SubscriberSchema> Subscribers, bool Truncated, string Events);
