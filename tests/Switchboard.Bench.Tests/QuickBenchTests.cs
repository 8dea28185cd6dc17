using System.Text.Json;

namespace Switchboard.Bench.Tests;

/// <summary>
/// `switchboard bench --quick`: the command runs every scenario of the harness once, briefly, and writes a report that
/// holds each scenario's figures (or says which peer was skipped and why), the machine, and a PNG chart per figure set.
/// Speed is not checked: the point is that the harness and every scenario work.
/// </summary>
public sealed class QuickBenchTests
{
    /// <summary>Every scenario the harness has; a new one must be added here (and so to the smoke test).</summary>
    private static readonly string[] Scenarios =
        ["engine", "rest-publish", "rest-get", "grpc", "queue", "reqreply", "longpoll", "realtime", "fanout", "idle", "scaleout", "client", "telemetry"];

    [Fact]
    public async Task Quick_mode_runs_every_scenario_and_writes_json_markdown_and_charts()
    {
        var output = Path.Combine(Path.GetTempPath(), "switchboard-bench-test-" + Guid.NewGuid().ToString("N")[..8]);
        try
        {
            var run = await BenchCommand.RunAsync("--quick", "--runs", "1", "--out", output);
            Assert.True(run.ExitCode == 0, $"switchboard bench --quick exited with {run.ExitCode}:\n{run.Tail}");

            using var json = JsonDocument.Parse(await File.ReadAllTextAsync(Path.Combine(output, "results.json")));
            var root = json.RootElement;
            var machine = root.GetProperty("machine");
            Assert.True(machine.GetProperty("cores").GetInt32() > 0);
            Assert.True(machine.GetProperty("memoryGiB").GetDouble() > 0);
            Assert.False(string.IsNullOrWhiteSpace(machine.GetProperty("os").GetString()));
            Assert.StartsWith(".NET", machine.GetProperty("dotnet").GetString(), StringComparison.Ordinal);
            Assert.True(root.GetProperty("versions").TryGetProperty("SignalR (ASP.NET Core)", out _));
            // The host's CPU load over the run, from /proc/stat: the bench kept the CPUs busy, and steal is a share.
            var host = root.GetProperty("host");
            Assert.InRange(host.GetProperty("busyPercent").GetDouble(), 1, 100);
            Assert.InRange(host.GetProperty("stealPercent").GetDouble(), 0, 100);
            Assert.InRange(host.GetProperty("ioWaitPercent").GetDouble(), 0, 100);

            var outcomes = root.GetProperty("scenarios").EnumerateArray().ToDictionary(s => s.GetProperty("name").GetString()!, s => s);
            var measurements = root.GetProperty("measurements").EnumerateArray().ToList();
            var skipped = root.GetProperty("skipped").EnumerateArray().ToList();
            foreach (var scenario in Scenarios)
            {
                Assert.True(outcomes.TryGetValue(scenario, out var outcome), $"the report has no outcome for '{scenario}'");
                Assert.True(outcome.GetProperty("status").GetString() == "ran", $"'{scenario}' did not run: {outcome.GetProperty("error")}");
                var figures = measurements.Where(m => m.GetProperty("scenario").GetString() == scenario).ToList();
                var measured = figures.Count(m => m.GetProperty("runs").GetArrayLength() == 1 && m.GetProperty("median").ValueKind == JsonValueKind.Number);
                var skips = skipped.Count(s => s.GetProperty("scenario").GetString() == scenario);
                Assert.True(measured > 0 || skips > 0, $"'{scenario}' has neither a figure nor a skipped peer in the report");
            }

            // Each peer is measured when its server is installed, and otherwise named as skipped with the reason.
            CheckPeer(measurements, skipped, "/usr/bin/redis-server", "fanout", "Redis pub/sub", "redis-server is not installed");
            CheckPeer(measurements, skipped, "/usr/sbin/nats-server", "fanout", "NATS core", "nats-server is not installed");
            CheckPeer(measurements, skipped, "/usr/sbin/nats-server", "queue", "NATS JetStream", "nats-server is not installed");
            CheckPeer(measurements, skipped, "/usr/lib/rabbitmq/bin/rabbitmq-server", "queue", "RabbitMQ", "rabbitmq-server is not installed");

            // Switchboard's figures are set against the best peer of each figure.
            Assert.Contains(root.GetProperty("comparisons").EnumerateArray(), c => c.GetProperty("scenario").GetString() == "fanout" && c.GetProperty("bestPeer").ValueKind == JsonValueKind.String);

            var charts = root.GetProperty("charts").EnumerateArray().Select(c => c.GetProperty("file").GetString()!).ToList();
            Assert.NotEmpty(charts);
            foreach (var chart in charts)
            {
                var bytes = await File.ReadAllBytesAsync(Path.Combine(output, chart));
                Assert.True(bytes.Length > 1000 && bytes.AsSpan(0, 8).SequenceEqual(new byte[] { 0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A }), $"{chart} is not a PNG");
            }
            foreach (var scenario in Scenarios.Where(s => measurements.Any(m => m.GetProperty("scenario").GetString() == s)))
            {
                Assert.Contains(root.GetProperty("charts").EnumerateArray(), c => c.GetProperty("scenario").GetString() == scenario);
            }

            var markdown = await File.ReadAllTextAsync(Path.Combine(output, "results.md"));
            Assert.Contains("Machine: ", markdown, StringComparison.Ordinal);
            Assert.Contains("was taken by the host (steal)", markdown, StringComparison.Ordinal);
            Assert.Contains("## Switchboard against the best peer", markdown, StringComparison.Ordinal);
            Assert.Contains("## The guide's Real-time Options Comparison, measured", markdown, StringComparison.Ordinal);
            Assert.All(Scenarios, s => Assert.Contains($"### {s}\n", markdown, StringComparison.Ordinal));
            Assert.Contains($"== [1/{Scenarios.Length}] engine", run.Output, StringComparison.Ordinal); // the progress display
            Assert.Contains("engine done in", run.Output, StringComparison.Ordinal);
        }
        finally
        {
            if (Directory.Exists(output))
            {
                Directory.Delete(output, recursive: true);
            }
        }
    }

