using System.Diagnostics;
using Switchboard.Bench.Harness;

namespace Switchboard.Bench.Scenarios;

/// <summary>
/// One contender of the fan-out at one N: its subscribers connected and ready, its publisher, its figures, warmed up
/// once (<see cref="StartAsync"/>); then each <see cref="MeasureAsync"/> is one run — a throughput run and a run at the
/// fixed rate — whose results join the contender's figures.
/// </summary>
internal sealed class FanOutRun : IAsyncDisposable
{
    private readonly Report _report;
    private readonly BenchOptions _options;
    private readonly string _scenario;
    private readonly FanOutScenario.Contender _contender;
    private readonly int _subscribers;
    private readonly string _topic;
    private readonly List<FanOutClient> _clients;
    private readonly IFanOutPublisher _publisher;
    private readonly string _label;
    private readonly int _rate;
    private readonly int _messages;
    private readonly Measurement _delivered, _p50, _p99, _p999, _cpu, _cpuPaced, _bytes;

    private FanOutRun(Report report, BenchOptions options, string scenario, FanOutScenario.Contender contender, int n, string topic, List<FanOutClient> clients, IFanOutPublisher publisher)
    {
        (_report, _options, _scenario, _contender, _subscribers, _topic, _clients, _publisher) = (report, options, scenario, contender, n, topic, clients, publisher);
        var subscribers = n == 1 ? "1 subscriber" : $"{n:N0} subscribers";
        _label = $"{contender.System}, {subscribers}";
        _rate = FanOutScenario.Rate(n);
        _messages = FanOutScenario.Messages(n, options.Quick);
        Measurement Add(string figure, string unit, bool higherIsBetter) => report.Add(scenario, contender.System, figure, unit, higherIsBetter, contender.Side);
        _delivered = Add($"delivered, {subscribers}", "messages/s", higherIsBetter: true);
        _p50 = Add($"latency p50 at {_rate:N0} msg/s, {subscribers}", "ms", higherIsBetter: false);
        _p99 = Add($"latency p99 at {_rate:N0} msg/s, {subscribers}", "ms", higherIsBetter: false);
        _p999 = Add($"latency p99.9 at {_rate:N0} msg/s, {subscribers}", "ms", higherIsBetter: false);
        _cpu = Add($"server CPU per million delivered, {subscribers}", "CPU s", higherIsBetter: false);
        // The same work for every system: at full speed a faster server delivers more per second on the cores it shares with
        // the load generator, so its CPU per message also carries more contention; at a fixed rate both do equal work.
        _cpuPaced = Add($"server CPU per million delivered at {_rate:N0} msg/s, {subscribers}", "CPU s", higherIsBetter: false);
        _bytes = Add($"loopback bytes per delivered message, {subscribers}", "bytes", higherIsBetter: false);
    }

    /// <summary>Connects <paramref name="n"/> subscribers and the publisher of a topic of its own, checks every one receives, and warms the server up.</summary>
    public static async Task<FanOutRun> StartAsync(Report report, BenchOptions options, string scenario, FanOutScenario.Contender contender, int n)
    {
        var topic = "fan" + Guid.NewGuid().ToString("N")[..8];
        using var setup = new CancellationTokenSource(TimeSpan.FromSeconds(120));
        var clients = new List<FanOutClient>(n);
        IFanOutPublisher? publisher = null;
        try
        {
            publisher = await contender.NewPublisher(topic);
            for (var started = 0; started < n; started += 50)
            {
                var batch = Enumerable.Range(0, Math.Min(50, n - started)).Select(_ => contender.NewClient()).ToList();
                clients.AddRange(batch);
                await Task.WhenAll(batch.Select(c => c.StartAsync(topic, setup.Token)));
            }
            var run = new FanOutRun(report, options, scenario, contender, n, topic, clients, publisher);
            await FanOutScenario.ReadyAsync(clients, publisher, run._label);
            await FanOutScenario.WarmUpAsync(clients, publisher, contender.Pid, run._rate, options.Quick ? 50 : run._messages, run._label, options.Quick);
            return run;
        }
        catch
        {
            await DisposeAllAsync(contender, topic, clients, publisher);
            throw;
        }
    }

