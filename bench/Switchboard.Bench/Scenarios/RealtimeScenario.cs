using System.Diagnostics;
using System.Globalization;
using Microsoft.AspNetCore.Http.Connections;
using Switchboard.Bench.Harness;

namespace Switchboard.Bench.Scenarios;

/// <summary>
/// The protocol guide's "Real-time Options Comparison" (polling, long polling, SSE, WebSocket: latency, server load,
/// complexity), measured: 100 subscribers (quick: 10) follow one topic while a publisher sends 20 messages/s, a feed's
/// pace rather than a flood; per technique the latency from publish to receipt (p50, p99), the server's load (CPU as a
/// share of one core over the window, polls and all) and loopback bytes per delivered message. The hub runs in memory
/// (the techniques are compared, not the engine); SignalR's long polling, SSE and WebSockets are measured beside it
/// (SignalR has no plain polling). Long polling, SSE and WebSocket are also measured in the lean form that carries what
/// SignalR carries (<c>?fields=payload</c>, <c>?data=payload</c>, the compact envelope), beside the same SignalR figures.
/// The result is also one table, the guide's with the measured figures next to its words.
/// </summary>
internal sealed class RealtimeScenario : IScenario
{
    private const int Rate = 20;
    private static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(500);

    public string Name => "realtime";
    public string Description => "the guide's Real-time Options Comparison, measured: polling, long polling, SSE, WebSocket at 20 msg/s to 100 subscribers — latency, server CPU, bytes per message (Switchboard and SignalR)";

    /// <summary>
    /// A technique (<paramref name="Base"/>, in one of Switchboard's forms when <paramref name="Form"/> is set): the guide's
    /// words, and how Switchboard and SignalR subscribe with it (SignalR: null when it has none). Every form of a technique
    /// is compared with SignalR's figure for it.
    /// </summary>
    private sealed record Technique(string Base, string? Form, string GuideLatency, string GuideLoad, Func<Uri, HttpClient, FanOutClient> Ours, HttpTransportType? SignalR)
    {
        public string Name => Form is null ? Base : $"{Base}, {Form}";

        public string System => Form is null ? "switchboard" : $"switchboard {Form}";
    }

    private static readonly Technique[] Techniques =
    [
        new($"polling (every {PollInterval.TotalMilliseconds:0} ms)", null, "High", "High", (_, http) => new SwitchboardLongPollClient(http, wait: 0, PollInterval), null),
        new("long polling", null, "Medium", "Medium", (_, http) => new SwitchboardLongPollClient(http), HttpTransportType.LongPolling),
        new("long polling", "?fields=payload", "Medium", "Medium", (_, http) => new SwitchboardLongPollClient(http, query: "&fields=payload"), HttpTransportType.LongPolling),
        new("SSE", null, "Low", "Low", (_, http) => new SwitchboardSseClient(http), HttpTransportType.ServerSentEvents),
        new("SSE", "?data=payload", "Low", "Low", (_, http) => new SwitchboardSseClient(http, "?data=payload"), HttpTransportType.ServerSentEvents),
        new("WebSocket", null, "Lowest", "Low", (hub, _) => new SwitchboardWebSocketClient(hub, proto: false), HttpTransportType.WebSockets),
        new("WebSocket", "compact envelope", "Lowest", "Low", (hub, _) => new SwitchboardWebSocketClient(hub, proto: false, compact: true), HttpTransportType.WebSockets),
    ];

    private sealed record Figures(Measurement P50, Measurement P99, Measurement Cpu, Measurement Bytes);

    public async Task RunAsync(Report report, BenchOptions options)
    {
        var subscribers = options.Quick ? 10 : 100;
        var ours = new Dictionary<string, Figures>();
        var theirs = new Dictionary<HttpTransportType, Figures>(); // one measurement per SignalR transport, beside each form of ours
        await using (var hub = await ServerProcess.StartHubAsync("--memory"))
        {
            using var http = Load.Client(hub.Address, subscribers + 64);
            foreach (var technique in Techniques)
            {
                ours[technique.Name] = await MeasureAsync(report, options, technique.System, Side.Switchboard, technique.Base, subscribers, hub,
                    () => technique.Ours(hub.Address, http),
                    async topic =>
                    {
                        await http.PutAsync($"/v1/topics/{topic}", null);
                        return await SwitchboardPublisher.ConnectAsync(hub.Address, topic);
                    });
            }
        }
        await using (var signalR = await ServerProcess.StartPeerAsync("signalr-server"))
        {
            foreach (var technique in Techniques.Where(t => t.SignalR is not null).DistinctBy(t => t.SignalR))
            {
                theirs[technique.SignalR!.Value] = await MeasureAsync(report, options, "SignalR", Side.Peer, technique.Base, subscribers, signalR,
                    () => new SignalRClient(signalR.Address, technique.SignalR!.Value),
                    async topic => await SignalRPublisher.ConnectAsync(signalR.Address, topic));
            }
        }

        static string F(Measurement m) => Measurement.Format(m.Median);
        report.Table(new ExtraTable(Name, "The guide's Real-time Options Comparison, measured",
            ["technique", "guide: latency", "guide: server load", "Switchboard latency p50 / p99 (ms)", "Switchboard server CPU (% of a core)", "Switchboard bytes per message", "SignalR p50 / p99 (ms), CPU %, bytes"],
            [.. Techniques.Select(t => (IReadOnlyList<string>)
            [
                t.Name, t.GuideLatency, t.GuideLoad, $"{F(ours[t.Name].P50)} / {F(ours[t.Name].P99)}", F(ours[t.Name].Cpu), F(ours[t.Name].Bytes),
                t.SignalR is { } transport && theirs.TryGetValue(transport, out var s) ? $"{F(s.P50)} / {F(s.P99)}, {F(s.Cpu)} %, {F(s.Bytes)}" : "(none)",
            ])],
            string.Create(CultureInfo.InvariantCulture,
                $"{subscribers} subscribers on one topic, {Rate} messages/s of 64 bytes, hub in memory; CPU is the server process's over the window as a share of one core; bytes are loopback bytes (both directions, headers included) per delivered message. {options.Runs} run(s), medians.")));
    }

