using System.Security.Cryptography;
using Switchboard.Core.Delivery;
using Switchboard.Core.Engines;

namespace Switchboard.Core;

public sealed partial class Hub
{
    /// <summary>How long a requester waits for its reply when it does not say.</summary>
    public static readonly TimeSpan DefaultRequestWait = TimeSpan.FromSeconds(30);

    /// <summary>
    /// Checks how long a requester holding its call open waits for the reply: 1 s to <see cref="HubOptions.MaxWait"/>.
    /// <paramref name="name"/> is the parameter as the caller's protocol names it.
    /// </summary>
    public void CheckRequestWait(TimeSpan wait, string name)
    {
        if (wait < TimeSpan.FromSeconds(1) || wait > Options.MaxWait)
        {
            throw new SwitchboardException(ErrorCode.InvalidRequest,
                $"{name} is {DurationText.Format(wait)}; a request waits 1s to {DurationText.Format(Options.MaxWait)} for its reply. For longer work, send it without waiting (REST: Prefer: respond-async) and fetch the reply later.");
        }
    }

    /// <summary>
    /// Sends a request (a queue message with <c>replyTo</c>) and returns its pending reply slot at once; the slot stays
    /// open for <paramref name="expiresIn"/>. Use <see cref="WaitForReplyAsync"/> to wait. With an idempotency key the
    /// reply id is derived from it, the queue and <paramref name="requester"/> (the principal; null when authentication
    /// is off), so a retried request waits on the first attempt's reply, and the same key from another principal is
    /// another request with another reply. The slot records <paramref name="requester"/>: only it reads the reply.
    /// </summary>
    public async Task<ReplyRecord> RequestAsync(string queue, QueueDraft request, TimeSpan expiresIn, string? idempotencyKey = null, string? requester = null, CancellationToken cancellationToken = default)
    {
        var (id, draft, expiresAt) = PrepareRequest(queue, request, expiresIn, idempotencyKey, requester);
        var sent = await Counted(SendCoreAsync(queue, [draft], TimeSpan.Zero, "delay", idempotencyKey, requester, (id, expiresAt), cancellationToken));
        var pending = new ReplyRecord { Id = id, Queue = queue, MessageId = sent.FirstId, Requester = requester, ExpiresAt = expiresAt };
        return sent.Replayed ? await Queues.GetReplyAsync(id, cancellationToken) ?? pending : pending; // a retry: the first attempt's slot
    }

    /// <summary>
    /// A requester holding its call open: sends the request (its reply slot open for <paramref name="wait"/>) and waits
    /// for the reply, on the meters like <see cref="AwaitReplyAsync"/>. The wait begins with the send, not after its
    /// confirmation: a responder can take the request as soon as it is written, and its reply, once written, answers
    /// this call even before the flush that makes both durable — the requester asked for the reply, not for a
    /// confirmation of the request, and a reply in hand needs none. Only when no reply comes first is the request's
    /// durability awaited (so a timeout always means the request is stored) and its failure reported. The slot and the
    /// idempotency key are <paramref name="requester"/>'s, as for <see cref="RequestAsync"/>.
    /// </summary>
    public Task<ReplyRecord> RequestAndAwaitAsync(string queue, QueueDraft request, TimeSpan wait, string? idempotencyKey, string? requester, long requestedAt, CancellationToken cancellationToken)
        => RequestAndAwaitAsync(queue, request, wait, idempotencyKey, requester, requestedAt, sent: null, cancellationToken);

