namespace Switchboard.Client;

/// <summary>A message of a topic, as a subscription hands it to the application.</summary>
public sealed class Message
{
    /// <summary>The topic it was published to.</summary>
    public required string Topic { get; init; }

    /// <summary>The topic's incarnation: a topic deleted and created again has a new epoch.</summary>
    public required string Epoch { get; init; }

    /// <summary>Its offset in the topic (1, 2, 3, … per incarnation).</summary>
    public required long Offset { get; init; }

    /// <summary>Where it stands, <c>epoch:offset</c>: give it as <see cref="SubscribeOptions.After"/> to resume after it.</summary>
    public string Position => $"{Epoch}:{Offset}";

    /// <summary>When the hub stored it (<c>default</c> when the WebSocket uses <see cref="MessageEnvelope.Compact"/>).</summary>
    public DateTimeOffset Timestamp { get; init; }

    /// <summary>Its headers (empty when it has none).</summary>
    public IReadOnlyDictionary<string, string> Headers { get; init; } = EmptyHeaders;

    /// <summary>Its key, when the publisher gave one.</summary>
    public string? Key { get; init; }

    /// <summary>The payload and its content type.</summary>
    public Payload Payload { get; init; }

    /// <summary>The payload read as JSON into a <typeparamref name="T"/>.</summary>
    public T? GetPayload<T>() => Payload.Deserialize<T>(JsonOptions);

    internal System.Text.Json.JsonSerializerOptions? JsonOptions { get; init; }

    internal static readonly IReadOnlyDictionary<string, string> EmptyHeaders = new Dictionary<string, string>();
}

/// <summary>What a publish stored: where the message (or the batch) is, once it is durable.</summary>
/// <param name="Topic">The topic.</param>
/// <param name="Epoch">The topic's incarnation.</param>
/// <param name="Offset">The message's offset (a batch: its last).</param>
/// <param name="FirstOffset">A batch's first offset (equal to <paramref name="Offset"/> for one message).</param>
/// <param name="Count">How many messages were stored.</param>
/// <param name="Timestamp">When the hub stored it.</param>
public sealed record PublishResult(string Topic, string Epoch, long Offset, long FirstOffset, int Count, DateTimeOffset Timestamp)
{
    /// <summary>The position <c>epoch:offset</c> of the (last) message.</summary>
    public string Position => $"{Epoch}:{Offset}";
}

/// <summary>One message of a batch publish.</summary>
/// <param name="Payload">Its payload.</param>
/// <param name="Key">Its key.</param>
/// <param name="Headers">Its headers.</param>
public sealed record OutgoingMessage(Payload Payload, string? Key = null, IReadOnlyDictionary<string, string>? Headers = null);

/// <summary>What a subscriber must be told instead of a message: the hub never skips silently.</summary>
public sealed class SubscriptionNotice
{
    /// <summary>
    /// <c>missed</c> (retention removed <see cref="FromOffset"/>..<see cref="ToOffset"/> before they were read),
    /// <c>epoch-changed</c> (the topic was recreated: its new incarnation follows from its start), <c>topic-deleted</c>, or
    /// <c>resume-expired</c> (SSE and long polling: the subscription resumed from a <c>p2.</c> token whose stored snapshot
    /// of positions retention removed; the <see cref="ResumedTopics"/> continue exactly, every other topic from now).
    /// </summary>
    public required string Kind { get; init; }

    /// <summary>The topic it concerns (empty for <c>resume-expired</c>, which concerns the whole subscription).</summary>
    public required string Topic { get; init; }

    /// <summary>The topic's (new) epoch.</summary>
    public string? Epoch { get; init; }

    /// <summary>With <c>epoch-changed</c>: the incarnation the subscription was following.</summary>
    public string? PreviousEpoch { get; init; }

    /// <summary>With <c>missed</c>: the first offset lost.</summary>
    public long? FromOffset { get; init; }

    /// <summary>With <c>missed</c>: the last offset lost.</summary>
    public long? ToOffset { get; init; }

    /// <summary>With <c>resume-expired</c>: the topics the token itself named, which continue exactly.</summary>
    public IReadOnlyList<string>? ResumedTopics { get; init; }

    /// <summary>The hub's sentence for people, when it gave one (<c>resume-expired</c> says what was skipped and how to read it).</summary>
    public string? Message { get; init; }

    /// <summary>The subscription it was sent to.</summary>
    public Subscription? Subscription { get; internal set; }
}

/// <summary>How to publish.</summary>
public sealed class PublishOptions
{
    /// <summary>The message's key (kept with it; shown to subscribers).</summary>
    public string? Key { get; set; }

    /// <summary>Its headers.</summary>
    public IReadOnlyDictionary<string, string>? Headers { get; set; }

    /// <summary>The idempotency key: a retry with the same key within the hub's window (2 minutes) stores nothing new. One is generated when absent.</summary>
    public string? IdempotencyKey { get; set; }

    /// <summary>How long to wait for the confirmation, across reconnects (default <see cref="SwitchboardClientOptions.PublishTimeout"/>).</summary>
    public TimeSpan? Timeout { get; set; }
}

/// <summary>Where a subscription starts and how it reports.</summary>
public sealed class SubscribeOptions
{
    /// <summary>
    /// Start after this position: <c>epoch:offset</c> (a message's <see cref="Message.Position"/>), an offset (<c>"0"</c>:
    /// everything retained), a subscription's <see cref="Subscription.Position"/> (which for a pattern holds every
    /// topic's position), or any multi-topic token the hub issued (an SSE id, a poll's <c>next</c>: <c>p1.…</c>,
    /// <c>p2.…</c>), passed to the hub as it is: one the hub refuses faults <see cref="Subscription.Ready"/> with the hub's
    /// code (<c>invalid-position</c>). Absent: from now.
    /// </summary>
    public string? After { get; set; }

    /// <summary>Called for each notice (<c>missed</c>, <c>epoch-changed</c>, <c>topic-deleted</c>, <c>resume-expired</c>); the client's <see cref="SwitchboardClient.Notice"/> event hears them too.</summary>
    public Action<SubscriptionNotice>? OnNotice { get; set; }
}
