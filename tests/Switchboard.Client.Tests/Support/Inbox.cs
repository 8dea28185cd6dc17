namespace Switchboard.Client.Tests;

/// <summary>
/// Collects what a subscription handler (or anything else) hands it, and lets a test wait for a count or a condition
/// on a signal (each arrival), never on a clock; every wait is bounded by a deadline.
/// </summary>
internal sealed class Inbox<T>
{
    private readonly Lock _lock = new();
    private readonly List<T> _items = [];
    private TaskCompletionSource _changed = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public IReadOnlyList<T> Items
    {
        get
        {
            lock (_lock)
            {
                return [.. _items];
            }
        }
    }

    public void Add(T item)
    {
        TaskCompletionSource changed;
        lock (_lock)
        {
            _items.Add(item);
            changed = _changed;
            _changed = new(TaskCreationOptions.RunContinuationsAsynchronously);
        }
        changed.TrySetResult();
    }

    /// <summary>A subscription handler that collects.</summary>
    public ValueTask Handle(T item, CancellationToken cancellationToken)
    {
        Add(item);
        return ValueTask.CompletedTask;
    }

    /// <summary>Waits until <paramref name="done"/> holds for the items, failing the test after <paramref name="timeout"/> (default <see cref="Tests.Limit"/>).</summary>
    public async Task<IReadOnlyList<T>> UntilAsync(Func<IReadOnlyList<T>, bool> done, string what, TimeSpan? timeout = null)
    {
        var limit = timeout ?? Tests.Limit;
        using var deadline = new CancellationTokenSource(limit);
        while (true)
        {
            Task changed;
            lock (_lock)
            {
                if (done(_items))
                {
                    return [.. _items];
                }
                changed = _changed.Task;
            }
            try
            {
                await changed.WaitAsync(deadline.Token);
            }
            catch (OperationCanceledException)
            {
                Assert.Fail($"Waited {limit.TotalSeconds} s for {what}; have {Items.Count}: {string.Join(", ", Items.TakeLast(20))}");
            }
        }
    }

    public Task<IReadOnlyList<T>> CountAsync(int count, TimeSpan? timeout = null) => UntilAsync(items => items.Count >= count, $"{count} items", timeout);
}
