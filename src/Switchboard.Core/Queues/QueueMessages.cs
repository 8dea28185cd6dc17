namespace Switchboard.Core.Engines;

/// <summary>Builds the <see cref="QueueMessage"/> a consumer or operator sees from an entry and its body.</summary>
public static class QueueMessages
{
    /// <summary>The message view of an entry.</summary>
    public static QueueMessage From(string queue, QueueEntry entry, QueueDraft body)
    {
        ArgumentNullException.ThrowIfNull(entry);
        return View(queue, entry, body, entry.State, peek: false);
    }

    /// <summary>The peek view of an entry in the state <see cref="QueueBook.PeekState"/> gave it: never its lease token.</summary>
    public static QueueMessage Peeked(string queue, QueueEntry entry, QueueDraft body, QueueMessageState state)
    {
        ArgumentNullException.ThrowIfNull(entry);
        return View(queue, entry, body, state, peek: true);
    }

    /// <summary>A peek shows when a delayed message becomes visible and never a lease token or a dead letter's fields.</summary>
    private static QueueMessage View(string queue, QueueEntry entry, QueueDraft body, QueueMessageState state, bool peek)
    {
        ArgumentNullException.ThrowIfNull(body);
        return new QueueMessage
        {
            Queue = queue,
            Id = entry.Id,
            Payload = body.Message.Payload,
            Headers = body.Message.Headers,
            ContentType = body.Message.ContentType,
            Key = body.Message.Key,
            ReplyTo = body.ReplyTo,
            CorrelationId = body.CorrelationId,
            EnqueuedAt = entry.EnqueuedAt,
            Attempts = entry.Attempts,
            State = state,
            Lease = !peek && state == QueueMessageState.Leased ? entry.Lease : null,
            LeaseExpiresAt = state == QueueMessageState.Leased ? entry.LeaseExpiresAt : null,
            VisibleAt = peek && state == QueueMessageState.Delayed ? entry.VisibleAt : null,
            DeadReason = peek ? null : entry.DeadReason,
            LastError = entry.LastError,
            DeadAt = peek ? null : entry.DeadAt,
        };
    }

    /// <summary>The queues a topic's messages go to through bindings.</summary>
    public static IReadOnlyList<string> BoundQueues(BindingIndex bindings, string topic)
    {
        ArgumentNullException.ThrowIfNull(bindings);
        return bindings.QueuesFor(topic);
    }

    /// <summary>A topic message as a queue message (bindings): the payload, headers, key and content type, plus where it came from.</summary>
    public static QueueDraft FromTopic(Message message)
    {
        ArgumentNullException.ThrowIfNull(message);
        var headers = new Dictionary<string, string>(message.Headers, StringComparer.Ordinal)
        {
            ["sb-topic"] = message.Topic,
            ["sb-offset"] = message.Offset.ToString(System.Globalization.CultureInfo.InvariantCulture),
        };
        return new QueueDraft { Message = new MessageDraft { Payload = message.Payload, Headers = headers, Key = message.Key, ContentType = message.ContentType } };
    }
}
