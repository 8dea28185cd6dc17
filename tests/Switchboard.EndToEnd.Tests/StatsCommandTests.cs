using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace Switchboard.EndToEnd.Tests;

/// <summary>
/// <c>switchboard stats</c> as a user runs it against the real hub: the figures after real publishes and sends, one JSON
/// snapshot, a block a second while it watches, Ctrl+C, a hub that is away, and one that wants an admin key.
/// Stdout is redirected here, so the command prints plain blocks (no ANSI), as it would into a file.
/// </summary>
public sealed partial class StatsCommandTests
{
    private static readonly TimeSpan CommandTimeout = TimeSpan.FromSeconds(60);

    // Every wait below ends on a line the command prints; this bounds each one (the hub pushes a snapshot a second).
    private static readonly TimeSpan OutputTimeout = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task Stats_once_shows_what_was_published_and_the_depth_of_a_queue_sent_to()
    {
        await using var hub = await HubProcess.StartAsync("--memory");
        using var http = new HttpClient { BaseAddress = hub.Address };
        await PublishAsync(http, "stats.orders", 3);
        await SendAsync(http, "stats.jobs", 2);

        var (code, output) = await RunAsync(null, "stats", "--once", "--server", hub.Address.ToString());

        Assert.True(code == 0, output);
        Assert.Single(Header().Matches(output)); // one snapshot, then it exits
        Assert.Matches(@"(?m)^messages\s+published 3 \(\d+\.\d/s\)", output);
        Assert.Matches(@"(?m)^rest\s+\d+\.\d\s+\d+\.\d\s+3\s", output);
        Assert.Matches(@"(?m)^queues\s+sent 2 \(", output);
        Assert.Matches(@"(?m)^stats\.jobs\s+2\s+0\s+0\s+0$", output);
        Assert.Matches(@"(?m)^latency\s+p99 ", output);
        Assert.DoesNotContain('\e', output);
    }

    [Fact]
    public async Task Stats_json_once_prints_one_snapshot_with_the_hubs_fields()
    {
        await using var hub = await HubProcess.StartAsync("--memory");
        using var http = new HttpClient { BaseAddress = hub.Address };
        await PublishAsync(http, "stats.json", 2);
        await SendAsync(http, "stats.work", 1);

        var (code, output) = await RunAsync(null, "stats", "--json", "--once", "--server", hub.Address.ToString());

        Assert.True(code == 0, output);
        var snapshot = JsonDocument.Parse(output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Single()).RootElement;
        Assert.Equal(JsonValueKind.String, snapshot.GetProperty("time").ValueKind);
        Assert.Matches("^[0-9a-f]{32}$", snapshot.GetProperty("node").GetString());
        Assert.True(snapshot.GetProperty("intervalSeconds").GetDouble() > 0);
        Assert.Equal(2, snapshot.GetProperty("totals").GetProperty("published").GetInt64());
        Assert.Equal(1, snapshot.GetProperty("totals").GetProperty("queueSent").GetInt64());
        Assert.Equal(JsonValueKind.Number, snapshot.GetProperty("rates").GetProperty("publishedPerSecond").ValueKind);
        Assert.True(snapshot.GetProperty("latency").TryGetProperty("latencyP99Ms", out _));
        var protocols = snapshot.GetProperty("protocols");
        Assert.Equal(["rest", "websocket", "sse", "grpc", "longpoll", "poll"], protocols.EnumerateObject().Select(p => p.Name));
        Assert.Equal(2, protocols.GetProperty("rest").GetProperty("published").GetInt64());
        var queue = snapshot.GetProperty("queues").EnumerateArray().Single(q => q.GetProperty("name").GetString() == "stats.work");
        Assert.Equal((1L, 0L, 0L, 0L), (queue.GetProperty("ready").GetInt64(), queue.GetProperty("leased").GetInt64(), queue.GetProperty("delayed").GetInt64(), queue.GetProperty("dead").GetInt64()));
    }

    [Fact]
    public async Task Stats_prints_a_block_a_second_that_follows_the_publish_rate_and_exits_0_on_ctrl_c()
    {
        await using var hub = await HubProcess.StartAsync("--memory");
        using var http = new HttpClient { BaseAddress = hub.Address };
        await using var stats = HubProcess.Launch(["stats", "--server", hub.Address.ToString()]);
        await stats.WaitForOutputAsync(o => Header().Count(o) >= 1, OutputTimeout);

        await PublishAsync(http, "stats.live", 20);

        // Twenty publishes land in one or two of the hub's seconds: some block shows REST's rate above zero, and the total.
        await stats.WaitForOutputAsync(o => RestRates().Matches(o).Any(m => double.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture) > 0), OutputTimeout);
        await stats.WaitForOutputAsync(o => o.Contains("published 20 (", StringComparison.Ordinal), OutputTimeout);
        stats.Interrupt();

