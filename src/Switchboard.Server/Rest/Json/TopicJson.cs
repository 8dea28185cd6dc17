using System.Text.Json;
using Switchboard.Core;

namespace Switchboard.Server.Rest.Json;

/// <summary>The REST shape of a topic: its configuration, its incarnation and its statistics.</summary>
internal static class TopicJson
{
    public static void Write(Utf8JsonWriter writer, TopicInfo topic)
    {
        writer.WriteStartObject();
        writer.WriteString("name", topic.Name);
        writer.WriteString("epoch", topic.Epoch);
        writer.WriteStartObject("retention");
        if (topic.Config.Retention.MaxMessages is { } maxMessages)
        {
            writer.WriteNumber("maxMessages", maxMessages);
        }
        if (topic.Config.Retention.MaxAge is { } maxAge)
        {
            writer.WriteString("maxAge", DurationText.Format(maxAge));
        }
        if (topic.Config.Retention.MaxBytes is { } maxBytes)
        {
            writer.WriteNumber("maxBytes", maxBytes);
        }
        writer.WriteEndObject();
        if (topic.Config.Description is { } description)
        {
            writer.WriteString("description", description);
        }
        writer.WriteString("createdAt", topic.CreatedAt.UtcDateTime);
        writer.WriteStartObject("stats");
        writer.WriteNumber("firstOffset", topic.FirstOffset);
        writer.WriteNumber("lastOffset", topic.LastOffset);
        writer.WriteNumber("messageCount", topic.MessageCount);
        writer.WriteNumber("bytes", topic.Bytes);
        if (topic.LastPublishedAt is { } published)
        {
            writer.WriteString("lastPublishedAt", published.UtcDateTime);
        }
        writer.WriteEndObject();
        writer.WriteEndObject();
    }

    /// <summary>
    /// A strong validator: changes whenever anything in the representation changes. A conditional write compares only
    /// its first two parts, the incarnation and the configuration version (see <see cref="ParseETag"/>).
    /// </summary>
    public static string ETag(TopicInfo topic) => $"\"{topic.Epoch}.{topic.ConfigVersion}.{topic.FirstOffset}.{topic.LastOffset}\"";

    /// <summary>
    /// The configuration version an ETag of <see cref="ETag"/>'s shape names (its offsets are left out: publishes do not
    /// make it stale), or null for anything else.
    /// </summary>
    public static VersionTag? ParseETag(string quoted)
        => Conditional.TagParts(quoted, 4, wholeFrom: 1) is { } parts && Epoch.IsWellFormed(parts[0]) && Conditional.Version(parts[1], out var version)
            ? new VersionTag(parts[0], version)
            : null;
}
