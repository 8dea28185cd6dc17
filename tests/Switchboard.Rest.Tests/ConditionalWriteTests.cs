using System.Net;
using System.Text;
using System.Text.Json;
using static Switchboard.Rest.Tests.Http;

namespace Switchboard.Rest.Tests;

/// <summary>
/// If-Match and If-None-Match on the writes of topics and queues (RFC 9110 13.1.1-13.1.2): a write happens only while
/// its condition holds, a 412 changes nothing, and only the configuration a write depends on is compared (a publish or
/// a send between the read and the write does not make the ETag stale).
/// </summary>
public sealed class ConditionalWriteTests
{
    public static TheoryData<bool> Engines => new() { false, true };

    private static string Unique(string prefix) => $"{prefix}-{Guid.NewGuid():N}"[..20];

    private static HttpRequestMessage Conditional(HttpMethod method, string path, string? ifMatch = null, string? ifNoneMatch = null, HttpContent? content = null)
    {
        var request = new HttpRequestMessage(method, path) { Content = content };
        if (ifMatch is not null)
        {
            request.Headers.TryAddWithoutValidation("If-Match", ifMatch);
        }
        if (ifNoneMatch is not null)
        {
            request.Headers.TryAddWithoutValidation("If-None-Match", ifNoneMatch);
        }
        return request;
    }

    private static StringContent MergePatch(string json) => new(json, Encoding.UTF8, "application/merge-patch+json");

    private static async Task<HttpResponseMessage> SendAsync(TestHub hub, HttpMethod method, string path, string? ifMatch = null, string? ifNoneMatch = null, HttpContent? content = null)
    {
        using var request = Conditional(method, path, ifMatch, ifNoneMatch, content);
        return await hub.Http.SendAsync(request);
    }

    /// <summary>The resource's ETag and body, read with GET.</summary>
    private static async Task<(string ETag, JsonElement Body)> ReadAsync(TestHub hub, string path)
    {
        using var response = await hub.Http.GetAsync(path);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return (response.Headers.ETag!.ToString(), await response.BodyAsync());
    }

    private static async Task<string> CreateTopicAsync(TestHub hub, string topic, string description = "first")
    {
        using var created = await hub.Http.PutAsync($"/v1/topics/{topic}", Json($$"""{"description": "{{description}}"}"""));
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        return created.Headers.ETag!.ToString();
    }

    private static async Task<string> DescriptionAsync(TestHub hub, string path)
        => (await ReadAsync(hub, path)).Body.TryGetProperty("description", out var d) ? d.GetString()! : "(none)";

    // ---- topics ----

    [Theory]
    [MemberData(nameof(Engines))]
    public async Task A_publish_between_GET_and_a_conditional_PUT_does_not_make_the_ETag_stale(bool sqlite)
    {
        await using var hub = await TestHub.StartAsync(sqlite);
        var topic = Unique("orders");
        await CreateTopicAsync(hub, topic);
        var (etag, _) = await ReadAsync(hub, $"/v1/topics/{topic}");
        await hub.PublishAsync(topic, """{"payload": 1}""");
        var (afterPublish, _) = await ReadAsync(hub, $"/v1/topics/{topic}");
        Assert.NotEqual(etag, afterPublish); // the representation changed (offsets)...

        using var put = await SendAsync(hub, HttpMethod.Put, $"/v1/topics/{topic}", ifMatch: etag, content: Json("""{"description": "second"}"""));
        Assert.Equal(HttpStatusCode.OK, put.StatusCode); // ...but not the configuration the write depends on
        Assert.Equal("second", await DescriptionAsync(hub, $"/v1/topics/{topic}"));
        Assert.NotEqual(etag, put.Headers.ETag!.ToString());

        // The PUT changed the configuration: the tag read before it is stale now, for PATCH and DELETE too.
        using var patch = await SendAsync(hub, HttpMethod.Patch, $"/v1/topics/{topic}", ifMatch: etag, content: MergePatch("""{"description": "third"}"""));
        await patch.AssertProblemAsync(HttpStatusCode.PreconditionFailed, "precondition-failed", $"GET /v1/topics/{topic}", "ETag", "retry");
        using var delete = await SendAsync(hub, HttpMethod.Delete, $"/v1/topics/{topic}", ifMatch: etag);
        await delete.AssertProblemAsync(HttpStatusCode.PreconditionFailed, "precondition-failed", $"GET /v1/topics/{topic}");
        Assert.Equal("second", await DescriptionAsync(hub, $"/v1/topics/{topic}"));
        Assert.Equal(1, await hub.LastOffsetAsync(topic));
    }