    [Fact]
    public async Task An_unknown_scenario_is_refused_with_the_list_of_scenarios()
    {
        var run = await BenchCommand.RunAsync("nosuch");
        Assert.Equal(2, run.ExitCode);
        Assert.Contains("unknown scenario or option 'nosuch'", run.Output, StringComparison.Ordinal);
        Assert.All(Scenarios, s => Assert.Contains(s, run.Output, StringComparison.Ordinal));
    }

    [Fact]
    public async Task Hub_env_settings_reach_the_hubs_and_a_malformed_one_is_refused()
    {
        var malformed = await BenchCommand.RunAsync("reqreply", "--hub-env", "NOVALUE");
        Assert.Equal(2, malformed.ExitCode);
        Assert.Contains("--hub-env is 'NOVALUE'; give NAME=VALUE", malformed.Output, StringComparison.Ordinal);

        // A setting the hub refuses at start shows that it reached the hub.
        var refused = await BenchCommand.RunAsync("reqreply", "--quick", "--only", "nats", "--hub-env", "Switchboard__MaxWait=20m");
        Assert.Equal(1, refused.ExitCode);
        Assert.Contains("exited with code", refused.Output, StringComparison.Ordinal);
        Assert.Contains("Switchboard:MaxWait must be between 0s and 10m", refused.Output, StringComparison.Ordinal);
    }

    private static void CheckPeer(List<JsonElement> measurements, List<JsonElement> skipped, string server, string scenario, string system, string reason)
    {
        if (File.Exists(server))
        {
            Assert.Contains(measurements, m => m.GetProperty("scenario").GetString() == scenario
                && (m.GetProperty("system").GetString() ?? "").StartsWith(system, StringComparison.Ordinal)
                && m.GetProperty("runs").GetArrayLength() == 1);
        }
        else
        {
            Assert.Contains(skipped, s => s.GetProperty("scenario").GetString() == scenario
                && s.GetProperty("what").GetString()!.Contains(system, StringComparison.Ordinal)
                && s.GetProperty("reason").GetString()!.Contains(reason, StringComparison.Ordinal));
        }
    }
}
