using System.Net;
using System.Text.Json;
using Switchboard.Server.WebConsole;
using Switchboard.Server.Tests.Support;

namespace Switchboard.Server.Tests;

/// <summary>
/// The web console's server side: its files (embedded, cacheable, behind a Content-Security-Policy), the protocol advisor's
/// decision table (one table, every rule reachable, bad answers refused with a problem) and the measured comparison.
/// </summary>
public sealed class ConsoleTests
{
    [Fact]
    public async Task The_console_is_served_at_the_root_with_a_self_only_policy_and_revalidated_by_ETag()
    {
        await using var hub = await TestHub.StartAsync("memory");
        using var page = await hub.Http.GetAsync("/");
        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
        Assert.Equal("text/html", page.MediaType()?.MediaType);
        var html = await page.Content.ReadAsStringAsync();
        Assert.Contains("<script type=\"module\" src=\"/console/js/app.js\"></script>", html, StringComparison.Ordinal);
        Assert.DoesNotContain("http://", html.Replace("http://www.w3.org", "", StringComparison.Ordinal), StringComparison.Ordinal); // no CDN
        var policy = page.Header("Content-Security-Policy");
        Assert.Contains("default-src 'self'", policy, StringComparison.Ordinal);
        Assert.Contains("script-src 'self';", policy, StringComparison.Ordinal);
        Assert.Contains("frame-ancestors 'none'", policy, StringComparison.Ordinal);
        Assert.Equal("nosniff", page.Header("X-Content-Type-Options"));

        foreach (var asset in new[] { "/console/console.css", "/console/js/app.js", "/console/js/dashboard.js", "/console/icon.svg", "/console/advisor.json" })
        {
            using var first = await hub.Http.GetAsync(asset);
            Assert.Equal(HttpStatusCode.OK, first.StatusCode);
            var etag = first.Headers.ETag;
            Assert.NotNull(etag);
            Assert.False(etag.IsWeak);
            Assert.Equal("public, no-cache", first.Headers.CacheControl?.ToString());
            using var again = new HttpRequestMessage(HttpMethod.Get, asset);
            again.Headers.IfNoneMatch.Add(etag);
            using var revalidated = await hub.Http.SendAsync(again);
            Assert.Equal(HttpStatusCode.NotModified, revalidated.StatusCode);
        }
    }

    [Fact]
    public async Task The_advisor_answers_over_HTTP_as_the_table_does_and_refuses_a_bad_answer_with_a_problem()
    {
        await using var hub = await TestHub.StartAsync("memory");
        var advice = await hub.Http.GetJsonOkAsync("/console/advise?client=browser&direction=both");
        Assert.Equal("websocket", advice.GetProperty("protocol").GetString());
        Assert.Equal(ProtocolAdvisor.Default.Advise(new Dictionary<string, string?> { ["client"] = "browser", ["direction"] = "both" }).Reasons,
            advice.GetProperty("reasons").EnumerateArray().Select(r => r.GetString()));
        Assert.Equal("open", advice.GetProperty("answers").GetProperty("network").GetString()); // defaults filled in

        using var bad = await hub.Http.GetAsync("/console/advise?client=fax");
        await Problem.AssertAsync(bad, 400, "invalid-request", "fax", "browser", "service", "public");
        using var unknown = await hub.Http.GetAsync("/console/advise?colour=blue");
        await Problem.AssertAsync(unknown, 400, "invalid-request", "colour", "client");
    }

    [Fact]
    public void Every_rule_of_the_decision_table_is_reached_by_some_answers_and_the_last_catches_everything()
    {
        var advisor = ProtocolAdvisor.Default;
        var table = JsonDocument.Parse(advisor.Json).RootElement;
        var rules = table.GetProperty("rules").EnumerateArray().Select(r => r.GetProperty("id").GetString()!).ToList();
        var protocols = table.GetProperty("protocols").EnumerateObject().Select(p => p.Name).ToHashSet();

        var reached = new HashSet<string>();
        var combinations = advisor.Questions.Aggregate((IEnumerable<Dictionary<string, string?>>)[[]], (partial, question) =>
            partial.SelectMany(answers => advisor.Options(question).Select(value => new Dictionary<string, string?>(answers) { [question] = value })));
        var count = 0;
        foreach (var answers in combinations)
        {
            count++;
            var advice = advisor.Advise(answers);
            reached.Add(advice.Rule);
            Assert.Contains(advice.Protocol, protocols);
            Assert.All(advice.Alternatives, a => Assert.Contains(a, protocols));
            Assert.NotEmpty(advice.Reasons);
            Assert.DoesNotContain(advice.Protocol, advice.Alternatives);
        }
        Assert.Equal(advisor.Questions.Aggregate(1, (n, q) => n * advisor.Options(q).Count), count);
        Assert.Equal(rules.Order(), reached.Order());
        Assert.Empty(table.GetProperty("rules").EnumerateArray().Last().GetProperty("when").EnumerateObject());
    }

