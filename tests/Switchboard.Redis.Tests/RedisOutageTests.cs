using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Switchboard.RealTime.Tests;

namespace Switchboard.Redis.Tests;

/// <summary>
/// Redis lost under running nodes, then back: readiness says so with the reason, writes answer 503 with Retry-After
/// (never a 500, never half-done), nothing acknowledged is lost, and nodes and their subscribers recover by themselves.
/// </summary>
public sealed class RedisOutageTests : IAsyncLifetime
{
    private RedisServer _redis = null!;
    private TestHub _a = null!;
    private TestHub _b = null!;
    private string _prefix = "";

    public async Task InitializeAsync()
    {
        // appendfsync always: every acknowledged write is on disk before Redis answers, so "nothing acknowledged is
        // lost" holds across the kill (with everysec the last second could go — see docs/scaling.md).
        _redis = await RedisServer.StartAsync("always");
        _prefix = "o" + Guid.NewGuid().ToString("N")[..8];
        _a = await NodeAsync("node-a", _prefix);
        _b = await NodeAsync("node-b", _prefix);
    }

    // The hub's own log at Information: its resync after a reconnect is what a test waits for.
    private Task<TestHub> NodeAsync(string name, string prefix)
        => Cluster.StartNodeAsync(_redis, name, prefix, new Dictionary<string, string?> { ["Logging:LogLevel:Switchboard.Core"] = "Information" });

    public async Task DisposeAsync()
    {
        await _a.DisposeAsync();
        await _b.DisposeAsync();
        await _redis.DisposeAsync();
    }

