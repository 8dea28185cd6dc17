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
    private QueueBinding _bound = null!;

    [Params(0, 1000, 10000)]
    public int OtherBindings { get; set; }

    /// <summary>
    /// Where the other bindings live: under a first token of their own (<c>tenantI.orders</c>, <c>tenantI.&gt;</c>), or
    /// all under one shared first token (<c>events.tenantI.orders</c>, <c>events.tenantI.&gt;</c>) beside a bound
    /// <c>events.fan.out</c>.
    /// </summary>
    [Params("own", "shared")]
    public string FirstToken { get; set; } = "own";

    [GlobalSetup]
    public async Task SetupAsync()
    {
        _redis = await RedisServer.StartAsync(appendFsync: "no");
        try
        {
            _store = new RedisStore(new RedisOptions { Configuration = _redis.Configuration, Prefix = "micro" }, NullLoggerFactory.Instance);
            await _store.OpenAsync(CancellationToken.None);
            var now = DateTimeOffset.UtcNow;
            var root = FirstToken == "shared" ? "events." : "";
            for (var i = 0; i < OtherBindings; i++)
            {
                // As in BindingBenchmarks: a third exact, the rest wildcards under the tenant's name; none matches the topic.
                await _store.Queues.PutBindingAsync(new QueueBinding(i % 3 == 0 ? $"{root}tenant{i}.orders" : $"{root}tenant{i}.>", $"q{i % 100}"), now, default);
            }
            _bound = new QueueBinding(root + "fan.out", "bound");
            await _store.Queues.PutBindingAsync(_bound, now, default);
            // The topic keeps its last 1,000 messages. The bound queue grows by one message per append (tens of
            // thousands in a run: a zset that large costs its inserts no more than a small one, O(log n)); emptying it
            // between iterations would make BenchmarkDotNet time one append per iteration.
            _append = new AppendRequest(_bound.Pattern, Messages.Draft(64)) { CreateTopic = new TopicConfig(new RetentionPolicy(1000, null, null)), Timestamp = now };
        }
        catch
        {
            await _redis.DisposeAsync();
            throw;
        }
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
