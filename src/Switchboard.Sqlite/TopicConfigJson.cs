using System.Text.Json;

namespace Switchboard.Sqlite;

/// <summary>A topic's configuration as stored in the <c>topics.config</c> column.</summary>
internal static class TopicConfigJson
{
    public static string Write(Core.TopicConfig config)
    {
        using var stream = new MemoryStream();
        using (var writer = new Utf8JsonWriter(stream))
        {
            writer.WriteStartObject();
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
            writer.WriteEndObject();
        }
        return System.Text.Encoding.UTF8.GetString(stream.ToArray());
    }

    public static Core.TopicConfig Read(string json)
    {
        using var document = JsonDocument.Parse(json);
        var root = document.RootElement;
        long? Long(string name) => root.TryGetProperty(name, out var value) ? value.GetInt64() : null;
        var ticks = Long("maxAgeTicks");
        return new Core.TopicConfig(
            new Core.RetentionPolicy(Long("maxMessages"), ticks is { } t ? TimeSpan.FromTicks(t) : null, Long("maxBytes")),
            root.TryGetProperty("description", out var d) ? d.GetString() : null);
    }
}
