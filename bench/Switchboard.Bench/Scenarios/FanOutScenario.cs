using System.Diagnostics;
using Microsoft.AspNetCore.Http.Connections;
using Switchboard.Bench.Harness;
using Switchboard.Bench.Peers;

namespace Switchboard.Bench.Scenarios;

/// <summary>
/// Fan-out, 1 publisher -> 1 topic -> N subscribers (1, 100, 1,000), 64-byte payloads, per transport: Switchboard
/// (WS JSON and protobuf, each also batched, WS plain, SSE, long poll, poll, gRPC streaming; the hub <c>--memory</c>, as
/// none of the peers keeps anything either) beside ASP.NET Core SignalR (WebSockets, ServerSentEvents, LongPolling),
/// NATS core pub/sub and Redis pub/sub. Per N: delivered messages/s (publishing as fast as the publisher may),
/// latency p50 / p99 / p99.9 at a fixed rate, server CPU per delivered message and loopback bytes per delivered message.
/// </summary>
internal sealed class FanOutScenario : IScenario
{
    internal const int PayloadPadding = 40; // {"t":<ticks>,"p":"…"} comes to 64 bytes

    public string Name => "fanout";
    public string Description => "1 publisher -> 1, 100, 1,000 subscribers per transport, Switchboard vs SignalR, NATS, Redis: delivered msg/s, latency p50/p99/p99.9, server CPU, bytes";

    /// <summary>One system and transport under test: how to make a subscriber and the publisher.</summary>
    private sealed record Contender(string Key, string System, Side Side, Func<FanOutClient> NewClient, Func<string, Task<IFanOutPublisher>> NewPublisher);

    public async Task RunAsync(Report report, BenchOptions options)
    {
        var sizes = options.FanOutSubscribers;
        // Each subscriber is a socket here and one in the server (two for SignalR's SSE and long polling, which keep the
        // negotiate connection too): the largest N must leave room under the open-file limit of each process.
        var limit = MachineInfo.ReadOpenFileLimit();
        if (limit > 0 && sizes.Max() * 3 + 256 > limit)
        {
            throw new BenchSetupException($"{sizes.Max():N0} subscribers need about {sizes.Max() * 3 + 256:N0} open files in this process; the limit is {limit:N0} (ulimit -n)");
        }
        var connections = sizes.Max() + 64;

        await using (var hub = await ServerProcess.StartHubAsync("--memory"))
        {
            using var http = Load.Client(hub.Address, connections);
            async Task<IFanOutPublisher> Publisher(string topic)
            {
                await http.PutAsync($"/v1/topics/{topic}", null);
                return await SwitchboardPublisher.ConnectAsync(hub.Address, topic);
            }
            Contender[] ours =
            [
                new("ws-json", "switchboard ws-json", Side.Switchboard, () => new SwitchboardWebSocketClient(hub.Address, proto: false), Publisher),
                new("ws-proto", "switchboard ws-proto", Side.Switchboard, () => new SwitchboardWebSocketClient(hub.Address, proto: true), Publisher),
                new("ws-json-batch", "switchboard ws-json ?batch=true", Side.Switchboard, () => new SwitchboardWebSocketClient(hub.Address, proto: false, batch: true), Publisher),
                new("ws-compact", "switchboard ws-json compact envelope", Side.Switchboard, () => new SwitchboardWebSocketClient(hub.Address, proto: false, compact: true), Publisher),
                new("ws-compact-batch", "switchboard ws-json compact ?batch=true", Side.Switchboard, () => new SwitchboardWebSocketClient(hub.Address, proto: false, batch: true, compact: true), Publisher),
                new("ws-proto-batch", "switchboard ws-proto ?batch=true", Side.Switchboard, () => new SwitchboardWebSocketClient(hub.Address, proto: true, batch: true), Publisher),
                new("ws-plain", "switchboard ws-plain", Side.Switchboard, () => new SwitchboardPlainWebSocketClient(hub.Address), Publisher),
                new("sse", "switchboard sse", Side.Switchboard, () => new SwitchboardSseClient(http), Publisher),
                new("sse-payload", "switchboard sse ?data=payload", Side.Switchboard, () => new SwitchboardSseClient(http, "?data=payload"), Publisher),
                new("longpoll", "switchboard long poll", Side.Switchboard, () => new SwitchboardLongPollClient(http), Publisher),
                new("longpoll-payload", "switchboard long poll ?fields=payload", Side.Switchboard, () => new SwitchboardLongPollClient(http, query: "&fields=payload"), Publisher),
                new("poll", "switchboard poll (100 ms)", Side.Switchboard, () => new SwitchboardLongPollClient(http, wait: 0, TimeSpan.FromMilliseconds(100)), Publisher),
                new("grpc", "switchboard grpc", Side.Switchboard, () => new SwitchboardGrpcClient(hub.Address), Publisher),
            ];
            await RunAllAsync(report, options, sizes, hub.Pid, ours);
        }

        await using (var signalR = await ServerProcess.StartPeerAsync("signalr-server"))
        {
            report.Version("SignalR (ASP.NET Core)", Environment.Version.ToString());
            Func<string, Task<IFanOutPublisher>> publisher = async topic => await SignalRPublisher.ConnectAsync(signalR.Address, topic);
            Contender[] theirs =
            [
                new("websockets", "SignalR WebSockets", Side.Peer, () => new SignalRClient(signalR.Address, HttpTransportType.WebSockets), publisher),
                new("signalr-sse", "SignalR ServerSentEvents", Side.Peer, () => new SignalRClient(signalR.Address, HttpTransportType.ServerSentEvents), publisher),
                new("longpolling", "SignalR LongPolling", Side.Peer, () => new SignalRClient(signalR.Address, HttpTransportType.LongPolling), publisher),
            ];
            await RunAllAsync(report, options, sizes, signalR.Pid, theirs);
        }

        if (options.Includes("nats"))
        {
            if (NatsServer.Find() is null)
            {
                report.Skip(Name, "NATS core pub/sub", NatsServer.Missing);
            }
            else
            {
                await using var nats = await NatsServer.StartAsync();
                report.Version("nats-server", NatsServer.Version());
                report.Version("NATS.Net", NatsServer.ClientVersion());
                Contender[] natsCore = [new("nats", "NATS core", Side.Peer, () => new NatsSubscriberClient(nats), async topic => await NatsPublisher.ConnectAsync(nats, topic))];
                await RunAllAsync(report, options, sizes, nats.Pid, natsCore);
            }
        }

        if (options.Includes("redis"))
        {
            if (!RedisPeer.Installed)
            {
                report.Skip(Name, "Redis pub/sub", RedisPeer.Missing);
            }
            else
            {
                await using var redis = await Switchboard.Testing.RedisServer.StartAsync("everysec");
                var pid = redis.Pid ?? throw new BenchSetupException("redis-server exited right after it started");
                report.Version("redis-server", RedisPeer.Version());
                report.Version("StackExchange.Redis", RedisPeer.ClientVersion());
                Contender[] pubSub = [new("redis", "Redis pub/sub", Side.Peer, () => new RedisSubscriberClient(redis.Configuration), async topic => await RedisPublisher.ConnectAsync(redis.Configuration, topic))];
                await RunAllAsync(report, options, sizes, pid, pubSub);
            }
        }
    }

