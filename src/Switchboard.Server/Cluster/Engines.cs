using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using StackExchange.Redis;
using Switchboard.Core.Engines;
using Switchboard.Core.Engines.Memory;
using Switchboard.Redis;
using Switchboard.Sqlite;

namespace Switchboard.Server.Cluster;

/// <summary>The store and backplane of the configured engine; each engine enforces the hub's topic and queue limits itself (<see cref="TopicLimit"/>, <see cref="QueueEngine.LimitReached"/>).</summary>
internal static class Engines
{
    public static void Add(IServiceCollection services, ServerOptions options)
    {
        switch (options.Engine)
        {
            case EngineKind.Redis:
                // One connection per node, shared by the store and the backplane. It does not fail when Redis is
                // away: it keeps retrying, and the hub reports not-ready until the store opens.
                services.AddSingleton<IConnectionMultiplexer>(sp =>
                {
                    var redis = RedisConnection.Connect(options.Redis, sp.GetRequiredService<ILoggerFactory>());
                    var meters = sp.GetRequiredService<Core.Observability.HubMeters>();
                    redis.ConnectionRestored += (_, e) =>
                    {
                        if (e.ConnectionType == ConnectionType.Interactive)
                        {
                            meters.RedisReconnects.Add(1); // once per outage (the subscription connection comes back too)
                        }
                    };
                    return redis;
                });
                options.Redis.MaxTopics = options.Hub.MaxTopics;
                options.Redis.MaxQueues = options.Hub.MaxQueues;
                options.Redis.QueueLimits = options.Hub.QueueLimits;
                services.AddSingleton<IStore>(sp => new RedisStore(options.Redis, sp.GetRequiredService<ILoggerFactory>(), sp.GetRequiredService<IConnectionMultiplexer>()));
                services.AddSingleton<IBackplane>(sp => new RedisBackplane(sp.GetRequiredService<IConnectionMultiplexer>(), options.Redis,
                    sp.GetRequiredService<NodeIdentity>().Id, sp.GetRequiredService<ILoggerFactory>()));
                break;
            case EngineKind.Memory:
                services.AddSingleton<IStore>(_ => new MemoryStore(maxTopics: options.Hub.MaxTopics, maxQueues: options.Hub.MaxQueues, queueLimits: options.Hub.QueueLimits));
                services.AddSingleton<IBackplane, LocalBackplane>();
                break;
            default:
                options.Sqlite.MaxTopics = options.Hub.MaxTopics;
                options.Sqlite.MaxQueues = options.Hub.MaxQueues;
                options.Sqlite.QueueLimits = options.Hub.QueueLimits;
                services.AddSingleton<IStore>(sp => new SqliteStore(options.Sqlite, sp.GetRequiredService<ILoggerFactory>(), meters: sp.GetRequiredService<Core.Observability.HubMeters>()));
                services.AddSingleton<IBackplane, LocalBackplane>();
                break;
        }
    }
}
