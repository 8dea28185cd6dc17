using BenchmarkDotNet.Attributes;
using Switchboard.Core;
using Switchboard.Core.Delivery;

namespace Switchboard.Micro;

/// <summary>
/// A publish to a topic bound to one queue, among many bindings that do not match it (in-memory engine): the engines
/// find a topic's queues through a binding index (exact names looked up, wildcard patterns walked by token), so the cost
/// should not grow with the number of bindings — where parsing and trying every binding's pattern on every append made
/// 10,000 of them cost each publish a parse of each.
/// </summary>
[MemoryDiagnoser]
public class BindingBenchmarks
{
    private Hub _hub = null!;
    private Subscription _subscription = null!;
    private readonly CountingSink _sink = new();
    private IReadOnlyList<MessageDraft> _message = [];

    [Params(0, 1000, 10000)]
    public int OtherBindings { get; set; }

    [GlobalSetup]
    public async Task SetupAsync()
    {
        _hub = await Messages.StartHubAsync();
        for (var i = 0; i < OtherBindings; i++)
        {
            // Tenants' feeds, a third of them exact, the rest wildcards under the tenant's name: none matches "fan.out".
            await _hub.AddBindingAsync(i % 3 == 0 ? $"tenant{i}.orders" : $"tenant{i}.>", $"q{i % 100}");
        }
        await _hub.AddBindingAsync("fan.out", "bound");
        _subscription = await _hub.SubscribeAsync(["fan.out"], SubscribeStart.Now, _sink);
        _message = Messages.Draft(64);
    }

    [GlobalCleanup]
    public async Task CleanupAsync() => await Messages.CloseAsync([_subscription], _hub);

    [Benchmark]
    public async Task PublishAmongBindings()
    {
        var done = _sink.Expect(1);
        await _hub.PublishAsync("fan.out", _message);
        await done;
    }
}
