using System.Net;
using System.Net.Http.Headers;
using Switchboard.Bench.Harness;

namespace Switchboard.Bench.Scenarios;

/// <summary>
/// REST reads with HTTP caching: <c>GET /v1/topics/{topic}</c> (config and stats, 200 with an ETag) and the same with
/// <c>If-None-Match</c> (304, no body), and one message by offset (immutable, strong ETag), at 1 and 64 callers, on the
/// durable hub, against a bare ASP.NET Core endpoint that answers the hub's own document with a fixed ETag (the HTTP
/// stack's ceiling). Both run at once, the runs interleaved; every answer's status is checked.
/// </summary>
internal sealed class RestGetScenario : IScenario
{
    private const string Topic = "cached";
    private const string Hub = "switchboard (sqlite)";
    private const string Bare = "bare ASP.NET Core (ceiling)";

    public string Name => "rest-get";
    public string Description => "REST GET of a topic (200 with ETag), with If-None-Match (304), and of one message: requests/s at 1 and 64 callers, hub vs a bare ASP.NET endpoint";

    private sealed record Shape(string Name, int Workers, bool Revalidate, bool Message);

    public async Task RunAsync(Report report, BenchOptions options)
    {
        using var data = new TempDirectory();
        await using var hub = await ServerProcess.StartHubAsync("--data", data.Path);
        using var hubHttp = Load.Client(hub.Address);
        using (var published = await hubHttp.PostAsync($"/v1/topics/{Topic}/messages", Load.Json("{\"payload\":" + Load.Payload(256) + "}")))
        {
            published.EnsureSuccessStatusCode();
        }
        // The bare endpoint answers the hub's own document, so both send the same bytes.
        var document = await hubHttp.GetStringAsync($"/v1/topics/{Topic}");
        await using var bare = await ServerProcess.StartPeerAsync("baseline-server", new Dictionary<string, string> { ["BASELINE_TOPIC_BODY"] = document });
        using var bareHttp = Load.Client(bare.Address);
        var servers = new (string Name, HttpClient Http, Side Side)[] { (Hub, hubHttp, Side.Switchboard), (Bare, bareHttp, Side.Peer) };

        Shape[] shapes =
        [
            new("GET topic, 200 with ETag, 1 caller", 1, false, false),
            new("GET topic, 200 with ETag, 64 callers", 64, false, false),
            new("GET topic, If-None-Match → 304, 1 caller", 1, true, false),
            new("GET topic, If-None-Match → 304, 64 callers", 64, true, false),
            new("GET one message by offset (immutable), 64 callers", 64, false, true),
        ];
        var etags = new Dictionary<string, EntityTagHeaderValue>();
        foreach (var (name, http, _) in servers)
        {
            using var first = await http.GetAsync($"/v1/topics/{Topic}");
            etags[name] = first.Headers.ETag ?? throw new InvalidOperationException($"{name}: GET /v1/topics/{Topic} answered without an ETag");
        }

        var figures = new Dictionary<(string, string), Measurement>();
        foreach (var (name, http, side) in servers)
        {
            foreach (var shape in shapes.Where(s => !s.Message || name == Hub))
            {
                figures[(name, shape.Name)] = report.Add(Name, name, shape.Name, "requests/s", higherIsBetter: true, side);
                await Load.RunAsync(shape.Workers, options.WarmUp, () => GetAsync(http, name, shape, etags[name]));
            }
        }
        for (var run = 0; run < options.Runs; run++)
        {
            foreach (var shape in shapes)
            {
                foreach (var (name, http, _) in servers.Where(s => !shape.Message || s.Name == Hub))
                {
                    var result = await Load.RunAsync(shape.Workers, options.RunLength, () => GetAsync(http, name, shape, etags[name]));
                    figures[(name, shape.Name)].Runs.Add(result.OperationsPerSecond);
                    BenchOptions.Progress($"run {run + 1}, {name}, {shape.Name}: {result.OperationsPerSecond:N0} requests/s");
                }
            }
        }
        BenchOptions.Progress("every answer had the expected status (200 with the ETag, or 304)");
    }

    private static async Task<int> GetAsync(HttpClient http, string server, Shape shape, EntityTagHeaderValue etag)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, shape.Message ? $"/v1/topics/{Topic}/messages/1" : $"/v1/topics/{Topic}");
        if (shape.Revalidate)
        {
            request.Headers.IfNoneMatch.Add(etag);
        }
        using var response = await http.SendAsync(request);
        var expected = shape.Revalidate ? HttpStatusCode.NotModified : HttpStatusCode.OK;
        if (response.StatusCode != expected)
        {
            throw new InvalidOperationException($"{server}: {request.Method} {request.RequestUri} answered {(int)response.StatusCode} where {(int)expected} was due");
        }
        await response.Content.LoadIntoBufferAsync();
        return 1;
    }
}
