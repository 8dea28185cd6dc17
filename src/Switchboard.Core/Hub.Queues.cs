using System.Security.Cryptography;
using Switchboard.Core.Delivery;
using Switchboard.Core.Engines;

namespace Switchboard.Core;

public sealed partial class Hub
{
    /// <summary>The most messages one receive may lease.</summary>
    public const int MaxReceive = 1000;

    private readonly TopicWaiters _queueWaiters = new();
    private readonly TopicWaiters _replyWaiters = new();

    private readonly System.Collections.Concurrent.ConcurrentDictionary<(string Queue, long Id), Settlement> _settled = new();

    private IQueueStore Queues => _store.Queues;

    /// <summary>
    /// Completes when a message leased to a streaming consumer is acked or nacked on this node, or its lease runs
    /// out (an extend on this node moves that moment): the consumer's credit for it comes back. (A consumer keeps
    /// at most its credit of messages leased.)
    /// </summary>
    public async Task WhenSettledAsync(QueueMessage message, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(message);
        var key = (message.Queue, message.Id);
        var settlement = _settled.GetOrAdd(key, static _ => new Settlement());
        settlement.Until = message.LeaseExpiresAt ?? _time.GetUtcNow();
        try
        {
            while (true)
            {
                var left = settlement.Until - _time.GetUtcNow();
                if (left <= TimeSpan.Zero)
                {
                    return; // the lease ran out: the message will be delivered again, to whoever asks
                }
                try
                {
                    await settlement.Done.Task.WaitAsync(left, _time, cancellationToken).ConfigureAwait(false);
                    return;
                }
                catch (TimeoutException)
                {
                    // look again: an extend may have moved the end
                }
            }
        }
        finally
        {
            _settled.TryRemove(new KeyValuePair<(string, long), Settlement>(key, settlement));
        }
    }

    private void Settled(string queue, long id)
    {
        if (_settled.TryGetValue((queue, id), out var settlement))
        {
            settlement.Done.TrySetResult();
        }
    }

    /// <summary>A streaming consumer's wait for one leased message: settled, or until its lease ends.</summary>
    private sealed class Settlement
    {
        private long _untilTicks;

        public TaskCompletionSource Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public DateTimeOffset Until
        {
            get => new(Interlocked.Read(ref _untilTicks), TimeSpan.Zero);
            set => Interlocked.Exchange(ref _untilTicks, value.UtcTicks);
        }
    }

    /// <summary>Creates a queue or replaces its settings.</summary>
    /// <param name="queue">The queue.</param>
    /// <param name="config">The whole new settings.</param>
    /// <param name="condition">When set, write only if it holds (<see cref="ErrorCode.PreconditionFailed"/> otherwise); see <see cref="WriteCondition"/>.</param>
    /// <param name="cancellationToken">Cancels the wait (not a committed change).</param>
    public Task<PutQueueResult> PutQueueAsync(string queue, QueueConfig config, WriteCondition? condition = null, CancellationToken cancellationToken = default)
    {
        EnsureServing();
        QueueName.Validate(queue);
        ArgumentNullException.ThrowIfNull(config);
        config.Validate();
        if (condition is null)
        {
            return Queues.PutQueueAsync(queue, config, null, _time.GetUtcNow(), cancellationToken);
        }
        return ConditionallyAsync(Subject.Queue(queue), condition, creates: true,
            () => Queues.GetQueueAsync(queue, _time.GetUtcNow(), cancellationToken), VersionTag.Of,
            (_, expected) => Queues.PutQueueAsync(queue, config, expected, _time.GetUtcNow(), cancellationToken));
    }

    /// <summary>
    /// Changes part of a queue's settings: <paramref name="change"/> gets the current settings and returns the new ones.
    /// Concurrent changes do not overwrite each other (the change is retried on the newer settings, and
    /// <paramref name="condition"/>, when set, checked again against them).
    /// </summary>
    public Task<QueueInfo> UpdateQueueAsync(string queue, Func<QueueConfig, QueueConfig> change, WriteCondition? condition = null, CancellationToken cancellationToken = default)
    {
        EnsureServing();
        QueueName.Validate(queue);
        ArgumentNullException.ThrowIfNull(change);
        return ConditionallyAsync(Subject.Queue(queue), condition, creates: false,
            () => Queues.GetQueueAsync(queue, _time.GetUtcNow(), cancellationToken), VersionTag.Of,
            async (current, expected) =>
            {
                var updated = change(current!.Config);
                updated.Validate();
                return (await Queues.PutQueueAsync(queue, updated, expected, _time.GetUtcNow(), cancellationToken).ConfigureAwait(false)).Queue;
            });
    }

