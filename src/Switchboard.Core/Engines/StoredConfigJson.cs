using System.Text.Json;

namespace Switchboard.Core.Engines;

/// <summary>
/// Topic and queue settings as engines store them (SQLite's <c>config</c> columns, the <c>cfg</c> field of Redis's
/// hashes): JSON with exact .NET ticks, one format for every engine.
/// </summary>
public static class StoredConfigJson
{
    /// <summary>A topic's settings as stored.</summary>
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

    /// <summary>A topic's settings from what <see cref="Write(TopicConfig)"/> stored.</summary>
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

    /// <summary>A queue's settings as stored.</summary>
    public static string Write(QueueConfig config) => Write(writer =>
    {
        writer.WriteNumber("leaseTicks", config.Lease.Ticks);
        writer.WriteNumber("maxAttempts", config.MaxAttempts);
        writer.WriteNumber("backoffInitialTicks", config.BackoffInitial.Ticks);
        writer.WriteNumber("backoffMaxTicks", config.BackoffMax.Ticks);
        if (config.MaxLength is { } maxLength)
        {
            writer.WriteNumber("maxLength", maxLength);
        }
        if (config.MaxDeadLetters is { } maxDead)
        {
            writer.WriteNumber("maxDeadLetters", maxDead);
        }
        if (config.Description is { } description)
        {
            writer.WriteString("description", description);
        }
    });

    /// <summary>A queue's settings from what <see cref="Write(QueueConfig)"/> stored.</summary>
    public static QueueConfig ReadQueue(string json)
    {
        using var document = JsonDocument.Parse(json);
        var root = document.RootElement;
        return new QueueConfig(
            TimeSpan.FromTicks(root.GetProperty("leaseTicks").GetInt64()),
            root.GetProperty("maxAttempts").GetInt32(),
            TimeSpan.FromTicks(root.GetProperty("backoffInitialTicks").GetInt64()),
            TimeSpan.FromTicks(root.GetProperty("backoffMaxTicks").GetInt64()),
            root.TryGetProperty("description", out var d) ? d.GetString() : null)
        {
            // Absent in what was stored before queues had limits (and when the queue follows the hub's defaults).
            MaxLength = root.TryGetProperty("maxLength", out var l) ? l.GetInt64() : null,
            MaxDeadLetters = root.TryGetProperty("maxDeadLetters", out var m) ? m.GetInt64() : null,
        };
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
