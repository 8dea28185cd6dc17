using System.Diagnostics;
using System.Reflection;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace Switchboard.RealTime.Tests;

/// <summary>
/// Third-party clients users actually run — Node's <c>ws</c> and <c>eventsource</c> packages (installed by
/// ./test.sh into tests/js) — against the real hub. A missing Node or missing packages fail the test loudly.
/// </summary>
public sealed partial class NodeClientTests
{
    private static readonly string Root = Path.GetFullPath(typeof(NodeClientTests).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().Single(a => a.Key == "RepositoryRoot").Value!);
    private static readonly string JsFolder = Path.Combine(Root, "tests", "js");

    [Fact]
    public async Task The_documented_WebSocket_example_runs_as_written()
    {
        var doc = await File.ReadAllTextAsync(Path.Combine(Root, "docs", "websocket-protocol.md"));
        var script = ExampleBlock().Match(doc);
        Assert.True(script.Success, "docs/websocket-protocol.md has no ```js example block");
        var path = Path.Combine(JsFolder, $"doc-example-{Guid.NewGuid():N}.mjs");
        await File.WriteAllTextAsync(path, script.Groups[1].Value);
        try
        {
            await using var hub = await TestHub.StartAsync();
            var (code, output) = await RunNodeAsync(path, [], new() { ["SWITCHBOARD_WS"] = $"ws://{hub.Address.Authority}" });
            Assert.True(code == 0, output);
            Assert.Contains("published p1 at offset 1", output, StringComparison.Ordinal);
            Assert.Contains("published p2 at offset 2", output, StringComparison.Ordinal);
            Assert.Contains("subscribed as sub", output, StringComparison.Ordinal);
            Assert.Matches(@"received: hello world; resume from [0-9a-z]{12}:2", output);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public async Task EventSource_resumes_with_Last_Event_ID_without_gap_or_duplicate()
    {
        await using var hub = await TestHub.StartAsync();
        const int total = 200;
        await Publish(hub, "es.feed", 1, total / 2);
        var script = RunNodeAsync(Path.Combine(JsFolder, "sse-resume.mjs"), [hub.Address.ToString().TrimEnd('/'), "es.feed", total.ToString(System.Globalization.CultureInfo.InvariantCulture)], []);
        await Publish(hub, "es.feed", total / 2 + 1, total);
        var (code, output) = await script;
        Assert.True(code == 0, output);
        var lines = output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Where(l => l.StartsWith('{')).Select(l => JsonDocument.Parse(l).RootElement).ToList();
        Assert.Equal(Enumerable.Range(1, total).Select(i => (long)i), lines.Select(l => l.GetProperty("offset").GetInt64()));
        Assert.Equal(Enumerable.Range(1, total), lines.Select(l => l.GetProperty("payload").GetProperty("i").GetInt32()));
        Assert.All(lines, l => Assert.EndsWith(":" + l.GetProperty("offset").GetInt64(), l.GetProperty("id").GetString(), StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_grpc_js_client_generated_from_the_proto_files_publishes_streams_and_subscribes()
    {
        await using var hub = await TestHub.StartAsync();
        var (code, output) = await RunNodeAsync(Path.Combine(JsFolder, "grpc-client.mjs"), [hub.Address.Authority, "node.grpc"], []);
        Assert.True(code == 0, output);
        var events = output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Where(l => l.StartsWith('{')).Select(l => JsonDocument.Parse(l).RootElement).ToList();
        Assert.Equal([1, 2, 3, 4], events.Where(e => e.GetProperty("kind").GetString() == "message").Select(e => e.GetProperty("payload").GetProperty("n").GetInt32()));
        Assert.Equal(3, events.Single(e => e.GetProperty("kind").GetString() == "summary").GetProperty("count").GetInt32());
        var refused = events.Single(e => e.GetProperty("kind").GetString() == "refused");
        Assert.Equal(3, refused.GetProperty("code").GetInt32()); // INVALID_ARGUMENT
        Assert.Equal("invalid-topic-name", refused.GetProperty("metadata").GetString());
        using var page = JsonDocument.Parse(await hub.Http.GetStringAsync("/v1/topics/node.grpc/messages?after=0"));
        Assert.Equal("node", page.RootElement.GetProperty("messages")[0].GetProperty("headers").GetProperty("from").GetString());
    }

    [Fact]
    public async Task A_grpc_js_consumer_receives_on_a_stream_and_acks_a_batch_in_one_call()
    {
        await using var hub = await TestHub.StartAsync(sqlite: true);
        var (code, output) = await RunNodeAsync(Path.Combine(JsFolder, "grpc-queue.mjs"), [hub.Address.Authority, "node.jobs"], []);
        Assert.True(code == 0, output);
        var events = output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Where(l => l.StartsWith('{')).Select(l => JsonDocument.Parse(l).RootElement).ToList();
        Assert.Equal(["1", "2", "3"], events.Where(e => e.GetProperty("kind").GetString() == "sent").Select(e => e.GetProperty("id").GetString()));
        var acked = events.Single(e => e.GetProperty("kind").GetString() == "acked");
        Assert.Equal(["1", "2"], acked.GetProperty("acked").EnumerateArray().Select(e => e.GetString()));
        var failure = Assert.Single(acked.GetProperty("failed").EnumerateArray());
        Assert.Equal(("3", "lease-mismatch", 409), (failure.GetProperty("id").GetString(), failure.GetProperty("code").GetString(), failure.GetProperty("status").GetInt32()));
        var refused = events.Single(e => e.GetProperty("kind").GetString() == "refused");
        Assert.Equal((3, "validation-failed"), (refused.GetProperty("code").GetInt32(), refused.GetProperty("metadata").GetString())); // INVALID_ARGUMENT
        var stats = JsonDocument.Parse(await hub.Http.GetStringAsync("/v1/queues/node.jobs")).RootElement.GetProperty("stats");
        Assert.Equal(1, stats.GetProperty("leased").GetInt32() + stats.GetProperty("ready").GetInt32()); // only the third is left
    }

    private static async Task Publish(TestHub hub, string topic, int first, int last)
    {
        var batch = string.Join(",", Enumerable.Range(first, last - first + 1).Select(i => "{\"payload\":{\"i\":" + i + "}}"));
        using var content = new StringContent("{\"messages\":[" + batch + "]}", Encoding.UTF8, "application/json");
        Assert.Equal(System.Net.HttpStatusCode.Created, (await hub.Http.PostAsync($"/v1/topics/{topic}/messages", content)).StatusCode);
    }

    private static async Task<(int Code, string Output)> RunNodeAsync(string script, string[] arguments, Dictionary<string, string> environment)
    {
        Assert.True(File.Exists("/usr/bin/node") || File.Exists("/usr/local/bin/node"), "Node.js is required for the third-party client tests (./test.sh checks for it).");
        Assert.True(Directory.Exists(Path.Combine(JsFolder, "node_modules", "ws")), $"{JsFolder}/node_modules is missing: run ./test.sh (it runs npm ci there).");
        var info = new ProcessStartInfo("node") { WorkingDirectory = JsFolder, RedirectStandardOutput = true, RedirectStandardError = true };
        info.ArgumentList.Add(script);
        foreach (var argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }
        foreach (var (name, value) in environment)
        {
            info.Environment[name] = value;
        }
        using var process = Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill();
            throw new TimeoutException($"node {script} did not finish in 60 s:\n{await stdout}\n{await stderr}");
        }
        return (process.ExitCode, await stdout + await stderr);
    }

    [GeneratedRegex("```js example\\n(.*?)```", RegexOptions.Singleline)]
    private static partial Regex ExampleBlock();
}
