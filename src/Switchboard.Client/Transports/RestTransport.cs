using System.Collections.Concurrent;

namespace Switchboard.Client.Transports;

/// <summary>
/// What the SSE and long-polling transports share: publishing over REST (<c>POST /v1/topics/{topic}/messages</c> with
/// the publish's idempotency key), and one cancellation for every request and stream they hold.
/// </summary>
internal abstract class RestTransport(SwitchboardClient client) : Transport(client)
{
    /// <summary>topic → the last publish to it: publishes to one topic go out one after another, so they are stored in
    /// the order they were made (as the WebSocket keeps one connection's order); different topics go side by side.</summary>
    private readonly ConcurrentDictionary<string, Task<PublishResult>> _chains = new(StringComparer.Ordinal);

    /// <summary>The streams or loops of each subscription, ended on unsubscribe.</summary>
    protected ConcurrentDictionary<Subscription, CancellationTokenSource> Streams { get; } = new();

    public override Task<PublishResult> PublishAsync(PublishDraft draft, CancellationToken cancellationToken)
    {
        lock (_chains)
        {
            var previous = _chains.GetValueOrDefault(draft.Topic);
            var current = ChainAsync(previous, draft, cancellationToken);
            _chains[draft.Topic] = current;
            _ = current.ContinueWith(t => ((ICollection<KeyValuePair<string, Task<PublishResult>>>)_chains).Remove(new(draft.Topic, current)),
                CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
            return current;
        }
    }

    private async Task<PublishResult> ChainAsync(Task<PublishResult>? previous, PublishDraft draft, CancellationToken cancellationToken)
    {
        if (previous is not null)
        {
            try
            {
                await previous;
            }
            catch (Exception ex) when (ex is SwitchboardException or OperationCanceledException)
            {
                // its own caller hears of it; this one goes out anyway
            }
        }
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, Closing.Token);
        var body = Wire.Object(w => Wire.WriteMessages(w, draft));
        try
        {
            var (_, answer) = await Client.Http.JsonAsync(HttpMethod.Post, $"/v1/topics/{HubHttp.Segment(draft.Topic)}/messages", body: body,
                headers: [new("Idempotency-Key", draft.IdempotencyKey)], cancellationToken: linked.Token);
            return Wire.ReadPublished(answer);
        }
        catch (SwitchboardException error) when (error.IsLost)
        {
            Lose(error);
            throw;
        }
        catch (OperationCanceledException ex) when (IsClosed && !cancellationToken.IsCancellationRequested)
        {
            throw SwitchboardException.Lost("The transport closed before the hub answered.", ex);
        }
    }

    public override Task UnsubscribeAsync(Subscription subscription)
    {
        if (Streams.TryRemove(subscription, out var stream))
        {
            stream.Cancel();
            stream.Dispose();
        }
        return Task.CompletedTask;
    }

    /// <summary>A linked cancellation for one subscription's stream or loop, ended by unsubscribe or close.</summary>
    protected CancellationToken Track(Subscription subscription)
    {
        var source = CancellationTokenSource.CreateLinkedTokenSource(Closing.Token);
        Streams[subscription] = source;
        return source.Token;
    }

    protected override void OnClosed(SwitchboardException? cause)
    {
        foreach (var stream in Streams.Values)
        {
            stream.Cancel();
        }
        Streams.Clear();
    }
}
