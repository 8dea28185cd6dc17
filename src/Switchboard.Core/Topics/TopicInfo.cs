namespace Switchboard.Core;

/// <summary>A topic's configuration and statistics at one moment.</summary>
public sealed record TopicInfo
{
    /// <summary>The topic's name.</summary>
    public required string Name { get; init; }

    /// <summary>The current incarnation.</summary>
    public required string Epoch { get; init; }

    /// <summary>The configuration.</summary>
    public required TopicConfig Config { get; init; }

    /// <summary>Bumped on every configuration change (feeds the ETag).</summary>
    public required long ConfigVersion { get; init; }

    /// <summary>When this incarnation was created.</summary>
    public required DateTimeOffset CreatedAt { get; init; }

    /// <summary>The oldest retained offset; <see cref="LastOffset"/> + 1 when the topic holds no message.</summary>
    public required long FirstOffset { get; init; }

    /// <summary>The newest offset ever assigned in this incarnation (0 before the first publish).</summary>
    public required long LastOffset { get; init; }

    /// <summary>Messages retained.</summary>
    public required long MessageCount { get; init; }

    /// <summary>Bytes retained (payload + key + headers).</summary>
    public required long Bytes { get; init; }

    /// <summary>When the newest message was published, if any.</summary>
    public DateTimeOffset? LastPublishedAt { get; init; }
}

/// <summary>One page of a topic listing.</summary>
/// <param name="Topics">The topics, ordered by name.</param>
/// <param name="NextAfterName">The name to continue after, or null when this is the last page.</param>
public sealed record TopicPage(IReadOnlyList<TopicInfo> Topics, string? NextAfterName);
