using System.Net;
using System.Text.Json;
using static Switchboard.Rest.Tests.Http;

namespace Switchboard.Rest.Tests;

/// <summary>
/// A queue's maxLength and maxDeadLetters over REST: a full queue refuses a send, a request or a publish to a topic bound
/// to it with 409 limit-reached naming the queue, its length and its limit; the limits show on GET; bad values are a 400
/// naming the field and its range.
/// </summary>
public sealed class QueueLimitTests
{
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_full_queue_refuses_sends_requests_and_bound_publishes_with_409_and_nothing_is_written(bool sqlite)
    {
        await using var hub = await TestHub.StartAsync(sqlite);
        Assert.Equal(HttpStatusCode.Created, (await hub.Http.PutAsync("/v1/queues/jobs", Json("""{"maxLength": 2}"""))).StatusCode);
        Assert.Equal(HttpStatusCode.Created, (await hub.Http.PostAsync("/v1/queues/jobs/messages", Json("""{"messages":[{"payload":1},{"payload":2}]}"""))).StatusCode);

        using var sent = await hub.Http.PostAsync("/v1/queues/jobs/messages", Json("""{"payload":3}"""));
        var problem = await sent.AssertProblemAsync(HttpStatusCode.Conflict, "limit-reached", "'jobs' is full", "holds 2 messages", "limit is 2", "maxLength", "Switchboard:Queues:MaxLength");
        Assert.Equal((2, 2, "jobs"), (problem.GetProperty("limit").GetInt32(), problem.GetProperty("length").GetInt32(), problem.GetProperty("queue").GetString()));
        using var batch = await hub.Http.PostAsync("/v1/queues/jobs/messages", Json("""{"messages":[{"payload":3},{"payload":4}]}"""));
        await batch.AssertProblemAsync(HttpStatusCode.Conflict, "limit-reached", "2 more messages", "nothing was written");
        using var request = await hub.Http.PostAsync("/v1/queues/jobs/requests?timeout=1s", Json("""{"payload":3}"""));
        await request.AssertProblemAsync(HttpStatusCode.Conflict, "limit-reached", "'jobs' is full");

        Assert.Equal(HttpStatusCode.Created, (await hub.Http.PutAsync("/v1/queues/audit", Json("{}"))).StatusCode);
        Assert.True((await hub.Http.PutAsync("/v1/queues/audit/bindings/orders.%3E", null)).IsSuccessStatusCode);
        await hub.PublishAsync("orders.new", """{"payload":0}""");
        Assert.True((await hub.Http.PutAsync("/v1/queues/jobs/bindings/orders.%3E", null)).IsSuccessStatusCode);
        using var published = await hub.Http.PostAsync("/v1/topics/orders.new/messages", Json("""{"payload":1}"""));
        await published.AssertProblemAsync(HttpStatusCode.Conflict, "limit-reached", "'jobs' is full");
        using (var history = JsonDocument.Parse(await hub.Http.GetStringAsync("/v1/topics/orders.new/messages?after=0")))
        {
            Assert.Equal(1, history.RootElement.GetProperty("messages").GetArrayLength()); // the refused publish appended nothing
        }

        using var info = JsonDocument.Parse(await hub.Http.GetStringAsync("/v1/queues/jobs"));
        var queue = info.RootElement;
        Assert.Equal(2, queue.GetProperty("maxLength").GetInt64());
        Assert.Equal((2L, 0L), (queue.GetProperty("stats").GetProperty("length").GetInt64(), queue.GetProperty("stats").GetProperty("deadDropped").GetInt64()));
        Assert.Equal(2, queue.GetProperty("limits").GetProperty("maxLength").GetInt64());
        Assert.Equal(100_000, queue.GetProperty("limits").GetProperty("maxDeadLetters").GetInt64()); // the hub's default
        using var audit = JsonDocument.Parse(await hub.Http.GetStringAsync("/v1/queues/audit"));
        Assert.Equal(1, audit.RootElement.GetProperty("stats").GetProperty("ready").GetInt64()); // no copy of the refused publish
        Assert.False(audit.RootElement.TryGetProperty("maxLength", out _)); // it follows the hub's default
        Assert.Equal(1_000_000, audit.RootElement.GetProperty("limits").GetProperty("maxLength").GetInt64());
    }

