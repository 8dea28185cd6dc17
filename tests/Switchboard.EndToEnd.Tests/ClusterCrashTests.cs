using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Switchboard.Testing;

namespace Switchboard.EndToEnd.Tests;

/// <summary>
/// The real program as cluster nodes on a real redis-server: a node killed with SIGKILL mid-stream, and a node started
/// before its Redis. What a user running <c>switchboard serve --redis</c> behind a balancer would meet.
/// </summary>
public sealed class ClusterCrashTests
{
    private static Dictionary<string, string> Environment(string prefix) => new()
    {
        ["Switchboard__Redis__Prefix"] = prefix,
        ["Switchboard__Nodes__Heartbeat"] = "200ms",
        ["Switchboard__Nodes__Expiry"] = "1s",
    };

    [Fact]
    public async Task Clients_of_a_node_killed_mid_stream_resume_on_another_with_no_gap_and_its_leases_come_back()
    {
        await using var redis = await RedisServer.StartAsync();
        var prefix = "k" + Guid.NewGuid().ToString("N")[..8];
        await using var doomed = await HubProcess.StartAsync(Environment(prefix), "--redis", redis.Configuration, "--node-name", "doomed");
        await using var survivor = await HubProcess.StartAsync(Environment(prefix), "--redis", redis.Configuration, "--node-name", "survivor");
        using var onDoomed = new HttpClient { BaseAddress = doomed.Address };
        using var onSurvivor = new HttpClient { BaseAddress = survivor.Address };
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(90));

