namespace Switchboard.Core;

/// <summary>
/// How much history a topic keeps. Each limit is optional (null = no limit); the oldest messages go
/// first when any limit is passed. Count and bytes are enforced as messages are appended; age by a
/// periodic sweep (see <see cref="HubOptions.RetentionSweepInterval"/>).
/// </summary>
/// <param name="MaxMessages">Keep at most this many messages.</param>
/// <param name="MaxAge">Drop messages older than this.</param>
/// <param name="MaxBytes">Keep at most this many bytes of messages (payload + key + headers).</param>
public sealed record RetentionPolicy(long? MaxMessages, TimeSpan? MaxAge, long? MaxBytes)
{
    /// <summary>No limit at all.</summary>
    public static RetentionPolicy Unlimited { get; } = new(null, null, null);

    /// <summary>The largest age accepted (100 years: "forever" without overflowing timestamp arithmetic).</summary>
    public static readonly TimeSpan MaxAgeLimit = TimeSpan.FromDays(36_500);

    /// <summary>Throws <see cref="SwitchboardException"/> (<see cref="ErrorCode.ValidationFailed"/>) naming the bad value.</summary>
    public void Validate()
    {
        if (MaxMessages is < 1)
        {
            throw new SwitchboardException(ErrorCode.ValidationFailed, $"retention.maxMessages is {MaxMessages}; use 1 or more, or null for no limit.");
        }
        if (MaxBytes is < 1)
        {
            throw new SwitchboardException(ErrorCode.ValidationFailed, $"retention.maxBytes is {MaxBytes}; use 1 or more, or null for no limit.");
        }
        if (MaxAge is { } age && (age < TimeSpan.FromSeconds(1) || age > MaxAgeLimit))
        {
            throw new SwitchboardException(ErrorCode.ValidationFailed, $"retention.maxAge is {DurationText.Format(age)}; use between 1s and {DurationText.Format(MaxAgeLimit)}, or null for no limit.");
        }
    }
}