    private async Task RunAllAsync(Report report, BenchOptions options, IReadOnlyList<int> sizes, int pid, Contender[] contenders)
    {
        foreach (var contender in contenders.Where(c => options.Includes(c.Key)))
        {
            foreach (var n in sizes)
            {
                await MeasureAsync(report, options, pid, contender, n);
            }
        }
    }

    /// <summary>Messages per throughput run: about a million deliveries in a full run (fewer for one subscriber), bounded both ways.</summary>
    private static int Messages(int subscribers, bool quick)
        => quick ? Math.Clamp(5_000 / subscribers, 100, 500) : Math.Clamp(1_000_000 / subscribers, 1_000, 20_000);

    /// <summary>The fixed rate of the latency runs: 1,000 msg/s, but at most 100,000 deliveries/s, so that 1,000 subscribers measure latency rather than overload.</summary>
    private static int Rate(int subscribers) => Math.Min(1000, 100_000 / subscribers);

    private async Task MeasureAsync(Report report, BenchOptions options, int pid, Contender contender, int n)
    {
        var subscribers = n == 1 ? "1 subscriber" : $"{n:N0} subscribers";
        var rate = Rate(n);
        TimeSpan cpuTime() => ServerProcess.CpuTimeOf(pid);
        var delivered = report.Add(Name, contender.System, $"delivered, {subscribers}", "messages/s", higherIsBetter: true, contender.Side);
        var p50 = report.Add(Name, contender.System, $"latency p50 at {rate:N0} msg/s, {subscribers}", "ms", higherIsBetter: false, contender.Side);
        var p99 = report.Add(Name, contender.System, $"latency p99 at {rate:N0} msg/s, {subscribers}", "ms", higherIsBetter: false, contender.Side);
        var p999 = report.Add(Name, contender.System, $"latency p99.9 at {rate:N0} msg/s, {subscribers}", "ms", higherIsBetter: false, contender.Side);
        var cpu = report.Add(Name, contender.System, $"server CPU per million delivered, {subscribers}", "CPU s", higherIsBetter: false, contender.Side);
        // The same work for every system: at full speed a faster server delivers more per second on the cores it shares with
        // the load generator, so its CPU per message also carries more contention; at a fixed rate both do equal work.
        var cpuPaced = report.Add(Name, contender.System, $"server CPU per million delivered at {rate:N0} msg/s, {subscribers}", "CPU s", higherIsBetter: false, contender.Side);
        var bytes = report.Add(Name, contender.System, $"loopback bytes per delivered message, {subscribers}", "bytes", higherIsBetter: false, contender.Side);
        var label = $"{contender.System}, {subscribers}";
        var messages = Messages(n, options.Quick);

        var topic = "fan" + Guid.NewGuid().ToString("N")[..8];
        using var setup = new CancellationTokenSource(TimeSpan.FromSeconds(120));
        var clients = new List<FanOutClient>(n);
        await using var publisher = await contender.NewPublisher(topic);
        try
        {
            for (var started = 0; started < n; started += 50)
            {
                var batch = Enumerable.Range(0, Math.Min(50, n - started)).Select(_ => contender.NewClient()).ToList();
                clients.AddRange(batch);
                await Task.WhenAll(batch.Select(c => c.StartAsync(topic, setup.Token)));
            }
            await ReadyAsync(clients, publisher, label);
            await WarmUpAsync(clients, publisher, pid, rate, options.Quick ? 50 : messages, label, options.Quick);

            for (var run = 0; run < options.Runs; run++)
            {
                // Throughput: publish as fast as the publisher may, until every subscriber has every message (or nothing has
                // arrived for a while: a peer that drops messages under load is measured by what it delivered).
                var before = clients.Sum(c => c.Received);
                var cpuBefore = cpuTime();
                var bytesBefore = ServerProcess.LoopbackBytes();
                var clock = Stopwatch.StartNew();
                for (var i = 0; i < messages; i++)
                {
                    await publisher.PublishAsync(FanOutClient.Payload(PayloadPadding));
                }
                var expected = before + (long)messages * n;
                var (count, elapsed) = await DrainAsync(clients, expected, clock, options.Quick);
                var got = count - before;
                if (got < (long)messages * n)
                {
                    report.Note(Name, $"{label}: {(long)messages * n - got:N0} of {(long)messages * n:N0} deliveries never arrived in run {run + 1} (dropped or stuck)");
                }
                delivered.Runs.Add(got / elapsed.TotalSeconds);
                cpu.Runs.Add((cpuTime() - cpuBefore).TotalSeconds / Math.Max(1, got) * 1_000_000);
                bytes.Runs.Add((double)(ServerProcess.LoopbackBytes() - bytesBefore) / Math.Max(1, got));

                // Latency at a fixed rate, paced every 10 ms.
                foreach (var client in clients)
                {
                    client.Sample(true);
                }
                var pacedCpuBefore = cpuTime();
                var sent = await PaceAsync(publisher, rate, options.Quick ? 0.3 : 4.0); // quick: 300 messages at 1,000 msg/s, thousands of latency samples
                await publisher.FlushAsync();
                var (pacedCount, _) = await DrainAsync(clients, count + (long)sent * n, Stopwatch.StartNew(), options.Quick);
                cpuPaced.Runs.Add((cpuTime() - pacedCpuBefore).TotalSeconds / Math.Max(1, pacedCount - count) * 1_000_000);
                var latencies = clients.SelectMany(c => { c.Sample(false); return c.Latencies(); }).ToList();
                p50.Runs.Add(Measurement.Percentile(latencies, 50));
                p99.Runs.Add(Measurement.Percentile(latencies, 99));
                p999.Runs.Add(Measurement.Percentile(latencies, 99.9));
                BenchOptions.Progress($"{label}: {delivered.Runs[^1]:N0} delivered/s, p50 {p50.Runs[^1]:0.00} ms, p99 {p99.Runs[^1]:0.00} ms, "
                    + $"p99.9 {p999.Runs[^1]:0.00} ms, {cpu.Runs[^1]:0.0} CPU s/M ({cpuPaced.Runs[^1]:0.0} at {rate:N0} msg/s), {bytes.Runs[^1]:0} B/msg");
            }
        }
        finally
        {
            foreach (var batch in clients.Chunk(100))
            {
                await Task.WhenAll(batch.Select(c => c.DisposeAsync().AsTask()));
            }
        }
    }