    private async Task<Figures> MeasureAsync(Report report, BenchOptions options, string system, Side side, string technique, int n,
        ServerProcess server, Func<FanOutClient> newClient, Func<string, Task<IFanOutPublisher>> newPublisher)
    {
        var figures = new Figures(
            report.Add(Name, system, $"{technique}: latency p50", "ms", higherIsBetter: false, side),
            report.Add(Name, system, $"{technique}: latency p99", "ms", higherIsBetter: false, side),
            report.Add(Name, system, $"{technique}: server CPU", "% of a core", higherIsBetter: false, side),
            report.Add(Name, system, $"{technique}: loopback bytes per delivered message", "bytes", higherIsBetter: false, side));
        var label = $"{system} {technique}";
        var topic = "rt" + Guid.NewGuid().ToString("N")[..8];
        using var setup = new CancellationTokenSource(TimeSpan.FromSeconds(120));
        var clients = new List<FanOutClient>(n);
        await using var publisher = await newPublisher(topic);
        try
        {
            for (var started = 0; started < n; started += 50)
            {
                var batch = Enumerable.Range(0, Math.Min(50, n - started)).Select(_ => newClient()).ToList();
                clients.AddRange(batch);
                await Task.WhenAll(batch.Select(c => c.StartAsync(topic, setup.Token)));
            }
            await FanOutScenario.ReadyAsync(clients, publisher, label);
            // Warm-up at the same pace, not measured: a fresh server's first seconds are JIT compilation (tiered, in the
            // background), which would count as load.
            if (!options.Quick)
            {
                var settled = clients.Sum(c => c.Received);
                var warm = await FanOutScenario.PaceAsync(publisher, Rate, 3.0);
                await publisher.FlushAsync();
                await FanOutScenario.DrainAsync(clients, settled + (long)warm * n, Stopwatch.StartNew(), options.Quick);
            }
            var length = options.Quick ? 0.5 : 10.0; // quick: 10 messages to each of 10 subscribers, 100 latency samples
            for (var run = 0; run < options.Runs; run++)
            {
                foreach (var client in clients)
                {
                    client.Sample(true);
                }
                var before = clients.Sum(c => c.Received);
                var cpuBefore = server.CpuTime();
                var bytesBefore = ServerProcess.LoopbackBytes();
                var clock = Stopwatch.StartNew();
                var sent = await FanOutScenario.PaceAsync(publisher, Rate, length);
                // Load over the paced window only (the drain below waits for the stragglers of polling).
                var cpu = (server.CpuTime() - cpuBefore).TotalSeconds / clock.Elapsed.TotalSeconds * 100;
                await publisher.FlushAsync();
                var (count, _) = await FanOutScenario.DrainAsync(clients, before + (long)sent * n, Stopwatch.StartNew(), options.Quick);
                var delivered = Math.Max(1, count - before);
                var latencies = clients.SelectMany(c => { c.Sample(false); return c.Latencies(); }).ToList();
                figures.P50.Runs.Add(Measurement.Percentile(latencies, 50));
                figures.P99.Runs.Add(Measurement.Percentile(latencies, 99));
                figures.Cpu.Runs.Add(cpu);
                figures.Bytes.Runs.Add((double)(ServerProcess.LoopbackBytes() - bytesBefore) / delivered);
                BenchOptions.Progress($"{label}: p50 {figures.P50.Runs[^1]:0.00} ms, p99 {figures.P99.Runs[^1]:0.00} ms, server CPU {cpu:0.0} % of a core, {figures.Bytes.Runs[^1]:0} B/msg ({delivered:N0} delivered)");
            }
        }
        finally
        {
            foreach (var batch in clients.Chunk(100))
            {
                await Task.WhenAll(batch.Select(c => c.DisposeAsync().AsTask()));
            }
        }
        return figures;
    }
}
