using Switchboard.Core;
using Switchboard.Core.Delivery;

namespace Switchboard.Micro;

/// <summary>Counts deliveries; completes the awaited task when the expected number arrived.</summary>
internal sealed class CountingSink : IMessageSink
{
    public void Fail(SwitchboardException error) => throw new InvalidOperationException("The benchmark's store failed a read.", error);

    private int _remaining;
    private TaskCompletionSource _done = new();

    public Task Expect(int count)
    {
        _done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        Volatile.Write(ref _remaining, count);
        return _done.Task;
    }

    public bool TryWrite(Message message)
    {
        if (Interlocked.Decrement(ref _remaining) == 0)
        {
            _done.TrySetResult();
        }
        return true;
    }

    public ValueTask WriteAsync(Message message, CancellationToken cancellationToken)
    {
        TryWrite(message);
        return ValueTask.CompletedTask;
    }

    public ValueTask WriteNoticeAsync(SubscriptionNotice notice, CancellationToken cancellationToken) => ValueTask.CompletedTask;
}
