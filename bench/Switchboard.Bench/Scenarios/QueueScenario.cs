using System.Reflection;
using Switchboard.Bench.Harness;
using Switchboard.Bench.Peers;

namespace Switchboard.Bench.Scenarios;

/// <summary>
/// Durable queues, the hub (SQLite, fsync; REST) against RabbitMQ (a node of the bench's own from Debian's package;
/// AMQP 0-9-1 with RabbitMQ.Client) with a durable classic queue and with a quorum queue; 256-byte messages,
/// durable everywhere. End to end: confirmed sends → receive → ack at 1 producer / 1 consumer and 4 / 4, figured
/// as messages fully acked per second (first send to last ack), every confirmed message checked to arrive once.
/// Request/reply: round trips per second at 1 and 4 requesters through one responder. The hub also runs on its
/// scale-out engine (one node on a redis-server of its own with appendfsync always, as durable as SQLite's fsync),
/// when redis-server is installed. All servers run at once, and the runs are interleaved (every system and shape once,
/// then again).
/// </summary>
internal sealed class QueueScenario : IScenario
{
    private const string Hub = "hub (sqlite, fsync)";
    private const string HubOnRedis = "hub (redis, appendfsync always)";

    public string Name => "queue";
    public string Description => "durable queues: send→receive→ack (1/1, 4/4) and request/reply (1, 4 requesters): hub (sqlite) vs RabbitMQ classic and quorum queues";

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

        // RabbitMQ first: if it is missing or does not start, the scenario fails before anything is measured.
        await using var rabbit = await RabbitMqServer.StartAsync();
        BenchOptions.Progress($"RabbitMQ {rabbit.Version} ({rabbit.Platform}), node {rabbit.Node} on 127.0.0.1:{rabbit.Port}; RabbitMQ.Client {ClientVersion()}");
        using var data = new TempDirectory();
        await using var hub = await ServerProcess.StartHubAsync("--data", data.Path);
        using var http = Load.Client(hub.Address);

        var classicName = $"RabbitMQ {rabbit.Version} classic queue (durable, persistent)";
        var quorumName = $"RabbitMQ {rabbit.Version} quorum queue";
        await using var classic = new RabbitQueuePeer(classicName, rabbit, quorum: false);
        await using var quorum = new RabbitQueuePeer(quorumName, rabbit, quorum: true);
        List<IQueuePeer> peers = [new HubQueuePeer(Hub, http), classic, quorum];

        // The scale-out engine, if redis-server is here (bench/install-peers.sh installs it); skipped with a note if not.
        Switchboard.Testing.RedisServer? redis = null;
        ServerProcess? onRedis = null;
        HttpClient? redisHttp = null;
        if (File.Exists("/usr/bin/redis-server"))
        {
            redis = await Switchboard.Testing.RedisServer.StartAsync("always");
            onRedis = await ServerProcess.StartHubAsync("--redis", redis.Configuration);
            redisHttp = Load.Client(onRedis.Address);
            peers.Insert(1, new HubQueuePeer(HubOnRedis, redisHttp));
            BenchOptions.Progress($"hub on Redis at {redis.Configuration} (appendonly yes, appendfsync always)");
        }
        else
        {
            BenchOptions.Progress("redis-server is not installed: the hub's Redis engine is skipped (apt-get install redis-server)");
        }
        try
        {
            await MeasureAsync(report, options, shapes, peers, classicName, quorumName);
        }
        finally
        {
            redisHttp?.Dispose();
            if (onRedis is not null)
            {
                await onRedis.DisposeAsync();
            }
            if (redis is not null)
            {
                await redis.DisposeAsync();
            }
        }
    }

    private async Task MeasureAsync(Report report, BenchOptions options, Shape[] shapes, List<IQueuePeer> peers, string classicName, string quorumName)
    {

        var figures = new Dictionary<(string Peer, string Shape), Measurement>();
        foreach (var peer in peers)
        {
            foreach (var shape in shapes)
            {
                figures[(peer.Name, shape.Name)] = report.Add(Name, $"{peer.Name}: {shape.Name}", shape.Unit, higherIsBetter: true);
                // Warm-up (connections, JIT, the queue's creation), checked like a run but not measured.
                await shape.Run(peer, TimeSpan.FromSeconds(options.Quick ? 0.3 : 0.5));
                await peer.CheckEmptyAsync(shape.Queue);
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

        foreach (var shape in shapes)
        {
            report.Ratio(Name, $"hub (sqlite) / RabbitMQ classic, {shape.Short}", figures[(Hub, shape.Name)], figures[(classicName, shape.Name)]);
            report.Ratio(Name, $"hub (sqlite) / RabbitMQ quorum, {shape.Short}", figures[(Hub, shape.Name)], figures[(quorumName, shape.Name)]);
            if (figures.ContainsKey((HubOnRedis, shape.Name)))
            {
                report.Ratio(Name, $"hub (redis) / RabbitMQ classic, {shape.Short}", figures[(HubOnRedis, shape.Name)], figures[(classicName, shape.Name)]);
                report.Ratio(Name, $"hub (redis) / hub (sqlite), {shape.Short}", figures[(HubOnRedis, shape.Name)], figures[(Hub, shape.Name)]);
            }
        }
    }

    /// <summary>The client's package version (its assembly version is only the major: 7.0.0.0).</summary>
    private static string ClientVersion()
        => typeof(RabbitMQ.Client.IChannel).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion.Split('+')[0] ?? "?";
}
