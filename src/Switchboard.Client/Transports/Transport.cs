namespace Switchboard.Client.Transports;

/// <summary>A publish as the client holds it until the hub confirms it: sent again, with the same idempotency key, after a reconnect.</summary>
internal sealed record PublishDraft(string Topic, IReadOnlyList<OutgoingMessage> Messages, bool IsBatch, string IdempotencyKey);

/// <summary>
/// One way of reaching the hub. The client opens one at a time (falling back in order), hands it every publish and
/// subscription, and replaces it when it reports itself lost. A transport is used once: a reconnect opens a new one.
/// </summary>
internal abstract class Transport : IDisposable
{
    private int _lost;

    protected Transport(SwitchboardClient client)
    {
        Client = client;
    }

    protected SwitchboardClient Client { get; }

    public abstract ClientTransport Kind { get; }

    /// <summary>Called once, when the connection fails after it opened (set by the client).</summary>
    public Action<Transport, SwitchboardException>? Lost { get; set; }

    /// <summary>Aborted when the transport closes: every call and stream it started listens to it.</summary>
    protected CancellationTokenSource Closing { get; } = new();

    public bool IsClosed => Closing.IsCancellationRequested;

    /// <summary>When it became the client's current transport (<see cref="System.Diagnostics.Stopwatch"/> ticks; set before it can report a loss).</summary>
    public long OpenedAt { get; set; }

    /// <summary>Why the transport closed (null: closed by the client, or not closed).</summary>
    public SwitchboardException? CloseCause { get; private set; }

    /// <summary>Opens the connection; throws <c>unavailable</c> when it cannot (the client falls back), or a fatal error (refused credential).</summary>
    public abstract Task OpenAsync(CancellationToken cancellationToken);

    /// <summary>Publishes; resolves once the hub confirms. A lost connection throws <c>connection-lost</c> (the client sends it again).</summary>
    public abstract Task<PublishResult> PublishAsync(PublishDraft draft, CancellationToken cancellationToken);

    /// <summary>Subscribes from the subscription's positions; resolves once the hub confirmed.</summary>
    public abstract Task SubscribeAsync(Subscription subscription, CancellationToken cancellationToken);

    /// <summary>Ends a subscription on the hub.</summary>
    public abstract Task UnsubscribeAsync(Subscription subscription);

    /// <summary>The connection failed: close, and tell the client (once).</summary>
    protected void Lose(SwitchboardException error)
    {
        if (Interlocked.Exchange(ref _lost, 1) != 0 || IsClosed)
        {
            return;
        }
        Close(error);
        Lost?.Invoke(this, error);
    }

    /// <summary>Closes everything the transport holds; calls in flight fail with <c>connection-lost</c> (or <paramref name="cause"/> when it is fatal).</summary>
    public void Close(SwitchboardException? cause = null)
    {
        if (IsClosed)
        {
            return;
        }
        CloseCause = cause; // before the cancel: a wait it cancels reads why
        Closing.Cancel();
        OnClosed(cause);
    }

    protected abstract void OnClosed(SwitchboardException? cause);

    /// <summary>Same as <see cref="Close"/>.</summary>
    public void Dispose()
    {
        Close();
        GC.SuppressFinalize(this);
    }
}
