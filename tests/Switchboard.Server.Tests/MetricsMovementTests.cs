using System.Net;
using System.Text;
using System.Text.Json;
using Switchboard.Server.Tests.Support;
using Switchboard.Testing;

namespace Switchboard.Server.Tests;

/// <summary>
/// The instruments an operator alerts on move when the thing they count happens, read the way Prometheus reads them:
/// <c>GET /metrics</c>, parsed, compared before and after. (The slow-consumer cut is checked where a consumer is cut:
/// RealTime's SlowConsumerTests.)
/// </summary>
/// <remarks>
/// Alone, not beside other tests: each hub reads only its own instruments (the second test checks it), but the hubs of
/// other classes would still load the machine while commits and latencies are compared.
/// </remarks>
[Collection(nameof(MetricsMovementTests))]
public sealed class MetricsMovementTests
{
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task Publishes_deliveries_commits_redeliveries_dead_letters_and_requests_each_move_their_metric()
    {
        await using var hub = await TestHub.StartAsync("sqlite");
        using var timeout = new CancellationTokenSource(Limit);
        var before = await PrometheusScrape.ReadAsync(hub.Http, timeout.Token);

        // A publish and a delivery: two messages in over REST, out over SSE.
        using var events = await hub.Http.GetAsync("/v1/topics/metered/events?after=0", HttpCompletionOption.ResponseHeadersRead, timeout.Token);
        using var reader = new StreamReader(await events.Content.ReadAsStreamAsync(timeout.Token));
        // The stream's first block comes once the subscription is live: what is published from now on is delivered live (and timed).
        Assert.StartsWith("retry:", await reader.ReadLineAsync(timeout.Token), StringComparison.Ordinal);
        using (var published = await hub.Http.PostAsync("/v1/topics/metered/messages", Json("""{"messages":[{"payload":1},{"payload":2}]}"""), timeout.Token))
        {
            Assert.Equal(HttpStatusCode.Created, published.StatusCode);
        }
        await ReadEventsAsync(reader, 2, timeout.Token);

        // A redelivery, then a dead-lettering: two attempts allowed, both nacked.
        using (await hub.Http.PutAsync("/v1/queues/metered-q", Json("""{"maxAttempts":2,"backoff":{"initial":"0s","max":"0s"}}"""), timeout.Token)) { }
        using (await hub.Http.PostAsync("/v1/queues/metered-q/messages", Json("""{"payload":"job"}"""), timeout.Token)) { }
        for (var attempt = 1; attempt <= 2; attempt++)
        {
            var message = await ReceiveOneAsync(hub.Http, "metered-q", timeout.Token);
            Assert.Equal(attempt, message.GetProperty("attempts").GetInt32());
            using var nack = await hub.Http.PostAsync($"/v1/queues/metered-q/messages/{message.GetProperty("id")}/nack",
                Json($$"""{"lease":"{{message.GetProperty("lease").GetString()}}","error":"no"}"""), timeout.Token);
            Assert.Equal(HttpStatusCode.OK, nack.StatusCode);
        }

        // Two more dead letters in a queue that keeps one: the older is dropped, and counted.
        using (await hub.Http.PutAsync("/v1/queues/dropping-q", Json("""{"maxAttempts":1,"maxDeadLetters":1}"""), timeout.Token)) { }
        using (await hub.Http.PostAsync("/v1/queues/dropping-q/messages", Json("""{"messages":[{"payload":1},{"payload":2}]}"""), timeout.Token)) { }
        using (var received = await hub.Http.PostAsync("/v1/queues/dropping-q/receive?max=2&wait=10", null, timeout.Token))
        {
            foreach (var message in JsonDocument.Parse(await received.Content.ReadAsStringAsync(timeout.Token)).RootElement.GetProperty("messages").EnumerateArray())
            {
                using var nack = await hub.Http.PostAsync($"/v1/queues/dropping-q/messages/{message.GetProperty("id")}/nack",
                    Json($$"""{"lease":"{{message.GetProperty("lease").GetString()}}","error":"poison"}"""), timeout.Token);
                Assert.Equal(HttpStatusCode.OK, nack.StatusCode);
            }
        }

        // A request nobody answers times out; one a responder answers is timed.
        using (var unanswered = await hub.Http.PostAsync("/v1/queues/nobody/requests?timeout=1", Json("""{"payload":"anyone?"}"""), timeout.Token))
        {
            Assert.Equal(HttpStatusCode.GatewayTimeout, unanswered.StatusCode);
        }
        using (await hub.Http.PutAsync("/v1/queues/prices", Json("{}"), timeout.Token)) { } // so the responder's receive can wait on it
        var requesting = hub.Http.PostAsync("/v1/queues/prices/requests?timeout=20", Json("""{"payload":"A-1"}"""), timeout.Token);
        var request = await ReceiveOneAsync(hub.Http, "prices", timeout.Token);
        using (var reply = await hub.Http.PostAsync($"/v1/replies/{request.GetProperty("replyTo").GetString()}", Json("""{"payload":9.5}"""), timeout.Token))
        {
            Assert.True(reply.IsSuccessStatusCode, await reply.Content.ReadAsStringAsync(timeout.Token));
        }
        using (var answered = await requesting)
        {
            Assert.Equal(HttpStatusCode.OK, answered.StatusCode);
        }

        var after = await PrometheusScrape.ReadAsync(hub.Http, timeout.Token);
        double Moved(string series) => after[series] - before[series];
        var why = after.Text;
        Assert.True(Moved("switchboard_messages_published_total{protocol=\"rest\"}") == 2, why);
        Assert.True(Moved("switchboard_messages_delivered_total{protocol=\"sse\"}") == 2, why);
        // Latency is sampled from write bursts (the first is always kept): the two messages went out in one burst or two.
        Assert.InRange(Moved("switchboard_delivery_duration_seconds_count{protocol=\"sse\"}"), 1, 2);
        Assert.True(Moved("switchboard_queue_redelivered_total") == 1, why);
        Assert.True(Moved("switchboard_queue_dead_lettered_total") == 3, why);
        Assert.True(Moved("switchboard_queue_dead_letters_dropped_total") == 1, why);
        Assert.True(Moved("switchboard_requests_timeouts_total") == 1, why);
        Assert.True(Moved("switchboard_requests_duration_seconds_count") == 1, why);
        // Every durable change above went through the SQLite writer's group commit: some commits, at least every message.
        Assert.True(Moved("switchboard_engine_commit_duration_seconds_count{engine=\"sqlite\"}") >= 1, why);
        Assert.True(Moved("switchboard_engine_commit_messages_sum{engine=\"sqlite\"}") >= 2 + 1 + 2, why);
        Assert.DoesNotContain("metered", why, StringComparison.Ordinal); // no topic or queue names: bounded cardinality
    }

