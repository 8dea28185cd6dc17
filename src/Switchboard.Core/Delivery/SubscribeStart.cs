namespace Switchboard.Core.Delivery;

/// <summary>Where a subscription starts: now (only new messages), or after a position (history first, then live).</summary>
public readonly record struct SubscribeStart
{
    private SubscribeStart(bool fromNow, Position after)
    {
        FromNow = fromNow;
        After = after;
    }

    /// <summary>Only messages published from now on.</summary>
    public static SubscribeStart Now { get; } = new(true, default);

    /// <summary>Every retained message after <paramref name="position"/>, then live ones.</summary>
    public static SubscribeStart AfterPosition(Position position) => new(false, position);

    /// <summary>True for <see cref="Now"/>.</summary>
    public bool FromNow { get; }

    /// <summary>The position to start after (ignored when <see cref="FromNow"/>).</summary>
    public Position After { get; }
}
