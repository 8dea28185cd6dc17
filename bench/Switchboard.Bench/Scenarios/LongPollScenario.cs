using System.Diagnostics;
using System.Text.Json;
using Switchboard.Bench.Harness;

namespace Switchboard.Bench.Scenarios;

/// <summary>
/// Long-poll wake-up on the durable hub: a poll parked on a topic, then a publish; the time from sending the publish
/// to receiving the poll's answer. In the same run, the references: the publish round trip alone (send -> 201, the
/// floor: a poll is woken only after the commit) and plain polling every 100 ms (what long polling replaces).
/// </summary>
internal sealed class LongPollScenario : IScenario
{
    private const string Topic = "lp";

    /// <summary>
    /// Time for a poll to reach the hub and park before the publish is sent. A loopback request takes well under a
    /// millisecond; 5 ms leaves room on a loaded machine. (A poll that had not parked yet would answer from history
    /// at once, which could only make the wake-up figure look better, never worse.)
    /// </summary>
    private static readonly TimeSpan ParkTime = TimeSpan.FromMilliseconds(5);

    /// <summary>Bound on one run's each phase: far above its normal length (~2-10 s), reached only if the hub stalls.</summary>
    private static readonly TimeSpan PhaseLimit = TimeSpan.FromSeconds(120);

    public string Name => "longpoll";
    public string Description => "long-poll wake-up latency vs the publish round trip and 100 ms polling (durable hub)";

    public async Task RunAsync(Report report, BenchOptions options)
    {
        var rounds = options.Quick ? 30 : 300;
        var polledRounds = rounds / 5; // each costs ~100 ms: 60 samples per run
        var wake = Percentiles(report, "long poll: publish sent -> parked poll answered");
        var publishBeside = Percentiles(report, "publish round trip (send -> 201) while a poll is parked");
        var publishAlone = Percentiles(report, "publish round trip (send -> 201), no poller");
        var polling = Percentiles(report, "polling every 100 ms: publish sent -> the poll that sees it answered");

        using var data = new TempDirectory();
        await using var hub = await ServerProcess.StartHubAsync("--data", data.Path);
        using var publisher = Load.Client(hub.Address);
        using var poller = Load.Client(hub.Address);
        var body = "{\"payload\":" + Load.Payload(256) + "}";
        var offset = await PublishAsync(publisher, body);
        // Warm-up (JIT, connections): a few rounds of each kind, not measured.
        for (var i = 0; i < 20; i++)
        {
            (offset, _, _) = await LongPollRoundAsync(publisher, poller, body, offset);
        }

        for (var run = 0; run < options.Runs; run++)
        {
            var wakes = new List<double>();
            var besides = new List<double>();
            var phase = Stopwatch.StartNew();
            for (var i = 0; i < rounds && phase.Elapsed < PhaseLimit; i++)
            {
                (offset, var wakeMs, var publishMs) = await LongPollRoundAsync(publisher, poller, body, offset);
                wakes.Add(wakeMs);
                besides.Add(publishMs);
            }

            var alone = new List<double>();
            phase.Restart();
            for (var i = 0; i < rounds && phase.Elapsed < PhaseLimit; i++)
            {
                var started = Stopwatch.GetTimestamp();
                offset = await PublishAsync(publisher, body);
                alone.Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
            }

            (offset, var seen) = await PollingAsync(publisher, poller, body, offset, polledRounds);

            Add(wake, wakes);
            Add(publishBeside, besides);
            Add(publishAlone, alone);
            Add(polling, seen);
            BenchOptions.Progress($"run {run + 1}: long poll p50 {wake.P50.Runs[^1]:0.00} ms (p99 {wake.P99.Runs[^1]:0.00}), publish alone p50 {publishAlone.P50.Runs[^1]:0.00} ms, "
                + $"100 ms polling p50 {polling.P50.Runs[^1]:0.0} ms; {wakes.Count} + {alone.Count} + {seen.Count} samples");
        }
        report.Ratio(Name, "long-poll wake-up p50 / publish round trip alone p50", wake.P50, publishAlone.P50);
        report.Ratio(Name, "long-poll wake-up p99 / publish round trip alone p99", wake.P99, publishAlone.P99);
        report.Ratio(Name, "long-poll wake-up p50 / 100 ms polling p50", wake.P50, polling.P50);
    }

    private sealed record Triple(Measurement P50, Measurement P99, Measurement Max);

