using System.Diagnostics;
using System.Text.Json;
using Switchboard.Bench.Harness;

namespace Switchboard.Bench.Scenarios;

/// <summary>
/// What the hub's instrumentation costs on its hot paths: the same fan-out (1 publisher → 100 WebSocket JSON
/// subscribers, hub in memory) and durable queue (send → receive → ack, 1/1, SQLite) against hubs that differ only in
/// telemetry — metrics off (<c>Telemetry:Metrics=false</c>: nothing listens to the meters), metrics on (the default:
/// <c>/metrics</c> and the console's figures listen), and metrics with tracing exported over OTLP to a local sink at 0%
/// (the pipeline with no spans), 1% and 100% sampling. Two unmeasured rounds warm every hub up; then runs are interleaved
/// (every configuration once, then again, each round starting one configuration later) so drift on a noisy machine hits
/// all alike, and every measurement waits until all hubs are idle (a traced hub exports its spans after a run); each
/// figure is also given as a ratio to "metrics off".
/// </summary>
internal sealed class TelemetryScenario : IScenario
{
    public string Name => "telemetry";
    public string Description => "instrumentation cost: fan-out (WS JSON, 100 subscribers) and durable queue 1/1 with metrics off, on, and tracing at 0% / 1% / 100%";

    private sealed record Config(string Label, Dictionary<string, string> Environment);

    private sealed class Target(Config config) : IAsyncDisposable
    {
        public Config Config { get; } = config;
        public ServerProcess Memory { get; set; } = null!;
        public ServerProcess Sqlite { get; set; } = null!;
        public TempDirectory Data { get; } = new();
        public HttpClient Http { get; set; } = null!;
        public List<FanOutClient> Subscribers { get; } = [];
        public IFanOutPublisher Publisher { get; set; } = null!;
        public Measurement Delivered { get; set; } = null!;
        public Measurement Cpu { get; set; } = null!;
        public Measurement Queue { get; set; } = null!;
        public Measurement QueueCpu { get; set; } = null!;

        public async ValueTask DisposeAsync()
        {
            foreach (var subscriber in Subscribers)
            {
                await subscriber.DisposeAsync();
            }
            if (Publisher is not null)
            {
                await Publisher.DisposeAsync();
            }
            Http?.Dispose();
            if (Memory is not null)
            {
                await Memory.DisposeAsync();
            }
            if (Sqlite is not null)
            {
                await Sqlite.DisposeAsync();
            }
            Data.Dispose();
        }
    }

