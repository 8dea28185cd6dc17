using System.Net;
using System.Text.Json;
using static Switchboard.Rest.Tests.Http;

namespace Switchboard.Rest.Tests;

/// <summary>
/// POST /v1/queues/{q}/ack: a received batch settled in one request, on both engines. Each ack stands alone and its
/// failure is reported with the problem its own ack would have answered; a malformed batch acks nothing.
/// </summary>
public sealed class QueueAckBatchTests
{
    public static TheoryData<bool> Engines => new() { false, true };

    private static async Task<List<JsonElement>> SendAndReceiveAsync(TestHub hub, string queue, int count)
    {
        var messages = string.Join(",", Enumerable.Range(1, count).Select(i => $$"""{"payload":{{i}}}"""));
        using (var sent = await hub.Http.PostAsync($"/v1/queues/{queue}/messages", Json($$"""{"messages":[{{messages}}]}""")))
        {
            Assert.Equal(HttpStatusCode.Created, sent.StatusCode);
        }
        using var received = await hub.Http.PostAsync($"/v1/queues/{queue}/receive?max={count}&lease=60", null);
        Assert.Equal(HttpStatusCode.OK, received.StatusCode);
        var leased = (await received.BodyAsync()).GetProperty("messages").EnumerateArray().ToList();
        Assert.Equal(count, leased.Count);
        return leased;
    }

    private static string Item(JsonElement message, string? lease = null)
        => $$"""{"id":{{message.GetProperty("id").GetInt64()}},"lease":"{{lease ?? message.GetProperty("lease").GetString()}}"}""";

    private static async Task<(long Ready, long Leased)> StatsAsync(TestHub hub, string queue)
    {
        var stats = (await (await hub.Http.GetAsync($"/v1/queues/{queue}")).BodyAsync()).GetProperty("stats");
        return (stats.GetProperty("ready").GetInt64(), stats.GetProperty("leased").GetInt64());
    }

    [Theory]
    [MemberData(nameof(Engines))]
    public async Task A_received_batch_is_acked_in_one_request(bool sqlite)
    {
        await using var hub = await TestHub.StartAsync(sqlite);
        var leased = await SendAndReceiveAsync(hub, "jobs", 50);

        using var response = await hub.Http.PostAsync("/v1/queues/jobs/ack", Json($$"""{"messages":[{{string.Join(",", leased.Select(m => Item(m)))}}]}"""));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var body = await response.BodyAsync();
        Assert.Equal(leased.Select(m => m.GetProperty("id").GetInt64()), body.GetProperty("acked").EnumerateArray().Select(a => a.GetInt64()));
        Assert.Equal(0, body.GetProperty("failed").GetArrayLength());
        Assert.Equal((0L, 0L), await StatsAsync(hub, "jobs"));
    }

    [Theory]
    [MemberData(nameof(Engines))]
    public async Task Each_failure_stands_alone_with_the_problem_its_own_ack_would_answer(bool sqlite)
    {
        await using var hub = await TestHub.StartAsync(sqlite);
        var leased = await SendAndReceiveAsync(hub, "jobs", 3);
        var wrongLease = leased[2].GetProperty("lease").GetString();

        // Ids as numbers or as digit strings, as a client may have kept them.
        var batch = $$"""{"messages":[{{Item(leased[0])}},{{Item(leased[1], wrongLease)}},{"id":"999","lease":"{{wrongLease}}"}]}""";
        using var response = await hub.Http.PostAsync("/v1/queues/jobs/ack", Json(batch));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var body = await response.BodyAsync();
        Assert.Equal([leased[0].GetProperty("id").GetInt64()], body.GetProperty("acked").EnumerateArray().Select(a => a.GetInt64()));
        var failed = body.GetProperty("failed").EnumerateArray().ToList();
        Assert.Equal([leased[1].GetProperty("id").GetInt64(), 999L], failed.Select(f => f.GetProperty("id").GetInt64()));
        // The same answers a single ack of each gives.
        using var alone = await hub.Http.PostAsync($"/v1/queues/jobs/messages/{leased[1].GetProperty("id")}/ack", Json($$"""{"lease":"{{wrongLease}}"}"""));
        var problem = await alone.AssertProblemAsync((HttpStatusCode)409, "lease-mismatch");
        Assert.Equal((409, "lease-mismatch", "/v1/errors/lease-mismatch"), (failed[0].GetProperty("status").GetInt32(), failed[0].GetProperty("code").GetString(), failed[0].GetProperty("type").GetString()));
        Assert.Equal(problem.GetProperty("detail").GetString(), failed[0].GetProperty("detail").GetString());
        Assert.Equal((404, "message-not-found"), (failed[1].GetProperty("status").GetInt32(), failed[1].GetProperty("code").GetString()));
        Assert.Contains("999", failed[1].GetProperty("detail").GetString());
        Assert.Equal((0L, 2L), await StatsAsync(hub, "jobs")); // the two not acked are still leased
    }