    /// <summary>A queue's settings and counts.</summary>
    public async Task<QueueInfo> GetQueueAsync(string queue, CancellationToken cancellationToken = default)
    {
        EnsureServing();
        QueueName.Validate(queue);
        return await Queues.GetQueueAsync(queue, _time.GetUtcNow(), cancellationToken) ?? throw QueueEngine.NotFound(queue);
    }

    /// <summary>Queues in name order.</summary>
    public Task<QueuePage> ListQueuesAsync(string? prefix, string? afterName, int limit, CancellationToken cancellationToken = default)
    {
        EnsureServing();
        CheckListing(prefix, limit, ErrorCode.InvalidQueueName, "queue");
        return Queues.ListQueuesAsync(prefix, afterName, limit, _time.GetUtcNow(), cancellationToken);
    }

    /// <summary>Deletes a queue with its messages, dead letters and bindings.</summary>
    public async Task<QueueInfo> DeleteQueueAsync(string queue, WriteCondition? condition = null, CancellationToken cancellationToken = default)
    {
        EnsureServing();
        QueueName.Validate(queue);
        if (condition is null)
        {
            return await Queues.DeleteQueueAsync(queue, null, _time.GetUtcNow(), cancellationToken) ?? throw QueueEngine.NotFound(queue);
        }
        return await ConditionallyAsync(Subject.Queue(queue), condition, creates: false,
            () => Queues.GetQueueAsync(queue, _time.GetUtcNow(), cancellationToken), VersionTag.Of,
            async (_, expected) => await Queues.DeleteQueueAsync(queue, expected, _time.GetUtcNow(), cancellationToken).ConfigureAwait(false) ?? throw QueueEngine.NotFound(queue));
    }

    /// <summary>Sends messages to a queue; completes once they are durable.</summary>
    public Task<EnqueueResult> SendAsync(string queue, IReadOnlyList<QueueDraft> messages, TimeSpan delay = default, string? idempotencyKey = null, CancellationToken cancellationToken = default)
        => SendCoreAsync(queue, messages, delay, "delay", idempotencyKey, principal: null, reply: null, cancellationToken);

    /// <summary>
    /// Sends messages to a queue for <paramref name="principal"/> (null when authentication is off), whose idempotency
    /// keys are its own (<see cref="IdempotencyToken.Principal"/>); completes once they are durable. A delay out of range
    /// is refused under <paramref name="delayField"/>: the field as the caller's protocol spells it
    /// (<c>send.delaySeconds</c> in a JSON frame), so the client learns what to fix.
    /// </summary>
    public Task<EnqueueResult> SendAsync(string queue, IReadOnlyList<QueueDraft> messages, TimeSpan delay, string delayField, string? idempotencyKey, string? principal, CancellationToken cancellationToken)
        => SendCoreAsync(queue, messages, delay, delayField, idempotencyKey, principal, reply: null, cancellationToken);

    private async Task<EnqueueResult> SendCoreAsync(string queue, IReadOnlyList<QueueDraft> messages, TimeSpan delay, string delayField, string? idempotencyKey, string? principal, (string, DateTimeOffset)? reply, CancellationToken cancellationToken)
    {
        var result = await EnqueueCoreAsync(queue, messages, delay, delayField, idempotencyKey, principal, reply, cancellationToken);
        if (!result.Replayed)
        {
            Meters.QueueSent.Add(messages.Count);
        }
        return result;
    }

