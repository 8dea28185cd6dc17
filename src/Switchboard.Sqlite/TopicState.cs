using Switchboard.Core;

namespace Switchboard.Sqlite;

/// <summary>The writer's copy of one topics row; only the writer thread touches it.</summary>
internal sealed class TopicState
{
    public required long Id { get; init; }
    public required string Name { get; init; }
    public required string Epoch { get; init; }
    public required TopicConfig Config { get; set; }
    public required long ConfigVersion { get; set; }
    public required DateTimeOffset CreatedAt { get; init; }
    public long FirstOffset { get; set; } = 1;
    public long LastOffset { get; set; }
    public long Count { get; set; }
    public long Bytes { get; set; }
    public DateTimeOffset? LastPublishedAt { get; set; }
    public bool Dirty { get; set; }

    public static TopicState From(long id, TopicInfo info) => new()
    {
        Id = id,
        Name = info.Name,
        Epoch = info.Epoch,
        Config = info.Config,
        ConfigVersion = info.ConfigVersion,
        CreatedAt = info.CreatedAt,
        FirstOffset = info.FirstOffset,
        LastOffset = info.LastOffset,
        Count = info.MessageCount,
        Bytes = info.Bytes,
        LastPublishedAt = info.LastPublishedAt,
    };

    public TopicInfo Snapshot() => new()
    {
        Name = Name,
        Epoch = Epoch,
        Config = Config,
        ConfigVersion = ConfigVersion,
        CreatedAt = CreatedAt,
        FirstOffset = FirstOffset,
        LastOffset = LastOffset,
        MessageCount = Count,
        Bytes = Bytes,
        LastPublishedAt = LastPublishedAt,
    };
}
