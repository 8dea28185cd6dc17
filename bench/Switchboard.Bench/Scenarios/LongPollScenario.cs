using System.Diagnostics;
using System.Text.Json;
using Switchboard.Bench.Harness;

namespace Switchboard.Bench.Scenarios;

/// <summary>
/// Long-poll wake-up: a poll parked on the hub, then a publish; the time from sending the publish to the poll's
/// answer. Measured next to the publish round trip alone (its floor: the wake-up follows the commit) and plain
/// polling every 100 ms (what long polling replaces).
/// </summary>
internal sealed class LongPollScenario : IScenario
{
    public string Name => "longpoll";
    public string Description => "long-poll wake-up latency vs the publish round trip and 100 ms polling (durable hub)";

    public async Task RunAsync(Report report, BenchOptions options)
    {
        var rounds = options.Quick ? 100 : 300;
        var wakeP50 = report.Add(Name, "long poll: publish sent -> poll answered, p50", "ms", higherIsBetter: false);
        var wakeP99 = report.Add(Name, "long poll: publish sent -> poll answered, p99", "ms", higherIsBetter: false);
        var publishP50 = report.Add(Name, "publish round trip (201, fsync'd), p50", "ms", higherIsBetter: false);
        var publishP99 = report.Add(Name, "publish round trip (201, fsync'd), p99", "ms", higherIsBetter: false);
        var pollP50 = report.Add(Name, "polling every 100 ms: publish -> seen, p50", "ms", higherIsBetter: false);
        var pollP99 = report.Add(Name, "polling every 100 ms: publish -> seen, p99", "ms", higherIsBetter: false);

        await using var hub = await ServerProcess.StartHubAsync("--data", Path.Combine(Path.GetTempPath(), "switchboard-bench-" + Guid.NewGuid().ToString("N")[..12]));
        using var publisher = Load.Client(hub.Address);
        using var poller = Load.Client(hub.Address);
        var body = "{\"payload\":" + Load.Payload(64) + "}";
        var offset = await PublishAsync(publisher, body);

        for (var run = 0; run < options.Runs; run++)
        {
            var wakes = new List<double>();
            var publishes = new List<double>();
            for (var i = 0; i < rounds; i++)
            {
                var poll = poller.GetStringAsync($"/v1/topics/lp/messages?after={offset}&wait=30");
                // Give the poll time to park on the hub (a request's trip); the measurement starts at the publish.
                await Task.Delay(5);
                var started = Stopwatch.StartNew();
                // Each side is timed when it completes, independently of the other.
                var published = PublishAsync(publisher, body).ContinueWith(t => (Offset: t.Result, Ms: started.Elapsed.TotalMilliseconds), TaskScheduler.Default);
                var answer = await poll;
                wakes.Add(started.Elapsed.TotalMilliseconds);
                (offset, var publishMs) = await published;
                publishes.Add(publishMs);
                if (!answer.Contains($"\"offset\":{offset}", StringComparison.Ordinal))
                {
                    throw new InvalidOperationException("the long poll did not return the published message: " + answer);
                }
            }
            wakeP50.Runs.Add(Measurement.Percentile(wakes, 50));
            wakeP99.Runs.Add(Measurement.Percentile(wakes, 99));
            publishP50.Runs.Add(Measurement.Percentile(publishes, 50));
            publishP99.Runs.Add(Measurement.Percentile(publishes, 99));

            // Plain polling at 100 ms: a poller asks every 100 ms; publishes land at random points of its cycle.
            var clock = Stopwatch.StartNew();
            var sent = new Dictionary<long, double>();
            var seenAt = new Dictionary<long, double>();
            using var stop = new CancellationTokenSource();
            var after = offset;
            var polling = Task.Run(async () =>
            {
                while (!stop.IsCancellationRequested)
                {
                    using var page = JsonDocument.Parse(await poller.GetStringAsync($"/v1/topics/lp/messages?after={after}"));
                    foreach (var message in page.RootElement.GetProperty("messages").EnumerateArray())
                    {
                        lock (seenAt)
                        {
                            seenAt[message.GetProperty("offset").GetInt64()] = clock.Elapsed.TotalMilliseconds;
                        }
                        after = message.GetProperty("offset").GetInt64();
                    }
                    await Task.Delay(100);
                }
            });
            for (var i = 0; i < rounds / 5; i++)
            {
                await Task.Delay(Random.Shared.Next(20, 120));
                var at = clock.Elapsed.TotalMilliseconds;
                offset = await PublishAsync(publisher, body);
                sent[offset] = at;
            }
            while (true)
            {
                lock (seenAt)
                {
                    if (seenAt.ContainsKey(offset))
                    {
                        break;
                    }
                }
                await Task.Delay(10);
            }
            await stop.CancelAsync();
            await polling;
            var seen = sent.Select(s => seenAt[s.Key] - s.Value).ToList();
            pollP50.Runs.Add(Measurement.Percentile(seen, 50));
            pollP99.Runs.Add(Measurement.Percentile(seen, 99));
            BenchOptions.Progress($"run {run + 1}: long poll p50 {wakeP50.Runs[^1]:0.00} ms, publish p50 {publishP50.Runs[^1]:0.00} ms, polling p50 {pollP50.Runs[^1]:0.0} ms");
        }
        report.Ratio(Name, "long-poll wake-up p50 / publish round trip p50", wakeP50, publishP50);
        report.Ratio(Name, "long-poll wake-up p50 / 100 ms polling p50", wakeP50, pollP50);
    }

    private static async Task<long> PublishAsync(HttpClient http, string body)
    {
        using var response = await http.PostAsync("/v1/topics/lp/messages", Load.Json(body));
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        return json.RootElement.GetProperty("offset").GetInt64();
    }
}
