namespace Switchboard.Core;

/// <summary>Queue naming rules: the same as topics' (tokens of <c>[A-Za-z0-9_-]</c> joined by <c>.</c>, at most 255 characters).</summary>
public static class QueueName
{
    /// <summary>Throws <see cref="SwitchboardException"/> (<see cref="ErrorCode.InvalidQueueName"/>) if the name is not valid.</summary>
    public static void Validate(string? name)
    {
        if (!TopicName.Check(name, wildcards: false, allowSystem: false, out var error))
        {
            throw new SwitchboardException(ErrorCode.InvalidQueueName, error
                .Replace("wildcards are allowed in subscriptions, not in the name of a topic you publish to or manage", "a queue has an exact name (to fill it from every topic a pattern matches, bind it: PUT /v1/queues/{queue}/bindings/{pattern})", StringComparison.Ordinal)
                .Replace("reserved for the hub's own topics", "reserved for the hub's own names", StringComparison.Ordinal)
                .Replace("topic name", "queue name", StringComparison.Ordinal).Replace("'orders.created'", "'emails.outgoing'", StringComparison.Ordinal));
        }
    }
}
