using System.Collections.Concurrent;

namespace Switchboard.Client.Transports;

/// <summary>
/// What the WebSocket (<c>/v1/ws</c>, JSON frames) and gRPC (<c>Connect</c>, protobuf frames) transports share: one
/// connection carries every publish and subscription; each frame has an id its answer echoes; a subscription's id is
/// its subscribe frame's id; messages carry no subscription id, so overlapping subscriptions each take only their next
/// message. The two differ only in how frames are written and read.
/// </summary>
internal abstract class MultiplexedTransport(SwitchboardClient client) : Transport(client)
{
    private readonly ConcurrentDictionary<string, TaskCompletionSource<object?>> _pending = new(StringComparer.Ordinal);
    /// <summary>server subscription id → subscription; holds subscriptions being confirmed or ended (they may still send).</summary>
    private readonly ConcurrentDictionary<string, Subscription> _subscriptions = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<Subscription, string> _ids = new();
    private ConcurrentDictionary<string, Subscription[]> _matching = new(StringComparer.Ordinal);
    private long _nextId;
    private Timer? _refresh;

    /// <summary>True once an <c>auth</c> frame was accepted (a 4401 afterwards means the credential expired).</summary>
    protected bool Authenticated { get; private set; }

    protected string NextId() => "c" + Interlocked.Increment(ref _nextId).ToString(System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>Writes a frame (serialized: one writer at a time); throws <c>connection-lost</c> when the connection is gone.</summary>
    protected abstract Task SendPublishAsync(string id, PublishDraft draft, CancellationToken cancellationToken);

    protected abstract Task SendSubscribeAsync(string id, Subscription subscription, CancellationToken cancellationToken);

    protected abstract Task SendUnsubscribeAsync(string id, string subscriptionId, CancellationToken cancellationToken);

    protected abstract Task SendAuthAsync(string id, string token, CancellationToken cancellationToken);

    /// <summary>Sends a frame and waits for its answer (the answer's payload, or the hub's refusal, or the lost connection).</summary>
    private async Task<object?> CallAsync(Func<string, Task> send, CancellationToken cancellationToken, string? id = null, bool publish = false)
    {
        if (IsClosed)
        {
            throw SwitchboardException.Lost("The connection to the hub is closed.");
        }
        id ??= NextId();
        var answer = new TaskCompletionSource<object?>(TaskCreationOptions.RunContinuationsAsynchronously);
        _pending[id] = answer;
        try
        {
            await send(id);
            return await answer.Task.WaitAsync(cancellationToken);
        }
        catch (OperationCanceledException) when (IsClosed && !Client.ClosingToken.IsCancellationRequested)
        {
            // The transport closed under a wait that listens to it (opening, authenticating): say why — a refused
            // credential, a lost connection — rather than "cancelled", which the client reads as its own close.
            throw ClosedError(CloseCause);
        }
        catch (SwitchboardException error) when (!publish && error.CloseCode == 1009)
        {
            // Only a publish can be the frame over the limit; a subscribe, unsubscribe or auth caught in the same close
            // is small and goes again on the next connection (as a subscription refused for it would end for good).
            throw SwitchboardException.Lost($"The connection closed before the hub answered ({error.Message}).", error);
        }
        finally
        {
            _pending.TryRemove(id, out _);
        }
    }

    /// <summary>After the connection opened: present the credential, if any, and keep it fresh.</summary>
    protected async Task AuthenticateAsync(CancellationToken cancellationToken)
    {
        var credential = await Client.Http.CredentialAsync(cancellationToken);
        if (credential.IsNone)
        {
            return;
        }
        var expiresAt = (DateTimeOffset?)await CallAsync(id => SendAuthAsync(id, credential.Value, cancellationToken), cancellationToken);
        Authenticated = true;
        if (Client.Options.AccessTokenProvider is not null && expiresAt is { } expiry)
        {
            // Refresh well before the hub closes with 4401 (see Credential.RefreshDelay).
            var delay = Credential.RefreshDelay(expiry - DateTimeOffset.UtcNow);
            _refresh?.Dispose();
            _refresh = new Timer(_ => _ = RefreshAsync(), null, delay, Timeout.InfiniteTimeSpan);
        }
    }

    private async Task RefreshAsync()
    {
        try
        {
            await AuthenticateAsync(Closing.Token);
        }
        catch (Exception ex) when (ex is SwitchboardException or OperationCanceledException)
        {
            if (!IsClosed)
            {
                Client.ReportError(ex as SwitchboardException ?? new SwitchboardException(ClientErrorCodes.Unauthorized, "Refreshing the credential failed.", ex));
            }
        }
    }

    public override async Task<PublishResult> PublishAsync(PublishDraft draft, CancellationToken cancellationToken)
        => (PublishResult)(await CallAsync(id => SendPublishAsync(id, draft, cancellationToken), cancellationToken, publish: true))!;

    public override async Task SubscribeAsync(Subscription subscription, CancellationToken cancellationToken)
    {
        // The frame id becomes the hub's subscription id: registered before sending, since messages may follow at once.
        var id = NextId();
        _subscriptions[id] = subscription;
        _ids[subscription] = id;
        SubscriptionsChanged();
        try
        {
            await CallAsync(_ => SendSubscribeAsync(id, subscription, cancellationToken), cancellationToken, id);
        }
        catch
        {
            _subscriptions.TryRemove(id, out _);
            _ids.TryRemove(subscription, out _);
            SubscriptionsChanged();
            throw;
        }
    }

    public override async Task UnsubscribeAsync(Subscription subscription)
    {
        if (!_ids.TryRemove(subscription, out var subscriptionId))
        {
            return;
        }
        try
        {
            using var timeout = new CancellationTokenSource(Client.Options.ConnectTimeout);
            await CallAsync(id => SendUnsubscribeAsync(id, subscriptionId, timeout.Token), timeout.Token);
        }
        finally
        {
            // Frames of it queued before the answer have arrived by now; later ones cannot come.
            _subscriptions.TryRemove(subscriptionId, out _);
            SubscriptionsChanged();
        }
    }

    // --- what the hub sent -----------------------------------------------------------------------------------------

    /// <summary>A message: every subscription whose pattern matches takes it (strictly in order when several do).</summary>
    protected async ValueTask OnMessageAsync(Message message)
    {
        var matching = Matching(message.Topic);
        if (matching.Length == 1)
        {
            await matching[0].AcceptAsync(message, strict: false, Closing.Token);
            return;
        }
        foreach (var subscription in matching)
        {
            await subscription.AcceptAsync(message, strict: true, Closing.Token);
        }
    }

    /// <summary>The subscriptions a topic's messages go to, cached per topic until the subscriptions change.</summary>
    private Subscription[] Matching(string topic)
    {
        var cache = _matching;
        if (cache.TryGetValue(topic, out var matching))
        {
            return matching;
        }
        matching = [.. _subscriptions.Values.Distinct().Where(s => Topics.Matches(s.Pattern, topic))];
        // Bounded: a connection following patterns over very many topics starts over rather than grow without end.
        if (cache.Count < 10_000)
        {
            cache[topic] = matching;
        }
        return matching;
    }

    /// <summary>Forgets the cached matches (a subscription came or went): the next message of each topic looks again.</summary>
    private void SubscriptionsChanged() => _matching = new ConcurrentDictionary<string, Subscription[]>(StringComparer.Ordinal);

    protected void OnNotice(string subscriptionId, SubscriptionNotice notice)
    {
        if (_subscriptions.TryGetValue(subscriptionId, out var subscription))
        {
            subscription.OnNotice(notice);
        }
    }

    /// <summary>An answer to frame <paramref name="id"/>: <c>published</c> (a <see cref="PublishResult"/>), <c>authenticated</c> (its expiry), or null for the others.</summary>
    protected void OnAnswer(string id, object? answer)
    {
        if (_pending.TryRemove(id, out var pending))
        {
            pending.TrySetResult(answer);
        }
    }

    protected void OnError(string? id, SwitchboardException error)
    {
        if (id is not null && _pending.TryRemove(id, out var pending))
        {
            pending.TrySetException(error);
        }
        else
        {
            Client.ReportError(error);
        }
    }

    /// <summary>A close the client may recover from by reconnecting: an expired credential when a provider can give a fresh one.</summary>
    protected SwitchboardException Recoverable(SwitchboardException error)
        => error.CloseCode == 4401 && Authenticated && Client.Options.AccessTokenProvider is not null
            ? new SwitchboardException(error.Code, error.Message + " (the credential expired: reconnecting with a fresh one)") { CloseCode = error.CloseCode, IsFatal = false }
            : error;

    private static SwitchboardException ClosedError(SwitchboardException? cause)
        => cause is { IsFatal: true } or { Code: "message-too-large" }
            ? cause
            : SwitchboardException.Lost("The connection closed before the hub answered" + (cause is null ? "." : $" ({cause.Message})."), cause);

    protected override void OnClosed(SwitchboardException? cause)
    {
        _refresh?.Dispose();
        // Frames without an answer are sent again on the next connection, unless the close says that cannot help: a
        // refused credential, or a frame over the hub's size limit (1009: which of the frames in flight is unknown).
        var error = ClosedError(cause);
        foreach (var pending in _pending.Values)
        {
            pending.TrySetException(error);
        }
        _pending.Clear();
        _subscriptions.Clear();
        _ids.Clear();
    }
}
