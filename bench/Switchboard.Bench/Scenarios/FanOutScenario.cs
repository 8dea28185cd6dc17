using System.Diagnostics;
using Microsoft.AspNetCore.Http.Connections;
using Switchboard.Bench.Harness;

namespace Switchboard.Bench.Scenarios;

/// <summary>
/// Fan-out, 1 publisher -> 1 topic -> 100 subscribers, 64-byte payloads, per transport, Switchboard beside
/// ASP.NET Core SignalR (WebSockets, ServerSentEvents, LongPolling): delivered messages/s, latency at a fixed
/// 1,000 msg/s, server CPU per delivered message and bytes written per delivered message.
/// </summary>
internal sealed class FanOutScenario : IScenario
{
    private const int Subscribers = 100;
    private const int PayloadPadding = 40; // {"t":<ticks>,"p":"…"} comes to 64 bytes

    public string Name => "fanout";
    public string Description => "1 publisher -> 100 subscribers per transport, Switchboard vs SignalR: throughput, latency, CPU, bytes";

    public async Task RunAsync(Report report, BenchOptions options)
    {
        // Enough deliveries (100 x messages) that CPU time, counted in 10 ms ticks, is measured to a few percent.
        var messages = options.Quick ? 3000 : 10_000;
        var results = new Dictionary<string, (Measurement Rate, Measurement P50, Measurement P99, Measurement Cpu, Measurement Bytes)>();

        await using (var hub = await ServerProcess.StartHubAsync("--memory"))
        {
            using var http = Load.Client(hub.Address);
            foreach (var transport in new[] { "ws-json", "ws-proto", "ws-json-batch", "ws-proto-batch", "sse", "longpoll" }.Where(options.Includes))
            {
                results["switchboard " + transport] = await MeasureAsync(report, options, hub, $"switchboard {transport}", messages,
                    () => transport switch
                    {
                        "ws-json" => new SwitchboardWebSocketClient(hub.Address, proto: false),
                        "ws-proto" => new SwitchboardWebSocketClient(hub.Address, proto: true),
                        "ws-json-batch" => new SwitchboardWebSocketClient(hub.Address, proto: false, batch: true),
                        "ws-proto-batch" => new SwitchboardWebSocketClient(hub.Address, proto: true, batch: true),
                        "sse" => new SwitchboardSseClient(http),
                        _ => new SwitchboardLongPollClient(http),
                    },
                    async topic =>
                    {
                        await http.PutAsync($"/v1/topics/{topic}", null);
                        return await SwitchboardPublisher.ConnectAsync(hub.Address, topic);
                    });
            }
        }
        var peers = new[] { ("websockets", HttpTransportType.WebSockets), ("sse", HttpTransportType.ServerSentEvents), ("longpolling", HttpTransportType.LongPolling) }
            .Where(t => options.Includes(t.Item1 == "sse" ? "signalr-sse" : t.Item1)).ToList();
        await using (var signalR = peers.Count == 0 ? null : await ServerProcess.StartPeerAsync("signalr-server"))
        {
            foreach (var (name, transport) in peers)
            {
                results["signalr " + name] = await MeasureAsync(report, options, signalR!, $"signalr {name}", messages,
                    () => new SignalRClient(signalR!.Address, transport),
                    async topic => await SignalRPublisher.ConnectAsync(signalR!.Address, topic));
            }
        }
        foreach (var (ours, theirs) in new[] { ("switchboard ws-json", "signalr websockets"), ("switchboard ws-proto", "signalr websockets"),
            ("switchboard ws-json-batch", "signalr websockets"), ("switchboard ws-proto-batch", "signalr websockets"), ("switchboard sse", "signalr sse"), ("switchboard longpoll", "signalr longpolling") })
        {
            if (!results.ContainsKey(ours) || !results.ContainsKey(theirs))
            {
                continue;
            }
            report.Ratio(Name, $"{ours} / {theirs}: delivered msg/s", results[ours].Rate, results[theirs].Rate);
            report.Ratio(Name, $"{ours} / {theirs}: p99 latency", results[ours].P99, results[theirs].P99);
            report.Ratio(Name, $"{ours} / {theirs}: CPU per message", results[ours].Cpu, results[theirs].Cpu);
            report.Ratio(Name, $"{ours} / {theirs}: bytes per message", results[ours].Bytes, results[theirs].Bytes);
        }
    }