    [Fact]
    public async Task Writes_answer_503_while_Redis_is_away_and_subscribers_resume_when_it_is_back()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(90));
        const string Topic = "outage.ticks";
        await _a.Http.PutAsync($"/v1/topics/{Topic}", null, timeout.Token);
        var epoch = JsonDocument.Parse(await _a.Http.GetStringAsync($"/v1/topics/{Topic}", timeout.Token)).RootElement.GetProperty("epoch").GetString();

        // A subscriber on B reads everything from the start, across the outage, until message 20.
        var reading = new SseReceiver(_b).ReadAsync(Topic, $"{epoch}:0", 20, timeout.Token);
        // Subscribed (it has joined presence) before Redis goes: the outage hits a live stream, not its start.
        while (JsonDocument.Parse(await _b.Http.GetStringAsync($"/v1/topics/{Topic}/presence", timeout.Token)).RootElement.GetProperty("count").GetInt32() == 0)
        {
            await Task.Delay(20, timeout.Token); // no signal from outside the node: poll, bounded by the timeout
        }
        for (var i = 1; i <= 10; i++)
        {
            Assert.Equal(HttpStatusCode.Created, (await _a.Http.PostAsJsonAsync($"/v1/topics/{Topic}/messages", new { payload = new { i } }, timeout.Token)).StatusCode);
        }

        await _redis.KillAsync();
        using (var publish = await _a.Http.PostAsJsonAsync($"/v1/topics/{Topic}/messages", new { payload = new { i = -1 } }, timeout.Token))
        {
            Assert.Equal(HttpStatusCode.ServiceUnavailable, publish.StatusCode);
            Assert.Equal(TimeSpan.FromSeconds(1), publish.Headers.RetryAfter?.Delta);
            using var problem = JsonDocument.Parse(await publish.Content.ReadAsStringAsync(timeout.Token));
            Assert.Equal("storage-unavailable", problem.RootElement.GetProperty("code").GetString());
        }
        using (var send = await _b.Http.PostAsJsonAsync("/v1/queues/jobs/messages", new { payload = 1 }, timeout.Token))
        {
            Assert.Equal(HttpStatusCode.ServiceUnavailable, send.StatusCode);
        }
        using (var ready = await _a.Http.GetAsync("/readyz", timeout.Token))
        {
            Assert.Equal(HttpStatusCode.ServiceUnavailable, ready.StatusCode);
            var body = await ready.Content.ReadAsStringAsync(timeout.Token);
            Assert.Contains("Redis cannot be reached", body, StringComparison.Ordinal);
            Assert.DoesNotContain(_redis.Port.ToString(System.Globalization.CultureInfo.InvariantCulture), body, StringComparison.Ordinal);
        }
        Assert.False(reading.IsCompleted, reading.IsFaulted ? reading.Exception!.ToString() : "the stream ended");

        await _redis.RestartAsync();
        HttpStatusCode status;
        do
        {
            await Task.Delay(50, timeout.Token); // the nodes reconnect with backoff: poll readiness, bounded by the timeout
            using var ready = await _a.Http.GetAsync("/readyz", timeout.Token);
            status = ready.StatusCode;
        }
        while (status != HttpStatusCode.OK);
        using (var ready = JsonDocument.Parse(await _a.Http.GetStringAsync("/readyz", timeout.Token)))
        {
            Assert.Equal("redis", ready.RootElement.GetProperty("engine").GetString());
            Assert.Equal("ok", ready.RootElement.GetProperty("checks").GetProperty("backplane").GetString());
        }
        // The operator sees the outage on the node's metrics: a reconnect counted, and the heartbeat's Redis round trips.
        var metrics = await PrometheusScrape.ReadAsync(_a.Http, timeout.Token);
        Assert.True(metrics["switchboard_redis_reconnects_total"] >= 1, metrics.Text);
        Assert.True(metrics["switchboard_redis_round_trip_seconds_count"] >= 1, metrics.Text);
        for (var i = 11; i <= 20; i++)
        {
            Assert.Equal(HttpStatusCode.Created, (await _a.Http.PostAsJsonAsync($"/v1/topics/{Topic}/messages", new { payload = new { i } }, timeout.Token)).StatusCode);
        }

        // Every acknowledged message, once, in order; the refused one never appears.
        var received = await reading;
        Assert.Equal(Enumerable.Range(1, 20), received.Select(r => r.Payload.GetProperty("i").GetInt32()));
        Assert.Equal(Enumerable.Range(1, 20).Select(i => (long)i), received.Select(r => r.Offset));
    }

    [Fact]
    public async Task A_subscriber_whose_node_lost_its_pubsub_connection_still_gets_what_was_published_meanwhile()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        const string Topic = "outage.pubsub";
        await _a.Http.PutAsync($"/v1/topics/{Topic}", null, timeout.Token);
        var epoch = JsonDocument.Parse(await _a.Http.GetStringAsync($"/v1/topics/{Topic}", timeout.Token)).RootElement.GetProperty("epoch").GetString();
        var reading = new SseReceiver(_b).ReadAsync(Topic, $"{epoch}:0", 5, timeout.Token);
        while (JsonDocument.Parse(await _b.Http.GetStringAsync($"/v1/topics/{Topic}/presence", timeout.Token)).RootElement.GetProperty("count").GetInt32() == 0)
        {
            await Task.Delay(20, timeout.Token); // no signal from outside the node: poll, bounded by the timeout
        }

        // Redis keeps dropping every pub/sub connection (as a restart or an output-buffer cut would) while A publishes,
        // and a little longer: the store's connection stays, so the publishes succeed, but B, reconnecting its
        // subscriptions again and again, hears none of their events.
        await using (var admin = await StackExchange.Redis.ConnectionMultiplexer.ConnectAsync(_redis.Configuration + ",allowAdmin=true"))
        {
            var server = admin.GetServer(admin.GetEndPoints()[0]);
            using var stop = new CancellationTokenSource();
            var killing = Task.Run(async () =>
            {
                for (var n = 0; n < 2000 && !stop.IsCancellationRequested; n++)
                {
                    await server.ExecuteAsync("CLIENT", "KILL", "TYPE", "pubsub");
                    await Task.Delay(2, CancellationToken.None); // bounded: at most 2,000 kills, stopped below
                }
            }, CancellationToken.None);
            for (var i = 1; i <= 5; i++)
            {
                Assert.Equal(HttpStatusCode.Created, (await _a.Http.PostAsJsonAsync($"/v1/topics/{Topic}/messages", new { payload = new { i } }, timeout.Token)).StatusCode);
            }
            await Task.Delay(300, timeout.Token); // the outage outlasts the last publish (that is the point; nothing to wait for)
            await stop.CancelAsync();
            await killing;
        }

        // Nothing more is published: only the resync after B reconnects can bring the rest.
        var received = await reading;
        Assert.Equal(Enumerable.Range(1, 5), received.Select(r => r.Payload.GetProperty("i").GetInt32()));
    }

    [Fact]
    public async Task A_long_poll_on_a_node_whose_pubsub_link_reconnects_waits_on_until_its_wait_ends()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        const string Topic = "outage.polled";
        await _a.Http.PutAsync($"/v1/topics/{Topic}", null, timeout.Token);
        var log = LogCapture.Attach(_b.Services, "Switchboard.Core");
        await using var admin = await StackExchange.Redis.ConnectionMultiplexer.ConnectAsync(_redis.Configuration + ",allowAdmin=true");
        var server = admin.GetServer(admin.GetEndPoints()[0]);

        var wait = TimeSpan.FromSeconds(4);
        var asked = System.Diagnostics.Stopwatch.StartNew();
        var poll = _b.Http.GetAsync($"/v1/topics/{Topic}/messages?after=0&wait={wait.TotalSeconds}", timeout.Token);
        // The poll listens on its topic's channel once it has registered its wait: then the link drops.
        while ((long)(await server.ExecuteAsync("PUBSUB", "NUMSUB", $"{_prefix}:t:{Topic}"))[1] == 0)
        {
            await Task.Delay(10, timeout.Token); // no signal from outside the node: poll Redis, bounded by the timeout
        }
        await server.ExecuteAsync("CLIENT", "KILL", "TYPE", "pubsub");
        while (!log.Entries.Any(e => e.EventId == 1006))
        {
            Assert.False(poll.IsCompleted, "the poll answered before the node resynced: " + string.Join("\n", log.Lines));
            await Task.Delay(10, timeout.Token); // the node reconnects with backoff: wait for its resync, bounded by the timeout
        }

        using var answer = await poll;
        var answeredAfter = asked.Elapsed;
        Assert.Equal(HttpStatusCode.OK, answer.StatusCode);
        using var page = JsonDocument.Parse(await answer.Content.ReadAsStringAsync(timeout.Token));
        Assert.Empty(page.RootElement.GetProperty("messages").EnumerateArray());
        // The resync found nothing new: no answer for it, the poll held its whole wait.
        Assert.True(answeredAfter >= wait, $"answered after {answeredAfter.TotalMilliseconds:0} ms of a {wait.TotalSeconds} s wait");
    }
}
