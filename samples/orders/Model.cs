namespace Switchboard.Samples.Orders;

/// <summary>An order as the desk publishes it to <c>orders.placed</c> (and the e-mail worker reads it from its queue).</summary>
internal sealed record Order(string Id, string Customer, string Email, string Sku, int Quantity, decimal Price = 0, decimal Total = 0);

/// <summary>The request the desk sends to the stock service: is there enough of this, and at what price?</summary>
internal sealed record StockQuery(string Sku, int Quantity);

/// <summary>The stock service's reply.</summary>
internal sealed record StockAnswer(string Sku, bool InStock, int Available, decimal Price);

/// <summary>What became of an order's e-mail, as the worker reports it.</summary>
internal enum EmailOutcome
{
    Sent,
    Retrying,
    DeadLettered,
}

/// <summary>
/// The worker's reports, for the demo to wait on: <see cref="WhenAsync"/> completes once the given order has had the
/// given outcome (at once if it already has).
/// </summary>
internal sealed class Outcomes
{
    private readonly Dictionary<(string Order, EmailOutcome Outcome), TaskCompletionSource> _seen = [];

    public void Record(string order, EmailOutcome outcome) => Signal(order, outcome).TrySetResult();

    public Task WhenAsync(string order, EmailOutcome outcome, CancellationToken cancellationToken) =>
        Signal(order, outcome).Task.WaitAsync(cancellationToken);

    private TaskCompletionSource Signal(string order, EmailOutcome outcome)
    {
        lock (_seen)
        {
            if (!_seen.TryGetValue((order, outcome), out var signal))
            {
                signal = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                _seen[(order, outcome)] = signal;
            }
            return signal;
        }
    }
}
