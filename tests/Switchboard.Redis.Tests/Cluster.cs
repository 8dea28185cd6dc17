namespace Switchboard.Redis.Tests;

/// <summary>A real redis-server and three real nodes (the server on 127.0.0.1:0) sharing it, under one key prefix.</summary>
public sealed class Cluster : IAsyncLifetime
{
    public RedisServer Redis { get; private set; } = null!;
    internal TestHub A { get; private set; } = null!;
    internal TestHub B { get; private set; } = null!;
    internal TestHub C { get; private set; } = null!;
    internal IReadOnlyList<TestHub> Nodes => [A, B, C];

    public async Task InitializeAsync()
    {
        Redis = await RedisServer.StartAsync();
        var prefix = "c" + Guid.NewGuid().ToString("N")[..8];
        A = await NodeAsync("node-a", prefix);
        B = await NodeAsync("node-b", prefix);
        C = await NodeAsync("node-c", prefix);
    }

    internal Task<TestHub> NodeAsync(string name, string prefix) => StartNodeAsync(Redis, name, prefix, new Dictionary<string, string?>
    {
        ["Switchboard:Nodes:Heartbeat"] = "200ms",
        ["Switchboard:Nodes:Expiry"] = "2s",
        ["Switchboard:TrustedProxies"] = "127.0.0.1", // the nginx in front in NginxTests
    });

    /// <summary>A real node on <paramref name="redis"/> under <paramref name="prefix"/>, with any further settings.</summary>
    internal static Task<TestHub> StartNodeAsync(RedisServer redis, string name, string prefix, IDictionary<string, string?>? more = null)
    {
        var settings = new Dictionary<string, string?>(more ?? new Dictionary<string, string?>())
        {
            ["Switchboard:Engine"] = "redis",
            ["Switchboard:Redis:Configuration"] = redis.Configuration,
            ["Switchboard:Redis:Prefix"] = prefix,
            ["Switchboard:Nodes:Name"] = name,
        };
        return TestHub.StartAsync(settings: settings);
    }

    public async Task DisposeAsync()
    {
        foreach (var node in new[] { A, B, C })
        {
            if (node is not null)
            {
                await node.DisposeAsync();
            }
        }
        await Redis.DisposeAsync();
    }
}