    public async Task RunAsync(Report report, BenchOptions options)
    {
        var subscribers = options.Quick ? 10 : 100;
        // ~3 s of fan-out per run: a 1 s window on two shared cores measured the scheduler as much as the hub.
        var messages = options.Quick ? 300 : 30_000;
        var queueLength = TimeSpan.FromSeconds(options.Quick ? 0.5 : 5);
        await using var sink = await ServerProcess.StartPeerAsync("otlp-sink");
        Dictionary<string, string> Tracing(double ratio) => new()
        {
            ["OTEL_EXPORTER_OTLP_ENDPOINT"] = sink.Address.ToString().TrimEnd('/'),
            ["OTEL_EXPORTER_OTLP_PROTOCOL"] = "http/protobuf",
            ["Switchboard__Telemetry__TraceSampleRatio"] = ratio.ToString(System.Globalization.CultureInfo.InvariantCulture),
        };
        Config[] configs =
        [
            new("metrics off", new() { ["Switchboard__Telemetry__Metrics"] = "false" }),
            new("metrics on (default)", []),
            new("metrics + tracing 0%", Tracing(0)),
            new("metrics + tracing 1%", Tracing(0.01)),
            new("metrics + tracing 100%", Tracing(1)),
        ];
        if (options.Quick)
        {
            // The smoke test checks the harness: off, the default and full tracing (which must export) cover it, and
            // leaving out the other two spares four hub processes.
            configs = [configs[0], configs[1], configs[^1]];
        }
        var targets = new List<Target>();
        try
        {
            targets.AddRange(configs.Select(config => new Target(config)));
            // Every hub at once: a start is mostly each process's own JIT and start-up, and ten in a row took 15 s.
            await Task.WhenAll(targets.Select(StartHubsAsync));
            foreach (var target in targets)
            {
                await StartAsync(report, target, subscribers);
            }
            var processes = targets.SelectMany(t => new[] { t.Memory.Pid, t.Sqlite.Pid }).Append(sink.Pid).ToArray();
            // Unmeasured warm-up rounds: a fresh hub's first millions of deliveries run code the JIT is still tiering up
            // (the first measured rounds of an earlier run were 20-40% slower than the last, in every configuration).
            for (var round = 0; round < (options.Quick ? 0 : 2); round++)
            {
                foreach (var target in targets)
                {
                    await FanOutAsync(target, subscribers, messages, options.Quick, measure: false);
                }
            }
            for (var run = 0; run < options.Runs; run++)
            {
                // Each round starts at the next configuration, so none always runs first or right after the 100% hub.
                foreach (var target in targets.Skip(run % targets.Count).Concat(targets.Take(run % targets.Count)))
                {
                    await SettleAsync(processes, options.Quick);
                    await FanOutAsync(target, subscribers, messages, options.Quick);
                    await SettleAsync(processes, options.Quick);
                    var queueCpuBefore = ServerProcess.CpuTimeOf(target.Sqlite.Pid);
                    var queue = await new HubQueuePeer(target.Config.Label, target.Http).EndToEndAsync("telemetry-e2e", 1, 1, queueLength);
                    target.Queue.Runs.Add(queue.UnitsPerSecond);
                    target.QueueCpu.Runs.Add((ServerProcess.CpuTimeOf(target.Sqlite.Pid) - queueCpuBefore).TotalMilliseconds / Math.Max(1, queue.Units) * 1000);
                    BenchOptions.Progress($"{target.Config.Label}: fan-out {target.Delivered.Runs[^1]:N0} delivered/s, {target.Cpu.Runs[^1]:0.00} CPU s/M; "
                        + $"queue {target.Queue.Runs[^1]:N0} msg/s, {target.QueueCpu.Runs[^1]:0} CPU ms/1,000");
                }
            }
            await CheckExportedAsync(sink);
            Summarize(report, targets);
        }
        finally
        {
            foreach (var target in targets)
            {
                await target.DisposeAsync();
            }
        }
    }

    private static async Task StartHubsAsync(Target target)
    {
        var memory = ServerProcess.StartHubAsync(target.Config.Environment, "--memory");
        var sqlite = ServerProcess.StartHubAsync(target.Config.Environment, "--data", target.Data.Path);
        try
        {
            target.Memory = await memory;
        }
        finally
        {
            target.Sqlite = await sqlite; // kept even when the other failed, so that it is stopped with the target
        }
    }

    private async Task StartAsync(Report report, Target target, int subscribers)
    {
        var label = target.Config.Label;
        target.Http = Load.Client(target.Sqlite.Address);
        var system = $"switchboard, {label}";
        target.Delivered = report.Add(Name, system, $"fan-out delivered, {subscribers} WS JSON subscribers", "messages/s", higherIsBetter: true, Side.None);
        target.Cpu = report.Add(Name, system, $"fan-out server CPU per million delivered, {subscribers} subscribers", "CPU s", higherIsBetter: false, Side.None);
        target.Queue = report.Add(Name, system, "durable queue end to end 1/1 (sqlite)", "messages/s", higherIsBetter: true, Side.None);
        // The queue's rate is bound by fsync, whose spread hides a few percent; its CPU per message is not.
        target.QueueCpu = report.Add(Name, system, "durable queue server CPU per thousand messages (send, receive, ack)", "CPU ms", higherIsBetter: false, Side.None);

        var topic = "telemetry" + Guid.NewGuid().ToString("N")[..8];
        using (var http = Load.Client(target.Memory.Address))
        {
            await http.PutAsync($"/v1/topics/{topic}", null);
        }
        target.Publisher = await SwitchboardPublisher.ConnectAsync(target.Memory.Address, topic);
        using var setup = new CancellationTokenSource(TimeSpan.FromSeconds(120));
        for (var i = 0; i < subscribers; i++)
        {
            var client = new SwitchboardWebSocketClient(target.Memory.Address, proto: false);
            target.Subscribers.Add(client);
            await client.StartAsync(topic, setup.Token);
        }
        await FanOutScenario.ReadyAsync(target.Subscribers, target.Publisher, label);
    }

