using BenchmarkDotNet.Attributes;
using Microsoft.Extensions.Logging.Abstractions;
using Switchboard.Core;
using Switchboard.Core.Delivery;
using Switchboard.Core.Engines.Memory;

namespace Switchboard.Micro;

/// <summary>
/// Fan-out in the core: one message published to a topic with N live subscriptions (in-memory engine), until every
/// subscription's sink has it. What a publish costs the hub before any transport writes a byte.
/// </summary>
[MemoryDiagnoser]
public class FanOutBenchmarks
{
    private readonly List<Subscription> _subscriptions = [];
    private Hub _hub = null!;
    private CountingSink _sink = null!;
    private IReadOnlyList<MessageDraft> _message = [];

    [Params(1, 100, 1000)]
    public int Subscribers { get; set; }

    [GlobalSetup]
    public async Task SetupAsync()
    {
        _hub = new Hub(new MemoryStore(), new LocalBackplane(), new HubOptions(), NullLoggerFactory.Instance);
        await _hub.StartAsync(default);
        _sink = new CountingSink();
        for (var i = 0; i < Subscribers; i++)
        {
            _subscriptions.Add(await _hub.SubscribeAsync(["fan.out"], SubscribeStart.Now, _sink));
        }
        _message = Messages.Draft(64);
    }

    [GlobalCleanup]
    public async Task CleanupAsync()
    {
        await Messages.CloseAsync(_subscriptions, _hub);
    }

    [Benchmark]
    public async Task PublishToAll()
    {
        var done = _sink.Expect(Subscribers);
        await _hub.PublishAsync("fan.out", _message);
        await done;
    }

    /// <summary>Counts deliveries; completes the awaited task when the expected number arrived.</summary>
    private sealed class CountingSink : IMessageSink
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
}