    [Fact]
    public async Task Each_hub_in_a_process_counts_only_its_own_and_keeps_counting_when_another_ends()
    {
        await using var counted = await TestHub.StartAsync("memory");
        var other = await TestHub.StartAsync("memory");
        using var timeout = new CancellationTokenSource(Limit);
        const string Published = "switchboard_messages_published_total{protocol=\"rest\"}";
        async Task PublishAsync(TestHub hub)
        {
            using var answer = await hub.Http.PostAsync("/v1/topics/counted/messages", Json("""{"payload":1}"""), timeout.Token);
            Assert.Equal(HttpStatusCode.Created, answer.StatusCode);
        }

        await PublishAsync(counted);
        await PublishAsync(other);
        await PublishAsync(other);
        var before = await PrometheusScrape.ReadAsync(counted.Http, timeout.Token);
        Assert.True(before[Published] == 1, before.Text); // the other hub's two publishes are not in this hub's figures
        Assert.True((await PrometheusScrape.ReadAsync(other.Http, timeout.Token))[Published] == 2);

        // The other hub ends (its meter is disposed): this hub's series goes on.
        await other.DisposeAsync();
        await PublishAsync(counted);
        var after = await PrometheusScrape.ReadAsync(counted.Http, timeout.Token);
        Assert.True(after[Published] == 2, after.Text);
    }

    [Fact]
    public async Task Delivery_latency_is_sampled_from_bursts_while_every_delivery_is_counted()
    {
        await using var hub = await TestHub.StartAsync("memory");
        using var timeout = new CancellationTokenSource(Limit);
        using var events = await hub.Http.GetAsync("/v1/topics/sampled/events?after=0", HttpCompletionOption.ResponseHeadersRead, timeout.Token);
        using var reader = new StreamReader(await events.Content.ReadAsStreamAsync(timeout.Token));
        Assert.StartsWith("retry:", await reader.ReadLineAsync(timeout.Token), StringComparison.Ordinal);
        var before = await PrometheusScrape.ReadAsync(hub.Http, timeout.Token);

        // Each message is read before the next is published: every delivery is a write burst of its own.
        const int Messages = 160;
        var clock = System.Diagnostics.Stopwatch.StartNew();
        for (var i = 0; i < Messages; i++)
        {
            using (var published = await hub.Http.PostAsync("/v1/topics/sampled/messages", Json("""{"payload":1}"""), timeout.Token))
            {
                Assert.Equal(HttpStatusCode.Created, published.StatusCode);
            }
            await ReadEventsAsync(reader, 1, timeout.Token);
        }
        var elapsed = clock.Elapsed;

        var after = await PrometheusScrape.ReadAsync(hub.Http, timeout.Token);
        var samples = after["switchboard_delivery_duration_seconds_count{protocol=\"sse\"}"] - before["switchboard_delivery_duration_seconds_count{protocol=\"sse\"}"];
        Assert.True(after["switchboard_messages_delivered_total{protocol=\"sse\"}"] - before["switchboard_messages_delivered_total{protocol=\"sse\"}"] == Messages, after.Text);
        // One burst in 16, plus one for every 100 ms that passed (a quiet protocol keeps its samples): far fewer than 160.
        Assert.InRange(samples, Messages / 16, Messages / 16 + (elapsed.TotalMilliseconds / 100) + 2);
    }

