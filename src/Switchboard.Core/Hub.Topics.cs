namespace Switchboard.Core;

public sealed partial class Hub
{
    /// <summary>The largest page of a topic listing.</summary>
    public const int MaxListLimit = 1000;

    /// <summary>A topic's configuration and statistics.</summary>
    /// <exception cref="TopicNotFoundException">It does not exist.</exception>
    public async Task<TopicInfo> GetTopicAsync(string topic, CancellationToken cancellationToken = default)
    {
        EnsureServing();
        TopicName.Validate(topic, allowSystem: true); // a presence topic ($presence.…) is read like any other
        return await _store.GetTopicAsync(topic, cancellationToken) ?? throw new TopicNotFoundException(topic);
    }

    /// <summary>Topics in name order, optionally only those starting with <paramref name="prefix"/>.</summary>
    /// <param name="prefix">A name prefix (any leading part of a name, e.g. <c>orders.</c> or <c>ord</c>).</param>
    /// <param name="afterName">Continue after this name (from the previous page).</param>
    /// <param name="limit">1 to <see cref="MaxListLimit"/>.</param>
    /// <param name="cancellationToken">Cancels the read.</param>
    public Task<TopicPage> ListTopicsAsync(string? prefix, string? afterName, int limit, CancellationToken cancellationToken = default)
    {
        EnsureServing();
        if (limit is < 1 or > MaxListLimit)
        {
            throw new SwitchboardException(ErrorCode.ValidationFailed, $"limit is {limit}; use 1 to {MaxListLimit}.");
        }
        if (prefix is not null && (prefix.Length > TopicName.MaxLength || prefix.Any(c => !(char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or '-' or '$'))))
        {
            throw new SwitchboardException(ErrorCode.InvalidTopicName, $"prefix '{prefix}' can never match a topic: names use letters, digits, '_', '-' and '.', up to {TopicName.MaxLength} characters.");
        }
        return _store.ListTopicsAsync(string.IsNullOrEmpty(prefix) ? null : prefix, afterName, limit, cancellationToken);
    }

    /// <summary>Creates a topic, or replaces its whole configuration. Its messages and epoch stay.</summary>
    public Task<Engines.PutTopicResult> PutTopicAsync(string topic, TopicConfig config, CancellationToken cancellationToken = default)
    {
        EnsureServing();
        TopicName.Validate(topic);
        ArgumentNullException.ThrowIfNull(config);
        config.Validate();
        return _store.PutTopicAsync(topic, config, expectedConfigVersion: null, cancellationToken);
    }

    /// <summary>
    /// Changes part of a topic's configuration: <paramref name="change"/> gets the current configuration and
    /// returns the new one. Concurrent changes do not overwrite each other (the change is retried on the newer configuration).
    /// </summary>
    /// <exception cref="TopicNotFoundException">It does not exist.</exception>
    public async Task<TopicInfo> UpdateTopicAsync(string topic, Func<TopicConfig, TopicConfig> change, CancellationToken cancellationToken = default)
    {
        EnsureServing();
        TopicName.Validate(topic);
        ArgumentNullException.ThrowIfNull(change);
        // Optimistic concurrency: a handful of retries settles any realistic contention on one topic's config.
        for (var attempt = 0; ; attempt++)
        {
            var current = await _store.GetTopicAsync(topic, cancellationToken) ?? throw new TopicNotFoundException(topic);
            var updated = change(current.Config);
            updated.Validate();
            try
            {
                return (await _store.PutTopicAsync(topic, updated, current.ConfigVersion, cancellationToken)).Topic;
            }
            catch (SwitchboardException ex) when (ex.Code == ErrorCode.PreconditionFailed && attempt < 8)
            {
                // changed under us: read again
            }
        }
    }

    /// <summary>Deletes a topic and its history. The next topic of that name is a new incarnation (new epoch).</summary>
    /// <exception cref="TopicNotFoundException">It does not exist.</exception>
    public async Task<TopicInfo> DeleteTopicAsync(string topic, CancellationToken cancellationToken = default)
    {
        EnsureServing();
        TopicName.Validate(topic);
        var deleted = await _store.DeleteTopicAsync(topic, cancellationToken) ?? throw new TopicNotFoundException(topic);
        HubLog.TopicDeleted(_logger, topic, deleted.Epoch, deleted.MessageCount);
        return deleted;
    }
}