    [Fact]
    public async Task The_hubs_default_limits_come_from_the_settings_and_unlimited_removes_one()
    {
        await using var hub = await TestHub.StartAsync(settings: new Dictionary<string, string?>
        {
            ["Switchboard:Queues:MaxLength"] = "1",
            ["Switchboard:Queues:MaxDeadLetters"] = "unlimited",
        });
        Assert.Equal(HttpStatusCode.Created, (await hub.Http.PostAsync("/v1/queues/q/messages", Json("""{"payload":1}"""))).StatusCode);
        using var refused = await hub.Http.PostAsync("/v1/queues/q/messages", Json("""{"payload":2}"""));
        await refused.AssertProblemAsync(HttpStatusCode.Conflict, "limit-reached", "limit is 1");

        using var info = JsonDocument.Parse(await hub.Http.GetStringAsync("/v1/queues/q"));
        var limits = info.RootElement.GetProperty("limits");
        Assert.Equal((1L, JsonValueKind.Null), (limits.GetProperty("maxLength").GetInt64(), limits.GetProperty("maxDeadLetters").ValueKind));
        // A queue of its own raises it; a patch to null goes back to the default.
        using var patched = await hub.Http.PatchAsync("/v1/queues/q", new StringContent("""{"maxLength": 5}""", System.Text.Encoding.UTF8, "application/merge-patch+json"));
        Assert.Equal(HttpStatusCode.OK, patched.StatusCode);
        Assert.Equal(HttpStatusCode.Created, (await hub.Http.PostAsync("/v1/queues/q/messages", Json("""{"payload":2}"""))).StatusCode);
        using var reset = await hub.Http.PatchAsync("/v1/queues/q", new StringContent("""{"maxLength": null}""", System.Text.Encoding.UTF8, "application/merge-patch+json"));
        Assert.Equal(HttpStatusCode.OK, reset.StatusCode);
        using var again = JsonDocument.Parse(await hub.Http.GetStringAsync("/v1/queues/q"));
        Assert.False(again.RootElement.TryGetProperty("maxLength", out _));
        Assert.Equal(1, again.RootElement.GetProperty("limits").GetProperty("maxLength").GetInt64());
    }

    [Theory]
    [InlineData("maxLength", "0")]
    [InlineData("maxLength", "-1")]
    [InlineData("maxLength", "\"10\"")]
    [InlineData("maxLength", "1.5")]
    [InlineData("maxLength", "true")]
    [InlineData("maxLength", "10000000000000")]
    [InlineData("maxDeadLetters", "0")]
    [InlineData("maxDeadLetters", "-5")]
    [InlineData("maxDeadLetters", "\"many\"")]
    [InlineData("maxDeadLetters", "99999999999999999999")]
    public async Task A_limit_that_is_not_a_whole_number_from_1_is_a_400_naming_the_field_and_the_range(string field, string value)
    {
        await using var hub = await TestHub.StartAsync();
        using var put = await hub.Http.PutAsync("/v1/queues/bad", Json($$"""{"{{field}}": {{value}}}"""));
        await put.AssertProblemAsync(HttpStatusCode.BadRequest, "invalid-request", field, "1 to 1000000000000");
        Assert.Equal(HttpStatusCode.NotFound, (await hub.Http.GetAsync("/v1/queues/bad")).StatusCode);

        Assert.Equal(HttpStatusCode.Created, (await hub.Http.PutAsync("/v1/queues/good", Json("{}"))).StatusCode);
        using var patch = await hub.Http.PatchAsync("/v1/queues/good", new StringContent($$"""{"{{field}}": {{value}}}""", System.Text.Encoding.UTF8, "application/merge-patch+json"));
        await patch.AssertProblemAsync(HttpStatusCode.BadRequest, "invalid-request", field, "1 to 1000000000000");
    }
}
