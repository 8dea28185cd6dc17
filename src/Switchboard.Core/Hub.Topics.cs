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
        CheckListing(prefix, limit, ErrorCode.InvalidTopicName, "topic");
        return WithoutInternalAsync(_store.ListTopicsAsync(string.IsNullOrEmpty(prefix) ? null : prefix, afterName, limit, cancellationToken));
    }

    /// <summary>A listing page without the hub's internal topics (<see cref="TopicName.IsInternal"/>); its paging is the store's.</summary>
    private static async Task<TopicPage> WithoutInternalAsync(Task<TopicPage> listing)
    {
        var page = await listing;
        return page.Topics.Any(t => TopicName.IsInternal(t.Name)) ? page with { Topics = [.. page.Topics.Where(t => !TopicName.IsInternal(t.Name))] } : page;
    }

    /// <summary>
    /// A listing's page size and name prefix (topics and queues alike): a prefix with a character no name may hold can
    /// never match, so it is refused rather than answered with an empty page that looks like "none yet".
    /// </summary>
    private static void CheckListing(string? prefix, int limit, ErrorCode badPrefix, string kind)
    {
        if (limit is < 1 or > MaxListLimit)
        {
            throw new SwitchboardException(ErrorCode.ValidationFailed, $"limit is {limit}; use 1 to {MaxListLimit}.");
        }
        if (prefix is not null && (prefix.Length > TopicName.MaxLength || prefix.Any(c => !(char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or '-' or '$'))))
        {
            throw new SwitchboardException(badPrefix, $"prefix '{prefix}' can never match a {kind}: names use letters, digits, '_', '-' and '.', up to {TopicName.MaxLength} characters.");
        }
    }

    /// <summary>Creates a topic, or replaces its whole configuration. Its messages and epoch stay.</summary>
    /// <param name="topic">The topic.</param>
    /// <param name="config">The whole new configuration.</param>
    /// <param name="condition">When set, write only if it holds (<see cref="ErrorCode.PreconditionFailed"/> otherwise); see <see cref="WriteCondition"/>.</param>
    /// <param name="cancellationToken">Cancels the wait (not a committed change).</param>
    public Task<Engines.PutTopicResult> PutTopicAsync(string topic, TopicConfig config, WriteCondition? condition = null, CancellationToken cancellationToken = default)
    {
        EnsureServing();
        TopicName.Validate(topic);
        ArgumentNullException.ThrowIfNull(config);
        config.Validate();
        if (condition is null)
        {
            return _store.PutTopicAsync(topic, config, expectedConfigVersion: null, cancellationToken);
        }
        return ConditionallyAsync(Subject.Topic(topic), condition, creates: true,
            () => _store.GetTopicAsync(topic, cancellationToken), VersionTag.Of,
            (_, expected) => _store.PutTopicAsync(topic, config, expected, cancellationToken));
    }

    /// <summary>
    /// Changes part of a topic's configuration: <paramref name="change"/> gets the current configuration and
    /// returns the new one. Concurrent changes do not overwrite each other (the change is retried on the newer
    /// configuration, and <paramref name="condition"/>, when set, checked again against it).
    /// </summary>
    /// <exception cref="TopicNotFoundException">It does not exist.</exception>
    public Task<TopicInfo> UpdateTopicAsync(string topic, Func<TopicConfig, TopicConfig> change, WriteCondition? condition = null, CancellationToken cancellationToken = default)
    {
        EnsureServing();
        TopicName.Validate(topic);
        ArgumentNullException.ThrowIfNull(change);
        return ConditionallyAsync(Subject.Topic(topic), condition, creates: false,
            () => _store.GetTopicAsync(topic, cancellationToken), VersionTag.Of,
            async (current, expected) =>
            {
                var updated = change(current!.Config);
                updated.Validate();
                return (await _store.PutTopicAsync(topic, updated, expected, cancellationToken).ConfigureAwait(false)).Topic;
            });
    }

    /// <summary>Deletes a topic and its history. The next topic of that name is a new incarnation (new epoch).</summary>
    /// <exception cref="TopicNotFoundException">It does not exist.</exception>
    public async Task<TopicInfo> DeleteTopicAsync(string topic, WriteCondition? condition = null, CancellationToken cancellationToken = default)
    {
        EnsureServing();
        TopicName.Validate(topic);
        var deleted = condition is null
            ? await _store.DeleteTopicAsync(topic, expectedConfigVersion: null, cancellationToken) ?? throw new TopicNotFoundException(topic)
            : await ConditionallyAsync(Subject.Topic(topic), condition, creates: false,
                () => _store.GetTopicAsync(topic, cancellationToken), VersionTag.Of,
                async (_, expected) => await _store.DeleteTopicAsync(topic, expected, cancellationToken).ConfigureAwait(false) ?? throw new TopicNotFoundException(topic));
        HubLog.TopicDeleted(_logger, topic, deleted.Epoch, deleted.MessageCount);
        return deleted;
    }
}
