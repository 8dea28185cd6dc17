using Switchboard.Bench.Harness;

namespace Switchboard.Bench.Scenarios;

/// <summary>
/// REST publish throughput: the hub (durable and in memory) against a bare ASP.NET Core endpoint that only reads the
/// body and answers 201 (the HTTP stack's ceiling). Single messages at 1 and 64 concurrent callers; batches of 100.
/// </summary>
internal sealed class RestPublishScenario : IScenario
{
    public string Name => "rest-publish";
    public string Description => "POST publish: hub (sqlite, memory) vs a bare ASP.NET endpoint; single and batched";

    public async Task RunAsync(Report report, BenchOptions options)
    {
        var single = Load.Json("{\"payload\":" + Load.Payload(256) + "}").ReadAsStringAsync().Result;
        var batch = "{\"messages\":[" + string.Join(",", Enumerable.Repeat("{\"payload\":" + Load.Payload(256) + "}", 100)) + "]}";
        var results = new Dictionary<(string Server, string Shape), Measurement>();
        var servers = new (string Name, Func<Task<ServerProcess>> Start)[]
        {
            ("hub (sqlite, fsync)", () => ServerProcess.StartHubAsync("--data", Path.Combine(Path.GetTempPath(), "switchboard-bench-" + Guid.NewGuid().ToString("N")[..12]))),
            ("hub (memory)", () => ServerProcess.StartHubAsync("--memory")),
            ("bare ASP.NET Core", () => ServerProcess.StartPeerAsync("baseline-server")),
        };
        var shapes = new (string Name, int Workers, string Body, int PerRequest)[]
        {
            ("single, 1 caller", 1, single, 1),
            ("single, 64 callers", 64, single, 1),
            ("batch of 100, 16 callers", 16, batch, 100),
        };
        foreach (var (serverName, start) in servers)
        {
            await using var server = await start();
            using var http = Load.Client(server.Address);
            foreach (var shape in shapes)
            {
                var measurement = report.Add(Name, $"{serverName}: {shape.Name}", "messages/s", higherIsBetter: true);
                results[(serverName, shape.Name)] = measurement;
                // Warm up the connections and the JIT before measuring.
                await Load.RateAsync(shape.Workers, TimeSpan.FromSeconds(0.5), () => PostAsync(http, shape.Body, shape.PerRequest));
                for (var run = 0; run < options.Runs; run++)
                {
                    var rate = await Load.RateAsync(shape.Workers, options.RunLength, () => PostAsync(http, shape.Body, shape.PerRequest));
                    measurement.Runs.Add(rate);
                    BenchOptions.Progress($"{serverName}, {shape.Name}: {rate:N0} msg/s");
                }
            }
        }
        foreach (var shape in shapes)
        {
            report.Ratio(Name, $"hub (sqlite) / bare ASP.NET, {shape.Name}", results[("hub (sqlite, fsync)", shape.Name)], results[("bare ASP.NET Core", shape.Name)]);
            report.Ratio(Name, $"hub (memory) / bare ASP.NET, {shape.Name}", results[("hub (memory)", shape.Name)], results[("bare ASP.NET Core", shape.Name)]);
        }
    }

    private static async Task<int> PostAsync(HttpClient http, string body, int messages)
    {
        using var response = await http.PostAsync("/v1/topics/bench/messages", Load.Json(body));
        if ((int)response.StatusCode != 201)
        {
            throw new InvalidOperationException($"publish answered {(int)response.StatusCode}: {await response.Content.ReadAsStringAsync()}");
        }
        return messages;
    }
}