    [Theory]
    [MemberData(nameof(Engines))]
    public async Task A_configuration_change_between_GET_and_a_conditional_write_makes_it_fail_and_change_nothing(bool sqlite)
    {
        await using var hub = await TestHub.StartAsync(sqlite);
        var topic = Unique("orders");
        await CreateTopicAsync(hub, topic);
        var (etag, _) = await ReadAsync(hub, $"/v1/topics/{topic}");
        using (var other = await hub.Http.PatchAsync($"/v1/topics/{topic}", MergePatch("""{"description": "someone else's"}""")))
        {
            Assert.Equal(HttpStatusCode.OK, other.StatusCode);
        }

        using var put = await SendAsync(hub, HttpMethod.Put, $"/v1/topics/{topic}", ifMatch: etag, content: Json("""{"retention": {"maxMessages": 5}, "description": "mine"}"""));
        var problem = await put.AssertProblemAsync(HttpStatusCode.PreconditionFailed, "precondition-failed", "has changed", $"GET /v1/topics/{topic}", "If-Match");
        Assert.Equal("/v1/errors/precondition-failed", problem.GetProperty("type").GetString());
        using var patch = await SendAsync(hub, HttpMethod.Patch, $"/v1/topics/{topic}", ifMatch: etag, content: MergePatch("""{"description": "mine"}"""));
        await patch.AssertProblemAsync(HttpStatusCode.PreconditionFailed, "precondition-failed", "has changed");
        using var delete = await SendAsync(hub, HttpMethod.Delete, $"/v1/topics/{topic}", ifMatch: etag);
        await delete.AssertProblemAsync(HttpStatusCode.PreconditionFailed, "precondition-failed", "has changed");

        var (_, body) = await ReadAsync(hub, $"/v1/topics/{topic}");
        Assert.Equal("someone else's", body.GetProperty("description").GetString());
        Assert.False(body.GetProperty("retention").TryGetProperty("maxMessages", out var max) && max.GetInt64() == 5);
    }

    [Fact]
    public async Task Writes_with_the_current_ETag_succeed_and_a_list_matches_when_any_tag_does()
    {
        await using var hub = await TestHub.StartAsync();
        var topic = Unique("orders");
        var created = await CreateTopicAsync(hub, topic);

        using var patch = await SendAsync(hub, HttpMethod.Patch, $"/v1/topics/{topic}", ifMatch: $"\"0000000000zz.9.1.0\", {created}", content: MergePatch("""{"description": "patched"}"""));
        Assert.Equal(HttpStatusCode.OK, patch.StatusCode);
        Assert.Equal("patched", (await patch.BodyAsync()).GetProperty("description").GetString());
        var patched = patch.Headers.ETag!.ToString();
        Assert.NotEqual(created, patched);

        await hub.PublishAsync(topic, """{"payload": "kept until the delete"}""");
        using var delete = await SendAsync(hub, HttpMethod.Delete, $"/v1/topics/{topic}", ifMatch: patched);
        Assert.Equal(HttpStatusCode.NoContent, delete.StatusCode);
        Assert.Equal(-1, await hub.LastOffsetAsync(topic));
    }

    [Theory]
    [MemberData(nameof(Engines))]
    public async Task If_None_Match_star_creates_a_topic_only_when_it_does_not_exist(bool sqlite)
    {
        await using var hub = await TestHub.StartAsync(sqlite);
        var topic = Unique("orders");
        using var created = await SendAsync(hub, HttpMethod.Put, $"/v1/topics/{topic}", ifNoneMatch: "*", content: Json("""{"description": "first"}"""));
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);

