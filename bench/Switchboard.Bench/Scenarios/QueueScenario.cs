using System.Reflection;
using Switchboard.Bench.Harness;
using Switchboard.Bench.Peers;

namespace Switchboard.Bench.Scenarios;

/// <summary>
/// Durable queues, the hub (SQLite, fsync; over REST, and over its WebSocket as a service holding a connection would use it) against RabbitMQ (a node of the bench's own from Debian's package;
/// AMQP 0-9-1 with RabbitMQ.Client) with a durable classic queue and with a quorum queue, NATS JetStream (a work-queue
/// stream, file storage) and Redis Streams (a consumer group, appendfsync always); 256-byte messages, durable
/// everywhere. Each peer that is not installed is skipped and named in the report. End to end: confirmed sends → receive → ack at 1 producer / 1 consumer and 4 / 4, figured
/// as messages fully acked per second (first send to last ack), every confirmed message checked to arrive once.
/// Request/reply: round trips per second at 1 and 4 requesters through one responder. The hub also runs on its
/// scale-out engine (one node on a redis-server of its own with appendfsync always, as durable as SQLite's fsync),
/// when redis-server is installed. All servers run at once, and the runs are interleaved (every system and shape once,
/// then again).
/// </summary>
internal sealed class QueueScenario : IScenario
{
    private const string Hub = "hub REST (sqlite, fsync)";
    private const string HubWebSocket = "hub WebSocket (sqlite, fsync)";
    private const string HubOnRedis = "hub REST (redis, appendfsync always)";

    public string Name => "queue";
    public string Description => "durable queues: send→receive→ack (1/1, 4/4) and request/reply (1, 4 requesters): hub (sqlite, redis) vs RabbitMQ classic and quorum queues, NATS JetStream, Redis Streams";

    private sealed record Shape(string Name, string Short, string Queue, string Unit, Func<IQueuePeer, TimeSpan, Task<Throughput>> Run);

    public async Task RunAsync(Report report, BenchOptions options)
    {
        Shape[] shapes =
        [
            new("end to end, 1 producer / 1 consumer", "end to end 1/1", "e2e-1", "messages/s", (peer, length) => peer.EndToEndAsync("e2e-1", 1, 1, length)),
            new("end to end, 4 producers / 4 consumers", "end to end 4/4", "e2e-4", "messages/s", (peer, length) => peer.EndToEndAsync("e2e-4", 4, 4, length)),
            new("request/reply, 1 requester", "request/reply 1 requester", "rr-1", "round trips/s", (peer, length) => peer.RequestReplyAsync("rr-1", 1, length)),
            new("request/reply, 4 requesters", "request/reply 4 requesters", "rr-4", "round trips/s", (peer, length) => peer.RequestReplyAsync("rr-4", 4, length)),
        ];

        using var data = new TempDirectory();
        await using var hub = await ServerProcess.StartHubAsync("--data", data.Path);
        using var http = Load.Client(hub.Address);
        List<IQueuePeer> peers = [];
        if (options.Includes("hub-rest"))
        {
            peers.Add(new HubQueuePeer(Hub, http));
        }
        if (options.Includes("hub-ws"))
        {
            peers.Add(new HubWebSocketQueuePeer(HubWebSocket, hub.Address, http));
        }
        var owned = new List<IAsyncDisposable>();
        try
        {
            await AddPeersAsync(report, options, peers, owned);
            await MeasureAsync(report, options, shapes, peers);
        }
        finally
        {
            foreach (var peer in peers.OfType<IAsyncDisposable>())
            {
                await peer.DisposeAsync();
            }
            owned.Reverse();
            foreach (var resource in owned)
            {
                await resource.DisposeAsync();
            }
        }
    }

