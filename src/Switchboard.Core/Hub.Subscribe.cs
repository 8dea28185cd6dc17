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
    public async Task<Subscription> SubscribeAsync(IReadOnlyList<string> patterns, SubscribeStart start, IMessageSink sink, CancellationToken cancellationToken = default)
    {
        EnsureServing();
        ArgumentNullException.ThrowIfNull(patterns);
        ArgumentNullException.ThrowIfNull(sink);
        if (patterns.Count is 0 or > MaxPatternsPerSubscription)
        {
            throw new SwitchboardException(ErrorCode.ValidationFailed, $"A subscription needs 1 to {MaxPatternsPerSubscription} topics or patterns; got {patterns.Count}.");
        }
        var parsed = patterns.Distinct(StringComparer.Ordinal).Select(p => TopicPattern.Parse(p, allowSystem: true)).ToList();
        if (!start.FromNow && start.After.Offset < 0)
        {
            throw new SwitchboardException(ErrorCode.InvalidPosition, $"after is {start.After.Offset}; use 0 or more.");
        }
        if (!start.FromNow && start.After.Offset > 0)
        {
            // A position past the end of an existing topic is the client's mistake: refuse it now, as a read would.
            foreach (var exact in parsed.Where(p => !p.IsWildcard))
            {
                if (await _store.GetTopicAsync(exact.Text, cancellationToken) is { } info
                    && (start.After.Epoch is null || start.After.Epoch == info.Epoch))
                {
                    Check(exact.Text, start.After, info);
                }
            }
        }
        var subscription = new Subscription(_store, _dispatcher, parsed, start, sink, _loggerFactory.CreateLogger<Subscription>());
        await subscription.StartAsync(cancellationToken);
        return subscription;
    }
}