    private Triple Percentiles(Report report, string what) => new(
        report.Add(Name, what + ", p50", "ms", higherIsBetter: false),
        report.Add(Name, what + ", p99", "ms", higherIsBetter: false),
        report.Add(Name, what + ", max", "ms", higherIsBetter: false));

    private static void Add(Triple figure, List<double> samples)
    {
        figure.P50.Runs.Add(Measurement.Percentile(samples, 50));
        figure.P99.Runs.Add(Measurement.Percentile(samples, 99));
        figure.Max.Runs.Add(samples.Count == 0 ? double.NaN : samples.Max());
    }

    /// <summary>One poll parked after <paramref name="offset"/>, then one publish; each side timed from the publish's send.</summary>
    private static async Task<(long Offset, double WakeMs, double PublishMs)> LongPollRoundAsync(HttpClient publisher, HttpClient poller, string body, long offset)
    {
        var poll = poller.GetStringAsync($"/v1/topics/{Topic}/messages?after={offset}&wait=30");
        await Task.Delay(ParkTime);
        if (poll.IsCompleted)
        {
            throw new InvalidOperationException("the long poll answered before anything was published: " + await poll);
        }
        var started = Stopwatch.GetTimestamp();
        var published = PublishAsync(publisher, body).ContinueWith(t => (Offset: t.Result, Ms: Stopwatch.GetElapsedTime(started).TotalMilliseconds), TaskScheduler.Default);
        var answer = await poll;
        var wakeMs = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
        var (next, publishMs) = await published;
        if (!answer.Contains($"\"offset\":{next}", StringComparison.Ordinal))
        {
            throw new InvalidOperationException($"the long poll did not return the published message {next}: {answer}");
        }
        return (next, wakeMs, publishMs);
    }

    /// <summary>
    /// Plain polling: a poller asks every 100 ms (GET without wait); publishes land at random points of its cycle.
    /// A message's latency is from its publish being sent to the answer of the first poll that carries it.
    /// </summary>
    private static async Task<(long Offset, List<double> Seen)> PollingAsync(HttpClient publisher, HttpClient poller, string body, long offset, int count)
    {
        var clock = Stopwatch.StartNew();
        var seenAt = new Dictionary<long, double>();
        using var stop = new CancellationTokenSource(PhaseLimit);
        var after = offset;
        var polling = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                using var page = JsonDocument.Parse(await poller.GetStringAsync($"/v1/topics/{Topic}/messages?after={after}", CancellationToken.None));
                var answeredAt = clock.Elapsed.TotalMilliseconds;
                foreach (var message in page.RootElement.GetProperty("messages").EnumerateArray())
                {
                    after = message.GetProperty("offset").GetInt64();
                    lock (seenAt)
                    {
                        seenAt[after] = answeredAt;
                    }
                }
                try
                {
                    await Task.Delay(100, stop.Token);
                }
                catch (OperationCanceledException)
                {
                    break;
                }
            }
        });

        var sent = new Dictionary<long, double>();
        for (var i = 0; i < count && clock.Elapsed < PhaseLimit; i++)
        {
            await Task.Delay(Random.Shared.Next(20, 120));
            var at = clock.Elapsed.TotalMilliseconds;
            offset = await PublishAsync(publisher, body);
            sent[offset] = at;
        }
        // Bounded: the last publish is seen by the next poll, ~100 ms later; give up after 5 s.
        var deadline = clock.Elapsed + TimeSpan.FromSeconds(5);
        while (clock.Elapsed < deadline)
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
        lock (seenAt)
        {
            var missing = sent.Keys.Where(o => !seenAt.ContainsKey(o)).ToList();
            if (missing.Count > 0)
            {
                throw new InvalidOperationException($"polling never saw {missing.Count} published messages (first: {missing[0]})");
            }
            return (offset, sent.Select(s => seenAt[s.Key] - s.Value).ToList());
        }
    }

    private static async Task<long> PublishAsync(HttpClient http, string body)
    {
        using var response = await http.PostAsync($"/v1/topics/{Topic}/messages", Load.Json(body));
        var text = await response.Content.ReadAsStringAsync();
        if ((int)response.StatusCode != 201)
        {
            throw new InvalidOperationException($"publish answered {(int)response.StatusCode}: {text}");
        }
        using var json = JsonDocument.Parse(text);
        return json.RootElement.GetProperty("offset").GetInt64();
    }
}
