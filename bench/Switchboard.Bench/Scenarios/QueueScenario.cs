using System.Reflection;
using Switchboard.Bench.Harness;
using Switchboard.Bench.Peers;

namespace Switchboard.Bench.Scenarios;

/// <summary>
/// Durable queues, the hub (SQLite, fsync; REST) against RabbitMQ (a node of the bench's own from Debian's package;
/// AMQP 0-9-1 with RabbitMQ.Client) with a durable classic queue and with a quorum queue; 256-byte messages,
/// durable everywhere. End to end: confirmed sends → receive → ack at 1 producer / 1 consumer and 4 / 4, figured
/// as messages fully acked per second (first send to last ack), every confirmed message checked to arrive once.
/// Request/reply: round trips per second at 1 and 4 requesters through one responder. Both servers run at once,
/// and the runs are interleaved (every system and shape once, then again).
/// </summary>
internal sealed class QueueScenario : IScenario
{
    private const string Hub = "hub (sqlite, fsync)";

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
        IQueuePeer[] peers = [new HubQueuePeer(Hub, http), classic, quorum];

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
        }
    }

    /// <summary>The client's package version (its assembly version is only the major: 7.0.0.0).</summary>
    private static string ClientVersion()
        => typeof(RabbitMQ.Client.IChannel).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion.Split('+')[0] ?? "?";
}
