using Switchboard.Core.Engines;

namespace Switchboard.Core;

/// <summary>A message as a sender hands it to a queue.</summary>
public sealed class QueueDraft
{
    /// <summary>The message itself (payload, headers, content type; the key is kept too).</summary>
    public required MessageDraft Message { get; init; }

    /// <summary>Where a responder posts its reply (set by the hub for requests).</summary>
    public string? ReplyTo { get; init; }

    /// <summary>Ties a reply to its request.</summary>
    public string? CorrelationId { get; init; }
}

/// <summary>Where a queue message is in its life.</summary>
public enum QueueMessageState
{
    /// <summary>Waiting: visible once its visible-at time has come.</summary>
    Ready,

    /// <summary>Received under a lease.</summary>
    Leased,

    /// <summary>In the dead letters.</summary>
    Dead,

    /// <summary>Not visible yet: waiting for its delay, or for the backoff after a nack or an expired lease (peek only; never stored).</summary>
    Delayed,
}

/// <summary>Which messages a peek lists (<see cref="Engines.IQueueStore.PeekAsync"/>); combine as flags.</summary>
[Flags]
public enum QueuePeekStates
{
    /// <summary>Visible now: what a receive would take, in that order.</summary>
    Ready = 1,

    /// <summary>Waiting for a delay or a backoff.</summary>
    Delayed = 2,

    /// <summary>Under a live lease.</summary>
    Leased = 4,

    /// <summary>Every message that is not a dead letter.</summary>
    All = Ready | Delayed | Leased,
}

/// <summary>A message in a queue, as a consumer receives it or an operator inspects it.</summary>
public sealed class QueueMessage
{
    /// <summary>The queue.</summary>
    public required string Queue { get; init; }

    /// <summary>Its id in the queue (from 1, in send order).</summary>
    public required long Id { get; init; }

    /// <summary>The payload bytes.</summary>
    public required ReadOnlyMemory<byte> Payload { get; init; }

    /// <summary>Application headers.</summary>
    public IReadOnlyDictionary<string, string> Headers { get; init; } = MessageDraft.NoHeaders;

    /// <summary>The payload's media type.</summary>
    public string ContentType { get; init; } = MessageDraft.JsonContentType;

    /// <summary>Optional key.</summary>
    public string? Key { get; init; }

    /// <summary>Where to post the reply, for a request.</summary>
    public string? ReplyTo { get; init; }

    /// <summary>Ties a reply to its request.</summary>
    public string? CorrelationId { get; init; }

    /// <summary>When it was sent.</summary>
    public required DateTimeOffset EnqueuedAt { get; init; }

    /// <summary>Deliveries so far (this one included, for a received message).</summary>
    public int Attempts { get; init; }

    /// <summary>Where it is in its life.</summary>
    public QueueMessageState State { get; init; }

    /// <summary>The lease token (received messages only): ack, nack and extend need it.</summary>
    public string? Lease { get; init; }

    /// <summary>When the lease runs out.</summary>
    public DateTimeOffset? LeaseExpiresAt { get; init; }

    /// <summary>When a delayed message becomes visible (peeked delayed messages only).</summary>
    public DateTimeOffset? VisibleAt { get; init; }

    /// <summary>Why it was dead-lettered (<c>nacked</c>, <c>lease-expired</c>).</summary>
    public string? DeadReason { get; init; }

    /// <summary>The last error text a consumer gave with a nack.</summary>
    public string? LastError { get; init; }

    /// <summary>When it was dead-lettered.</summary>
    public DateTimeOffset? DeadAt { get; init; }
}

/// <summary>What to enqueue.</summary>
public sealed record EnqueueRequest(string Queue, IReadOnlyList<QueueDraft> Messages)
{
    /// <summary>The hub's clock.</summary>
    public required DateTimeOffset Timestamp { get; init; }

    /// <summary>Invisible until this long after <see cref="Timestamp"/>.</summary>
    public TimeSpan Delay { get; init; }

    /// <summary>When set, a missing queue is created with this configuration.</summary>
    public QueueConfig? CreateQueue { get; init; }

    /// <summary>When set, a retry with the same key returns the first result.</summary>
    public IdempotencyToken? Idempotency { get; init; }

    /// <summary>For a request: the reply slot to open in the same transaction (id and when the wait ends).</summary>
    public (string Id, DateTimeOffset ExpiresAt)? Reply { get; init; }

    /// <summary>For a request: who sent it (the principal; null when authentication is off), recorded on its reply slot.</summary>
    public string? Requester { get; init; }
}

/// <summary>What an enqueue did.</summary>
/// <param name="Queue">The queue.</param>
/// <param name="FirstId">The first id; the rest follow.</param>
/// <param name="Count">How many.</param>
/// <param name="Replayed">True when an earlier send with the same idempotency key answered (nothing new stored).</param>
/// <param name="CreatedQueue">True when the send created the queue.</param>
public sealed record EnqueueResult(string Queue, long FirstId, int Count, bool Replayed, bool CreatedQueue);

/// <summary>What a nack did.</summary>
/// <param name="DeadLettered">True when the message went to the dead letters (its last attempt).</param>
/// <param name="VisibleAt">When it will be delivered again (when not dead-lettered).</param>
public sealed record NackResult(bool DeadLettered, DateTimeOffset? VisibleAt);

/// <summary>A page of dead letters in id order.</summary>
public sealed record DeadLetterPage(IReadOnlyList<QueueMessage> Messages, long? NextAfter);

/// <summary>A page of peeked messages in id order (for ready ones, the order a receive takes them); <paramref name="NextAfter"/> is the cursor for the next page, or null at the end.</summary>
public sealed record QueuePeekPage(IReadOnlyList<QueueMessage> Messages, long? NextAfter);

/// <summary>A reply slot: pending until a responder answers, then the reply.</summary>
public sealed class ReplyRecord
{
    /// <summary>The reply id (also the request's <c>replyTo</c>).</summary>
    public required string Id { get; init; }

    /// <summary>The queue the request went to.</summary>
    public required string Queue { get; init; }

    /// <summary>The request's message id in <see cref="Queue"/> (null for slots stored before it was recorded).</summary>
    public long? MessageId { get; init; }

    /// <summary>
    /// The principal that sent the request, the only one (with admins) that may read the reply; null when authentication
    /// was off or for slots stored before requesters were recorded (whoever may send to <see cref="Queue"/> reads those).
    /// </summary>
    public string? Requester { get; init; }

    /// <summary>Whether <paramref name="principal"/> (null: authentication off) may read this slot as its requester.</summary>
    public bool IsReadableBy(string? principal) => Requester is null || string.Equals(Requester, principal, StringComparison.Ordinal);

    /// <summary>When the requester stops waiting.</summary>
    public required DateTimeOffset ExpiresAt { get; init; }

    /// <summary>The reply, once given.</summary>
    public MessageDraft? Reply { get; init; }

    /// <summary>When it was answered.</summary>
    public DateTimeOffset? RepliedAt { get; init; }
}
