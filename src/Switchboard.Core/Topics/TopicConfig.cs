namespace Switchboard.Core;

/// <summary>A topic's configuration, set with PUT (whole) or PATCH (merge) and kept across restarts.</summary>
/// <param name="Retention">How much history to keep.</param>
/// <param name="Description">Free text for operators; at most 1,024 characters.</param>
public sealed record TopicConfig(RetentionPolicy Retention, string? Description = null)
{
    /// <summary>The longest description accepted.</summary>
    public const int MaxDescriptionLength = 1024;

    /// <summary>Throws <see cref="SwitchboardException"/> (<see cref="ErrorCode.ValidationFailed"/>) naming the bad value.</summary>
    public void Validate()
    {
        Retention.Validate();
        if (Description is { Length: > MaxDescriptionLength })
        {
            throw new SwitchboardException(ErrorCode.ValidationFailed, $"description is {Description.Length} characters long; the limit is {MaxDescriptionLength}.");
        }
    }
}