        using var again = await SendAsync(hub, HttpMethod.Put, $"/v1/topics/{topic}", ifNoneMatch: "*", content: Json("""{"description": "overwritten"}"""));
        await again.AssertProblemAsync(HttpStatusCode.PreconditionFailed, "precondition-failed", "already exists", "If-None-Match: *", $"GET /v1/topics/{topic}");
        Assert.Equal("first", await DescriptionAsync(hub, $"/v1/topics/{topic}"));
    }

    [Fact]
    public async Task If_Match_star_requires_that_the_topic_exists()
    {
        await using var hub = await TestHub.StartAsync();
        var topic = Unique("orders");
        using var put = await SendAsync(hub, HttpMethod.Put, $"/v1/topics/{topic}", ifMatch: "*", content: Json("{}"));
        await put.AssertProblemAsync(HttpStatusCode.PreconditionFailed, "precondition-failed", "does not exist", "without If-Match");
        Assert.Equal(-1, await hub.LastOffsetAsync(topic)); // not created
        // A missing topic is 404 for PATCH and DELETE, as without the condition (RFC 9110 13.2.1).
        using var patch = await SendAsync(hub, HttpMethod.Patch, $"/v1/topics/{topic}", ifMatch: "*", content: MergePatch("{}"));
        await patch.AssertProblemAsync(HttpStatusCode.NotFound, "topic-not-found");
        using var delete = await SendAsync(hub, HttpMethod.Delete, $"/v1/topics/{topic}", ifMatch: "*");
        await delete.AssertProblemAsync(HttpStatusCode.NotFound, "topic-not-found");

        await CreateTopicAsync(hub, topic);
        using var replaced = await SendAsync(hub, HttpMethod.Put, $"/v1/topics/{topic}", ifMatch: "*", content: Json("""{"description": "replaced"}"""));
        Assert.Equal(HttpStatusCode.OK, replaced.StatusCode);
        using var deleted = await SendAsync(hub, HttpMethod.Delete, $"/v1/topics/{topic}", ifMatch: "*");
        Assert.Equal(HttpStatusCode.NoContent, deleted.StatusCode);
    }

    [Theory]
    [InlineData("\"nope\"")]
    [InlineData("nope")]
    [InlineData("\"abc.1.1.0\"")]
    [InlineData("\"0000000000zz.x.1.0\"")]
    [InlineData("\"1700000000000.1.0.0.0.0\"")] // a queue's ETag
    public async Task A_malformed_ETag_never_matches_and_the_answer_says_how_to_get_the_current_one(string ifMatch)
    {
        await using var hub = await TestHub.StartAsync();
        var topic = Unique("orders");
        await CreateTopicAsync(hub, topic);

        using var delete = await SendAsync(hub, HttpMethod.Delete, $"/v1/topics/{topic}", ifMatch: ifMatch);
        await delete.AssertProblemAsync(HttpStatusCode.PreconditionFailed, "precondition-failed", "not an ETag this hub issued", $"GET /v1/topics/{topic}", "ETag");
        using var put = await SendAsync(hub, HttpMethod.Put, $"/v1/topics/{topic}", ifMatch: ifMatch, content: Json("""{"description": "overwritten"}"""));
        await put.AssertProblemAsync(HttpStatusCode.PreconditionFailed, "precondition-failed", "not an ETag this hub issued");
        using var patch = await SendAsync(hub, HttpMethod.Patch, $"/v1/topics/{topic}", ifMatch: ifMatch, content: MergePatch("""{"description": "overwritten"}"""));
        await patch.AssertProblemAsync(HttpStatusCode.PreconditionFailed, "precondition-failed", "not an ETag this hub issued");
        Assert.Equal("first", await DescriptionAsync(hub, $"/v1/topics/{topic}"));
    }

    [Fact]
    public async Task A_weak_ETag_never_matches_If_Match_but_matches_If_None_Match()
    {
        await using var hub = await TestHub.StartAsync();
        var topic = Unique("orders");
        var etag = await CreateTopicAsync(hub, topic);

        using var weakMatch = await SendAsync(hub, HttpMethod.Put, $"/v1/topics/{topic}", ifMatch: "W/" + etag, content: Json("""{"description": "overwritten"}"""));
        await weakMatch.AssertProblemAsync(HttpStatusCode.PreconditionFailed, "precondition-failed", "weak", "strongly");
        using var weakDelete = await SendAsync(hub, HttpMethod.Delete, $"/v1/topics/{topic}", ifMatch: "W/" + etag);
        await weakDelete.AssertProblemAsync(HttpStatusCode.PreconditionFailed, "precondition-failed", "weak");
        // If-None-Match compares weakly: the topic is still at that version, so a write "unless it is still that" fails.
        using var weakNone = await SendAsync(hub, HttpMethod.Put, $"/v1/topics/{topic}", ifNoneMatch: "W/" + etag, content: Json("""{"description": "overwritten"}"""));
        await weakNone.AssertProblemAsync(HttpStatusCode.PreconditionFailed, "precondition-failed", "still at the version");
        Assert.Equal("first", await DescriptionAsync(hub, $"/v1/topics/{topic}"));
    }

    [Fact]
    public async Task An_ETag_of_an_earlier_incarnation_never_matches_the_topic_created_again()
    {
        await using var hub = await TestHub.StartAsync();
        var topic = Unique("orders");
        var old = await CreateTopicAsync(hub, topic);
        using (var deleted = await hub.Http.DeleteAsync($"/v1/topics/{topic}"))
        {
            Assert.Equal(HttpStatusCode.NoContent, deleted.StatusCode);
        }
        var reborn = await CreateTopicAsync(hub, topic, "reborn"); // configuration version 1 again, new epoch
        Assert.NotEqual(old, reborn);

        using var delete = await SendAsync(hub, HttpMethod.Delete, $"/v1/topics/{topic}", ifMatch: old);
        await delete.AssertProblemAsync(HttpStatusCode.PreconditionFailed, "precondition-failed", "has changed");
        Assert.Equal("reborn", await DescriptionAsync(hub, $"/v1/topics/{topic}"));
    }

    [Fact]
    public async Task Concurrent_conditional_writes_with_one_ETag_let_exactly_one_win()
    {
        await using var hub = await TestHub.StartAsync(sqlite: true);
        var topic = Unique("orders");
        var etag = await CreateTopicAsync(hub, topic);
        var writes = Enumerable.Range(0, 8).Select(async i =>
        {
            using var response = await SendAsync(hub, HttpMethod.Patch, $"/v1/topics/{topic}", ifMatch: etag, content: MergePatch($$"""{"description": "writer {{i}}"}"""));
            return (response.StatusCode, i);
        }).ToList();
        var results = await Task.WhenAll(writes);
        var winner = Assert.Single(results, r => r.StatusCode == HttpStatusCode.OK);
        Assert.All(results.Where(r => r != winner), r => Assert.Equal(HttpStatusCode.PreconditionFailed, r.StatusCode));
        Assert.Equal($"writer {winner.i}", await DescriptionAsync(hub, $"/v1/topics/{topic}"));
    }

    // ---- queues ----

    [Theory]
    [MemberData(nameof(Engines))]
    public async Task A_queue_answers_with_an_ETag_that_If_None_Match_turns_into_304_until_it_changes(bool sqlite)
    {
        await using var hub = await TestHub.StartAsync(sqlite);
        var queue = Unique("jobs");
        using var created = await hub.Http.PutAsync($"/v1/queues/{queue}", Json("{}"));
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var (etag, _) = await ReadAsync(hub, $"/v1/queues/{queue}");
        Assert.Equal(created.Headers.ETag!.ToString(), etag);

        using (var unchanged = await SendAsync(hub, HttpMethod.Get, $"/v1/queues/{queue}", ifNoneMatch: etag))
        {
            Assert.Equal(HttpStatusCode.NotModified, unchanged.StatusCode);
            Assert.Equal(etag, unchanged.Headers.ETag!.ToString());
        }
        using (await hub.Http.PostAsync($"/v1/queues/{queue}/messages", Json("""{"payload": 1}""")))
        {
        }
        using var changed = await SendAsync(hub, HttpMethod.Get, $"/v1/queues/{queue}", ifNoneMatch: etag);
        Assert.Equal(HttpStatusCode.OK, changed.StatusCode); // the counts are part of the representation
        Assert.Equal(1, (await changed.BodyAsync()).GetProperty("stats").GetProperty("ready").GetInt32());
        Assert.NotEqual(etag, changed.Headers.ETag!.ToString());
    }

    [Theory]
    [MemberData(nameof(Engines))]
    public async Task Queue_writes_honour_If_Match_and_a_send_between_GET_and_the_write_does_not_make_it_stale(bool sqlite)
    {
        await using var hub = await TestHub.StartAsync(sqlite);
        var queue = Unique("jobs");
        using (var created = await SendAsync(hub, HttpMethod.Put, $"/v1/queues/{queue}", ifNoneMatch: "*", content: Json("""{"maxAttempts": 3}""")))
        {
            Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        }
        var (etag, _) = await ReadAsync(hub, $"/v1/queues/{queue}");
        using (await hub.Http.PostAsync($"/v1/queues/{queue}/messages", Json("""{"payload": 1}""")))
        {
        }

        using var put = await SendAsync(hub, HttpMethod.Put, $"/v1/queues/{queue}", ifMatch: etag, content: Json("""{"maxAttempts": 4}"""));
        Assert.Equal(HttpStatusCode.OK, put.StatusCode);
        Assert.Equal(4, (await put.BodyAsync()).GetProperty("maxAttempts").GetInt32());

        // Stale now: PUT, PATCH and DELETE are refused and change nothing.
        using var stalePut = await SendAsync(hub, HttpMethod.Put, $"/v1/queues/{queue}", ifMatch: etag, content: Json("""{"maxAttempts": 9}"""));
        await stalePut.AssertProblemAsync(HttpStatusCode.PreconditionFailed, "precondition-failed", "has changed", $"GET /v1/queues/{queue}", "ETag");
        using var stalePatch = await SendAsync(hub, HttpMethod.Patch, $"/v1/queues/{queue}", ifMatch: etag, content: MergePatch("""{"maxAttempts": 9}"""));
        await stalePatch.AssertProblemAsync(HttpStatusCode.PreconditionFailed, "precondition-failed", "has changed");
        using var staleDelete = await SendAsync(hub, HttpMethod.Delete, $"/v1/queues/{queue}", ifMatch: etag);
        await staleDelete.AssertProblemAsync(HttpStatusCode.PreconditionFailed, "precondition-failed", "has changed");
        var (current, body) = await ReadAsync(hub, $"/v1/queues/{queue}");
        Assert.Equal((4, 1), (body.GetProperty("maxAttempts").GetInt32(), body.GetProperty("stats").GetProperty("ready").GetInt32()));

        using var again = await SendAsync(hub, HttpMethod.Put, $"/v1/queues/{queue}", ifNoneMatch: "*", content: Json("{}"));
        await again.AssertProblemAsync(HttpStatusCode.PreconditionFailed, "precondition-failed", "already exists");
        using var delete = await SendAsync(hub, HttpMethod.Delete, $"/v1/queues/{queue}", ifMatch: current);
        Assert.Equal(HttpStatusCode.NoContent, delete.StatusCode);
        using var gone = await hub.Http.GetAsync($"/v1/queues/{queue}");
        Assert.Equal(HttpStatusCode.NotFound, gone.StatusCode);
    }

    [Theory]
    [InlineData("\"nope\"")]
    [InlineData("W/\"{0}\"")]
    [InlineData("\"0000000000zz.1.1.0\"")] // a topic's ETag
    public async Task A_queue_refuses_malformed_and_weak_ETags(string template)
    {
        await using var hub = await TestHub.StartAsync();
        var queue = Unique("jobs");
        using var created = await hub.Http.PutAsync($"/v1/queues/{queue}", Json("""{"description": "first"}"""));
        var ifMatch = string.Format(System.Globalization.CultureInfo.InvariantCulture, template, created.Headers.ETag!.Tag.Trim('"'));

        using var delete = await SendAsync(hub, HttpMethod.Delete, $"/v1/queues/{queue}", ifMatch: ifMatch);
        await delete.AssertProblemAsync(HttpStatusCode.PreconditionFailed, "precondition-failed", $"GET /v1/queues/{queue}");
        using var patch = await SendAsync(hub, HttpMethod.Patch, $"/v1/queues/{queue}", ifMatch: ifMatch, content: MergePatch("""{"description": "overwritten"}"""));
        await patch.AssertProblemAsync(HttpStatusCode.PreconditionFailed, "precondition-failed");
        Assert.Equal("first", await DescriptionAsync(hub, $"/v1/queues/{queue}"));
    }

    [Fact]
    public async Task If_Match_star_on_a_queue_requires_that_it_exists_and_an_earlier_incarnation_never_matches()
    {
        await using var hub = await TestHub.StartAsync();
        var queue = Unique("jobs");
        using var missing = await SendAsync(hub, HttpMethod.Put, $"/v1/queues/{queue}", ifMatch: "*", content: Json("{}"));
        await missing.AssertProblemAsync(HttpStatusCode.PreconditionFailed, "precondition-failed", "does not exist");
        using (var notCreated = await hub.Http.GetAsync($"/v1/queues/{queue}"))
        {
            Assert.Equal(HttpStatusCode.NotFound, notCreated.StatusCode);
        }

        using var first = await hub.Http.PutAsync($"/v1/queues/{queue}", Json("{}"));
        var old = first.Headers.ETag!.ToString();
        using (await hub.Http.DeleteAsync($"/v1/queues/{queue}"))
        {
        }
        await Task.Delay(5); // a new creation time: the incarnation the ETag names
        using var reborn = await hub.Http.PutAsync($"/v1/queues/{queue}", Json("""{"description": "reborn"}"""));
        Assert.Equal(HttpStatusCode.Created, reborn.StatusCode);
        using var stale = await SendAsync(hub, HttpMethod.Delete, $"/v1/queues/{queue}", ifMatch: old);
        await stale.AssertProblemAsync(HttpStatusCode.PreconditionFailed, "precondition-failed", "has changed");
        using var star = await SendAsync(hub, HttpMethod.Put, $"/v1/queues/{queue}", ifMatch: "*", content: Json("""{"description": "replaced"}"""));
        Assert.Equal(HttpStatusCode.OK, star.StatusCode);
        Assert.Equal("replaced", await DescriptionAsync(hub, $"/v1/queues/{queue}"));
    }
}
