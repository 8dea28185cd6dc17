namespace Switchboard.Core.Delivery;

/// <summary>Where a subscription starts: now (only new messages), or after a position (history first, then live).</summary>
public readonly record struct SubscribeStart
{
    private SubscribeStart(bool fromNow, Position after, IReadOnlyDictionary<string, Position>? positions = null)
    {
        FromNow = fromNow;
        After = after;
        Positions = positions;
    }

    /// <summary>Only messages published from now on.</summary>
    public static SubscribeStart Now { get; } = new(true, default);

    /// <summary>Every retained message after <paramref name="position"/>, then live ones.</summary>
    public static SubscribeStart AfterPosition(Position position) => new(false, position);

    /// <summary>
    /// Resumes several topics at once: each listed topic after its own position, every other matching topic from
    /// its first retained message (it did not exist, or had nothing delivered, when the positions were taken).
    /// </summary>
    public static SubscribeStart AfterPositions(IReadOnlyDictionary<string, Position> positions)
    {
        ArgumentNullException.ThrowIfNull(positions);
        return new(false, new Position(null, 0), positions);
    }

    /// <summary>Per-topic positions (see <see cref="AfterPositions"/>), or null.</summary>
    public IReadOnlyDictionary<string, Position>? Positions { get; }

    /// <summary>Where <paramref name="topic"/> starts (for positional starts).</summary>
    public Position PositionOf(string topic)
        => Positions is null ? After : Positions.TryGetValue(topic, out var position) ? position : new Position(null, 0);

    /// <summary>True for <see cref="Now"/>.</summary>
    public bool FromNow { get; }

    /// <summary>The position to start after (ignored when <see cref="FromNow"/>).</summary>
    public Position After { get; }
}
