using Switchboard.Client.Transports;

namespace Switchboard.Client;

public sealed partial class SwitchboardClient
{
    /// <summary>
    /// Follows a topic or a pattern (<c>orders.*</c>, <c>orders.&gt;</c>); read the messages with <c>await foreach</c>.
    /// Starts now, or after <see cref="SubscribeOptions.After"/>. Returns at once; <see cref="Subscription.Ready"/>
    /// completes when the hub confirmed it.
    /// </summary>
    public Subscription Subscribe(string pattern, SubscribeOptions? options = null)
    {
        var subscription = new Subscription(this, pattern, options, Options.SubscriptionBufferSize);
        Add(subscription);
        return subscription;
    }

    /// <summary>
    /// Follows a topic or a pattern and calls <paramref name="handler"/> for each message, one at a time and in order. A
    /// handler that throws is reported on <see cref="Error"/> and the next message follows.
    /// </summary>
    public Subscription Subscribe(string pattern, Func<Message, CancellationToken, ValueTask> handler, SubscribeOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(handler);
        var subscription = new Subscription(this, pattern, options, Options.SubscriptionBufferSize) { HasHandler = true };
        _ = subscription.PumpAsync(handler, _closing.Token);
        Add(subscription);
        return subscription;
    }

    private void Add(Subscription subscription)
    {
        EnsureStarted();
        Transport? transport;
        lock (_lock)
        {
            if (State == ConnectionState.Closed)
            {
                throw SwitchboardException.Closed();
            }
            _subscriptions.Add(subscription);
            transport = _transport;
        }
        if (transport is not null)
        {
            _ = ActivateAsync(subscription, transport);
        }
    }

    private async Task ActivateAsync(Subscription subscription, Transport transport)
    {
        for (var attempt = 0; ; attempt++)
        {
            try
            {
                if (!subscription.Started)
                {
                    await PinNowAsync(subscription);
                }
                if (subscription.IsClosed || transport.IsClosed)
                {
                    return;
                }
                await transport.SubscribeAsync(subscription, _closing.Token);
                subscription.Confirmed();
                return;
            }
            catch (OperationCanceledException)
            {
                return;
            }
            catch (SwitchboardException error) when (!error.IsLost)
            {
                // A refusal (forbidden, invalid name…) ends the subscription; a lost connection resubscribes on the next one.
                subscription.Failed(error);
                return;
            }
            catch (SwitchboardException)
            {
                if (subscription.IsClosed || transport.IsClosed)
                {
                    return;
                }
                // The transport is up but a REST call failed: try again shortly rather than wait for a reconnect that may not come.
                try
                {
                    await Task.Delay(Backoff.Delay(attempt, Options.ReconnectDelay, Options.MaxReconnectDelay), _closing.Token);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }
        }
    }

    /// <summary>
    /// "From now" becomes explicit positions before the first subscribe, read over REST: each existing topic's last
    /// offset. So a resume on any transport, or a later <c>After = subscription.Position</c>, starts from the same point.
    /// </summary>
    private async Task PinNowAsync(Subscription subscription)
    {
        var ends = new List<(string, TopicPosition)>();
        if (!subscription.IsPattern)
        {
            try
            {
                var (_, topic) = await Http.JsonAsync(HttpMethod.Get, $"/v1/topics/{HubHttp.Segment(subscription.Pattern)}", cancellationToken: _closing.Token);
                ends.Add((subscription.Pattern, new TopicPosition(Wire.String(topic, "epoch"), topic.GetProperty("stats").GetProperty("lastOffset").GetInt64())));
            }
            catch (SwitchboardException error) when (error.Code == "topic-not-found")
            {
                // created later: every message of it is new
            }
        }
        else
        {
            string? cursor = null;
            // 1,000 names a page (the hub's maximum); 1,000 pages bound the walk on even the largest hub.
            for (var page = 0; page < 1000; page++)
            {
                var (_, list) = await Http.JsonAsync(HttpMethod.Get, "/v1/topics",
                    [new("prefix", Topics.LiteralPrefix(subscription.Pattern)), new("limit", "1000"), new("cursor", cursor)], cancellationToken: _closing.Token);
                foreach (var topic in list.GetProperty("topics").EnumerateArray())
                {
                    var name = topic.GetProperty("name").GetString()!;
                    if (Topics.Matches(subscription.Pattern, name))
                    {
                        ends.Add((name, new TopicPosition(Wire.String(topic, "epoch"), topic.GetProperty("stats").GetProperty("lastOffset").GetInt64())));
                    }
                }
                cursor = Wire.String(list, "next");
                if (cursor is null)
                {
                    break;
                }
            }
        }
        subscription.Pin(ends);
    }

    /// <summary>A subscription ended by itself (refused): forget it.</summary>
    internal void Forget(Subscription subscription)
    {
        lock (_lock)
        {
            _subscriptions.Remove(subscription);
        }
    }

    internal async Task UnsubscribeAsync(Subscription subscription)
    {
        Transport? transport;
        lock (_lock)
        {
            _subscriptions.Remove(subscription);
            transport = _transport;
        }
        if (transport is null)
        {
            return;
        }
        try
        {
            await transport.UnsubscribeAsync(subscription);
        }
        catch (Exception ex) when (ex is SwitchboardException { IsLost: true } or OperationCanceledException)
        {
            // the connection is gone, and the subscription with it
        }
    }
}