    /// <summary>
    /// The peers that are installed (RabbitMQ, NATS, Redis) and not left out by --only, each with a server of the
    /// bench's own; a missing one is skipped and named in the report. <paramref name="owned"/> gets what must be stopped afterwards.
    /// </summary>
    private async Task AddPeersAsync(Report report, BenchOptions options, List<IQueuePeer> peers, List<IAsyncDisposable> owned)
    {
        var withRedis = options.Includes("hub-redis") || options.Includes("redis-streams");
        if (options.Includes("rabbitmq") && RabbitMqServer.Installed)
        {
            var rabbit = await RabbitMqServer.StartAsync();
            owned.Add(rabbit);
            BenchOptions.Progress($"RabbitMQ {rabbit.Version} ({rabbit.Platform}), node {rabbit.Node} on 127.0.0.1:{rabbit.Port}; RabbitMQ.Client {ClientVersion()}");
            report.Version("rabbitmq-server", $"{rabbit.Version} ({rabbit.Platform})");
            report.Version("RabbitMQ.Client", ClientVersion());
            peers.Add(new RabbitQueuePeer($"RabbitMQ {rabbit.Version} classic queue (durable, persistent)", rabbit, quorum: false));
            peers.Add(new RabbitQueuePeer($"RabbitMQ {rabbit.Version} quorum queue", rabbit, quorum: true));
        }
        else if (options.Includes("rabbitmq"))
        {
            report.Skip(Name, "RabbitMQ classic and quorum queues", RabbitMqServer.Missing);
        }

        if (options.Includes("nats") && NatsServer.Find() is not null)
        {
            var nats = await NatsServer.StartAsync();
            owned.Add(nats);
            report.Version("nats-server", NatsServer.Version());
            report.Version("NATS.Net", NatsServer.ClientVersion());
            peers.Add(new NatsQueuePeer("NATS JetStream work queue (file storage, not fsync'd per message)", nats));
        }
        else if (options.Includes("nats"))
        {
            report.Skip(Name, "NATS JetStream work queue", NatsServer.Missing);
        }

        // The hub's scale-out engine and Redis Streams share a redis-server of the bench's own with appendfsync always
        // (every write fsync'd before it is answered: as durable as SQLite's fsync).
        if (withRedis && RedisPeer.Installed)
        {
            var redis = await Switchboard.Testing.RedisServer.StartAsync("always");
            owned.Add(redis);
            if (options.Includes("hub-redis"))
            {
                var onRedis = await ServerProcess.StartHubAsync("--redis", redis.Configuration);
                owned.Add(onRedis);
                var redisHttp = Load.Client(onRedis.Address);
                owned.Add(new Disposer(redisHttp.Dispose));
                peers.Insert(peers.Count(IsHub), new HubQueuePeer(HubOnRedis, redisHttp));
            }
            if (options.Includes("redis-streams"))
            {
                peers.Add(new RedisStreamQueuePeer("Redis Streams, consumer group (appendfsync always)", redis.Configuration));
            }
            report.Version("redis-server", RedisPeer.Version());
            report.Version("StackExchange.Redis", RedisPeer.ClientVersion());
            BenchOptions.Progress($"redis-server on {redis.Configuration} (appendonly yes, appendfsync always): the hub's Redis engine and Redis Streams");
        }
        else if (withRedis)
        {
            report.Skip(Name, "the hub on its Redis engine, and Redis Streams", RedisPeer.Missing);
        }
    }

    private static bool IsHub(IQueuePeer peer) => peer is HubQueuePeer or HubWebSocketQueuePeer;

    private sealed class Disposer(Action dispose) : IAsyncDisposable
    {
        public ValueTask DisposeAsync()
        {
            dispose();
            return ValueTask.CompletedTask;
        }
    }

    private async Task MeasureAsync(Report report, BenchOptions options, Shape[] shapes, List<IQueuePeer> peers)
    {
        var figures = new Dictionary<(string Peer, string Shape), Measurement>();
        foreach (var peer in peers)
        {
            foreach (var shape in shapes)
            {
                var side = IsHub(peer) ? Side.Switchboard : Side.Peer;
                figures[(peer.Name, shape.Name)] = report.Add(Name, peer.Name, shape.Name, shape.Unit, higherIsBetter: true, side);
                if (!options.Quick)
                {
                    // Warm-up (connections, JIT, the queue's creation), checked like a run but not measured. Quick mode's
                    // figures are not for quoting, so its one run goes without.
                    await shape.Run(peer, options.WarmUp);
                    await peer.CheckEmptyAsync(shape.Queue);
                }
            }
        }

        for (var run = 0; run < options.Runs; run++)
        {
            foreach (var shape in shapes)
            {
                foreach (var peer in peers)
                {
                    var result = await shape.Run(peer, options.RunLength);
                    await peer.CheckEmptyAsync(shape.Queue);
                    var rate = shape.Unit == "messages/s" ? result.UnitsPerSecond : result.OperationsPerSecond;
                    figures[(peer.Name, shape.Name)].Runs.Add(rate);
                    BenchOptions.Progress($"run {run + 1}, {peer.Name}, {shape.Name}: {rate:N0} {shape.Unit} ({result.Operations:N0} in {result.Elapsed.TotalSeconds:N2} s)");
                }
            }
        }
        BenchOptions.Progress("every confirmed message was received and acked exactly once; every request got its own reply; every queue ended empty");

        if (figures.ContainsKey((HubOnRedis, shapes[0].Name)) && figures.ContainsKey((Hub, shapes[0].Name)))
        {
            foreach (var shape in shapes)
            {
                report.Ratio(Name, $"hub (redis) / hub (sqlite), {shape.Short}", figures[(HubOnRedis, shape.Name)], figures[(Hub, shape.Name)]);
            }
        }
    }

    /// <summary>The client's package version (its assembly version is only the major: 7.0.0.0).</summary>
    private static string ClientVersion()
        => typeof(RabbitMQ.Client.IChannel).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion.Split('+')[0] ?? "?";
}