        // A job leased through the doomed node (2 s lease), and an SSE subscriber on it reading a topic published on the other.
        await onSurvivor.PutAsJsonAsync("/v1/queues/jobs", new { lease = "2s" }, timeout.Token);
        await onSurvivor.PostAsJsonAsync("/v1/queues/jobs/messages", new { payload = "job-1" }, timeout.Token);
        using (var leased = JsonDocument.Parse(await (await onDoomed.PostAsync("/v1/queues/jobs/receive", null, timeout.Token)).Content.ReadAsStringAsync(timeout.Token)))
        {
            Assert.Single(leased.RootElement.GetProperty("messages").EnumerateArray());
        }
        await onSurvivor.PutAsync("/v1/topics/ticks", null, timeout.Token);
        using var request = new HttpRequestMessage(HttpMethod.Get, "/v1/topics/ticks/events");
        request.Headers.Add("Last-Event-ID", "0");
        using var stream = await onDoomed.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, timeout.Token);
        using var reader = new StreamReader(await stream.Content.ReadAsStreamAsync(timeout.Token), Encoding.UTF8);
        for (var i = 1; i <= 100; i++)
        {
            Assert.Equal(HttpStatusCode.Created, (await onSurvivor.PostAsJsonAsync("/v1/topics/ticks/messages", new { payload = i }, timeout.Token)).StatusCode);
        }
        var seen = new List<(string Id, int Value)>();
        while (seen.Count < 40)
        {
            seen.Add(await NextEventAsync(reader, timeout.Token));
        }

        await doomed.KillAsync();
        for (var i = 101; i <= 150; i++)
        {
            Assert.Equal(HttpStatusCode.Created, (await onSurvivor.PostAsJsonAsync("/v1/topics/ticks/messages", new { payload = i }, timeout.Token)).StatusCode);
        }

        // The subscriber reconnects — to the other node — with the last id it saw, as EventSource does.
        using var resume = new HttpRequestMessage(HttpMethod.Get, "/v1/topics/ticks/events");
        resume.Headers.Add("Last-Event-ID", seen[^1].Id);
        using var resumed = await onSurvivor.SendAsync(resume, HttpCompletionOption.ResponseHeadersRead, timeout.Token);
        using var resumedReader = new StreamReader(await resumed.Content.ReadAsStreamAsync(timeout.Token), Encoding.UTF8);
        while (seen.Count < 150)
        {
            seen.Add(await NextEventAsync(resumedReader, timeout.Token));
        }
        Assert.Equal(Enumerable.Range(1, 150), seen.Select(s => s.Value));

        // The job leased through the dead node comes back when its lease runs out, one delivery later.
        JsonElement again;
        do
        {
            using var received = JsonDocument.Parse(await (await onSurvivor.PostAsync("/v1/queues/jobs/receive?wait=5", null, timeout.Token)).Content.ReadAsStringAsync(timeout.Token));
            again = received.RootElement.GetProperty("messages").Clone();
        }
        while (again.GetArrayLength() == 0);
        Assert.Equal(("job-1", 2), (again[0].GetProperty("payload").GetString(), again[0].GetProperty("attempts").GetInt32()));

        // The dead node leaves the node list once its heartbeat is older than the expiry (1 s here).
        string[] names;
        do
        {
            using var nodes = JsonDocument.Parse(await onSurvivor.GetStringAsync("/v1/nodes", timeout.Token));
            names = [.. nodes.RootElement.GetProperty("nodes").EnumerateArray().Select(n => n.GetProperty("name").GetString()!)];
            await Task.Delay(100, timeout.Token); // heartbeats are time-based: poll, bounded by the timeout
        }
        while (names.Length > 1);
        Assert.Equal(["survivor"], names);
    }

    [Fact]
    public async Task A_node_started_before_its_Redis_waits_not_ready_and_serves_once_Redis_is_up()
    {
        await using var redis = RedisServer.Unstarted();
        await using var node = HubProcess.Launch(["serve", "--urls", "http://127.0.0.1:0", "--redis", redis.Configuration],
            environment: Environment("w" + Guid.NewGuid().ToString("N")[..8]));
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(90));
        var address = await node.Listening.WaitAsync(timeout.Token);
        using var http = new HttpClient { BaseAddress = address };

        using (var notReady = await http.GetAsync("/readyz", timeout.Token))
        {
            Assert.Equal(HttpStatusCode.ServiceUnavailable, notReady.StatusCode);
        }
        using (var publish = await http.PostAsJsonAsync("/v1/topics/early/messages", new { payload = 1 }, timeout.Token))
        {
            Assert.Equal(HttpStatusCode.ServiceUnavailable, publish.StatusCode);
            Assert.True(publish.Headers.RetryAfter is not null, "a 503 without Retry-After");
        }
        Assert.False(node.HasExited);
        Assert.Contains(redis.Configuration, node.Output, StringComparison.Ordinal);
        Assert.Contains("unreachable", node.Output, StringComparison.OrdinalIgnoreCase);

        await redis.RestartAsync();
        HttpStatusCode status;
        do
        {
            await Task.Delay(100, timeout.Token); // the node retries with backoff; poll its readiness, bounded by the timeout
            using var ready = await http.GetAsync("/readyz", timeout.Token);
            status = ready.StatusCode;
        }
        while (status != HttpStatusCode.OK);
        Assert.Equal(HttpStatusCode.Created, (await http.PostAsJsonAsync("/v1/topics/early/messages", new { payload = 1 }, timeout.Token)).StatusCode);
    }

    private static async Task<(string Id, int Value)> NextEventAsync(StreamReader reader, CancellationToken cancellationToken)
    {
        string? id = null;
        string? data = null;
        string? kind = null;
        while (await reader.ReadLineAsync(cancellationToken) is { } line)
        {
            if (line.Length == 0)
            {
                if (data is not null && kind is null)
                {
                    using var message = JsonDocument.Parse(data);
                    return (id!, message.RootElement.GetProperty("payload").GetInt32());
                }
                Assert.NotEqual("error", kind); // other named events (notices) are not messages
                (id, data, kind) = (null, null, null);
            }
            else if (line.StartsWith("id:", StringComparison.Ordinal))
            {
                id = line[3..].Trim();
            }
            else if (line.StartsWith("data:", StringComparison.Ordinal))
            {
                data = line[5..].Trim();
            }
            else if (line.StartsWith("event:", StringComparison.Ordinal))
            {
                kind = line[6..].Trim();
            }
        }
        throw new EndOfStreamException("the event stream ended");
    }
}
