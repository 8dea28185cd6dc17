using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using static Switchboard.Rest.Tests.Http;

namespace Switchboard.Rest.Tests;

/// <summary>GET /v1/queues/{queue}/messages: peek at a queue's messages without leasing them.</summary>
public sealed class QueuePeekTests
{
    public static TheoryData<bool> Engines => new() { false, true };

    private static async Task<JsonElement> PeekAsync(TestHub hub, string query)
    {
        using var response = await hub.Http.GetAsync($"/v1/queues/jobs/messages{query}");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return await response.BodyAsync();
    }

    private static async Task<string> StatsAsync(TestHub hub)
        => (await (await hub.Http.GetAsync("/v1/queues/jobs")).BodyAsync()).GetProperty("stats").GetRawText();

    [Theory]
    [MemberData(nameof(Engines))]
    public async Task Peek_lists_ready_messages_in_order_without_leasing_them(bool sqlite)
    {
        await using var hub = await TestHub.StartAsync(sqlite);
        using (var sent = await hub.Http.PostAsync("/v1/queues/jobs/messages", Json("""{"messages":[{"payload":{"n":1},"headers":{"kind":"a"}},{"payload":"two"},{"payload":[3]}]}""")))
        {
            Assert.Equal(HttpStatusCode.Created, sent.StatusCode);
        }
        var before = await StatsAsync(hub);

        var page = await PeekAsync(hub, "");
        var messages = page.GetProperty("messages").EnumerateArray().ToList();
        Assert.Equal([1L, 2L, 3L], messages.Select(m => m.GetProperty("id").GetInt64()));
        Assert.All(messages, m => Assert.Equal(("ready", 0), (m.GetProperty("state").GetString(), m.GetProperty("attempts").GetInt32())));
        Assert.All(messages, m => Assert.False(m.TryGetProperty("lease", out _)));
        Assert.Equal((1, "a"), (messages[0].GetProperty("payload").GetProperty("n").GetInt32(), messages[0].GetProperty("headers").GetProperty("kind").GetString()));
        Assert.Equal("two", messages[1].GetProperty("payload").GetString());
        Assert.True(messages[2].TryGetProperty("enqueuedAt", out _));
        Assert.Equal(JsonValueKind.Null, page.GetProperty("next").ValueKind);
        Assert.Equal(before, await StatsAsync(hub));

        // The receive that follows gets the first message, on its first attempt.
        using var received = await hub.Http.PostAsync("/v1/queues/jobs/receive", null);
        var first = Assert.Single((await received.BodyAsync()).GetProperty("messages").EnumerateArray());
        Assert.Equal((1, 1), (first.GetProperty("id").GetInt32(), first.GetProperty("attempts").GetInt32()));
    }

    [Theory]
    [MemberData(nameof(Engines))]
    public async Task Peek_pages_and_filters_by_state(bool sqlite)
    {
        await using var hub = await TestHub.StartAsync(sqlite);
        using (await hub.Http.PostAsync("/v1/queues/jobs/messages", Json("""{"messages":[{"payload":1},{"payload":2},{"payload":3}]}""")))
        {
        }
        using (await hub.Http.PostAsync("/v1/queues/jobs/messages?delay=3600", Json("""{"payload":4}""")))
        {
        }
        using (await hub.Http.PostAsync("/v1/queues/jobs/receive?lease=60", null))
        {
        }

        var first = await PeekAsync(hub, "?limit=1");
        Assert.Equal(2, Assert.Single(first.GetProperty("messages").EnumerateArray()).GetProperty("id").GetInt32());
        Assert.Equal("2", first.GetProperty("next").GetString());
        var second = await PeekAsync(hub, "?limit=1&after=2");
        Assert.Equal(3, Assert.Single(second.GetProperty("messages").EnumerateArray()).GetProperty("id").GetInt32());
        Assert.Equal(JsonValueKind.Null, second.GetProperty("next").ValueKind);

        var leased = Assert.Single((await PeekAsync(hub, "?state=leased")).GetProperty("messages").EnumerateArray());
        Assert.Equal((1, 1), (leased.GetProperty("id").GetInt32(), leased.GetProperty("attempts").GetInt32()));
        Assert.True(leased.TryGetProperty("leaseExpiresAt", out _));
        Assert.False(leased.TryGetProperty("lease", out _));
        var delayed = Assert.Single((await PeekAsync(hub, "?state=delayed")).GetProperty("messages").EnumerateArray());
        Assert.Equal(4, delayed.GetProperty("id").GetInt32());
        Assert.True(delayed.GetProperty("visibleAt").GetDateTime() > DateTime.UtcNow.AddMinutes(50));
        var all = (await PeekAsync(hub, "?state=all")).GetProperty("messages").EnumerateArray().Select(m => m.GetProperty("state").GetString()!).ToArray();
        Assert.Equal(["leased", "ready", "ready", "delayed"], all);
        var some = (await PeekAsync(hub, "?state=ready,delayed")).GetProperty("messages").EnumerateArray().Select(m => m.GetProperty("id").GetInt32()).ToArray();
        Assert.Equal([2, 3, 4], some);
    }