        Assert.Equal(0, await stats.WaitForExitAsync(CommandTimeout));
        Assert.True(Header().Count(stats.Output) >= 2, stats.Output);
        Assert.DoesNotContain('\e', stats.Output);
    }

    [Fact]
    public async Task Stats_says_when_the_stream_drops_and_picks_up_the_restarted_hub()
    {
        await using var first = await HubProcess.StartAsync("--memory");
        var address = first.Address;
        await using var stats = HubProcess.Launch(["stats", "--server", address.ToString()]);
        await stats.WaitForOutputAsync(o => Header().Count(o) >= 1, OutputTimeout);
        first.Terminate();
        Assert.Equal(0, await first.WaitForExitAsync(CommandTimeout));
        await stats.WaitForOutputAsync(o => o.Contains("lost the stats stream", StringComparison.Ordinal), OutputTimeout);
        Assert.Contains("reconnecting in", stats.Output, StringComparison.Ordinal);

        // The same address again (a restart); the command finds it on its own, with the new node's figures.
        await using var second = HubProcess.Launch(["serve", "--memory", "--urls", $"http://127.0.0.1:{address.Port}"]);
        await second.Listening.WaitAsync(CommandTimeout);
        // stdout and stderr are separate pipes: the notice and the new node's block arrive in either order.
        await stats.WaitForOutputAsync(o => o.Contains("the stats stream is back", StringComparison.Ordinal)
            && Header().Matches(o).Select(m => m.Groups[1].Value).Distinct().Count() == 2, OutputTimeout);
        stats.Interrupt();
        Assert.Equal(0, await stats.WaitForExitAsync(CommandTimeout));
    }

    [Fact]
    public async Task Stats_against_a_hub_that_is_not_there_exits_3_with_one_clear_line()
    {
        foreach (var arguments in new[] { new[] { "stats" }, ["stats", "--once", "--json"] })
        {
            var (code, output) = await RunAsync(null, [.. arguments, "--server", "http://127.0.0.1:1"]);
            Assert.Equal(3, code);
            var line = Assert.Single(output.Split('\n', StringSplitOptions.RemoveEmptyEntries));
            Assert.StartsWith("switchboard: cannot reach the hub at http://127.0.0.1:1", line, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task Stats_on_a_hub_with_api_keys_says_which_credential_it_needs()
    {
        const string admin = "sb_stats-test-admin", publisher = "sb_stats-test-publisher";
        var keys = new Dictionary<string, string>
        {
            ["Switchboard__Auth__ApiKeys__0__Name"] = "operator",
            ["Switchboard__Auth__ApiKeys__0__Hash"] = Hash(admin),
            ["Switchboard__Auth__ApiKeys__0__Scopes__0"] = "admin",
            ["Switchboard__Auth__ApiKeys__1__Name"] = "publisher",
            ["Switchboard__Auth__ApiKeys__1__Hash"] = Hash(publisher),
            ["Switchboard__Auth__ApiKeys__1__Scopes__0"] = "publish:stats.>",
        };
        await using var hub = await HubProcess.StartAsync(keys, "--memory");
        var server = hub.Address.ToString();

        var (code, output) = await RunAsync(null, "stats", "--server", server);
        Assert.Equal(1, code);
        Assert.Contains("requires credentials", output, StringComparison.Ordinal);
        Assert.Contains("'admin' scope", output, StringComparison.Ordinal);
        Assert.Contains("--api-key", output, StringComparison.Ordinal);
        Assert.Contains("SWITCHBOARD_API_KEY", output, StringComparison.Ordinal);

        (code, output) = await RunAsync(null, "stats", "--once", "--server", server, "--api-key", publisher);
        Assert.Equal(1, code);
        Assert.Contains("'admin' scope", output, StringComparison.Ordinal);
        Assert.Contains("403 forbidden", output, StringComparison.Ordinal);

        (code, output) = await RunAsync(null, "stats", "--once", "--server", server, "--api-key", "sb_not-a-key");
        Assert.Equal(1, code);
        Assert.Contains("did not accept the API key", output, StringComparison.Ordinal);

        (code, output) = await RunAsync(new Dictionary<string, string> { ["SWITCHBOARD_API_KEY"] = admin }, "stats", "--once", "--server", server);
        Assert.True(code == 0, output);
        Assert.Matches(@"(?m)^messages\s+published 0 ", output);
    }

    private static async Task<(int ExitCode, string Output)> RunAsync(IReadOnlyDictionary<string, string>? environment, params string[] arguments)
    {
        await using var process = HubProcess.Launch(arguments, environment: environment);
        process.StandardInput.Close();
        var code = await process.WaitForExitAsync(CommandTimeout);
        return (code, process.Output);
    }

    private static async Task PublishAsync(HttpClient http, string topic, int count)
    {
        for (var i = 1; i <= count; i++)
        {
            using var response = await http.PostAsync($"/v1/topics/{topic}/messages", Json($"{{\"payload\":{i}}}"));
            response.EnsureSuccessStatusCode();
        }
    }

    private static async Task SendAsync(HttpClient http, string queue, int count)
    {
        for (var i = 1; i <= count; i++)
        {
            using var response = await http.PostAsync($"/v1/queues/{queue}/messages", Json($"{{\"payload\":{i}}}"));
            response.EnsureSuccessStatusCode();
        }
    }

    private static StringContent Json(string body) => new(body, Encoding.UTF8, "application/json");

    private static string Hash(string key) => Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(Encoding.UTF8.GetBytes(key)));

    // The first line of each block: the time, the uptime, the node (group 1).
    [GeneratedRegex(@"(?m)^switchboard  \d\d:\d\d:\d\d UTC .*node ([0-9a-f]{8})")]
    private static partial Regex Header();

    // REST's row in the protocol table: its IN/S (group 1).
    [GeneratedRegex(@"(?m)^rest\s+(\d+\.\d)\s")]
    private static partial Regex RestRates();
}
