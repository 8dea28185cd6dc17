using System.Text.Json;
using Switchboard.Core;

namespace Switchboard.Redis;

/// <summary>
/// Topic and queue settings as the <c>cfg</c> field of their hash: JSON with exact .NET ticks, read only by the
/// nodes. The scripts read the numbers they need from separate fields in microseconds (see <see cref="RedisTime"/>).
/// </summary>
internal static class RedisConfigJson
{
    public static string Write(TopicConfig config) => Write(writer =>
    {
        if (config.Retention.MaxMessages is { } max)
        {
            writer.WriteNumber("maxMessages", max);
        }
        if (config.Retention.MaxAge is { } age)
        {
            writer.WriteNumber("maxAgeTicks", age.Ticks);
        }
        if (config.Retention.MaxBytes is { } bytes)
        {
            writer.WriteNumber("maxBytes", bytes);
        }
        if (config.Description is { } description)
        {
            writer.WriteString("description", description);
        }
    });

    public static TopicConfig ReadTopic(string json)
    {
        using var document = JsonDocument.Parse(json);
        var root = document.RootElement;
        long? Long(string name) => root.TryGetProperty(name, out var value) ? value.GetInt64() : null;
        var ticks = Long("maxAgeTicks");
        return new TopicConfig(
            new RetentionPolicy(Long("maxMessages"), ticks is { } t ? TimeSpan.FromTicks(t) : null, Long("maxBytes")),
            root.TryGetProperty("description", out var d) ? d.GetString() : null);
    }

    public static string Write(QueueConfig config) => Write(writer =>
    {
        writer.WriteNumber("leaseTicks", config.Lease.Ticks);
        writer.WriteNumber("maxAttempts", config.MaxAttempts);
        writer.WriteNumber("backoffInitialTicks", config.BackoffInitial.Ticks);
        writer.WriteNumber("backoffMaxTicks", config.BackoffMax.Ticks);
        if (config.Description is { } description)
        {
            writer.WriteString("description", description);
        }
    });

    public static QueueConfig ReadQueue(string json)
    {
        using var document = JsonDocument.Parse(json);
        var root = document.RootElement;
        return new QueueConfig(
            TimeSpan.FromTicks(root.GetProperty("leaseTicks").GetInt64()),
            root.GetProperty("maxAttempts").GetInt32(),
            TimeSpan.FromTicks(root.GetProperty("backoffInitialTicks").GetInt64()),
            TimeSpan.FromTicks(root.GetProperty("backoffMaxTicks").GetInt64()),
            root.TryGetProperty("description", out var d) ? d.GetString() : null);
    }

    private static string Write(Action<Utf8JsonWriter> members)
    {
        using var stream = new MemoryStream();
        using (var writer = new Utf8JsonWriter(stream))
        {
            writer.WriteStartObject();
            members(writer);
            writer.WriteEndObject();
        }
        return System.Text.Encoding.UTF8.GetString(stream.ToArray());
    }
}
