namespace Switchboard.Core.Engines;

/// <summary>
/// The queue half of the store seam: durable work queues with leases, dead letters, topic bindings and reply
/// slots. Every engine implements it with <see cref="QueueBook"/>'s rules and persists what each call changes
/// before the call completes (for the embedded engine: committed and fsync'd; only a lease, which hands out work, may be
/// answered at its commit, before the flush).
/// </summary>
public interface IQueueStore
{
    /// <summary>Creates a queue or replaces its settings.</summary>
    Task<PutQueueResult> PutQueueAsync(string queue, QueueConfig config, long? expectedConfigVersion, DateTimeOffset now, CancellationToken cancellationToken);

    /// <summary>A queue's settings and counts, or null.</summary>
    Task<QueueInfo?> GetQueueAsync(string queue, DateTimeOffset now, CancellationToken cancellationToken);

    /// <summary>Queues in name order whose names start with <paramref name="prefix"/>, after <paramref name="afterName"/>.</summary>
    Task<QueuePage> ListQueuesAsync(string? prefix, string? afterName, int limit, DateTimeOffset now, CancellationToken cancellationToken);

    /// <summary>
    /// Deletes a queue with its messages, dead letters and bindings; null if there was none. With
    /// <paramref name="expectedConfigVersion"/>, only if its configuration version still equals it; otherwise
    /// <see cref="ErrorCode.PreconditionFailed"/> (a queue that does not exist is still null).
    /// </summary>
    Task<QueueInfo?> DeleteQueueAsync(string queue, long? expectedConfigVersion, DateTimeOffset now, CancellationToken cancellationToken);

    /// <summary>Sends messages to a queue (atomically).</summary>
    /// <exception cref="SwitchboardException"><see cref="ErrorCode.QueueNotFound"/> when missing and not to be created.</exception>
    Task<EnqueueResult> EnqueueAsync(EnqueueRequest request, CancellationToken cancellationToken);

    /// <summary>Leases up to <paramref name="max"/> visible messages for <paramref name="lease"/> (default: the queue's).</summary>
    Task<LeaseResult> LeaseAsync(string queue, int max, TimeSpan? lease, DateTimeOffset now, CancellationToken cancellationToken);

    /// <summary>
    /// Parks a receive that found the queue empty, for the next send to lease its messages to in the send's own commit
    /// (see <see cref="ParkedLease"/>). Null: this engine does not hand off, and the receive leases after the send.
    /// </summary>
    ParkedLease? Park(string queue, int max, TimeSpan? lease) => null;

    /// <summary>Acknowledges a leased message (it is deleted).</summary>
    Task AckAsync(string queue, long id, string lease, DateTimeOffset now, CancellationToken cancellationToken);

    /// <summary>Gives a leased message back for redelivery (or to the dead letters on its last attempt).</summary>
    Task<NackResult> NackAsync(string queue, long id, string lease, TimeSpan? delay, string? error, DateTimeOffset now, CancellationToken cancellationToken);

    /// <summary>
    /// Gives back messages a receive leased but could not hand to its caller, because the caller went away (see
    /// <see cref="Hub.ReceiveAsync"/>): each one still held under its lease is ready again at once, in its place by id,
    /// and that delivery is not counted (<see cref="QueueBook.Release"/>: attempts go back to what they were before the
    /// lease). A message no longer held under the given lease is left alone, and a queue deleted meanwhile releases
    /// nothing: a release never throws for either. Like a nack it wakes waiting receives
    /// (<see cref="IStoreListener.OnEnqueued"/>). Persisted like a nack; an engine may answer at its commit, as for a
    /// lease (losing it to a power cut only leaves the messages leased until their leases run out). The default releases
    /// nothing, for an engine written before this call: its messages come back when their leases run out, as they did then.
    /// </summary>
    /// <returns>How many were released.</returns>
    Task<int> ReleaseAsync(string queue, IReadOnlyList<(long Id, string Lease)> leases, DateTimeOffset now, CancellationToken cancellationToken)
        => Task.FromResult(0);

    /// <summary>Extends a lease to <paramref name="by"/> from now; returns the new end.</summary>
    Task<DateTimeOffset> ExtendAsync(string queue, long id, string lease, TimeSpan by, DateTimeOffset now, CancellationToken cancellationToken);

    /// <summary>
    /// Lists messages after <paramref name="afterId"/> in id order without leasing or changing anything (no attempt
    /// counted, no promotion persisted): each as it is at <paramref name="now"/> — <see cref="QueueMessageState.Ready"/>
    /// (visible: what a receive would take, in that order), <see cref="QueueMessageState.Delayed"/> (with its
    /// <see cref="QueueMessage.VisibleAt"/>) or <see cref="QueueMessageState.Leased"/> (with its
    /// <see cref="QueueMessage.LeaseExpiresAt"/>) — filtered by <paramref name="states"/>. Never a lease token; never a dead letter.
    /// </summary>
    Task<QueuePeekPage> PeekAsync(string queue, QueuePeekStates states, long afterId, int limit, DateTimeOffset now, CancellationToken cancellationToken);

    /// <summary>Dead letters in id order after <paramref name="afterId"/>.</summary>
    Task<DeadLetterPage> ListDeadLettersAsync(string queue, long afterId, int limit, CancellationToken cancellationToken);

    /// <summary>Puts one dead letter (or all) back into the queue; returns how many.</summary>
    Task<long> RedriveAsync(string queue, long? id, DateTimeOffset now, CancellationToken cancellationToken);

    /// <summary>Deletes every dead letter of the queue; returns how many.</summary>
    Task<long> PurgeDeadLettersAsync(string queue, CancellationToken cancellationToken);

    /// <summary>Every binding.</summary>
    Task<IReadOnlyList<QueueBinding>> ListBindingsAsync(CancellationToken cancellationToken);

    /// <summary>Adds a binding (creating its queue with defaults if missing); false if it already existed.</summary>
    Task<bool> PutBindingAsync(QueueBinding binding, DateTimeOffset now, CancellationToken cancellationToken);

    /// <summary>Removes a binding; false if there was none.</summary>
    Task<bool> DeleteBindingAsync(QueueBinding binding, CancellationToken cancellationToken);

    /// <summary>A reply slot, or null.</summary>
    Task<ReplyRecord?> GetReplyAsync(string id, CancellationToken cancellationToken);

    /// <summary>
    /// Answers a request; with <paramref name="lease"/> (the responder's lease on the request message) also acknowledges
    /// the request, atomically with the reply. Returns the slot as it was before the reply.
    /// </summary>
    /// <exception cref="SwitchboardException">ReplyNotFound, ReplyExpired, ReplyAlreadySent; with a lease, what an ack throws.</exception>
    Task<ReplyRecord> PostReplyAsync(string id, MessageDraft reply, string? lease, DateTimeOffset now, CancellationToken cancellationToken);
}

/// <summary>What a lease call got.</summary>
/// <param name="Messages">The leased messages, oldest first.</param>
/// <param name="NextVisibleAt">When the next message becomes visible, if any is pending (a waiting receive sleeps until then).</param>
public sealed record LeaseResult(IReadOnlyList<QueueMessage> Messages, DateTimeOffset? NextVisibleAt);

/// <summary>What a queue put did.</summary>
public sealed record PutQueueResult(QueueInfo Queue, bool Created);