    /// <summary>
    /// Warm-up, not measured: a burst of <paramref name="burst"/>, then the fixed rate until the server has settled — its
    /// JIT no longer recompiling (a .NET server's tiered-compilation worker used no CPU in the last second) and its CPU
    /// per message within 10% of the second before (at most 45 s). A fresh process spends its first seconds to tens of
    /// seconds compiling (tiered JIT with PGO, in the background), code not shipped precompiled (the hub's own) more than
    /// the shared framework's (SignalR's); in steps, so that CPU alone can look steady while it goes on. Unwarmed it
    /// showed as 2-3x the CPU per message and the worst tail in whichever run it fell. A server runs for days; the runs
    /// measure that state.
    /// </summary>
    private static async Task WarmUpAsync(List<FanOutClient> clients, IFanOutPublisher publisher, int pid, int rate, int burst, string label, bool quick)
    {
        var settled = clients.Sum(c => c.Received);
        var warm = burst;
        for (var i = 0; i < burst; i++)
        {
            await publisher.PublishAsync(FanOutClient.Payload(PayloadPadding));
        }
        var clock = Stopwatch.StartNew();
        var previous = double.NaN;
        for (var window = 0; window < (quick ? 1 : 45); window++)
        {
            var (cpuBefore, jitBefore) = (ServerProcess.CpuTimeOf(pid), ServerProcess.JitTimeOf(pid));
            var sent = await PaceAsync(publisher, rate, quick ? 0.1 : 1.0);
            warm += sent;
            var perMessage = (ServerProcess.CpuTimeOf(pid) - cpuBefore).TotalSeconds / Math.Max(1, sent);
            var compiling = ServerProcess.JitTimeOf(pid) > jitBefore;
            if (window >= 2 && !compiling && Math.Abs(perMessage - previous) <= 0.1 * previous)
            {
                break;
            }
            previous = perMessage;
        }
        await publisher.FlushAsync();
        await DrainAsync(clients, settled + (long)warm * clients.Count, Stopwatch.StartNew(), quick);
        BenchOptions.Progress($"{label}: warmed up for {clock.Elapsed.TotalSeconds:0} s at {rate:N0} msg/s");
    }

