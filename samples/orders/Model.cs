namespace Switchboard.Samples.Orders;

/// <summary>The names the parts share: they meet only at the hub, under these names.</summary>
internal static class Names
{
    /// <summary>The desk publishes accepted orders here; the topic is bound to <see cref="EmailQueue"/>.</summary>
    public const string OrdersTopic = "orders.placed";

    /// <summary>The e-mail worker's queue, fed by the binding from <see cref="OrdersTopic"/>.</summary>
    public const string EmailQueue = "emails";

    /// <summary>Deliveries of an e-mail before it moves to the dead letters (set on the queue by <see cref="HubSetup"/>).</summary>
    public const int EmailMaxAttempts = 3;

    /// <summary>The stock service's queue: price-and-stock requests, answered by request/reply.</summary>
    public const string StockQueue = "stock";

    /// <summary>The e-mail worker reports what became of each e-mail here (an <see cref="EmailReport"/>).</summary>
    public const string ReportsTopic = "emails.reports";

    /// <summary>Each e-mail worker announces itself here when it starts (a <see cref="WorkerStarted"/>).</summary>
    public const string WorkersTopic = "emails.workers";

    /// <summary>What the desk follows: both of the above, with one wildcard subscription.</summary>
    public const string WorkerEvents = "emails.*";
}

/// <summary>An order as the desk publishes it to <c>orders.placed</c> (and the e-mail worker reads it from its queue).</summary>
internal sealed record Order(string Id, string Customer, string Email, string Sku, int Quantity, decimal Price = 0, decimal Total = 0);

/// <summary>The request the desk sends to the stock service: is there enough of this, and at what price?</summary>
internal sealed record StockQuery(string Sku, int Quantity);

/// <summary>The stock service's reply.</summary>
internal sealed record StockAnswer(string Sku, bool InStock, int Available, decimal Price);

/// <summary>What the e-mail worker did with an order's e-mail: <see cref="EmailOutcome"/> as text, on which attempt, as which version.</summary>
internal sealed record EmailReport(string Order, string Outcome, int Attempt, int WorkerVersion);

/// <summary>An e-mail worker came up: its version, and whether it takes '+' in addresses (version 2 does).</summary>
internal sealed record WorkerStarted(int Version, bool AcceptsPlusAddresses, int ProcessId);

/// <summary>What became of an order's e-mail.</summary>
internal enum EmailOutcome
{
    Sent,
    Retrying,
    DeadLettered,
}

/// <summary>
/// What the desk has heard from the e-mail workers (through the hub), for the story to wait on: <see cref="WhenAsync"/>
/// completes once an order has had an outcome (at once if it already has), <see cref="WhenWorkerAsync"/> once a worker
/// of at least a version has started. <see cref="Fail"/> ends every wait with the reason the reports stopped.
/// </summary>
internal sealed class Outcomes
{
    private readonly Dictionary<string, TaskCompletionSource> _seen = new(StringComparer.Ordinal);
    private Exception? _failure;

    public void Record(string order, EmailOutcome outcome) => Signal($"{order} {outcome}").TrySetResult();

    public void WorkerStarted(int version)
    {
        for (var atMost = 1; atMost <= Math.Min(version, 100); atMost++)
        {
            Signal($"worker {atMost}").TrySetResult();
        }
    }

    public Task WhenAsync(string order, EmailOutcome outcome, CancellationToken cancellationToken) =>
        Signal($"{order} {outcome}").Task.WaitAsync(cancellationToken);

    /// <summary>The first of sent or dead-lettered: where an e-mail ends, whichever worker version handled it.</summary>
    public async Task<EmailOutcome> WhenSettledAsync(string order, CancellationToken cancellationToken)
    {
        var sent = WhenAsync(order, EmailOutcome.Sent, cancellationToken);
        var dead = WhenAsync(order, EmailOutcome.DeadLettered, cancellationToken);
        await await Task.WhenAny(sent, dead);
        return sent.IsCompletedSuccessfully ? EmailOutcome.Sent : EmailOutcome.DeadLettered;
    }

    /// <summary>A worker of <paramref name="version"/> or later announced itself since the desk started listening.</summary>
    public Task WhenWorkerAsync(int version, CancellationToken cancellationToken) =>
        Signal($"worker {version}").Task.WaitAsync(cancellationToken);

    public void Forget(string order, EmailOutcome outcome)
    {
        lock (_seen)
        {
            _seen.Remove($"{order} {outcome}");
        }
    }

    public void Fail(Exception reason)
    {
        lock (_seen)
        {
            _failure = reason;
            foreach (var signal in _seen.Values)
            {
                signal.TrySetException(reason);
            }
        }
    }

    private TaskCompletionSource Signal(string key)
    {
        lock (_seen)
        {
            if (!_seen.TryGetValue(key, out var signal))
            {
                signal = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                if (_failure is not null)
                {
                    signal.TrySetException(_failure);
                }
                _seen[key] = signal;
            }
            return signal;
        }
    }
}