    [Fact]
    public async Task Bad_peeks_are_problems_that_say_what_to_send()
    {
        await using var hub = await TestHub.StartAsync();
        using (await hub.Http.PutAsync("/v1/queues/jobs", Json("{}")))
        {
        }
        await (await hub.Http.GetAsync("/v1/queues/jobs/messages?state=dead")).AssertProblemAsync(HttpStatusCode.BadRequest, "invalid-request", "state", "ready, delayed, leased or all");
        await (await hub.Http.GetAsync("/v1/queues/jobs/messages?after=abc")).AssertProblemAsync(HttpStatusCode.BadRequest, "invalid-request", "after", "next");
        await (await hub.Http.GetAsync("/v1/queues/jobs/messages?after=-1")).AssertProblemAsync(HttpStatusCode.BadRequest, "invalid-request", "after");
        await (await hub.Http.GetAsync("/v1/queues/jobs/messages?limit=0")).AssertProblemAsync(HttpStatusCode.BadRequest, "invalid-request", "limit", "1 to 1000");
        await (await hub.Http.GetAsync("/v1/queues/jobs/messages?limit=1001")).AssertProblemAsync(HttpStatusCode.BadRequest, "invalid-request", "limit", "1 to 1000");
        await (await hub.Http.GetAsync("/v1/queues/missing/messages")).AssertProblemAsync(HttpStatusCode.NotFound, "queue-not-found", "missing");
        Assert.Equal(0, (await PeekAsync(hub, "?limit=1000")).GetProperty("messages").GetArrayLength());
    }

    [Fact]
    public async Task Peek_needs_the_consume_permission_on_the_queue()
    {
        static string Hash(string key) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(key)));
        await using var hub = await TestHub.StartAsync(settings: new Dictionary<string, string?>
        {
            ["Switchboard:Auth:ApiKeys:0:Name"] = "worker",
            ["Switchboard:Auth:ApiKeys:0:Hash"] = Hash("sk_test_worker_key_0123456789"),
            ["Switchboard:Auth:ApiKeys:0:Scopes:0"] = "consume:jobs",
            ["Switchboard:Auth:ApiKeys:0:Scopes:1"] = "publish:jobs",
            ["Switchboard:Auth:ApiKeys:1:Name"] = "producer",
            ["Switchboard:Auth:ApiKeys:1:Hash"] = Hash("sk_test_producer_key_0123456789"),
            ["Switchboard:Auth:ApiKeys:1:Scopes:0"] = "publish:jobs",
            ["Switchboard:Auth:ApiKeys:1:Scopes:1"] = "consume:other",
        });
        async Task<HttpResponseMessage> As(string key, HttpMethod method, string path, HttpContent? content = null)
        {
            using var request = new HttpRequestMessage(method, path) { Content = content };
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
            return await hub.Http.SendAsync(request);
        }

        using (var sent = await As("sk_test_worker_key_0123456789", HttpMethod.Post, "/v1/queues/jobs/messages", Json("""{"payload":1}""")))
        {
            Assert.Equal(HttpStatusCode.Created, sent.StatusCode);
        }
        using var worker = await As("sk_test_worker_key_0123456789", HttpMethod.Get, "/v1/queues/jobs/messages");
        Assert.Equal(1, (await worker.BodyAsync()).GetProperty("messages").GetArrayLength());
        using var producer = await As("sk_test_producer_key_0123456789", HttpMethod.Get, "/v1/queues/jobs/messages");
        await producer.AssertProblemAsync(HttpStatusCode.Forbidden, "forbidden");
        using var anonymous = await hub.Http.GetAsync("/v1/queues/jobs/messages");
        await anonymous.AssertProblemAsync(HttpStatusCode.Unauthorized, "unauthorized");
    }
}