    private static async Task<(Measurement, Measurement, Measurement, Measurement, Measurement)> MeasureAsync(
        Report report, BenchOptions options, ServerProcess server, string label, int messages,
        Func<FanOutClient> newClient, Func<string, Task<IFanOutPublisher>> newPublisher)
    {
        var rate = report.Add("fanout", $"{label}: delivered", "messages/s", higherIsBetter: true);
        var p50 = report.Add("fanout", $"{label}: latency p50 at 1,000 msg/s", "ms", higherIsBetter: false);
        var p99 = report.Add("fanout", $"{label}: latency p99 at 1,000 msg/s", "ms", higherIsBetter: false);
        var cpu = report.Add("fanout", $"{label}: server CPU per million delivered", "CPU s", higherIsBetter: false);
        var bytes = report.Add("fanout", $"{label}: loopback bytes per delivered message", "bytes", higherIsBetter: false);

        var topic = "fan" + Guid.NewGuid().ToString("N")[..8];
        using var setup = new CancellationTokenSource(TimeSpan.FromSeconds(120));
        var clients = Enumerable.Range(0, Subscribers).Select(_ => newClient()).ToList();
        await using var publisher = await newPublisher(topic);
        foreach (var batch in clients.Chunk(20))
        {
            await Task.WhenAll(batch.Select(c => c.StartAsync(topic, setup.Token)));
        }
        try
        {
            for (var run = 0; run < options.Runs; run++)
            {
                // Throughput: publish as fast as the publisher may, until every subscriber has every message.
                var before = clients.Sum(c => c.Received);
                var cpuBefore = server.CpuTime();
                var bytesBefore = ServerProcess.LoopbackBytes();
                var clock = Stopwatch.StartNew();
                for (var i = 0; i < messages; i++)
                {
                    await publisher.PublishAsync(FanOutClient.Payload(PayloadPadding));
                }
                var expected = before + (long)messages * Subscribers;
                var deadline = TimeSpan.FromSeconds(120);
                while (clients.Sum(c => c.Received) < expected && clock.Elapsed < deadline)
                {
                    await Task.Delay(5);
                }
                var delivered = clients.Sum(c => c.Received) - before;
                rate.Runs.Add(delivered / clock.Elapsed.TotalSeconds);
                cpu.Runs.Add((server.CpuTime() - cpuBefore).TotalSeconds / delivered * 1_000_000);
                bytes.Runs.Add((double)(ServerProcess.LoopbackBytes() - bytesBefore) / delivered);

                // Latency at a fixed 1,000 msg/s: 10 messages every 10 ms.
                foreach (var client in clients)
                {
                    client.Sample(true);
                }
                var paced = Stopwatch.StartNew();
                var sent = 0;
                var length = options.Quick ? 2.0 : 4.0;
                while (paced.Elapsed.TotalSeconds < length)
                {
                    var due = (int)(paced.Elapsed.TotalMilliseconds);
                    while (sent < due)
                    {
                        await publisher.PublishAsync(FanOutClient.Payload(PayloadPadding));
                        sent++;
                    }
                    await Task.Delay(10);
                }
                await publisher.FlushAsync();
                var settle = Stopwatch.StartNew();
                while (clients.Sum(c => c.Received) < expected + (long)sent * Subscribers && settle.Elapsed < TimeSpan.FromSeconds(30))
                {
                    await Task.Delay(5);
                }
                var latencies = clients.SelectMany(c => { c.Sample(false); return c.Latencies(); }).ToList();
                p50.Runs.Add(Measurement.Percentile(latencies, 50));
                p99.Runs.Add(Measurement.Percentile(latencies, 99));
                BenchOptions.Progress($"{label}: {rate.Runs[^1]:N0} delivered/s, p50 {p50.Runs[^1]:0.00} ms, p99 {p99.Runs[^1]:0.00} ms, {cpu.Runs[^1]:0.0} CPU s/M, {bytes.Runs[^1]:0} B/msg");
            }
        }
        finally
        {
            foreach (var client in clients)
            {
                await client.DisposeAsync();
            }
        }
        return (rate, p50, p99, cpu, bytes);
    }
}
