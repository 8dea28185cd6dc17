using System.Globalization;
using System.Text.Json;
using Switchboard.Core;

namespace Switchboard.Server.Rest.Json;

/// <summary>Queues, queue messages and replies as JSON.</summary>
internal static class QueueJson
{
    public static void WriteQueue(Utf8JsonWriter writer, QueueInfo queue)
    {
        writer.WriteStartObject();
        writer.WriteString("name", queue.Name);
        writer.WriteString("lease", DurationText.Format(queue.Config.Lease));
        writer.WriteNumber("maxAttempts", queue.Config.MaxAttempts);
        writer.WriteStartObject("backoff");
        writer.WriteString("initial", DurationText.Format(queue.Config.BackoffInitial));
        writer.WriteString("max", DurationText.Format(queue.Config.BackoffMax));
        writer.WriteEndObject();
        if (queue.Config.MaxLength is { } maxLength)
        {
            writer.WriteNumber("maxLength", maxLength);
        }
        if (queue.Config.MaxDeadLetters is { } maxDead)
        {
            writer.WriteNumber("maxDeadLetters", maxDead);
        }
        if (queue.Config.Description is { } description)
        {
            writer.WriteString("description", description);
        }
        writer.WriteNumber("configVersion", queue.ConfigVersion);
        writer.WriteString("createdAt", queue.CreatedAt.UtcDateTime);
        writer.WriteStartObject("stats");
        writer.WriteNumber("ready", queue.Stats.Ready);
        writer.WriteNumber("leased", queue.Stats.Leased);
        writer.WriteNumber("delayed", queue.Stats.Delayed);
        writer.WriteNumber("dead", queue.Stats.Dead);
        writer.WriteNumber("length", queue.Stats.Length);
        writer.WriteNumber("deadDropped", queue.Stats.DeadDropped);
        writer.WriteEndObject();
        // The limits in force (the queue's own, else the hub's defaults); null: no limit.
        writer.WriteStartObject("limits");
        WriteLimit(writer, "maxLength", queue.Limits.MaxLength);
        WriteLimit(writer, "maxDeadLetters", queue.Limits.MaxDeadLetters);
        writer.WriteEndObject();
        writer.WriteEndObject();
    }

    private static void WriteLimit(Utf8JsonWriter writer, string name, long? limit)
    {
        if (limit is { } value)
        {
            writer.WriteNumber(name, value);
        }
        else
        {
            writer.WriteNull(name);
        }
    }

    /// <summary>
    /// A strong validator of <see cref="WriteQueue"/>'s representation: the incarnation (creation time, Unix ms) and the
    /// configuration version, then the counts. A conditional write compares only the first two (see <see cref="ParseETag"/>).
    /// </summary>
    public static string ETag(QueueInfo queue)
    {
        var version = VersionTag.Of(queue);
        var stats = queue.Stats;
        return string.Create(CultureInfo.InvariantCulture, $"\"{version.Incarnation}.{version.ConfigVersion}.{stats.Ready}.{stats.Leased}.{stats.Delayed}.{stats.Dead}\"");
    }

    /// <summary>The configuration version an ETag of <see cref="ETag"/>'s shape names (sends and receives do not make it stale), or null for anything else.</summary>
    public static VersionTag? ParseETag(string quoted)
        => Conditional.TagParts(quoted, 6, wholeFrom: 0) is { } parts && Conditional.Version(parts[1], out var version)
            ? new VersionTag(parts[0], version)
            : null;

    public static void WriteMessage(Utf8JsonWriter writer, QueueMessage message)
    {
        writer.WriteStartObject();
        WriteMessageFields(writer, message);
        writer.WriteEndObject();
    }

