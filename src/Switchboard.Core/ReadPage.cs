namespace Switchboard.Core;

/// <summary>A page of a topic's history.</summary>
public sealed record ReadPage
{
    /// <summary>The topic at the moment of the read.</summary>
    public required TopicInfo Topic { get; init; }

    /// <summary>Messages after the requested position, in offset order.</summary>
    public required IReadOnlyList<Message> Messages { get; init; }

    /// <summary>Where to continue: the position after the last message returned (or the requested one when none).</summary>
    public required Position Next { get; init; }

    /// <summary>
    /// Offsets that were asked for but are gone (removed by retention), as an inclusive range; null when nothing was missed.
    /// </summary>
    public (long From, long To)? Missed { get; init; }
}
