namespace Switchboard.Core.Engines;

/// <summary>Rules every engine's queue code shares: errors, idempotent sends, reply slots.</summary>
public static class QueueEngine
{
    /// <summary>How long a reply slot is remembered after its wait ended (so a late reply gets 410, not 404).</summary>
    public static readonly TimeSpan ReplyKeptFor = TimeSpan.FromHours(1);

    /// <summary>The queue does not exist.</summary>
    public static SwitchboardException NotFound(string queue) => new(ErrorCode.QueueNotFound,
        $"Queue '{queue}' does not exist. Create it with PUT /v1/queues/{queue}, or send to it (queues are created on first send unless the hub forbids it).");

    /// <summary>
    /// The refusal of a new queue <paramref name="queue"/> because <paramref name="max"/> queues exist
    /// (<see cref="HubOptions.MaxQueues"/>). Every engine checks it where it creates a queue — a send, a put, a binding — in
    /// the same step, so concurrent creates cannot overshoot it; a queue a binding fills was counted when it was bound.
    /// </summary>
    public static SwitchboardException LimitReached(string queue, long max) => new(ErrorCode.LimitReached,
        $"Queue '{SwitchboardException.Echo(queue)}' was not created: the hub holds {max} queues, the most it may (Switchboard:Queues:MaxCount). " +
        "Delete queues that are no longer used, send to existing ones, or raise the limit.")
    {
        Extensions = new Dictionary<string, object?> { ["limit"] = max, ["setting"] = "Switchboard:Queues:MaxCount" },
    };

    /// <summary>
    /// The refusal of <paramref name="adding"/> messages to <paramref name="queue"/>, which holds <paramref name="length"/>
    /// (ready, delayed and leased) of at most <paramref name="max"/> (its maxLength, or Switchboard:Queues:MaxLength).
    /// Nothing of the send, batch or publish is written: every engine checks it in the step that writes (the memory
    /// engine's lock, the SQLite writer thread, the Redis script), as RabbitMQ's reject-publish overflow does.
    /// </summary>
    public static SwitchboardException Full(string queue, long length, long max, int adding) => new(ErrorCode.LimitReached,
        $"Queue '{SwitchboardException.Echo(queue)}' is full: it holds {length} messages and its limit is {max} (maxLength), so {Plural(adding)} could not be added; nothing was written. " +
        $"Consume (receive and ack) its messages, or raise its maxLength (PATCH /v1/queues/{SwitchboardException.Echo(queue)}) or the hub's default, Switchboard:Queues:MaxLength.")
    {
        Extensions = new Dictionary<string, object?> { ["queue"] = queue, ["length"] = length, ["limit"] = max, ["setting"] = "maxLength" },
    };

    /// <summary>Throws <see cref="Full"/> when <paramref name="adding"/> more would put a queue of <paramref name="length"/> past <paramref name="max"/> (null: no limit).</summary>
    public static void EnsureLength(string queue, long length, long? max, int adding)
    {
        if (max is { } limit && length + adding > limit)
        {
            throw Full(queue, length, limit, adding);
        }
    }

    private static string Plural(int count) => count == 1 ? "1 more message" : $"{count} more messages";

    /// <summary>A put whose expected version did not hold.</summary>
    public static SwitchboardException PreconditionFailed(string queue, long expected, long current) => new(ErrorCode.PreconditionFailed,
        expected == 0
            ? $"Queue '{queue}' already exists; it was expected not to."
            : $"Queue '{queue}' changed while you were editing it (configuration version {current}, expected {expected}). Read it again and retry.");

    /// <summary>The remembered result of a send with the same idempotency key, or null.</summary>
    public static EnqueueResult? Replay(QueueBook book, EnqueueRequest request)
    {
        ArgumentNullException.ThrowIfNull(book);
        ArgumentNullException.ThrowIfNull(request);
        if (request.Idempotency is not { } token || !book.Keys.TryGetValue(token.StoredKey, out var seen) || seen.ExpiresAt <= request.Timestamp)
        {
            return null;
        }
        if (!string.Equals(seen.Fingerprint, token.Fingerprint, StringComparison.Ordinal))
        {
            throw KeyReused(book.Name, token.Key);
        }
        return new EnqueueResult(book.Name, seen.FirstId, seen.Count, Replayed: true, CreatedQueue: false);
    }

    /// <summary>The client's idempotency <paramref name="key"/> guarded another send to <paramref name="queue"/>.</summary>
    public static SwitchboardException KeyReused(string queue, string key) => new(ErrorCode.IdempotencyKeyReused,
        $"Idempotency-Key '{key}' was already used on queue '{queue}' for a different request. Use a new key for a new message.");

    /// <summary>Remembers a send's idempotency key.</summary>
    public static void Remember(QueueBook book, EnqueueRequest request, long firstId)
    {
        ArgumentNullException.ThrowIfNull(book);
        ArgumentNullException.ThrowIfNull(request);
        if (request.Idempotency is { } token)
        {
            book.Keys[token.StoredKey] = (token.Fingerprint, firstId, request.Messages.Count, token.ExpiresAt);
        }
    }

    /// <summary>
    /// No reply slot under <paramref name="id"/> — also what a reader who is not the slot's requester is told, word for
    /// word, so that a reply id guessed or computed by someone else does not even reveal that the request exists.
    /// </summary>
    public static SwitchboardException ReplyNotFound(string id)
        => new(ErrorCode.ReplyNotFound, $"There is no request '{SwitchboardException.Echo(id)}' (or it ended more than {DurationText.Format(ReplyKeptFor)} ago).");

    /// <summary>A reply posted after its requester stopped waiting.</summary>
    public static SwitchboardException TooLate(string id, DateTimeOffset expiresAt)
        => new(ErrorCode.ReplyExpired, $"The requester stopped waiting for '{SwitchboardException.Echo(id)}' at {expiresAt:O}; the reply is too late.");

    /// <summary>Checks that a reply may be posted to <paramref name="slot"/>.</summary>
    public static ReplyRecord CheckReply(ReplyRecord? slot, string id, DateTimeOffset now)
    {
        if (slot is null)
        {
            throw new SwitchboardException(ErrorCode.ReplyNotFound, $"No request waits for a reply under '{SwitchboardException.Echo(id)}'. Use the replyTo of the request message you received.");
        }
        if (slot.Reply is not null)
        {
            throw new SwitchboardException(ErrorCode.ReplyAlreadySent, $"Request '{SwitchboardException.Echo(id)}' already has its reply (sent {slot.RepliedAt:O}); a request is answered once.");
        }
        if (slot.ExpiresAt <= now)
        {
            throw TooLate(id, slot.ExpiresAt);
        }
        return slot;
    }

    /// <summary>The request message a reply that carries its lease acknowledges.</summary>
    public static long RequestMessageId(ReplyRecord slot)
    {
        ArgumentNullException.ThrowIfNull(slot);
        return slot.MessageId ?? throw new SwitchboardException(ErrorCode.LeaseMismatch,
            $"Request '{slot.Id}' was stored before replies could acknowledge it: reply without the lease, then ack the request message.");
    }
}