    [Theory]
    [InlineData("", HttpStatusCode.BadRequest, "invalid-request", "messages")]
    [InlineData("not json", HttpStatusCode.BadRequest, "invalid-json", "JSON")]
    [InlineData("""{"messages":[]}""", HttpStatusCode.UnprocessableEntity, "validation-failed", "1 to 1000")]
    [InlineData("""{"messages":{}}""", HttpStatusCode.BadRequest, "invalid-request", "messages array")]
    [InlineData("""{"acks":[]}""", HttpStatusCode.BadRequest, "invalid-request", "no field 'acks'")]
    [InlineData("""{"messages":[{"id":FIRST,"lease":"LEASE"},{"lease":"LEASE"}]}""", HttpStatusCode.BadRequest, "invalid-request", "messages[1] needs the message's id")]
    [InlineData("""{"messages":[{"id":FIRST,"lease":"LEASE"},{"id":-3,"lease":"LEASE"}]}""", HttpStatusCode.BadRequest, "invalid-request", "messages[1].id")]
    [InlineData("""{"messages":[{"id":FIRST,"lease":"LEASE"},{"id":FIRST}]}""", HttpStatusCode.BadRequest, "invalid-request", "messages[1] needs the message's lease")]
    [InlineData("""{"messages":[{"id":FIRST,"lease":"LEASE"},{"id":FIRST,"lease":"LEASE"}]}""", HttpStatusCode.UnprocessableEntity, "validation-failed", "twice")]
    [InlineData("""{"messages":[{"id":FIRST,"lease":7}]}""", HttpStatusCode.BadRequest, "invalid-request", "lease token string")]
    [InlineData("""{"messages":[{"id":FIRST,"lease":"LEASE","delay":5}]}""", HttpStatusCode.BadRequest, "invalid-request", "no field 'delay'")]
    public async Task A_malformed_batch_is_refused_and_acks_nothing(string body, HttpStatusCode status, string code, string says)
    {
        await using var hub = await TestHub.StartAsync();
        var leased = await SendAndReceiveAsync(hub, "jobs", 1);
        body = body.Replace("FIRST", leased[0].GetProperty("id").GetInt64().ToString()).Replace("LEASE", leased[0].GetProperty("lease").GetString());

        using var response = await hub.Http.PostAsync("/v1/queues/jobs/ack", Json(body));

        await response.AssertProblemAsync(status, code, says);
        Assert.Equal((0L, 1L), await StatsAsync(hub, "jobs"));
    }

    [Fact]
    public async Task More_than_a_thousand_acks_are_refused()
    {
        await using var hub = await TestHub.StartAsync();
        var items = string.Join(",", Enumerable.Range(1, 1001).Select(i => $$"""{"id":{{i}},"lease":"x"}"""));
        using var response = await hub.Http.PostAsync("/v1/queues/jobs/ack", Json($$"""{"messages":[{{items}}]}"""));
        await response.AssertProblemAsync(HttpStatusCode.UnprocessableEntity, "validation-failed", "1001", "1 to 1000");
    }

    [Fact]
    public async Task A_batch_for_a_missing_queue_or_a_bad_name_is_refused_whole()
    {
        await using var hub = await TestHub.StartAsync();
        using (var missing = await hub.Http.PostAsync("/v1/queues/nowhere/ack", Json("""{"messages":[{"id":1,"lease":"x"}]}""")))
        {
            await missing.AssertProblemAsync(HttpStatusCode.NotFound, "queue-not-found", "nowhere");
        }
        using var bad = await hub.Http.PostAsync("/v1/queues/bad%20name/ack", Json("""{"messages":[{"id":1,"lease":"x"}]}"""));
        await bad.AssertProblemAsync(HttpStatusCode.BadRequest, "invalid-queue-name");
    }
}
