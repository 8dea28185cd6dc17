namespace Switchboard.Core;

/// <summary>A queue's settings.</summary>
/// <param name="Lease">How long a received message stays invisible to other consumers (the visibility timeout).</param>
/// <param name="MaxAttempts">Deliveries before a message moves to the dead letters.</param>
/// <param name="BackoffInitial">The wait before the first redelivery (after a nack without a delay, or an expired lease); doubled on each attempt.</param>
/// <param name="BackoffMax">The longest backoff.</param>
/// <param name="Description">Free text.</param>
public sealed record QueueConfig(TimeSpan Lease, int MaxAttempts, TimeSpan BackoffInitial, TimeSpan BackoffMax, string? Description = null)
{
    /// <summary>The largest <see cref="MaxLength"/> or <see cref="MaxDeadLetters"/> a queue may set: 10^12, far past what any engine holds, and exact in a double (Redis's Lua, JavaScript clients).</summary>
    public const long MaxLimit = 1_000_000_000_000;

    /// <summary>
    /// The most messages the queue holds that are not dead (ready, delayed and leased); a send, request or bound publish
    /// that would pass it is refused whole (<see cref="Engines.QueueEngine.Full"/>). Null: the hub's default
    /// (<c>Switchboard:Queues:MaxLength</c>, <see cref="QueueLimits"/>).
    /// </summary>
    public long? MaxLength { get; init; }

    /// <summary>
    /// The most dead letters the queue keeps; a move past it drops the oldest (lowest ids) and counts them
    /// (<see cref="QueueStats.DeadDropped"/>). Null: the hub's default (<c>Switchboard:Queues:MaxDeadLetters</c>).
    /// </summary>
    public long? MaxDeadLetters { get; init; }

    /// <summary>The longest lease: 12 hours.</summary>
    public static readonly TimeSpan MaxLease = TimeSpan.FromHours(12);

    /// <summary>The longest delay before a message becomes visible, and the longest backoff: 7 days.</summary>
    public static readonly TimeSpan MaxDelay = TimeSpan.FromDays(7);

    /// <summary>The defaults: 30 s leases, 10 attempts, backoff 1 s doubling to 5 min.</summary>
    public static QueueConfig Default { get; } = new(TimeSpan.FromSeconds(30), 10, TimeSpan.FromSeconds(1), TimeSpan.FromMinutes(5));

    /// <summary>Throws <see cref="SwitchboardException"/> (<see cref="ErrorCode.ValidationFailed"/>) naming the limit that is broken.</summary>
    public void Validate()
    {
        CheckLease(Lease, "lease");
        if (MaxAttempts is < 1 or > 1000)
        {
            throw new SwitchboardException(ErrorCode.ValidationFailed, $"maxAttempts is {MaxAttempts}; use 1 to 1000.");
        }
        CheckLimit(MaxLength, "maxLength");
        CheckLimit(MaxDeadLetters, "maxDeadLetters");
        CheckDelay(BackoffInitial, "backoff.initial");
        CheckDelay(BackoffMax, "backoff.max");
        if (BackoffMax < BackoffInitial)
        {
            throw new SwitchboardException(ErrorCode.ValidationFailed, $"backoff.max ({DurationText.Format(BackoffMax)}) is shorter than backoff.initial ({DurationText.Format(BackoffInitial)}).");
        }
        if (Description is { Length: > TopicConfig.MaxDescriptionLength })
        {
            throw new SwitchboardException(ErrorCode.ValidationFailed, $"description is {Description.Length} characters; the limit is {TopicConfig.MaxDescriptionLength}.");
        }
    }

    /// <summary>A lease must be from 1 s to 12 h.</summary>
    public static void CheckLease(TimeSpan lease, string what)
    {
        if (lease < TimeSpan.FromSeconds(1) || lease > MaxLease)
        {
            throw new SwitchboardException(ErrorCode.InvalidRequest, $"{what} is {DurationText.Format(lease)}; use 1s to 12h.");
        }
    }

    /// <summary>A per-queue limit, when set, must be from 1 to <see cref="MaxLimit"/>.</summary>
    private static void CheckLimit(long? value, string what)
    {
        if (value is < 1 or > MaxLimit)
        {
            throw new SwitchboardException(ErrorCode.InvalidRequest, $"{what} is {value}; use a whole number from 1 to {MaxLimit} (or leave it out for the hub's default).");
        }
    }

