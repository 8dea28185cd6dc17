using System.Diagnostics;
using Switchboard.Bench.Harness;
using Switchboard.Bench.Peers;

namespace Switchboard.Bench.Scenarios;

/// <summary>
/// Request/reply over each of the hub's protocols — REST, WebSocket, gRPC unary calls, and gRPC's bidirectional
/// <c>Connect</c> call (a call held open per requester, and one by the responder, which answers every request on it,
/// as on the WebSocket) — on the durable hub (SQLite, fsync: a request and its reply are each committed) and in memory, with a
/// responder on the same protocol: round trips/s at 1 and 4 requesters, latency p50 / p99 at 1. Beside them: NATS
/// core request/reply (in memory, at most once: what NATS users reach for), and the ceilings of the stacks, a bare
/// ASP.NET Core echo and a bare grpc-dotnet echo (no queue, no responder). The durable request/reply against RabbitMQ,
/// JetStream and Redis Streams is in the queue scenario.
/// </summary>
internal sealed class ReqReplyScenario : IScenario
{
    public string Name => "reqreply";
    public string Description => "request/reply over REST, WebSocket, gRPC and gRPC Connect (hub durable and in memory) vs NATS core request/reply and bare echoes: round trips/s (1, 4 requesters), latency";

    /// <summary><paramref name="Key"/>: the name <c>--only</c> picks it by (rest-sqlite, ws-memory, grpc-connect-memory, grpc-echo, nats, …).</summary>
    private sealed record Contender(string Key, string System, Side Side, Func<int, Task<IRoundTrip>> Start);

    public async Task RunAsync(Report report, BenchOptions options)
    {
        using var data = new TempDirectory();
        // Started together (one waits on its JIT while another runs); if one fails, the bench stops the others at the scenario's end.
        var starting = (Durable: ServerProcess.StartHubAsync("--data", data.Path), Memory: ServerProcess.StartHubAsync("--memory"),
            Bare: ServerProcess.StartPeerAsync("baseline-server"), BareGrpc: ServerProcess.StartPeerAsync("grpc-baseline-server"));
        await using var durable = await starting.Durable;
        await using var memory = await starting.Memory;
        await using var bare = await starting.Bare;
        await using var bareGrpc = await starting.BareGrpc;
        using var durableHttp = Load.Client(durable.Address);
        using var memoryHttp = Load.Client(memory.Address);
        using var bareHttp = Load.Client(bare.Address);

        var contenders = new List<Contender>();
        foreach (var (label, hub, http) in new[] { ("sqlite", durable, durableHttp), ("memory", memory, memoryHttp) })
        {
            // A queue per protocol and requester count: a responder that has just gone can leave nothing in the next one's way.
            contenders.Add(new($"rest-{label}", $"switchboard REST ({label})", Side.Switchboard, async n => await RestRoundTrip.StartAsync(http, $"rr-rest-{n}")));
            contenders.Add(new($"ws-{label}", $"switchboard WebSocket ({label})", Side.Switchboard, async n => await WebSocketRoundTrip.StartAsync(hub.Address, http, $"rr-ws-{n}", n)));
            contenders.Add(new($"grpc-{label}", $"switchboard gRPC ({label})", Side.Switchboard, async n => await GrpcRoundTrip.StartAsync(hub.Address, http, $"rr-grpc-{n}", n, withResponder: true)));
            contenders.Add(new($"grpc-connect-{label}", $"switchboard gRPC Connect ({label})", Side.Switchboard, async n => await ConnectRoundTrip.StartAsync(hub.Address, http, $"rr-grpc-connect-{n}", n)));
        }
        contenders.Add(new("echo", "bare ASP.NET Core echo (ceiling)", Side.Peer, _ => Task.FromResult<IRoundTrip>(new EchoRoundTrip(bareHttp))));
        contenders.Add(new("grpc-echo", "bare grpc-dotnet echo (ceiling)", Side.Peer, async n => await GrpcRoundTrip.StartAsync(bareGrpc.Address, null, "echo", n, withResponder: false)));

        NatsServer? nats = null;
        if (options.Includes("nats") && NatsServer.Find() is null)
        {
            report.Skip(Name, "NATS core request/reply", NatsServer.Missing);
        }
        else if (options.Includes("nats"))
        {
            nats = await NatsServer.StartAsync();
            report.Version("nats-server", NatsServer.Version());
            report.Version("NATS.Net", NatsServer.ClientVersion());
            contenders.Add(new("nats", "NATS core request/reply (in memory)", Side.Peer, async n => await NatsRoundTrip.StartAsync(nats, "rpc", n)));
        }
        var failures = new List<string>();
        try
        {
            foreach (var contender in contenders.Where(c => options.Includes(c.Key)))
            {
                try
                {
                    await MeasureAsync(report, options, contender);
                }
                catch (Exception ex) when (ex is InvalidOperationException or Grpc.Core.RpcException or TimeoutException or System.Net.WebSockets.WebSocketException or HttpRequestException)
                {
                    // The others still run; the scenario fails at its end with every failure named.
                    failures.Add($"{contender.System}: {ex.Message}");
                    await Console.Error.WriteLineAsync($"bench: reqreply, {contender.System} failed: {ex}");
                }
            }
            if (failures.Count > 0)
            {
                throw new InvalidOperationException("request/reply failed for " + string.Join("; ", failures));
            }
        }
        finally
        {
            if (nats is not null)
            {
                await nats.DisposeAsync();
            }
        }
    }

    private async Task MeasureAsync(Report report, BenchOptions options, Contender contender)
    {
        var single = report.Add(Name, contender.System, "round trips/s, 1 requester", "round trips/s", higherIsBetter: true, contender.Side);
        var four = report.Add(Name, contender.System, "round trips/s, 4 requesters", "round trips/s", higherIsBetter: true, contender.Side);
        var p50 = report.Add(Name, contender.System, "latency p50, 1 requester", "ms", higherIsBetter: false, contender.Side);
        var p99 = report.Add(Name, contender.System, "latency p99, 1 requester", "ms", higherIsBetter: false, contender.Side);
        long sequence = 0;
        foreach (var requesters in new[] { 1, 4 })
        {
            await using var trip = await contender.Start(requesters);
            var latencies = new List<double>();
            Task<Throughput> Run(TimeSpan length) => Load.RunAsync(requesters, length, async worker =>
            {
                var started = Stopwatch.GetTimestamp();
                await trip.CallAsync(worker, Interlocked.Increment(ref sequence));
                lock (latencies)
                {
                    latencies.Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
                }
                return 1;
            });
            if (!options.Quick)
            {
                await Run(options.WarmUp);
            }
            for (var run = 0; run < options.Runs; run++)
            {
                lock (latencies)
                {
                    latencies.Clear();
                }
                var result = await Run(options.RunLength);
                (requesters == 1 ? single : four).Runs.Add(result.OperationsPerSecond);
                if (requesters == 1)
                {
                    p50.Runs.Add(Measurement.Percentile(latencies, 50));
                    p99.Runs.Add(Measurement.Percentile(latencies, 99));
                }
                BenchOptions.Progress($"run {run + 1}, {contender.System}, {requesters} requester{(requesters == 1 ? "" : "s")}: {result.OperationsPerSecond:N0} round trips/s"
                    + (requesters == 1 ? $", p50 {p50.Runs[^1]:0.00} ms, p99 {p99.Runs[^1]:0.00} ms" : ""));
            }
        }
    }
}