    /// <summary>Publishes at <paramref name="rate"/> per second for <paramref name="seconds"/>, paced every 10 ms; gives the count published.</summary>
    internal static async Task<int> PaceAsync(IFanOutPublisher publisher, int rate, double seconds)
    {
        var paced = Stopwatch.StartNew();
        var sent = 0;
        while (paced.Elapsed.TotalSeconds < seconds)
        {
            var due = (int)(paced.Elapsed.TotalSeconds * rate);
            for (; sent < due; sent++)
            {
                await publisher.PublishAsync(FanOutClient.Payload(PayloadPadding));
            }
            await Task.Delay(10);
        }
        return sent;
    }

    /// <summary>
    /// Publishes probes until every subscriber has one (a subscription is live end to end, whatever the transport
    /// confirms by itself), then waits for the deliveries to settle. Bounded: 30 s.
    /// </summary>
    internal static async Task ReadyAsync(List<FanOutClient> clients, IFanOutPublisher publisher, string label)
    {
        var clock = Stopwatch.StartNew();
        while (clients.Any(c => c.Received == 0))
        {
            if (clock.Elapsed > TimeSpan.FromSeconds(30))
            {
                throw new InvalidOperationException($"{label}: {clients.Count(c => c.Received == 0)} of {clients.Count} subscribers received nothing within 30 s of subscribing");
            }
            await publisher.PublishAsync(FanOutClient.Payload(PayloadPadding));
            await publisher.FlushAsync();
            await Task.Delay(50);
        }
        var last = -1L;
        for (var i = 0; i < 100 && clients.Sum(c => c.Received) != last; i++)
        {
            last = clients.Sum(c => c.Received);
            await Task.Delay(150);
        }
    }

    /// <summary>
    /// Waits until the subscribers have <paramref name="expected"/> messages between them, or nothing arrived for a while
    /// (2 s quick, 5 s full), or 120 s passed; gives the count and the time of the last arrival seen.
    /// </summary>
    internal static async Task<(long Count, TimeSpan Elapsed)> DrainAsync(List<FanOutClient> clients, long expected, Stopwatch clock, bool quick)
    {
        var stall = TimeSpan.FromSeconds(quick ? 2 : 5);
        var count = clients.Sum(c => c.Received);
        var progressAt = clock.Elapsed;
        while (count < expected && clock.Elapsed < TimeSpan.FromSeconds(120) && clock.Elapsed - progressAt < stall)
        {
            await Task.Delay(5);
            var now = clients.Sum(c => c.Received);
            if (now != count)
            {
                count = now;
                progressAt = clock.Elapsed;
            }
        }
        return (count, count >= expected ? clock.Elapsed : progressAt);
    }
}
