using BenchmarkDotNet.Attributes;
using Microsoft.Extensions.Logging.Abstractions;
using Switchboard.Core;
using Switchboard.Core.Engines;
using Switchboard.Redis;
using Switchboard.Testing;

namespace Switchboard.Micro;

/// <summary>
/// <see cref="BindingBenchmarks"/> on the Redis engine: one append (its Lua script) to a topic bound to one queue, among
/// many bindings that do not match it, against a real redis-server (no fsync: the script's own cost). The script finds
/// the topic's queues through the index kept beside the list of bindings, where it read and matched every binding.
/// </summary>
public class RedisBindingBenchmarks
{
    private RedisServer _redis = null!;
    private RedisStore _store = null!;
    private AppendRequest _append = null!;

    [Params(0, 1000, 10000)]
    public int OtherBindings { get; set; }

    [GlobalSetup]
    public async Task SetupAsync()
    {
        _redis = await RedisServer.StartAsync(appendFsync: "no");
        _store = new RedisStore(new RedisOptions { Configuration = _redis.Configuration, Prefix = "micro" }, NullLoggerFactory.Instance);
        await _store.OpenAsync(CancellationToken.None);
        var now = DateTimeOffset.UtcNow;
        for (var i = 0; i < OtherBindings; i++)
        {
            // As in BindingBenchmarks: a third exact, the rest wildcards under the tenant's name; none matches "fan.out".
            await _store.Queues.PutBindingAsync(new QueueBinding(i % 3 == 0 ? $"tenant{i}.orders" : $"tenant{i}.>", $"q{i % 100}"), now, default);
        }
        await _store.Queues.PutBindingAsync(new QueueBinding("fan.out", "bound"), now, default);
        _append = new AppendRequest("fan.out", Messages.Draft(64)) { CreateTopic = new TopicConfig(RetentionPolicy.Unlimited), Timestamp = now };
    }

    [GlobalCleanup]
    public async Task CleanupAsync()
    {
        await _store.DisposeAsync();
        await _redis.DisposeAsync();
    }

    [Benchmark]
    public Task<AppendResult> AppendAmongBindings() => _store.AppendAsync(_append, CancellationToken.None);
}
