namespace Switchboard.Core;

/// <summary>Queue naming rules: the same as topics' (tokens of <c>[A-Za-z0-9_-]</c> joined by <c>.</c>, at most 255 characters).</summary>
public static class QueueName
{
    /// <summary>Throws <see cref="SwitchboardException"/> (<see cref="ErrorCode.InvalidQueueName"/>) if the name is not valid.</summary>
    public static void Validate(string? name)
    {
        if (!TopicName.Check(name, wildcards: false, allowSystem: false, out var error))
        {
            throw new SwitchboardException(ErrorCode.InvalidQueueName, error.Replace("topic name", "queue name", StringComparison.Ordinal).Replace("'orders.created'", "'emails.outgoing'", StringComparison.Ordinal));
        }
    }
}
