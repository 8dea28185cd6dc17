namespace Switchboard.Core.Engines;

/// <summary>
/// The most topics clients may make a store hold (<see cref="HubOptions.MaxTopics"/>, <c>Switchboard:Topics:MaxCount</c>),
/// the rule every engine applies where it creates a topic, in the same step (so concurrent creates cannot overshoot it).
/// Each topic costs the store a row and a topic state it keeps in memory for as long as the topic exists (retention
/// empties a topic, it never removes it), so without a bound one client publishing to t-1, t-2, … could make the hub hold
/// as many as it likes.
/// </summary>
public static class TopicLimit
{
    /// <summary>
    /// Whether <paramref name="topic"/> counts: the hub's own <c>$</c> topics (presence, resume snapshots) are neither
    /// counted nor refused, as the hub makes them for its clients' topics and subscriptions, which are bounded themselves.
    /// </summary>
    public static bool Counts(string topic) => !topic.StartsWith('$');

    /// <summary>The refusal of a new topic <paramref name="topic"/> because <paramref name="max"/> topics exist.</summary>
    public static SwitchboardException Reached(string topic, long max) => new(ErrorCode.LimitReached,
        $"Topic '{SwitchboardException.Echo(topic)}' was not created: the hub holds {max} topics, the most it may (Switchboard:Topics:MaxCount). " +
        "Delete topics that are no longer used, publish to existing ones, or raise the limit.")
    {
        Extensions = new Dictionary<string, object?> { ["limit"] = max, ["setting"] = "Switchboard:Topics:MaxCount" },
    };
}