    [Fact]
    public async Task A_poll_page_counts_every_message_and_only_a_long_poll_at_the_live_edge_is_timed()
    {
        await using var hub = await TestHub.StartAsync("memory");
        using var timeout = new CancellationTokenSource(Limit);
        using (var published = await hub.Http.PostAsync("/v1/topics/paged/messages", Json("""{"messages":[{"payload":1},{"payload":2},{"payload":3}]}"""), timeout.Token))
        {
            Assert.Equal(HttpStatusCode.Created, published.StatusCode);
        }
        var before = await PrometheusScrape.ReadAsync(hub.Http, timeout.Token);

        Assert.Equal(3, await PageAsync("/v1/topics/paged/messages?after=0")); // a poll: history, counted, not timed
        Assert.Equal(2, await PageAsync("/v1/topics/paged/messages?after=0&limit=2&wait=5")); // a long poll behind the end: not timed
        // At the end: woken by the publish, timed — once for the page (its first message waited longest), not per message.
        var parked = PageAsync("/v1/topics/paged/messages?after=3&wait=20");
        using (var published = await hub.Http.PostAsync("/v1/topics/paged/messages", Json("""{"messages":[{"payload":4},{"payload":5},{"payload":6}]}"""), timeout.Token))
        {
            Assert.Equal(HttpStatusCode.Created, published.StatusCode);
        }
        Assert.Equal(3, await parked);

        var after = await PrometheusScrape.ReadAsync(hub.Http, timeout.Token);
        double Moved(string series) => after[series] - before[series];
        Assert.True(Moved("switchboard_messages_delivered_total{protocol=\"poll\"}") == 3, after.Text);
        Assert.True(Moved("switchboard_messages_delivered_total{protocol=\"longpoll\"}") == 5, after.Text);
        Assert.True(Moved("switchboard_delivery_duration_seconds_count{protocol=\"longpoll\"}") == 1, after.Text);
        Assert.True(Moved("switchboard_delivery_duration_seconds_count{protocol=\"poll\"}") == 0, after.Text);

        async Task<int> PageAsync(string path)
        {
            using var answer = await hub.Http.GetAsync(path, timeout.Token);
            Assert.Equal(HttpStatusCode.OK, answer.StatusCode);
            Assert.Equal(answer.Content.Headers.ContentLength, (await answer.Content.ReadAsByteArrayAsync(timeout.Token)).Length);
            var body = JsonDocument.Parse(await answer.Content.ReadAsStringAsync(timeout.Token)).RootElement;
            return body.GetProperty("messages").GetArrayLength();
        }
    }

    private static StringContent Json(string body) => new(body, Encoding.UTF8, "application/json");

    private static async Task<JsonElement> ReceiveOneAsync(HttpClient http, string queue, CancellationToken cancellationToken)
    {
        using var received = await http.PostAsync($"/v1/queues/{queue}/receive?max=1&wait=10", null, cancellationToken);
        var messages = JsonDocument.Parse(await received.Content.ReadAsStringAsync(cancellationToken)).RootElement.GetProperty("messages");
        Assert.Equal(1, messages.GetArrayLength());
        return messages[0].Clone();
    }

    private static async Task ReadEventsAsync(StreamReader reader, int count, CancellationToken cancellationToken)
    {
        var seen = 0;
        while (seen < count && await reader.ReadLineAsync(cancellationToken) is { } line)
        {
            seen += line.StartsWith("data:", StringComparison.Ordinal) ? 1 : 0;
        }
        Assert.Equal(count, seen);
    }
}

/// <summary>Runs <see cref="MetricsMovementTests"/> with no other test class at the same time.</summary>
[CollectionDefinition(nameof(MetricsMovementTests), DisableParallelization = true)]
public sealed class MetricsMovementCollection;
