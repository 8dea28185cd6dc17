using BenchmarkDotNet.Attributes;
using Switchboard.Core;
using Switchboard.Core.Delivery;

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
        _hub = await Messages.StartHubAsync();
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
}