    /// <summary>
    /// <see cref="RequestAndAwaitAsync(string, QueueDraft, TimeSpan, string?, string?, long, CancellationToken)"/>, telling
    /// <paramref name="sent"/> how the send went as soon as it is known (stored, or failed with the send's error), long
    /// before the reply: a caller that answers its client's operations in order (the multiplexed session) answers a
    /// failed send in its place. A request refused before its send never completes <paramref name="sent"/>; the
    /// returned task says why.
    /// </summary>
    public async Task<ReplyRecord> RequestAndAwaitAsync(string queue, QueueDraft request, TimeSpan wait, string? idempotencyKey, string? requester, long requestedAt, TaskCompletionSource? sent, CancellationToken cancellationToken)
    {
        EnsureServing();
        var (id, draft, expiresAt) = PrepareRequest(queue, request, wait, idempotencyKey, requester);
        var deadline = _time.GetUtcNow() + wait;
        TimeSpan Left() => deadline - _time.GetUtcNow() is { Ticks: > 0 } left ? left : TimeSpan.Zero;
        var waiter = _replyWaiters.Register(id, -1);
        var subject = new BackplaneSubject(BackplaneSubjectKind.Reply, id);
        Task<EnqueueResult>? sending = null;
        try
        {
            try
            {
                // Inside the try: the interest is counted even when its listen fails or the requester goes away
                // before it is answered, and must be given back then too (Interests.AcquireAsync).
                await _interests.AcquireAsync(subject, cancellationToken);
                sending = Counted(SendCoreAsync(queue, [draft], TimeSpan.Zero, "delay", idempotencyKey, requester, (id, expiresAt), CancellationToken.None));
                if (sent is not null && sending.IsCompleted)
                {
                    sent.TrySetFromTask(sending); // stored (or refused) already, as the in-memory engine answers
                }
                else if (sent is not null)
                {
                    _ = sending.ContinueWith(static (done, to) => ((TaskCompletionSource)to!).TrySetFromTask(done), sent,
                        CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
                }
                // Durable (or failed: thrown here) before any reply: wait on, still registered — unless this was a retry,
                // whose first attempt may have been answered already (looked up below).
                var first = sending.IsCompleted ? sending : await Task.WhenAny(waiter.Signaled, sending).WaitAsync(cancellationToken);
                if (first == sending && !(await sending).Replayed)
                {
                    try
                    {
                        await waiter.Signaled.WaitAsync(Left(), _time, cancellationToken);
                    }
                    catch (TimeoutException)
                    {
                        // no reply within the wait: answered below
                    }
                }
                if (await Queues.GetReplyAsync(id, cancellationToken) is { Reply: not null } replied)
                {
                    return Answered(replied, requestedAt);
                }
            }
            finally
            {
                _interests.Release(subject);
            }
        }
        finally
        {
            _replyWaiters.Remove(waiter);
        }
        // No reply yet (a wake-up for everyone, a replayed request, the wait over): the general wait, for what is left of it.
        await sending!.WaitAsync(cancellationToken);
        return await AwaitReplyAsync(id, Left(), requestedAt, cancellationToken);
    }

    /// <summary>
    /// <paramref name="sending"/>, counted on the meters once stored (not a replay) and its failure observed even when
    /// its caller stopped waiting for it (a reply came first, the requester went away).
    /// </summary>
    private Task<EnqueueResult> Counted(Task<EnqueueResult> sending)
    {
        if (sending.IsCompletedSuccessfully)
        {
            if (!sending.Result.Replayed)
            {
                Meters.RequestsSent.Add(1);
            }
            return sending;
        }
        _ = sending.ContinueWith(static (sent, meters) =>
        {
            if (!sent.IsCompletedSuccessfully)
            {
                _ = sent.Exception;
            }
            else if (!sent.Result.Replayed)
            {
                ((Observability.HubMeters)meters!).RequestsSent.Add(1);
            }
        }, Meters, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        return sending;
    }

    /// <summary>
    /// The request's reply id, its message and when its wait ends. Without an idempotency key the id is random. With one it
    /// is derived, so that a retry (on any node, after a restart) finds the first attempt's slot without a lookup: from the
    /// queue, the key and the requester — queue names and keys hold no line feed, so the three never run into each other,
    /// and the same key from two principals names two slots. Without a requester (authentication off) it is derived as it
    /// always was, from the queue and the key. A derived id is no secret (principal names are not): what guards the reply
    /// is that only its requester reads it, and answering needs <c>consume</c> on the queue, whose holders see the
    /// request's <c>replyTo</c> anyway.
    /// </summary>
    private (string Id, QueueDraft Draft, DateTimeOffset ExpiresAt) PrepareRequest(string queue, QueueDraft request, TimeSpan expiresIn, string? idempotencyKey, string? requester)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (expiresIn < TimeSpan.FromSeconds(1) || expiresIn > QueueConfig.MaxLease)
        {
            throw new SwitchboardException(ErrorCode.ValidationFailed, $"The reply wait is {DurationText.Format(expiresIn)}; use 1s to 12h.");
        }
        var id = idempotencyKey is null
            ? "r" + Security.RandomTokens.NewHex(12)
            : "r" + Convert.ToHexStringLower(SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(requester is null ? queue + "\n" + idempotencyKey : queue + "\n" + idempotencyKey + "\n" + requester)).AsSpan(0, 12));
        var draft = new QueueDraft { Message = request.Message, ReplyTo = id, CorrelationId = request.CorrelationId ?? id };
        return (id, draft, _time.GetUtcNow() + expiresIn);
    }