    private Task<EnqueueResult> EnqueueCoreAsync(string queue, IReadOnlyList<QueueDraft> messages, TimeSpan delay, string delayField, string? idempotencyKey, string? principal, (string, DateTimeOffset)? reply, CancellationToken cancellationToken)
    {
        EnsureServing();
        QueueName.Validate(queue);
        ArgumentNullException.ThrowIfNull(messages);
        if (messages.Count == 0)
        {
            throw new SwitchboardException(ErrorCode.ValidationFailed, "The batch is empty: send at least one message.");
        }
        if (messages.Count > Options.MaxBatchMessages)
        {
            throw new SwitchboardException(ErrorCode.RequestTooLarge, $"The batch has {messages.Count} messages; the limit is {Options.MaxBatchMessages} per request. Split it into several requests.");
        }
        for (var i = 0; i < messages.Count; i++)
        {
            MessageRules.Validate(messages[i].Message, i, Options.MaxMessageBytes, messages.Count > 1);
            MessageRules.ValidateQueueFields(messages[i], i, messages.Count > 1);
        }
        QueueConfig.CheckDelay(delay, delayField);
        EnsureRoom();
        var now = _time.GetUtcNow();
        IdempotencyToken? token = null;
        if (idempotencyKey is not null)
        {
            ValidateIdempotencyKey(idempotencyKey);
            // A request and a plain send with the same body are different operations under one key: replaying one as
            // the other would answer a request with a reply slot that was never made (or a send with a request's id).
            token = new IdempotencyToken(idempotencyKey, Fingerprint([.. messages.Select(m => m.Message)]) + ":" + delay.Ticks + (reply is null ? "" : ":request"), now + Options.IdempotencyWindow, principal);
        }
        var ambient = System.Diagnostics.Activity.Current;
        System.Diagnostics.Activity? span = null;
        if (ambient is not null || Observability.HubTracing.Source.HasListeners())
        {
            IReadOnlyList<MessageDraft> original = [.. messages.Select(m => m.Message)];
            var drafts = original;
            span = Observability.HubTracing.StartProducer(queue, queue: true, ref drafts);
            if (!ReferenceEquals(drafts, original))
            {
                // Stamped with trace context: most sends inside an unrecorded HTTP request carry none and keep their drafts.
                messages = [.. messages.Select((m, i) => new QueueDraft { Message = drafts[i], ReplyTo = m.ReplyTo, CorrelationId = m.CorrelationId })];
            }
        }
        var request = new EnqueueRequest(queue, messages)
        {
            Timestamp = now,
            Delay = delay,
            CreateQueue = Options.AutoCreateQueues ? QueueConfig.Default : null,
            Idempotency = token,
            Reply = reply,
            Requester = reply is null ? null : principal,
        };
        if (span is null)
        {
            return Queues.EnqueueAsync(request, cancellationToken);
        }
        try
        {
            return Observability.HubTracing.EndWhenDone(span, Queues.EnqueueAsync(request, cancellationToken), static (s, result) => s.SetTag("messaging.message.id", result.FirstId));
        }
        finally
        {
            System.Diagnostics.Activity.Current = ambient; // the span goes on with the enqueue
        }
    }

    /// <summary>Acknowledges a leased message: it is done and deleted.</summary>
    public Task AckAsync(string queue, long id, string lease, CancellationToken cancellationToken = default)
    {
        EnsureServing();
        QueueName.Validate(queue);
        CheckLeaseToken(lease);
        return AckCoreAsync(queue, id, lease, cancellationToken);
    }

    private async Task AckCoreAsync(string queue, long id, string lease, CancellationToken cancellationToken)
    {
        await Queues.AckAsync(queue, id, lease, _time.GetUtcNow(), cancellationToken);
        Meters.QueueAcked.Add(1);
        Settled(queue, id);
    }

    /// <summary>Gives a leased message back: redelivered after <paramref name="delay"/> (default: the backoff), or dead-lettered on its last attempt.</summary>
    public Task<NackResult> NackAsync(string queue, long id, string lease, TimeSpan? delay, string? error, CancellationToken cancellationToken = default)
        => NackAsync(queue, id, lease, delay, "delay", error, cancellationToken);

    /// <summary>
    /// <see cref="NackAsync(string, long, string, TimeSpan?, string?, CancellationToken)"/>, a delay out of range refused
    /// under <paramref name="delayField"/>, the field as the caller's protocol spells it.
    /// </summary>
    public Task<NackResult> NackAsync(string queue, long id, string lease, TimeSpan? delay, string delayField, string? error, CancellationToken cancellationToken)
    {
        EnsureServing();
        QueueName.Validate(queue);
        CheckLeaseToken(lease);
        if (delay is { } d)
        {
            QueueConfig.CheckDelay(d, delayField);
        }
        if (error is { Length: > 4096 })
        {
            throw new SwitchboardException(ErrorCode.ValidationFailed, $"error is {error.Length} characters; the limit is 4096.");
        }
        return NackCoreAsync(queue, id, lease, delay, error, cancellationToken);
    }

    private async Task<NackResult> NackCoreAsync(string queue, long id, string lease, TimeSpan? delay, string? error, CancellationToken cancellationToken)
    {
        var result = await Queues.NackAsync(queue, id, lease, delay, error, _time.GetUtcNow(), cancellationToken);
        Meters.QueueNacked.Add(1);
        if (result.DeadLettered)
        {
            Meters.DeadLettered.Add(1);
        }
        Settled(queue, id);
        return result;
    }

    /// <summary>Extends a lease to <paramref name="by"/> from now (null: the queue's lease).</summary>
    public Task<DateTimeOffset> ExtendAsync(string queue, long id, string lease, TimeSpan? by, CancellationToken cancellationToken = default)
        => ExtendAsync(queue, id, lease, by, "lease", cancellationToken);

