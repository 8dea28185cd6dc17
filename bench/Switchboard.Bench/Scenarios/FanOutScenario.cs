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

    /// <summary>
    /// One system and transport under test: how to make a subscriber and the publisher, and its server's process.
    /// <paramref name="Transport"/> pairs it with the other systems' contender of the same transport (their runs alternate).
    /// <paramref name="DropTopic"/>, for a server that keeps what it delivers (the hub's topics keep 7 days by default), deletes
    /// the contender's topic once it is measured, so the next contender's runs do not carry its history in the same heap.
    /// </summary>
    internal sealed record Contender(string Key, string System, Side Side, string Transport, Func<FanOutClient> NewClient, Func<string, Task<IFanOutPublisher>> NewPublisher, int Pid, Func<string, Task>? DropTopic = null);

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

        // The hub and SignalR run side by side, so that their runs can alternate (see RunAllAsync).
        await using (var hub = await ServerProcess.StartHubAsync("--memory"))
        await using (var signalR = await ServerProcess.StartPeerAsync("signalr-server"))
        {
            using var http = Load.Client(hub.Address, connections);
            async Task<IFanOutPublisher> Publisher(string topic)
            {
                await http.PutAsync($"/v1/topics/{topic}", null);
                return await SwitchboardPublisher.ConnectAsync(hub.Address, topic);
            }
            async Task DropTopic(string topic) => (await http.DeleteAsync($"/v1/topics/{topic}")).EnsureSuccessStatusCode();
            Contender Ours(string key, string system, string transport, Func<FanOutClient> client) => new(key, system, Side.Switchboard, transport, client, Publisher, hub.Pid, DropTopic);
            report.Version("SignalR (ASP.NET Core)", Environment.Version.ToString());
            Func<string, Task<IFanOutPublisher>> signalRPublisher = async topic => await SignalRPublisher.ConnectAsync(signalR.Address, topic);
            Contender Theirs(string key, string system, string family, HttpTransportType transport)
                => new(key, system, Side.Peer, family, () => new SignalRClient(signalR.Address, transport), signalRPublisher, signalR.Pid);
            Contender[] contenders =
            [
                Ours("ws-json", "switchboard ws-json", "ws", () => new SwitchboardWebSocketClient(hub.Address, proto: false)),
                Ours("ws-proto", "switchboard ws-proto", "ws", () => new SwitchboardWebSocketClient(hub.Address, proto: true)),
                Ours("ws-json-batch", "switchboard ws-json ?batch=true", "ws", () => new SwitchboardWebSocketClient(hub.Address, proto: false, batch: true)),
                Ours("ws-compact", "switchboard ws-json compact envelope", "ws", () => new SwitchboardWebSocketClient(hub.Address, proto: false, compact: true)),
                Ours("ws-compact-batch", "switchboard ws-json compact ?batch=true", "ws", () => new SwitchboardWebSocketClient(hub.Address, proto: false, batch: true, compact: true)),
                Ours("ws-proto-batch", "switchboard ws-proto ?batch=true", "ws", () => new SwitchboardWebSocketClient(hub.Address, proto: true, batch: true)),
                Ours("ws-plain", "switchboard ws-plain", "ws", () => new SwitchboardPlainWebSocketClient(hub.Address)),
                Ours("sse", "switchboard sse", "sse", () => new SwitchboardSseClient(http)),
                Ours("sse-payload", "switchboard sse ?data=payload", "sse", () => new SwitchboardSseClient(http, "?data=payload")),
                Ours("longpoll", "switchboard long poll", "longpoll", () => new SwitchboardLongPollClient(http)),
                Ours("longpoll-payload", "switchboard long poll ?fields=payload", "longpoll", () => new SwitchboardLongPollClient(http, query: "&fields=payload")),
                Ours("poll", "switchboard poll (100 ms)", "poll", () => new SwitchboardLongPollClient(http, wait: 0, TimeSpan.FromMilliseconds(100))),
                Ours("grpc", "switchboard grpc", "grpc", () => new SwitchboardGrpcClient(hub.Address)),
                Theirs("websockets", "SignalR WebSockets", "ws", HttpTransportType.WebSockets),
                Theirs("signalr-sse", "SignalR ServerSentEvents", "sse", HttpTransportType.ServerSentEvents),
                Theirs("longpolling", "SignalR LongPolling", "longpoll", HttpTransportType.LongPolling),
            ];
            await RunAllAsync(report, options, sizes, contenders);
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
                Contender[] natsCore = [new("nats", "NATS core", Side.Peer, "nats", () => new NatsSubscriberClient(nats), async topic => await NatsPublisher.ConnectAsync(nats, topic), nats.Pid)];
                await RunAllAsync(report, options, sizes, natsCore);
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
                Contender[] pubSub = [new("redis", "Redis pub/sub", Side.Peer, "redis", () => new RedisSubscriberClient(redis.Configuration), async topic => await RedisPublisher.ConnectAsync(redis.Configuration, topic), pid)];
                await RunAllAsync(report, options, sizes, pubSub);
            }
        }
    }

    /// <summary>
    /// Measures each chosen contender at each N, in pairs: a contender with another system's contender of the same
    /// transport (each server process at most once in a pair). Both are connected and warmed up, then their runs alternate —
    /// run 1 of each, then run 2 of each — so that a drift of the machine over minutes (another VM on the host, the clock's
    /// boost) falls on both alike instead of on whichever ran later. Never two contenders of one server together: each
    /// run would then also pay for the garbage the other's run left in that process (measured: a long poll's p99.9 after
    /// a WebSocket burst on the same hub, 25–57 ms against 15–22 alone). A contender with no partner runs alone.
    /// </summary>
    private async Task RunAllAsync(Report report, BenchOptions options, IReadOnlyList<int> sizes, Contender[] contenders)
    {
        var groups = new List<List<Contender>>();
        foreach (var contender in contenders.Where(c => options.Includes(c.Key)))
        {
            var partner = groups.FirstOrDefault(g => g[0].Transport == contender.Transport && g.All(c => c.Pid != contender.Pid));
            if (partner is null)
            {
                groups.Add([contender]);
            }
            else
            {
                partner.Add(contender);
            }
        }
        foreach (var group in groups)
        {
            foreach (var n in sizes)
            {
                var runs = new List<FanOutRun>();
                try
                {
                    foreach (var contender in group)
                    {
                        runs.Add(await FanOutRun.StartAsync(report, options, Name, contender, n));
                    }
                    for (var run = 0; run < options.Runs; run++)
                    {
                        foreach (var measured in runs)
                        {
                            await measured.MeasureAsync(run);
                        }
                    }
                }
                finally
                {
                    foreach (var measured in runs)
                    {
                        await measured.DisposeAsync();
                    }
                }
            }
        }
    }

    /// <summary>Messages per throughput run: about a million deliveries in a full run (fewer for one subscriber), bounded both ways.</summary>
    internal static int Messages(int subscribers, bool quick)
        => quick ? Math.Clamp(5_000 / subscribers, 100, 500) : Math.Clamp(1_000_000 / subscribers, 1_000, 20_000);

    /// <summary>The fixed rate of the latency runs: 1,000 msg/s, but at most 100,000 deliveries/s, so that 1,000 subscribers measure latency rather than overload.</summary>
    internal static int Rate(int subscribers) => Math.Min(1000, 100_000 / subscribers);

    /// <summary>
    /// Warm-up, not measured: a burst of <paramref name="burst"/>, then the fixed rate until the server has settled — its
    /// JIT no longer recompiling (a .NET server's tiered-compilation worker used no CPU in the last second) and its CPU
    /// per message within 10% of the second before (at most 45 s). A fresh process spends its first seconds to tens of
    /// seconds compiling (tiered JIT with PGO, in the background), code not shipped precompiled (the hub's own) more than
    /// the shared framework's (SignalR's); in steps, so that CPU alone can look steady while it goes on. Unwarmed it
    /// showed as 2-3x the CPU per message and the worst tail in whichever run it fell. A server runs for days; the runs
    /// measure that state.
    /// </summary>
    internal static async Task WarmUpAsync(List<FanOutClient> clients, IFanOutPublisher publisher, int pid, int rate, int burst, string label, bool quick)
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
