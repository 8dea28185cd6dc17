using Microsoft.Extensions.Logging;
using Switchboard.Core.Delivery;

namespace Switchboard.Core;

public sealed partial class Hub
{
    /// <summary>The most patterns one subscription may hold.</summary>
    public const int MaxPatternsPerSubscription = 256;

    /// <summary>
    /// Subscribes <paramref name="sink"/> to topics (wildcards allowed), from now or after a position: history
    /// first, then live, with no gap and no duplicate. Dispose the subscription to end it.
    /// </summary>
    /// <exception cref="SwitchboardException">A pattern is not valid, or an exact topic's position is past its end.</exception>
    /// <param name="patterns">Topics or wildcard patterns.</param>
    /// <param name="start">Now, or after a position.</param>
    /// <param name="sink">Where messages go.</param>
    /// <param name="subscriber">Who subscribes, for presence (join and leave are announced on <c>$presence.TOPIC</c>); null for internal use.</param>
    /// <param name="cancellationToken">Cancels setting up.</param>
    public async Task<Subscription> SubscribeAsync(IReadOnlyList<string> patterns, SubscribeStart start, IMessageSink sink, Subscriber? subscriber, CancellationToken cancellationToken = default)
    {
        EnsureServing();
        ArgumentNullException.ThrowIfNull(patterns);
        ArgumentNullException.ThrowIfNull(sink);
        if (patterns.Count is 0 or > MaxPatternsPerSubscription)
        {
            throw new SwitchboardException(ErrorCode.ValidationFailed, $"A subscription needs 1 to {MaxPatternsPerSubscription} topics or patterns; got {patterns.Count}.");
        }
        var parsed = patterns.Distinct(StringComparer.Ordinal).Select(p => TopicPattern.Parse(p, allowSystem: true)).ToList();
        if (!start.FromNow && (start.After.Offset < 0 || start.Positions?.Values.Any(p => p.Offset < 0) == true))
        {
            throw new SwitchboardException(ErrorCode.InvalidPosition, "A start position is negative; use 0 or more.");
        }
        // Each exact topic is looked up at most once, for the position check and for presence.
        var known = new Dictionary<string, TopicInfo?>(StringComparer.Ordinal);
        async ValueTask<TopicInfo?> InfoAsync(string topic)
        {
            if (!known.TryGetValue(topic, out var info))
            {
                known[topic] = info = await _store.GetTopicAsync(topic, cancellationToken);
            }
            return info;
        }
        if (!start.FromNow)
        {
            // A position past the end of an existing topic is the client's mistake: refuse it now, as a read would.
            foreach (var exact in parsed.Where(p => !p.IsWildcard))
            {
                var position = start.PositionOf(exact.Text);
                if (position.Offset > 0 && await InfoAsync(exact.Text) is { } info
                    && (position.Epoch is null || position.Epoch == info.Epoch))
                {
                    Check(exact.Text, position, info);
                }
            }
        }
        var subscription = new Subscription(_store, _dispatcher, parsed, start, sink, _loggerFactory.CreateLogger<Subscription>(),
            subscriber, subscriber is null ? null : ended => AnnouncePresence(ended, "leave"))
        {
            Announced = subscriber is null ? [] : await AnnouncedTopicsAsync(parsed, InfoAsync),
        };
        await subscription.StartAsync(cancellationToken);
        if (subscriber is not null)
        {
            AnnouncePresence(subscription, "join");
        }
        return subscription;
    }

    /// <summary>Subscribes without presence (the hub's own and tests' subscriptions).</summary>
    public Task<Subscription> SubscribeAsync(IReadOnlyList<string> patterns, SubscribeStart start, IMessageSink sink, CancellationToken cancellationToken = default)
        => SubscribeAsync(patterns, start, sink, null, cancellationToken);

    /// <summary>Who is subscribed to <paramref name="topic"/> on this node: all of them counted, up to <paramref name="limit"/> listed.</summary>
    public PresenceSnapshot GetPresence(string topic, int limit)
    {
        EnsureServing();
        TopicName.Validate(topic);
        if (limit is < 0 or > MaxListLimit)
        {
            throw new SwitchboardException(ErrorCode.ValidationFailed, $"limit is {limit}; use 0 (count only) to {MaxListLimit}.");
        }
        return _dispatcher.Presence(topic, limit);
    }

    /// <summary>
    /// The current end of every existing topic the patterns match (<c>epoch:lastOffset</c>): a "from now" start that
    /// can be handed to a client as a resume point before the first message arrives.
    /// </summary>
    public async Task<IReadOnlyDictionary<string, Position>> PositionsNowAsync(IReadOnlyList<string> patterns, CancellationToken cancellationToken = default)
    {
        EnsureServing();
        var positions = new Dictionary<string, Position>(StringComparer.Ordinal);
        foreach (var pattern in patterns.Select(p => TopicPattern.Parse(p, allowSystem: true)))
        {
            if (!pattern.IsWildcard)
            {
                if (await _store.GetTopicAsync(pattern.Text, cancellationToken) is { } info)
                {
                    positions[info.Name] = new Position(info.Epoch, info.LastOffset);
                }
                continue;
            }
            string? after = null;
            do
            {
                var page = await _store.ListTopicsAsync(pattern.LiteralPrefix.Length > 0 ? pattern.LiteralPrefix : null, after, MaxListLimit, cancellationToken);
                foreach (var info in page.Topics.Where(t => pattern.Matches(t.Name)))
                {
                    positions[info.Name] = new Position(info.Epoch, info.LastOffset);
                }
                after = page.NextAfterName;
            }
            while (after is not null);
        }
        return positions;
    }
}
