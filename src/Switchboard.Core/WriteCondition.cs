using System.Globalization;

namespace Switchboard.Core;

/// <summary>
/// A version of a topic's or queue's configuration, as a conditional write names it: the incarnation (a topic's epoch;
/// a queue's creation time) and the configuration version. Statistics are no part of it, so a publish or a send in
/// between does not make it stale; a configuration change, or a delete and create again, does.
/// </summary>
/// <param name="Incarnation">A topic's epoch, or a queue's creation time in Unix milliseconds.</param>
/// <param name="ConfigVersion">The configuration version of that incarnation.</param>
/// <param name="Weak">The client marked it weak (HTTP's <c>W/</c>): it never matches where strong comparison is asked for.</param>
public readonly record struct VersionTag(string Incarnation, long ConfigVersion, bool Weak = false)
{
    /// <summary>The current version of a topic.</summary>
    public static VersionTag Of(TopicInfo topic)
    {
        ArgumentNullException.ThrowIfNull(topic);
        return new(topic.Epoch, topic.ConfigVersion);
    }

    /// <summary>The current version of a queue. A queue has no epoch: its creation time tells one incarnation from the next.</summary>
    public static VersionTag Of(QueueInfo queue)
    {
        ArgumentNullException.ThrowIfNull(queue);
        return new(queue.CreatedAt.ToUnixTimeMilliseconds().ToString(CultureInfo.InvariantCulture), queue.ConfigVersion);
    }

    /// <summary>Same incarnation and version; a weak tag only matches when <paramref name="strong"/> is false.</summary>
    public bool Matches(VersionTag current, bool strong)
        => (!strong || !Weak) && ConfigVersion == current.ConfigVersion && string.Equals(Incarnation, current.Incarnation, StringComparison.Ordinal);
}

/// <summary>
/// The versions one condition names: any (<c>*</c>: the resource exists), or a list of tags. <see cref="Foreign"/> says
/// that something sent was not a version this hub issues (malformed, or for another kind of resource): it never matches.
/// </summary>
/// <param name="Any">True for <c>*</c>.</param>
/// <param name="Tags">The well-formed tags (may be empty).</param>
/// <param name="Sent">What the client sent, as it would recognise it in a message (e.g. <c>If-Match: "…"</c>).</param>
public sealed record VersionList(bool Any, IReadOnlyList<VersionTag> Tags, string Sent)
{
    /// <summary>Something the client sent was not a version this hub issues.</summary>
    public bool Foreign { get; init; }

    /// <summary>Whether the current version is one of these.</summary>
    public bool Matches(VersionTag current, bool strong) => Any || Tags.Any(t => t.Matches(current, strong));
}

/// <summary>
/// What a write of a topic's or queue's configuration (create or replace, patch, delete) requires of its current
/// version. In REST: <c>If-Match</c> (one of these versions, compared strongly; <c>*</c>: it exists) and
/// <c>If-None-Match</c> (none of these, compared weakly; <c>*</c>: it does not exist yet). The hub checks it against the
/// version it reads and has the engine apply the write only if that version is still current, so a condition that held
/// is never acted on after it stopped holding (within one incarnation: see <see cref="Hub"/>'s conditional writes).
/// </summary>
/// <param name="IfMatch">Null: no requirement.</param>
/// <param name="IfNoneMatch">Null: no requirement.</param>
public sealed record WriteCondition(VersionList? IfMatch, VersionList? IfNoneMatch);
