using System.Text.Json;
using Switchboard.Bench.Harness;

namespace Switchboard.Bench.Scenarios;

/// <summary>
/// REST publish throughput: the hub durable (SQLite, fsync) and in memory, against a bare ASP.NET Core endpoint that
/// only reads the body and answers 201 (the HTTP stack's ceiling). Single messages at 1 and 64 concurrent callers;
/// batches of 100 at 16. All three servers run at once, each in its own process, and the runs are interleaved
/// (every server and shape once, then again), so drift in the machine's load hits every figure alike.
/// </summary>
internal sealed class RestPublishScenario : IScenario
{
    private const string Durable = "hub (sqlite, fsync)";
    private const string Memory = "hub (--memory)";
    private const string Bare = "bare ASP.NET Core";

    public string Name => "rest-publish";
    public string Description => "POST publish: hub (sqlite, memory) vs a bare ASP.NET endpoint; single and batched";

    private sealed record Shape(string Name, string Topic, int Workers, string Body, int PerRequest);

    public async Task RunAsync(Report report, BenchOptions options)
    {
        var message = "{\"payload\":" + Load.Payload(256) + "}";
        Shape[] shapes =
        [
            new("single, 1 caller", "single-1", 1, message, 1),
            new("single, 64 callers", "single-64", 64, message, 1),
            new("batch of 100, 16 callers", "batch-16", 16, "{\"messages\":[" + string.Join(",", Enumerable.Repeat(message, 100)) + "]}", 100),
        ];

        using var data = new TempDirectory();
        await using var durable = await ServerProcess.StartHubAsync("--data", data.Path);
        await using var memory = await ServerProcess.StartHubAsync("--memory");
        await using var bare = await ServerProcess.StartPeerAsync("baseline-server");
        var servers = new (string Name, ServerProcess Process)[] { (Durable, durable), (Memory, memory), (Bare, bare) };
        var clients = servers.ToDictionary(s => s.Name, s => Load.Client(s.Process.Address));

        var requests = new Dictionary<(string Server, string Shape), Measurement>();
        var messages = new Dictionary<(string Server, string Shape), Measurement>();
        var acknowledged = new Dictionary<(string Server, string Topic), long>();
        foreach (var (server, _) in servers)
        {
            foreach (var shape in shapes)
            {
                var side = server == Bare ? Side.Peer : Side.Switchboard;
                requests[(server, shape.Name)] = report.Add(Name, server, shape.Name, "requests/s", higherIsBetter: true, side);
                if (shape.PerRequest > 1)
                {
                    messages[(server, shape.Name)] = report.Add(Name, server, shape.Name + " (messages)", "messages/s", higherIsBetter: true, side);
                }
                // Warm-up (connections, JIT, the topic's creation), counted for the check below but not measured.
                var warm = await Load.RunAsync(shape.Workers, options.WarmUp, () => PostAsync(clients[server], shape));
                acknowledged[(server, shape.Topic)] = warm.Units;
            }
        }

        for (var run = 0; run < options.Runs; run++)
        {
            foreach (var shape in shapes)
            {
                foreach (var (server, _) in servers)
                {
                    var result = await Load.RunAsync(shape.Workers, options.RunLength, () => PostAsync(clients[server], shape));
                    requests[(server, shape.Name)].Runs.Add(result.OperationsPerSecond);
                    messages.GetValueOrDefault((server, shape.Name))?.Runs.Add(result.UnitsPerSecond);
                    acknowledged[(server, shape.Topic)] += result.Units;
                    BenchOptions.Progress($"run {run + 1}, {server}, {shape.Name}: {result.OperationsPerSecond:N0} requests/s, {result.UnitsPerSecond:N0} messages/s");
                }
            }
        }

        // Every 201 is a stored message: the hubs' topics must end at exactly the offsets acknowledged.
        foreach (var (server, _) in servers.Where(s => s.Name != Bare))
        {
            foreach (var shape in shapes)
            {
                using var topic = JsonDocument.Parse(await clients[server].GetStringAsync($"/v1/topics/{shape.Topic}"));
                var last = topic.RootElement.GetProperty("stats").GetProperty("lastOffset").GetInt64();
                if (last != acknowledged[(server, shape.Topic)])
                {
                    throw new InvalidOperationException($"{server} acknowledged {acknowledged[(server, shape.Topic)]:N0} messages on '{shape.Topic}' but its last offset is {last:N0}");
                }
            }
            BenchOptions.Progress($"{server}: every acknowledged message has its offset (checked on {shapes.Length} topics)");
        }
        foreach (var client in clients.Values)
        {
            client.Dispose();
        }

        foreach (var shape in shapes)
        {
            report.Ratio(Name, $"hub (sqlite) / hub (memory), {shape.Name}: what durability costs", requests[(Durable, shape.Name)], requests[(Memory, shape.Name)]);
        }
    }

    private static async Task<int> PostAsync(HttpClient http, Shape shape)
    {
        using var response = await http.PostAsync($"/v1/topics/{shape.Topic}/messages", Load.Json(shape.Body));
        if ((int)response.StatusCode != 201)
        {
            throw new InvalidOperationException($"publish answered {(int)response.StatusCode}: {await response.Content.ReadAsStringAsync()}");
        }
        return shape.PerRequest;
    }
}