    /// <summary>A peeked message: its state, and when its lease ends or it becomes visible; never a lease token.</summary>
    public static void WritePeekedMessage(Utf8JsonWriter writer, QueueMessage message)
    {
        writer.WriteStartObject();
        writer.WriteString("state", message.State switch
        {
            QueueMessageState.Leased => "leased",
            QueueMessageState.Delayed => "delayed",
            _ => "ready",
        });
        if (message.Lease is null && message.LeaseExpiresAt is { } until)
        {
            writer.WriteString("leaseExpiresAt", until.UtcDateTime);
        }
        if (message.VisibleAt is { } visibleAt)
        {
            writer.WriteString("visibleAt", visibleAt.UtcDateTime);
        }
        WriteMessageFields(writer, message);
        writer.WriteEndObject();
    }

    /// <summary>A nack's outcome, inside an object the caller opened: deadLettered, and visibleAt when it comes back.</summary>
    public static void WriteNackFields(Utf8JsonWriter writer, NackResult result)
    {
        writer.WriteBoolean("deadLettered", result.DeadLettered);
        if (result.VisibleAt is { } at)
        {
            writer.WriteString("visibleAt", at.UtcDateTime);
        }
    }

    /// <summary>The message's members, inside an object the caller opened (a WebSocket frame adds "queue" first).</summary>
    public static void WriteMessageFields(Utf8JsonWriter writer, QueueMessage message)
    {
        writer.WriteNumber("id", message.Id);
        if (message.Lease is { } lease)
        {
            writer.WriteString("lease", lease);
            writer.WriteString("leaseExpiresAt", message.LeaseExpiresAt!.Value.UtcDateTime);
        }
        writer.WriteNumber("attempts", message.Attempts);
        writer.WriteString("enqueuedAt", message.EnqueuedAt.UtcDateTime);
        writer.WriteStartObject("headers");
        foreach (var (name, value) in message.Headers)
        {
            writer.WriteString(name, value);
        }
        writer.WriteEndObject();
        if (message.Key is { } key)
        {
            writer.WriteString("key", key);
        }
        if (message.ReplyTo is { } replyTo)
        {
            writer.WriteString("replyTo", replyTo);
        }
        if (message.CorrelationId is { } correlationId)
        {
            writer.WriteString("correlationId", correlationId);
        }
        if (message.State == QueueMessageState.Dead)
        {
            writer.WriteString("reason", message.DeadReason);
            if (message.DeadAt is { } deadAt)
            {
                writer.WriteString("deadAt", deadAt.UtcDateTime);
            }
        }
        if (message.LastError is { } error)
        {
            writer.WriteString("lastError", error);
        }
        writer.WriteString("contentType", message.ContentType);
        MessageJson.WritePayload(writer, message.Payload.Span, message.ContentType);
    }

    public static void WriteReply(Utf8JsonWriter writer, ReplyRecord slot)
    {
        writer.WriteStartObject();
        WriteReplyFields(writer, slot, "id");
        writer.WriteEndObject();
    }

    /// <summary>The reply's members, inside an object the caller opened; the request id under <paramref name="idName"/>.</summary>
    public static void WriteReplyFields(Utf8JsonWriter writer, ReplyRecord slot, string idName)
    {
        writer.WriteString(idName, slot.Id);
        writer.WriteString("queue", slot.Queue);
        writer.WriteString("status", slot.Reply is not null ? "replied" : "pending");
        writer.WriteString("expiresAt", slot.ExpiresAt.UtcDateTime);
        if (slot.Reply is { } reply)
        {
            if (slot.RepliedAt is { } repliedAt)
            {
                writer.WriteString("repliedAt", repliedAt.UtcDateTime);
            }
            writer.WriteStartObject("headers");
            foreach (var (name, value) in reply.Headers)
            {
                writer.WriteString(name, value);
            }
            writer.WriteEndObject();
            if (reply.Key is { } key)
            {
                writer.WriteString("key", key);
            }
            writer.WriteString("contentType", reply.ContentType);
            MessageJson.WritePayload(writer, reply.Payload.Span, reply.ContentType);
        }
    }
}