    /// <summary>A delay must be from 0 to 7 days.</summary>
    public static void CheckDelay(TimeSpan delay, string what)
    {
        if (delay < TimeSpan.Zero || delay > MaxDelay)
        {
            throw new SwitchboardException(ErrorCode.InvalidRequest, $"{what} is {DurationText.Format(delay)}; use 0s to 7d.");
        }
    }

    /// <summary>The wait before delivery number <paramref name="attempts"/> + 1.</summary>
    public TimeSpan Backoff(int attempts)
    {
        if (BackoffInitial == TimeSpan.Zero || attempts <= 0)
        {
            return BackoffInitial;
        }
        var factor = Math.Pow(2, Math.Min(attempts - 1, 30));
        var ticks = Math.Min(BackoffInitial.Ticks * factor, BackoffMax.Ticks);
        return TimeSpan.FromTicks((long)ticks);
    }
}

/// <summary>A queue's counts at one instant.</summary>
/// <param name="Ready">Visible now, waiting for a consumer.</param>
/// <param name="Leased">Received and not yet acked, lease running.</param>
/// <param name="Delayed">Not visible yet (a delay, a backoff, or an expired lease waiting for its redelivery).</param>
/// <param name="Dead">In the dead letters.</param>
/// <param name="DeadDropped">Dead letters dropped to keep within the queue's maxDeadLetters, since the queue was created.</param>
public sealed record QueueStats(long Ready, long Leased, long Delayed, long Dead, long DeadDropped = 0)
{
    /// <summary>The messages that count against maxLength: ready, leased and delayed (not dead).</summary>
    public long Length => Ready + Leased + Delayed;
}

/// <summary>A queue: its settings and counts.</summary>
public sealed record QueueInfo(string Name, QueueConfig Config, long ConfigVersion, DateTimeOffset CreatedAt, QueueStats Stats)
{
    /// <summary>The limits in force: the queue's own, else the hub's defaults (null: no limit).</summary>
    public QueueLimits Limits { get; init; } = QueueLimits.Default.For(Config);
}

/// <summary>
/// How much a queue may hold (<see cref="QueueConfig.MaxLength"/>, <see cref="QueueConfig.MaxDeadLetters"/>): the hub's
/// defaults (<c>Switchboard:Queues:MaxLength</c>, <c>Switchboard:Queues:MaxDeadLetters</c>), or one queue's limits in
/// force. Null: no limit.
/// </summary>
/// <param name="MaxLength">The most messages not dead (ready, delayed, leased).</param>
/// <param name="MaxDeadLetters">The most dead letters kept.</param>
public sealed record QueueLimits(long? MaxLength, long? MaxDeadLetters)
{
    /// <summary>
    /// 1,000,000 messages: far more than a healthy queue holds (a backlog that size is hours of work for most consumers),
    /// and few enough that a producer whose consumers are gone cannot fill the memory engine's heap or the disk —
    /// RabbitMQ's x-max-length and SQS's retention bound the same thing. 100,000 dead letters: a poison stream that
    /// dead-letters everything keeps enough to study, not without end.
    /// </summary>
    public static QueueLimits Default { get; } = new(1_000_000, 100_000);

    /// <summary>No limit.</summary>
    public static QueueLimits Unlimited { get; } = new(null, null);

    /// <summary>The limits in force for a queue with <paramref name="config"/>: its own, else these.</summary>
    public QueueLimits For(QueueConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        return config.MaxLength is null && config.MaxDeadLetters is null
            ? this
            : new(config.MaxLength ?? MaxLength, config.MaxDeadLetters ?? MaxDeadLetters);
    }
}

/// <summary>A page of queues in name order.</summary>
public sealed record QueuePage(IReadOnlyList<QueueInfo> Queues, string? NextAfter);

/// <summary>A topic feeding a queue: every message published to a matching topic is also enqueued there.</summary>
/// <param name="Pattern">A topic name or pattern (<c>*</c>, <c>&gt;</c>).</param>
/// <param name="Queue">The queue.</param>
public sealed record QueueBinding(string Pattern, string Queue);