    /// <summary>One run: throughput (publishing as fast as the publisher may), then latency and CPU at the fixed rate.</summary>
    public async Task MeasureAsync(int run)
    {
        TimeSpan cpuTime() => ServerProcess.CpuTimeOf(_contender.Pid);
        var n = _subscribers;
        // Throughput: publish as fast as the publisher may, until every subscriber has every message (or nothing has
        // arrived for a while: a peer that drops messages under load is measured by what it delivered).
        var before = _clients.Sum(c => c.Received);
        var cpuBefore = cpuTime();
        var bytesBefore = ServerProcess.LoopbackBytes();
        var clock = Stopwatch.StartNew();
        for (var i = 0; i < _messages; i++)
        {
            await _publisher.PublishAsync(FanOutClient.Payload(FanOutScenario.PayloadPadding));
        }
        var expected = before + (long)_messages * n;
        var (count, elapsed) = await FanOutScenario.DrainAsync(_clients, expected, clock, _options.Quick);
        var got = count - before;
        if (got < (long)_messages * n)
        {
            _report.Note(_scenario, $"{_label}: {(long)_messages * n - got:N0} of {(long)_messages * n:N0} deliveries never arrived in run {run + 1} (dropped or stuck)");
        }
        _delivered.Runs.Add(got / elapsed.TotalSeconds);
        _cpu.Runs.Add((cpuTime() - cpuBefore).TotalSeconds / Math.Max(1, got) * 1_000_000);
        _bytes.Runs.Add((double)(ServerProcess.LoopbackBytes() - bytesBefore) / Math.Max(1, got));

        // Latency at a fixed rate, paced every 10 ms.
        foreach (var client in _clients)
        {
            client.Sample(true);
        }
        var pacedCpuBefore = cpuTime();
        var sent = await FanOutScenario.PaceAsync(_publisher, _rate, _options.Quick ? 0.15 : 4.0); // quick: 150 messages at 1,000 msg/s, over a thousand latency samples
        await _publisher.FlushAsync();
        var (pacedCount, _) = await FanOutScenario.DrainAsync(_clients, count + (long)sent * n, Stopwatch.StartNew(), _options.Quick);
        _cpuPaced.Runs.Add((cpuTime() - pacedCpuBefore).TotalSeconds / Math.Max(1, pacedCount - count) * 1_000_000);
        var latencies = _clients.SelectMany(c => { c.Sample(false); return c.Latencies(); }).ToList();
        _p50.Runs.Add(Measurement.Percentile(latencies, 50));
        _p99.Runs.Add(Measurement.Percentile(latencies, 99));
        _p999.Runs.Add(Measurement.Percentile(latencies, 99.9));
        BenchOptions.Progress($"{_label}: {_delivered.Runs[^1]:N0} delivered/s, p50 {_p50.Runs[^1]:0.00} ms, p99 {_p99.Runs[^1]:0.00} ms, "
            + $"p99.9 {_p999.Runs[^1]:0.00} ms, {_cpu.Runs[^1]:0.0} CPU s/M ({_cpuPaced.Runs[^1]:0.0} at {_rate:N0} msg/s), {_bytes.Runs[^1]:0} B/msg");
    }

    public ValueTask DisposeAsync() => new(DisposeAllAsync(_contender, _topic, _clients, _publisher));

    private static async Task DisposeAllAsync(FanOutScenario.Contender contender, string topic, List<FanOutClient> clients, IFanOutPublisher? publisher)
    {
        foreach (var batch in clients.Chunk(100))
        {
            await Task.WhenAll(batch.Select(c => c.DisposeAsync().AsTask()));
        }
        if (publisher is not null)
        {
            await publisher.DisposeAsync();
        }
        if (contender.DropTopic is { } drop && publisher is not null)
        {
            await drop(topic);
        }
    }
}
