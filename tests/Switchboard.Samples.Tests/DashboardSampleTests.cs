using System.Text.RegularExpressions;
using Switchboard.EndToEnd.Tests;

namespace Switchboard.Samples.Tests;

/// <summary>samples/dashboard: metrics published over REST, followed over Server-Sent Events with EventSource.</summary>
public sealed partial class DashboardSampleTests
{
    [Fact]
    public async Task The_watcher_receives_every_metric_the_producer_published_over_SSE()
    {
        await using var hub = await HubProcess.StartAsync("--memory");
        await using var watch = Sample.Node(hub.Address, "samples/dashboard/watch.mjs", "--count", "9");
        await watch.LineAsync("watching metrics.* on ");

        await using var producer = Sample.Node(hub.Address, "samples/dashboard/producer.mjs", "--count", "3", "--interval", "200");
        await producer.ExitsWithAsync(0);
        await watch.ExitsWithAsync(0);

        // Three rounds of three topics: each metric line of the producer (topic, offset, values) arrives at the watcher as is.
        var published = producer.Lines.Where(line => Metric().IsMatch(line)).ToList();
        var received = watch.Lines.Where(line => Metric().IsMatch(line)).ToList();
        Assert.Equal(9, published.Count);
        Assert.Equal(published.Order(StringComparer.Ordinal), received.Order(StringComparer.Ordinal));
        foreach (var topic in new[] { "metrics.cpu", "metrics.memory", "metrics.load" })
        {
            // In each topic, in offset order, with nothing missing.
            var offsets = received.Select(line => Metric().Match(line)).Where(m => m.Groups["topic"].Value == topic).Select(m => int.Parse(m.Groups["offset"].Value)).ToList();
            Assert.Equal([1, 2, 3], offsets);
        }
        Assert.Contains(received, line => CpuLine().IsMatch(line));
    }

    [Fact]
    public async Task Without_a_hub_producer_and_watcher_say_so_and_exit_1()
    {
        var nowhere = Sample.NowhereAddress();
        await using var producer = Sample.Node(nowhere, "samples/dashboard/producer.mjs", "--count", "1", "--interval", "100");
        await using var watch = Sample.Node(nowhere, "samples/dashboard/watch.mjs");
        await producer.ExitsWithAsync(1);
        await watch.ExitsWithAsync(1);
        Assert.Contains("producer: cannot reach the hub at http://127.0.0.1:", producer.Output, StringComparison.Ordinal);
        Assert.Contains("watch: cannot follow /v1/events", watch.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_pattern_the_hub_refuses_ends_the_watcher_with_the_hubs_reason()
    {
        await using var hub = await HubProcess.StartAsync("--memory");
        await using var watch = Sample.Node(hub.Address, "samples/dashboard/watch.mjs", "--topic", "not a topic");
        await watch.ExitsWithAsync(1);
        Assert.Contains("HTTP 400", watch.Output, StringComparison.Ordinal);
        Assert.Contains("'not a topic'", watch.Output, StringComparison.Ordinal);
    }

    [GeneratedRegex(@"^(?<topic>metrics\.\w+) @(?<offset>\d+) ")]
    private static partial Regex Metric();

    [GeneratedRegex(@"^metrics\.cpu @\d+ cpu \d+\.\d% of \d+ cores$")]
    private static partial Regex CpuLine();
}