    private static async Task FanOutAsync(Target target, int subscribers, int messages, bool quick, bool measure = true)
    {
        var before = target.Subscribers.Sum(c => c.Received);
        var cpuBefore = ServerProcess.CpuTimeOf(target.Memory.Pid);
        var clock = Stopwatch.StartNew();
        for (var i = 0; i < messages; i++)
        {
            await target.Publisher.PublishAsync(FanOutClient.Payload(FanOutScenario.PayloadPadding));
        }
        var (count, elapsed) = await FanOutScenario.DrainAsync(target.Subscribers, before + (long)messages * subscribers, clock, quick);
        var got = count - before;
        if (!measure)
        {
            return;
        }
        target.Delivered.Runs.Add(got / elapsed.TotalSeconds);
        target.Cpu.Runs.Add((ServerProcess.CpuTimeOf(target.Memory.Pid) - cpuBefore).TotalSeconds / Math.Max(1, got) * 1_000_000);
    }

    /// <summary>
    /// Waits (bounded) until the hubs and the sink are idle: a traced hub exports its spans in batches after a run, and
    /// that work must not be charged to whichever hub is measured next.
    /// </summary>
    private static async Task SettleAsync(int[] processes, bool quick)
    {
        if (quick)
        {
            return;
        }
        var window = TimeSpan.FromMilliseconds(250);
        var before = processes.Sum(pid => ServerProcess.CpuTimeOf(pid).TotalMilliseconds);
        for (var i = 0; i < 60; i++)
        {
            await Task.Delay(window);
            var now = processes.Sum(pid => ServerProcess.CpuTimeOf(pid).TotalMilliseconds);
            if (now - before <= window.TotalMilliseconds * 0.1)
            {
                return; // at most 10% of one core, all of them together (idle hubs tick: heartbeats, meters)
            }
            before = now;
        }
    }

    /// <summary>The tracing hubs really exported spans (else "tracing on" would have measured nothing).</summary>
    private static async Task CheckExportedAsync(ServerProcess sink)
    {
        using var http = new HttpClient { BaseAddress = sink.Address };
        // The exporter batches every 5 s: give it one more round.
        for (var i = 0; i < 80; i++)
        {
            using var count = JsonDocument.Parse(await http.GetStringAsync("/count"));
            if (count.RootElement.GetProperty("traces").GetInt64() > 0)
            {
                return;
            }
            await Task.Delay(100);
        }
        throw new InvalidOperationException("The hubs with tracing on exported no spans to the OTLP sink within 8 s: the tracing figures would measure nothing.");
    }

    private void Summarize(Report report, List<Target> targets)
    {
        var off = targets[0];
        string Ratio(Measurement ours, Measurement baseline) => $"{ours.Median / baseline.Median:0.000}×";
        var rows = targets.Select(t => (IReadOnlyList<string>)
        [
            t.Config.Label,
            $"{t.Delivered.Median:N0}", Ratio(t.Delivered, off.Delivered),
            $"{t.Cpu.Median:0.00}", Ratio(t.Cpu, off.Cpu),
            $"{t.Queue.Median:N0}", Ratio(t.Queue, off.Queue),
            $"{t.QueueCpu.Median:0}", Ratio(t.QueueCpu, off.QueueCpu),
        ]).ToList();
        report.Table(new ExtraTable(Name, "Instrumentation cost (medians; ratios to metrics off)",
            ["hub", "fan-out delivered/s", "×", "CPU s per M delivered", "×", "queue 1/1 msg/s", "×", "queue CPU ms per 1,000", "×"], rows,
            "Goal: metrics and sampled tracing cost under 5% on these paths (throughput ratio ≥ 0.95, CPU ratio ≤ 1.05)."));
    }
}
