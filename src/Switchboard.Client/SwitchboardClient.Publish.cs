using Switchboard.Client.Transports;

namespace Switchboard.Client;

public sealed partial class SwitchboardClient
{
    private readonly HashSet<PendingPublish> _outbox = [];
    private long _publishes;

    /// <summary>
    /// Publishes one message and returns once it is durable. Survives reconnects: a publish whose answer was lost is
    /// sent again with the same idempotency key, so it is stored once. <paramref name="payload"/> goes through
    /// <see cref="Payload.From{T}"/> (a <see cref="Payload"/>, bytes, a <see cref="System.Text.Json.JsonElement"/>, or any value as JSON).
    /// </summary>
    /// <exception cref="SwitchboardException">The hub refused it (<c>forbidden</c>, <c>invalid-topic</c>, <c>payload-too-large</c>, …), <c>timeout</c>, or <c>closed</c>.</exception>
    public Task<PublishResult> PublishAsync<T>(string topic, T payload, PublishOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(topic);
        var message = new OutgoingMessage(Payload.From(payload, Options.JsonSerializerOptions), options?.Key, TraceContext.Inject(options?.Headers));
        return EnqueueAsync(new PublishDraft(topic, [message], false, options?.IdempotencyKey ?? NewKey()), options?.Timeout, cancellationToken);
    }

    /// <summary>Publishes several messages in one transaction: all are stored, in order, or none. Retried like <see cref="PublishAsync{T}"/>.</summary>
    /// <exception cref="SwitchboardException">The hub refused it, <c>timeout</c>, or <c>closed</c>.</exception>
    public Task<PublishResult> PublishBatchAsync(string topic, IEnumerable<OutgoingMessage> messages, PublishOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(topic);
        ArgumentNullException.ThrowIfNull(messages);
        var list = messages.ToList();
        if (list.Count == 0)
        {
            throw new ArgumentException("A batch needs at least one message.", nameof(messages));
        }
        if (options?.Key is not null || options?.Headers is not null)
        {
            throw new ArgumentException("A batch's key and headers go on each OutgoingMessage, not on PublishOptions.", nameof(options));
        }
        for (var i = 0; i < list.Count; i++)
        {
            list[i] = list[i] with { Headers = TraceContext.Inject(list[i].Headers) };
        }
        return EnqueueAsync(new PublishDraft(topic, list, true, options?.IdempotencyKey ?? NewKey()), options?.Timeout, cancellationToken);
    }

    internal static string NewKey() => Guid.NewGuid().ToString("N");

    private async Task<PublishResult> EnqueueAsync(PublishDraft draft, TimeSpan? timeout, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested(); // cancelled before it began: not sent at all
        EnsureStarted();
        var entry = new PendingPublish(draft, Interlocked.Increment(ref _publishes));
        var limit = timeout ?? Options.PublishTimeout;
        lock (_lock)
        {
            if (State == ConnectionState.Closed)
            {
                throw SwitchboardException.Closed();
            }
            _outbox.Add(entry);
        }
        Dispatch(entry);
        try
        {
            return await entry.Result.Task.WaitAsync(limit, cancellationToken);
        }
        catch (TimeoutException)
        {
            throw new SwitchboardException(ClientErrorCodes.Timeout,
                $"The publish to {draft.Topic} was not confirmed within {limit.TotalSeconds:0.#} s (idempotency key {draft.IdempotencyKey}); it may or may not have been stored.");
        }
        finally
        {
            lock (_lock)
            {
                _outbox.Remove(entry);
            }
        }
    }

    private void DispatchOutbox()
    {
        PendingPublish[] entries;
        lock (_lock)
        {
            // In the order they were made (a HashSet enumerates in slot order, which reuses freed slots): one
            // connection's publishes to a topic are stored in the order sent, so a resend keeps the application's order.
            entries = [.. _outbox.OrderBy(e => e.Sequence)];
        }
        foreach (var entry in entries)
        {
            Dispatch(entry);
        }
    }

    private void FailOutbox(SwitchboardException error)
    {
        PendingPublish[] entries;
        lock (_lock)
        {
            entries = [.. _outbox];
            _outbox.Clear();
        }
        foreach (var entry in entries)
        {
            entry.Result.TrySetException(error);
        }
    }

    /// <summary>Sends a publish on the current transport, unless it is already on its way or done.</summary>
    private void Dispatch(PendingPublish entry)
    {
        Transport? transport;
        lock (_lock)
        {
            transport = _transport;
            if (transport is null || entry.InFlight || entry.Result.Task.IsCompleted || !_outbox.Contains(entry))
            {
                return;
            }
            entry.InFlight = true;
        }
        _ = SendAsync(entry, transport);
    }

    private async Task SendAsync(PendingPublish entry, Transport transport)
    {
        try
        {
            entry.Result.TrySetResult(await transport.PublishAsync(entry.Draft, _closing.Token));
            return;
        }
        catch (OperationCanceledException)
        {
            return; // the client closed; the outbox was failed with why
        }
        catch (SwitchboardException error) when (error.IsLost || (error.IsTransient && error.Code != "slow-consumer"))
        {
            lock (_lock)
            {
                entry.InFlight = false;
            }
            Log.PublishRetry(_logger, entry.Draft.Topic, entry.Draft.IdempotencyKey, error.Message);
            if (error.IsLost)
            {
                // Sent again on the next connection: now, if that one is already up; else when it opens.
                if (!ReferenceEquals(Volatile.Read(ref _transport), transport))
                {
                    Dispatch(entry);
                }
                return;
            }
            // The hub is busy or restarting (503, 429): it asked to be asked again later.
            try
            {
                await Task.Delay(error.RetryAfter ?? Backoff.Delay(entry.Attempts++, TimeSpan.FromMilliseconds(500), TimeSpan.FromSeconds(5)), _closing.Token);
            }
            catch (OperationCanceledException)
            {
                return;
            }
            Dispatch(entry);
        }
        catch (SwitchboardException error)
        {
            entry.Result.TrySetException(error);
        }
    }

    private sealed class PendingPublish(PublishDraft draft, long sequence)
    {
        public PublishDraft Draft { get; } = draft;

        /// <summary>When it was made, among this client's publishes: resends go in this order.</summary>
        public long Sequence { get; } = sequence;

        public TaskCompletionSource<PublishResult> Result { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public bool InFlight { get; set; }

        public int Attempts { get; set; }
    }
}
