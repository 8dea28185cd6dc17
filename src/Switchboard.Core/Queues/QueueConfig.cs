namespace Switchboard.Core;

/// <summary>A queue's settings.</summary>
/// <param name="Lease">How long a received message stays invisible to other consumers (the visibility timeout).</param>
/// <param name="MaxAttempts">Deliveries before a message moves to the dead letters.</param>
/// <param name="BackoffInitial">The wait before the first redelivery (after a nack without a delay, or an expired lease); doubled on each attempt.</param>
/// <param name="BackoffMax">The longest backoff.</param>
/// <param name="Description">Free text.</param>
public sealed record QueueConfig(TimeSpan Lease, int MaxAttempts, TimeSpan BackoffInitial, TimeSpan BackoffMax, string? Description = null)
{
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
public sealed record QueueStats(long Ready, long Leased, long Delayed, long Dead);

/// <summary>A queue: its settings and counts.</summary>
public sealed record QueueInfo(string Name, QueueConfig Config, long ConfigVersion, DateTimeOffset CreatedAt, QueueStats Stats);

/// <summary>A page of queues in name order.</summary>
public sealed record QueuePage(IReadOnlyList<QueueInfo> Queues, string? NextAfter);

/// <summary>A topic feeding a queue: every message published to a matching topic is also enqueued there.</summary>
/// <param name="Pattern">A topic name or pattern (<c>*</c>, <c>&gt;</c>).</param>
/// <param name="Queue">The queue.</param>
public sealed record QueueBinding(string Pattern, string Queue);