    /// <summary>
    /// <see cref="ExtendAsync(string, long, string, TimeSpan?, CancellationToken)"/>, a length out of range refused under
    /// <paramref name="byField"/>, the field as the caller's protocol spells it.
    /// </summary>
    public async Task<DateTimeOffset> ExtendAsync(string queue, long id, string lease, TimeSpan? by, string byField, CancellationToken cancellationToken)
    {
        EnsureServing();
        QueueName.Validate(queue);
        CheckLeaseToken(lease);
        var length = by ?? (await GetQueueAsync(queue, cancellationToken)).Config.Lease;
        QueueConfig.CheckLease(length, byField);
        var until = await Queues.ExtendAsync(queue, id, lease, length, _time.GetUtcNow(), cancellationToken);
        if (_settled.TryGetValue((queue, id), out var settlement))
        {
            settlement.Until = until; // the consumer keeps holding its credit for the message until the new end
        }
        return until;
    }

    /// <summary>A queue's messages without leasing them (nothing changes): ready ones in the order a receive takes them, optionally delayed and leased ones.</summary>
    public async Task<QueuePeekPage> PeekAsync(string queue, QueuePeekStates states, long afterId, int limit, CancellationToken cancellationToken = default)
    {
        EnsureServing();
        QueueName.Validate(queue);
        return await Queues.PeekAsync(queue, states, afterId, limit, _time.GetUtcNow(), cancellationToken);
    }

    /// <summary>Dead letters, oldest first.</summary>
    public async Task<DeadLetterPage> ListDeadLettersAsync(string queue, long afterId, int limit, CancellationToken cancellationToken = default)
    {
        EnsureServing();
        QueueName.Validate(queue);
        return await Queues.ListDeadLettersAsync(queue, afterId, limit, cancellationToken);
    }

    /// <summary>Puts one dead letter (or all) back into the queue.</summary>
    public async Task<long> RedriveAsync(string queue, long? id, CancellationToken cancellationToken = default)
    {
        EnsureServing();
        QueueName.Validate(queue);
        var redriven = await Queues.RedriveAsync(queue, id, _time.GetUtcNow(), cancellationToken);
        Meters.Redriven.Add(redriven);
        return redriven;
    }

    /// <summary>Deletes every dead letter of a queue.</summary>
    public Task<long> PurgeDeadLettersAsync(string queue, CancellationToken cancellationToken = default)
    {
        EnsureServing();
        QueueName.Validate(queue);
        return Queues.PurgeDeadLettersAsync(queue, cancellationToken);
    }

    /// <summary>Binds a topic (or pattern) to a queue: each message published there is also enqueued, durably.</summary>
    public async Task<bool> AddBindingAsync(string pattern, string queue, CancellationToken cancellationToken = default)
    {
        EnsureServing();
        QueueName.Validate(queue);
        _ = TopicPattern.Parse(pattern);
        if (!Options.AutoCreateQueues && await Queues.GetQueueAsync(queue, _time.GetUtcNow(), cancellationToken) is null)
        {
            throw QueueEngine.NotFound(queue); // a binding creates its queue only where sends may
        }
        return await Queues.PutBindingAsync(new QueueBinding(pattern, queue), _time.GetUtcNow(), cancellationToken);
    }

    /// <summary>Removes a binding; false if there was none.</summary>
    public Task<bool> RemoveBindingAsync(string pattern, string queue, CancellationToken cancellationToken = default)
    {
        EnsureServing();
        QueueName.Validate(queue);
        _ = TopicPattern.Parse(pattern);
        return Queues.DeleteBindingAsync(new QueueBinding(pattern, queue), cancellationToken);
    }

    /// <summary>Every binding.</summary>
    public Task<IReadOnlyList<QueueBinding>> ListBindingsAsync(CancellationToken cancellationToken = default)
    {
        EnsureServing();
        return Queues.ListBindingsAsync(cancellationToken);
    }

    void IStoreListener.OnEnqueued(string queue) => _backplane.Publish(new QueueReady(queue));

    void IStoreListener.OnReplied(string replyId) => _backplane.Publish(new ReplyPosted(replyId));

    void IStoreListener.OnDeadLettersDropped(string queue, long dropped, long total)
    {
        Meters.DeadLettersDropped.Add(dropped);
        _deadLetterDrops.Dropped(queue, dropped, total);
    }

    /// <summary>A lease token's shape; <paramref name="at"/> (e.g. an item of a batch) goes before the refusal.</summary>
    private static void CheckLeaseToken(string lease, string at = "")
    {
        if (string.IsNullOrEmpty(lease) || lease.Length > 64)
        {
            throw new SwitchboardException(ErrorCode.ValidationFailed, at + "lease must be the lease token of the received message (the \"lease\" field of receive's answer).");
        }
    }
}
