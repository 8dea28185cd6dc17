using System.Text.Json;
using Switchboard.Core;

namespace Switchboard.Sqlite;

/// <summary>A queue's settings as stored in the <c>queues.config</c> column.</summary>
internal static class QueueConfigJson
{
    public static string Write(QueueConfig config)
    {
        using var stream = new MemoryStream();
        using (var writer = new Utf8JsonWriter(stream))
        {
            writer.WriteStartObject();
            writer.WriteNumber("leaseTicks", config.Lease.Ticks);
            writer.WriteNumber("maxAttempts", config.MaxAttempts);
            writer.WriteNumber("backoffInitialTicks", config.BackoffInitial.Ticks);
            writer.WriteNumber("backoffMaxTicks", config.BackoffMax.Ticks);
            if (config.Description is { } description)
            {
                writer.WriteString("description", description);
            }
            writer.WriteEndObject();
        }
        return System.Text.Encoding.UTF8.GetString(stream.ToArray());
    }

    public static QueueConfig Read(string json)
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
}
