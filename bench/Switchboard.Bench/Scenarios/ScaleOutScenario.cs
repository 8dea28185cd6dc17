using Microsoft.AspNetCore.Http.Connections;
using Switchboard.Bench.Harness;
using Switchboard.Testing;

namespace Switchboard.Bench.Scenarios;

/// <summary>
/// Scale-out on one Redis (a redis-server of the bench's own, appendonly with appendfsync everysec): fan-out
/// (1 publisher on the first node -> 1 topic -> 100 WebSocket subscribers spread round robin over the nodes, 64-byte
/// payloads, delivered messages/s) and durable queues (4 producers / 4 consumers, 256-byte messages, every request to
/// the next node as a round-robin balancer would send it), with 1, 2 and 3 hub nodes; the same on one embedded node
/// (SQLite), the cost of the backplane; and SignalR with its Redis backplane on 1, 2 and 3 nodes, same fan-out.
/// On a 2-core machine more nodes add coordination, not cores: the figures show what the backplane costs, not how
/// far more machines would go.
/// </summary>
internal sealed class ScaleOutScenario : IScenario
{
    private const int Subscribers = 100;
    private const int PayloadPadding = 40;

    public string Name => "scaleout";
    public string Description => "1, 2 and 3 hub nodes on one Redis (fan-out to 100 WebSocket subscribers, queues 4/4) vs one embedded node, and SignalR's Redis backplane on 1-3 nodes (quick: 2 nodes)";

    public async Task RunAsync(Report report, BenchOptions options)
    {
        if (!Peers.RedisPeer.Installed)
        {
            report.Skip(Name, "the whole scenario (the hub's scale-out engine and SignalR's backplane both need Redis)", Peers.RedisPeer.Missing);
            return;
        }
        var messages = options.Quick ? 300 : 5000;
        // Quick: two nodes only, enough to show that the backplane carries the load between nodes.
        int[] counts = options.Quick ? [2] : [1, 2, 3];
        var fanOut = new Dictionary<string, Measurement>();
        var queue = new Dictionary<string, Measurement>();

        using (var data = new TempDirectory())
        await using (var single = await ServerProcess.StartHubAsync("--data", data.Path))
        {
            const string Label = "hub embedded (sqlite), 1 node";
            fanOut[Label] = await FanOutAsync(report, options, "hub embedded (sqlite)", 1, Side.Switchboard, [single.Address], messages, hub: true);
            queue[Label] = await QueueAsync(report, options, Label, [single.Address]);
        }

        await using var redis = await RedisServer.StartAsync("everysec");
        BenchOptions.Progress($"redis-server on {redis.Configuration} (appendonly yes, appendfsync everysec)");
        report.Version("redis-server", Peers.RedisPeer.Version());
        foreach (var n in counts)
        {
            var label = $"hub on Redis, {n} node{(n > 1 ? "s" : "")}";
            var environment = new Dictionary<string, string> { ["Switchboard__Redis__Prefix"] = $"bench{n}" };
            var nodes = new List<ServerProcess>();
            try
            {
                for (var i = 0; i < n; i++)
                {
                    nodes.Add(await ServerProcess.StartHubAsync(environment, "--redis", redis.Configuration, "--node-name", $"node-{i + 1}"));
                }
                fanOut[label] = await FanOutAsync(report, options, "hub on Redis", n, Side.Switchboard, [.. nodes.Select(s => s.Address)], messages, hub: true);
                queue[label] = await QueueAsync(report, options, label, [.. nodes.Select(s => s.Address)]);
            }
            finally
            {
                foreach (var node in nodes)
                {
                    await node.DisposeAsync();
                }
            }
        }

        foreach (var n in counts)
        {
            var label = $"SignalR with Redis backplane, {n} node{(n > 1 ? "s" : "")}";
            var nodes = new List<ServerProcess>();
            try
            {
                for (var i = 0; i < n; i++)
                {
                    nodes.Add(await ServerProcess.StartPeerAsync("signalr-server", new Dictionary<string, string>
                    {
                        ["SIGNALR_REDIS"] = redis.Configuration,
                        ["SIGNALR_REDIS_PREFIX"] = $"signalr{n}",
                    }));
                }
                fanOut[label] = await FanOutAsync(report, options, "SignalR with Redis backplane", n, Side.Peer, [.. nodes.Select(s => s.Address)], messages, hub: false);
            }
            finally
            {
                foreach (var node in nodes)
                {
                    await node.DisposeAsync();
                }
            }
        }

        const string Embedded = "hub embedded (sqlite), 1 node";
        foreach (var n in counts)
        {
            var ours = $"hub on Redis, {n} node{(n > 1 ? "s" : "")}";
            var theirs = $"SignalR with Redis backplane, {n} node{(n > 1 ? "s" : "")}";
            report.Ratio(Name, $"{ours} / {Embedded}: fan-out delivered msg/s", fanOut[ours], fanOut[Embedded]);
            report.Ratio(Name, $"{ours} / {Embedded}: queue 4/4 messages/s", queue[ours], queue[Embedded]);
        }
    }