    [Fact]
    public void Measured_figures_come_from_the_newest_results_that_hold_each_figure()
    {
        using var folder = new TempDirectory();
        void Results(string path, string date, params (string Name, double Median)[] figures)
        {
            Directory.CreateDirectory(Path.GetDirectoryName(Path.Combine(folder.Path, path))!);
            File.WriteAllText(Path.Combine(folder.Path, path), JsonSerializer.Serialize(new
            {
                date,
                measurements = figures.Select(f => new { Scenario = "x", Name = f.Name, Unit = "ms", Median = f.Median }),
            }));
        }
        Results("results-2026-01-01/results.json", "2026-01-01T00:00:00Z",
            ("switchboard ws-json: latency p99 at 1,000 msg/s", 99), ("switchboard sse: latency p99 at 1,000 msg/s", 7), ("polling every 100 ms: publish -> seen, p50", 50));
        Results("results-2026-02-01/fanout/results.json", "2026-02-01T00:00:00Z", ("switchboard ws-json: latency p99 at 1,000 msg/s", 11));
        Results("results-2026-03-01/results.json", "not json at all", ("ignored", 1));
        File.WriteAllText(Path.Combine(folder.Path, "results-2026-03-01", "results.json"), "{ broken");

        var rows = BenchFigures.Read(folder.Path);
        Assert.Equal(11, rows.Single(r => r.Protocol == "websocket").LatencyP99Ms); // the newer file wins
        Assert.Contains("results-2026-02-01/fanout/results.json", rows.Single(r => r.Protocol == "websocket").Source, StringComparison.Ordinal);
        Assert.Equal(7, rows.Single(r => r.Protocol == "sse").LatencyP99Ms);
        Assert.Equal(50, rows.Single(r => r.Protocol == "poll").LatencyP50Ms);
        Assert.DoesNotContain(rows, r => r.Protocol == "longpoll"); // nothing measured, nothing shown
        Assert.Empty(BenchFigures.Read(Path.Combine(folder.Path, "absent")));
    }

    [Fact]
    public void Measured_figures_are_read_from_the_harness_results_of_100_subscribers_and_quick_runs_are_passed_over()
    {
        using var folder = new TempDirectory();
        void Results(string path, object results)
        {
            Directory.CreateDirectory(Path.GetDirectoryName(Path.Combine(folder.Path, path))!);
            File.WriteAllText(Path.Combine(folder.Path, path), JsonSerializer.Serialize(results, JsonSerializerOptions.Web));
        }
        static object Figure(string name, double? median) => new { Scenario = "fanout", Name = name, Unit = "ms", Median = median };
        Results("results-2026-01-01/results.json", new
        {
            Date = "2026-01-01T00:00:00Z",
            Quick = false,
            Measurements = new[]
            {
                Figure("switchboard ws-json: latency p99 at 1,000 msg/s, 1 subscriber", 1),
                Figure("switchboard ws-json: latency p99 at 1,000 msg/s, 100 subscribers", 12),
                Figure("switchboard long poll: delivered, 100 subscribers", 5000),
                Figure("switchboard sse: latency p99 at 1,000 msg/s, 100 subscribers", null), // not measured
                Figure("polling every 100 ms: publish sent -> the poll that sees it answered, p50", 48),
            },
        });
        Results("results-2026-02-01-quick/results.json", new
        {
            Date = "2026-02-01T00:00:00Z",
            Quick = true,
            Measurements = new[] { Figure("switchboard ws-json: latency p99 at 1,000 msg/s, 100 subscribers", 999) },
        });

        var rows = BenchFigures.Read(folder.Path);
        Assert.Equal(12, rows.Single(r => r.Protocol == "websocket").LatencyP99Ms); // 100 subscribers, and not the quick run's
        Assert.Equal(5000, rows.Single(r => r.Protocol == "longpoll").DeliveredPerSecond);
        Assert.Equal(48, rows.Single(r => r.Protocol == "poll").LatencyP50Ms);
        Assert.DoesNotContain(rows, r => r.Protocol == "sse");
    }
}
