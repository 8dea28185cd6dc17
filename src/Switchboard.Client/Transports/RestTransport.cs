using System.Collections.Concurrent;

namespace Switchboard.Client.Transports;

/// <summary>
/// What the SSE and long-polling transports share: publishing over REST (<c>POST /v1/topics/{topic}/messages</c> with
/// the publish's idempotency key), one cancellation for every request and stream they hold, and how they stay present
/// at the hub when no subscription is: a request on <see cref="Probe"/> held open (an event stream, a long poll), so a
/// hub that goes away, drains, or stops accepting the credential is noticed at once, as a WebSocket's close says it.
/// </summary>
internal abstract class RestTransport(SwitchboardClient client) : Transport(client)
{
    /// <summary>
    /// A pattern no topic matches (no topic starts with "_sb-probe."), so holding it costs the hub nothing and publishes
    /// no presence events. With scopes that do not cover it the hub answers 403, which still proves the credential.
    /// </summary>
    protected const string Probe = "_sb-probe.*";

    /// <summary>
    /// How often a transport whose credential may not hold the probe (403) asks again that the hub is there: the
    /// WebSocket's keep-alive interval (15 s by default), so every transport notices a silent loss within about as long.
    /// </summary>
    protected TimeSpan RecheckInterval => Client.Options.HeartbeatInterval > TimeSpan.Zero ? Client.Options.HeartbeatInterval : TimeSpan.FromSeconds(15);

    /// <summary>
    /// A credential the hub refused (401) on a transport that was open: it expired or was revoked. Fatal, unless an
    /// <see cref="SwitchboardClientOptions.AccessTokenProvider"/> may give a fresh one (the reconnect asks; a refusal then is final).
    /// </summary>
    protected SwitchboardException Refused(SwitchboardException error)
        => Client.Options.AccessTokenProvider is null
            ? new SwitchboardException(ClientErrorCodes.Unauthorized, error.Message, error) { Status = 401, IsFatal = true }
            : new SwitchboardException(ClientErrorCodes.Unauthorized, error.Message + " (reconnecting with a fresh credential)", error) { Status = 401 };

    /// <summary>
    /// How long a long poll made with <paramref name="credential"/> may be held: <see cref="SwitchboardClientOptions.LongPollWait"/>,
    /// or until just after the credential expires, so the next request presents a fresh one (or learns there is none).
    /// </summary>
    protected TimeSpan HoldFor(Credential credential)
    {
        var wait = Client.Options.LongPollWait;
        var left = credential.ExpiresAt - DateTimeOffset.UtcNow;
        // 100 ms past the expiry: the hub's clock and ours read the same second differently by a little.
        return left > TimeSpan.Zero && left + TimeSpan.FromMilliseconds(100) < wait ? left.Value + TimeSpan.FromMilliseconds(100) : wait;
    }

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
        catch (SwitchboardException error) when (error.Code == ClientErrorCodes.Unauthorized)
        {
            // As a WebSocket's 4401: the connection is over; the publish goes again on the next one, if there is one.
            var refused = Refused(error);
            Lose(refused);
            throw refused.IsFatal ? refused : SwitchboardException.Lost(refused.Message, refused);
        }
        catch (OperationCanceledException ex) when (IsClosed && !cancellationToken.IsCancellationRequested)
        {
            throw SwitchboardException.Lost("The transport closed before the hub answered.", ex);
        }
    }

    public override Task UnsubscribeAsync(Subscription subscription)
    {
        Untrack(subscription);
        return Task.CompletedTask;
    }

    /// <summary>A linked cancellation for one subscription's stream or loop, ended by unsubscribe or close.</summary>
    protected CancellationToken Track(Subscription subscription)
    {
        var source = CancellationTokenSource.CreateLinkedTokenSource(Closing.Token);
        Streams[subscription] = source;
        return source.Token;
    }

    /// <summary>Ends a subscription's stream or loop (unsubscribed, or refused) and holds the probe if it was the last.</summary>
    protected void Untrack(Subscription subscription)
    {
        if (Streams.TryRemove(subscription, out var stream))
        {
            stream.Cancel();
            stream.Dispose();
        }
        HoldProbeWhileIdle();
    }

    // --- the probe: presence at the hub while no subscription has a stream or poll of its own ---------------------------

    private readonly Lock _probeGate = new();
    private CancellationTokenSource? _probe;

    /// <summary>
    /// Keeps the transport present at the hub: while no subscription holds a stream or poll (whose end says as much),
    /// <see cref="ProbeAsync"/> runs; once one does, it stops. <paramref name="opened"/> starts it with what the open
    /// already holds; false when it was not started (the caller disposes what it gave).
    /// </summary>
    protected bool HoldProbeWhileIdle(Func<CancellationToken, Task>? opened = null)
    {
        lock (_probeGate)
        {
            if (IsClosed)
            {
                return false;
            }
            if (!Streams.IsEmpty)
            {
                StopProbe();
                return false;
            }
            if (_probe is not null)
            {
                return false;
            }
            var probe = CancellationTokenSource.CreateLinkedTokenSource(Closing.Token);
            _probe = probe;
            _ = Task.Run(async () =>
            {
                try
                {
                    await (opened ?? ProbeAsync)(probe.Token);
                }
                finally
                {
                    lock (_probeGate)
                    {
                        if (_probe == probe)
                        {
                            _probe = null;
                        }
                    }
                    probe.Dispose();
                }
            }, CancellationToken.None);
            return true;
        }
    }

    private void StopProbe()
    {
        try
        {
            _probe?.Cancel();
        }
        catch (ObjectDisposedException)
        {
            // it ended by itself
        }
        _probe = null;
    }

    /// <summary>
    /// Holds a request on <see cref="Probe"/> until <paramref name="probe"/> ends; when the hub goes away, drains, or
    /// refuses the credential, the transport is lost (<see cref="Transport.Lose"/>) with why.
    /// </summary>
    protected abstract Task ProbeAsync(CancellationToken probe);

    protected override void OnClosed(SwitchboardException? cause)
    {
        foreach (var stream in Streams.Values)
        {
            stream.Cancel();
        }
        Streams.Clear();
    }
}
