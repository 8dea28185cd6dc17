using BenchmarkDotNet.Attributes;
using Switchboard.Core;
using Switchboard.Core.Delivery;

namespace Switchboard.Micro;

/// <summary>
/// A publish among many wildcard subscriptions that do not match it (in-memory engine, one exact subscriber): the
/// dispatcher's wildcard index walks the topic's tokens, so the cost should not grow with their number — where trying
/// every pattern on every publish made 20,000 of them cost each publish milliseconds.
/// </summary>
[MemoryDiagnoser]
public class WildcardBenchmarks
{
    private readonly List<Subscription> _subscriptions = [];
    private Hub _hub = null!;
    private readonly CountingSink _sink = new();
    private IReadOnlyList<MessageDraft> _message = [];

    [Params(0, 1000, 20000)]
    public int IdleWildcards { get; set; }

    [GlobalSetup]
    public async Task SetupAsync()
    {
        _hub = await Messages.StartHubAsync();
        for (var i = 0; i < IdleWildcards; i++)
        {
            // Half under other first tokens, half a leading wildcard over other second tokens: none matches "fan.out".
            _subscriptions.Add(await _hub.SubscribeAsync([i % 2 == 0 ? $"w{i}.*" : $"*.w{i}.>"], SubscribeStart.Now, new CountingSink()));
        }
        _subscriptions.Add(await _hub.SubscribeAsync(["fan.out"], SubscribeStart.Now, _sink));
        _message = Messages.Draft(64);
    }

    [GlobalCleanup]
    public async Task CleanupAsync()
    {
        await Messages.CloseAsync(_subscriptions, _hub);
    }

    [Benchmark]
    public async Task PublishAmongWildcards()
    {
        var done = _sink.Expect(1);
        await _hub.PublishAsync("fan.out", _message);
        await done;
    }
}