    private static async Task<Measurement> FanOutAsync(Report report, BenchOptions options, string system, int n, Side side, Uri[] nodes, int messages, bool hub)
    {
        var label = $"{system}, {n} node{(n > 1 ? "s" : "")}";
        var rate = report.Add("scaleout", system, $"fan-out to {Subscribers} WebSocket subscribers, {n} node{(n > 1 ? "s" : "")}", "messages/s", higherIsBetter: true, side);
        var topic = "scale" + Guid.NewGuid().ToString("N")[..8];
        using var setup = new CancellationTokenSource(TimeSpan.FromSeconds(120));
        if (hub)
        {
            using var http = Load.Client(nodes[0]);
            await http.PutAsync($"/v1/topics/{topic}", null, setup.Token);
        }
        // Subscribers round robin over the nodes, as a balancer would place them; the publisher on the first node.
        var clients = Enumerable.Range(0, Subscribers)
            .Select(i => hub ? (FanOutClient)new SwitchboardWebSocketClient(nodes[i % nodes.Length], proto: false) : new SignalRClient(nodes[i % nodes.Length], HttpTransportType.WebSockets))
            .ToList();
        await using IFanOutPublisher publisher = hub ? await SwitchboardPublisher.ConnectAsync(nodes[0], topic) : await SignalRPublisher.ConnectAsync(nodes[0], topic);
        try
        {
            foreach (var batch in clients.Chunk(20))
            {
                await Task.WhenAll(batch.Select(c => c.StartAsync(topic, setup.Token)));
            }
            for (var run = -1; run < options.Runs; run++) // run -1 warms up (connections, JIT), not counted
            {
                var before = clients.Sum(c => c.Received);
                var clock = System.Diagnostics.Stopwatch.StartNew();
                var count = run < 0 ? messages / 5 : messages;
                for (var i = 0; i < count; i++)
                {
                    await publisher.PublishAsync(FanOutClient.Payload(PayloadPadding));
                }
                var expected = before + (long)count * Subscribers;
                while (clients.Sum(c => c.Received) < expected && clock.Elapsed < TimeSpan.FromSeconds(120))
                {
                    await Task.Delay(5); // counters of 100 clients: polled, bounded by the deadline
                }
                var delivered = clients.Sum(c => c.Received) - before;
                if (delivered < (long)count * Subscribers)
                {
                    throw new InvalidOperationException($"{label}: {delivered:N0} of {(long)count * Subscribers:N0} deliveries arrived within 120 s");
                }
                if (run >= 0)
                {
                    rate.Runs.Add(delivered / clock.Elapsed.TotalSeconds);
                    BenchOptions.Progress($"{label}: fan-out {rate.Runs[^1]:N0} delivered/s");
                }
            }
        }
        finally
        {
            foreach (var client in clients)
            {
                await client.DisposeAsync();
            }
        }
        return rate;
    }

    private static async Task<Measurement> QueueAsync(Report report, BenchOptions options, string label, Uri[] nodes)
    {
        var rate = report.Add("scaleout", $"{label}: queue end to end, 4 producers / 4 consumers", "messages/s", higherIsBetter: true);
        using var http = new HttpClient(new RoundRobin(nodes)) { BaseAddress = nodes[0], Timeout = TimeSpan.FromSeconds(60) };
        var peer = new HubQueuePeer(label, http);
        var name = "scale-" + Guid.NewGuid().ToString("N")[..8];
        await peer.EndToEndAsync(name, 4, 4, options.WarmUp); // warm-up, checked but not counted
        await peer.CheckEmptyAsync(name);
        for (var run = 0; run < options.Runs; run++)
        {
            var result = await peer.EndToEndAsync(name, 4, 4, options.RunLength);
            await peer.CheckEmptyAsync(name);
            rate.Runs.Add(result.UnitsPerSecond);
            BenchOptions.Progress($"{label}: queue 4/4 {result.UnitsPerSecond:N0} messages/s");
        }
        return rate;
    }

    /// <summary>Sends each request to the next node, as a round-robin load balancer does (no stickiness).</summary>
    private sealed class RoundRobin(Uri[] nodes) : DelegatingHandler(new SocketsHttpHandler { MaxConnectionsPerServer = 512, UseCookies = false, UseProxy = false })
    {
        private int _next;

        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            var node = nodes[(int)((uint)Interlocked.Increment(ref _next) % (uint)nodes.Length)];
            request.RequestUri = new Uri(node, request.RequestUri!.PathAndQuery);
            return base.SendAsync(request, cancellationToken);
        }
    }
}