    /// <summary>
    /// The reply slot after waiting up to <paramref name="wait"/> for the reply. Its <see cref="ReplyRecord.Reply"/> is null
    /// while no reply came.
    /// </summary>
    public async Task<ReplyRecord> WaitForReplyAsync(string id, TimeSpan wait, CancellationToken cancellationToken = default)
    {
        EnsureServing();
        return await WaitCoreAsync(id, wait, cancellationToken);
    }

    /// <summary>
    /// The requester's own wait for the reply to the request it sent at <paramref name="requestedAt"/> (a
    /// <see cref="System.Diagnostics.Stopwatch"/> timestamp): as <see cref="WaitForReplyAsync"/>, and on the meters — the
    /// round trip when the reply came, a timeout when it did not.
    /// </summary>
    private async Task<ReplyRecord> AwaitReplyAsync(string id, TimeSpan wait, long requestedAt, CancellationToken cancellationToken)
    {
        EnsureServing();
        var slot = await WaitCoreAsync(id, wait, cancellationToken);
        if (slot.Reply is null && _state != HubState.Ready && slot.ExpiresAt > _time.GetUtcNow())
        {
            // The drain ended the wait, not its timeout: the reply can still come while the slot lives, and be fetched
            // by its id from another node (or this one, restarted). Say so — a timeout would be untrue.
            throw new SwitchboardException(ErrorCode.ShuttingDown,
                $"The hub is shutting down before the reply to '{id}' came; the request stays queued. Fetch the reply at /v1/replies/{id} (on another node or once the hub is back) until {slot.ExpiresAt:O}.")
            {
                RetryAfterSeconds = 1,
                Extensions = new Dictionary<string, object?> { ["replyId"] = id },
            };
        }
        if (slot.Reply is null)
        {
            Meters.RequestTimeouts.Add(1);
            return slot;
        }
        return Answered(slot, requestedAt);
    }

    private ReplyRecord Answered(ReplyRecord slot, long requestedAt)
    {
        Meters.RequestDuration.Record(System.Diagnostics.Stopwatch.GetElapsedTime(requestedAt).TotalSeconds);
        return slot;
    }

    private async Task<ReplyRecord> WaitCoreAsync(string id, TimeSpan wait, CancellationToken cancellationToken)
    {
        var deadline = _time.GetUtcNow() + wait;
        while (true)
        {
            var slot = await Queues.GetReplyAsync(id, cancellationToken) ?? throw QueueEngine.ReplyNotFound(id);
            var now = _time.GetUtcNow();
            if (slot.Reply is not null || now >= deadline || now >= slot.ExpiresAt || _state != HubState.Ready)
            {
                return slot;
            }
            var waiter = _replyWaiters.Register(id, -1);
            var subject = new BackplaneSubject(BackplaneSubjectKind.Reply, id);
            try
            {
                await _interests.AcquireAsync(subject, cancellationToken);
                slot = await Queues.GetReplyAsync(id, cancellationToken) ?? slot;
                if (slot.Reply is not null)
                {
                    return slot;
                }
                var until = slot.ExpiresAt < deadline ? slot.ExpiresAt : deadline;
                try
                {
                    // WaitAsync drops its timer when the reply comes first (no timer left behind per request).
                    await waiter.Signaled.WaitAsync(until - now, _time, cancellationToken);
                }
                catch (TimeoutException)
                {
                    // the wait (or the slot) ran out: look once more, then answer
                }
                cancellationToken.ThrowIfCancellationRequested();
            }
            finally
            {
                _replyWaiters.Remove(waiter);
                _interests.Release(subject);
            }
        }
    }

    /// <summary>
    /// Answers a request. With <paramref name="lease"/> (the lease on the request message, from receive) the request is
    /// acknowledged in the same step: one durable change instead of a reply and then an ack, and never one without
    /// the other.
    /// </summary>
    public async Task ReplyAsync(string id, MessageDraft reply, string? lease = null, CancellationToken cancellationToken = default)
    {
        EnsureServing();
        ArgumentNullException.ThrowIfNull(reply);
        MessageRules.Validate(reply, 0, Options.MaxMessageBytes, isBatch: false);
        if (lease is not null)
        {
            CheckLeaseToken(lease);
        }
        var slot = await Queues.PostReplyAsync(id, reply, lease, _time.GetUtcNow(), cancellationToken);
        Meters.Replies.Add(1);
        if (lease is not null && slot.MessageId is { } requestId)
        {
            Meters.QueueAcked.Add(1); // the reply acked the request in the same commit
            Settled(slot.Queue, requestId);
        }
    }
}
