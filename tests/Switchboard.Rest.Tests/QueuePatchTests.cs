using System.Net;
using System.Text;
using System.Text.Json;
using static Switchboard.Rest.Tests.Http;

namespace Switchboard.Rest.Tests;

/// <summary>
/// PATCH /v1/queues/{queue}: a JSON merge patch (RFC 7396) of the settings, refused as PUT refuses bad settings, and
/// PATCH /v1/topics/{topic} refusing what it cannot change.
/// </summary>
public sealed class QueuePatchTests
{
    public static TheoryData<bool> Engines => new() { false, true };

    private static string Unique(string prefix) => $"{prefix}-{Guid.NewGuid():N}"[..20];

    private static StringContent MergePatch(string json) => new(json, Encoding.UTF8, "application/merge-patch+json");

    private const string Initial = """{"lease": "45s", "maxAttempts": 4, "backoff": {"initial": "2s", "max": "1m"}, "description": "thumbnails"}""";

    private static async Task<JsonElement> CreateAsync(TestHub hub, string queue)
    {
        using var created = await hub.Http.PutAsync($"/v1/queues/{queue}", Json(Initial));
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        return await created.BodyAsync();
    }

    private static async Task<JsonElement> ReadAsync(TestHub hub, string queue) => await (await hub.Http.GetAsync($"/v1/queues/{queue}")).BodyAsync();

    /// <summary>The settings as one comparable value.</summary>
    private static (string Lease, int MaxAttempts, string Initial, string Max, string? Description) Settings(JsonElement queue) => (
        queue.GetProperty("lease").GetString()!,
        queue.GetProperty("maxAttempts").GetInt32(),
        queue.GetProperty("backoff").GetProperty("initial").GetString()!,
        queue.GetProperty("backoff").GetProperty("max").GetString()!,
        queue.TryGetProperty("description", out var d) ? d.GetString() : null);

    [Theory]
    [MemberData(nameof(Engines))]
    public async Task Each_setting_is_patched_on_its_own_and_the_others_stay(bool sqlite)
    {
        await using var hub = await TestHub.StartAsync(sqlite);
        var queue = Unique("jobs");
        var created = await CreateAsync(hub, queue);
        Assert.Equal(("45s", 4, "2s", "1m", "thumbnails"), Settings(created));
        var version = created.GetProperty("configVersion").GetInt64();

        var steps = new (string Patch, (string, int, string, string, string?) Expected)[]
        {
            ("""{"lease": "2m"}""", ("2m", 4, "2s", "1m", "thumbnails")),
            ("""{"maxAttempts": 7}""", ("2m", 7, "2s", "1m", "thumbnails")),
            ("""{"backoff": {"initial": 5}}""", ("2m", 7, "5s", "1m", "thumbnails")),
            ("""{"backoff": {"max": "10m"}}""", ("2m", 7, "5s", "10m", "thumbnails")),
            ("""{"description": "resized images"}""", ("2m", 7, "5s", "10m", "resized images")),
        };
        foreach (var (patch, expected) in steps)
        {
            using var response = await hub.Http.PatchAsync($"/v1/queues/{queue}", MergePatch(patch));
            Assert.True(response.StatusCode == HttpStatusCode.OK, $"{patch}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
            var body = await response.BodyAsync();
            Assert.Equal(expected, Settings(body));
            Assert.Equal(++version, body.GetProperty("configVersion").GetInt64());
            Assert.NotNull(response.Headers.ETag);
            Assert.Equal(expected, Settings(await ReadAsync(hub, queue))); // stored, not only answered
        }
    }

    [Fact]
    public async Task Null_resets_a_setting_to_its_default_and_removes_the_description()
    {
        await using var hub = await TestHub.StartAsync();
        var queue = Unique("jobs");
        await CreateAsync(hub, queue);

        using var lease = await hub.Http.PatchAsync($"/v1/queues/{queue}", MergePatch("""{"lease": null, "description": null}"""));
        Assert.Equal(HttpStatusCode.OK, lease.StatusCode);
        Assert.Equal(("30s", 4, "2s", "1m", (string?)null), Settings(await lease.BodyAsync()));
        using var backoff = await hub.Http.PatchAsync($"/v1/queues/{queue}", MergePatch("""{"backoff": null, "maxAttempts": null}"""));
        Assert.Equal(("30s", 10, "1s", "5m", (string?)null), Settings(await backoff.BodyAsync()));
    }

    [Fact]
    public async Task Plain_application_json_is_accepted_too()
    {
        await using var hub = await TestHub.StartAsync();
        var queue = Unique("jobs");
        await CreateAsync(hub, queue);
        using var response = await hub.Http.PatchAsync($"/v1/queues/{queue}", Json("""{"maxAttempts": 2}"""));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(2, (await ReadAsync(hub, queue)).GetProperty("maxAttempts").GetInt32());
    }

    [Theory]
    [InlineData("""{"maxAttempts": 0}""", 422, "validation-failed", "maxAttempts")]
    [InlineData("""{"maxAttempts": 1001}""", 422, "validation-failed", "1 to 1000")]
    [InlineData("""{"backoff": {"initial": "10m", "max": "1m"}}""", 422, "validation-failed", "backoff.max")]
    [InlineData("""{"maxAttempts": "many"}""", 400, "invalid-request", "maxAttempts")]
    [InlineData("""{"lease": "soon"}""", 400, "invalid-request", "lease")]
    [InlineData("""{"lease": "13h"}""", 400, "invalid-request", "12h")]
    [InlineData("""{"description": 5}""", 400, "invalid-request", "description")]
    [InlineData("""{"backoff": 5}""", 400, "invalid-request", "backoff")]
    [InlineData("""[{"maxAttempts": 2}]""", 400, "invalid-request", "JSON object")]
    [InlineData("""{"maxAttempts": """, 400, "invalid-json", "not valid JSON")]
    public async Task Bad_values_are_refused_as_PUT_refuses_them_and_change_nothing(string patch, int status, string code, string word)
    {
        await using var hub = await TestHub.StartAsync();
        var queue = Unique("jobs");
        var created = await CreateAsync(hub, queue);
        using var response = await hub.Http.PatchAsync($"/v1/queues/{queue}", MergePatch(patch));
        await response.AssertProblemAsync((HttpStatusCode)status, code, word);
        var after = await ReadAsync(hub, queue);
        Assert.Equal(Settings(created), Settings(after));
        Assert.Equal(created.GetProperty("configVersion").GetInt64(), after.GetProperty("configVersion").GetInt64());
    }

    [Theory]
    [InlineData("""{"colour": "red"}""")]
    [InlineData("""{"colour": null}""")]
    [InlineData("""{"name": "other"}""")]
    [InlineData("""{"configVersion": 9}""")]
    [InlineData("""{"stats": {"ready": 0}}""")]
    [InlineData("""{"backoff": {"jitter": "1s"}}""")]
    public async Task Unknown_and_read_only_members_are_refused_with_the_error_PUT_gives(string patch)
    {
        await using var hub = await TestHub.StartAsync();
        var queue = Unique("jobs");
        var created = await CreateAsync(hub, queue);
        using var patched = await hub.Http.PatchAsync($"/v1/queues/{queue}", MergePatch(patch));
        var problem = await patched.AssertProblemAsync(HttpStatusCode.BadRequest, "invalid-request");
        using var put = await hub.Http.PutAsync($"/v1/queues/{queue}", Json(patch));
        var putProblem = await put.AssertProblemAsync(HttpStatusCode.BadRequest, "invalid-request");
        Assert.Equal(putProblem.GetProperty("detail").GetString(), problem.GetProperty("detail").GetString());
        Assert.Equal(Settings(created), Settings(await ReadAsync(hub, queue)));
    }

    [Fact]
    public async Task The_content_type_must_be_a_merge_patch_or_JSON()
    {
        await using var hub = await TestHub.StartAsync();
        var queue = Unique("jobs");
        await CreateAsync(hub, queue);
        using var text = await hub.Http.PatchAsync($"/v1/queues/{queue}", Raw(Encoding.UTF8.GetBytes("""{"maxAttempts": 2}"""), "text/plain"));
        await text.AssertProblemAsync(HttpStatusCode.UnsupportedMediaType, "unsupported-media-type", "application/merge-patch+json");
        using var none = await hub.Http.PatchAsync($"/v1/queues/{queue}", Raw(Encoding.UTF8.GetBytes("""{"maxAttempts": 2}"""), null));
        await none.AssertProblemAsync(HttpStatusCode.UnsupportedMediaType, "unsupported-media-type", "Content-Type");
        Assert.Equal(4, (await ReadAsync(hub, queue)).GetProperty("maxAttempts").GetInt32());
    }

    [Fact]
    public async Task An_empty_patch_is_refused_saying_what_to_send()
    {
        await using var hub = await TestHub.StartAsync();
        var queue = Unique("jobs");
        await CreateAsync(hub, queue);
        using var empty = await hub.Http.PatchAsync($"/v1/queues/{queue}", MergePatch(""));
        await empty.AssertProblemAsync(HttpStatusCode.BadRequest, "invalid-request", "empty", "maxAttempts");
        using var nothing = await hub.Http.PatchAsync($"/v1/queues/{queue}", MergePatch("{}"));
        Assert.Equal(HttpStatusCode.OK, nothing.StatusCode); // an empty object changes nothing, and is no mistake
    }

    [Fact]
    public async Task A_missing_queue_is_404_and_is_not_created()
    {
        await using var hub = await TestHub.StartAsync();
        var queue = Unique("jobs");
        using var response = await hub.Http.PatchAsync($"/v1/queues/{queue}", MergePatch("""{"maxAttempts": 2}"""));
        await response.AssertProblemAsync(HttpStatusCode.NotFound, "queue-not-found", queue);
        using var read = await hub.Http.GetAsync($"/v1/queues/{queue}");
        Assert.Equal(HttpStatusCode.NotFound, read.StatusCode);
    }

    [Fact]
    public async Task A_patch_over_the_request_limit_is_413()
    {
        await using var hub = await TestHub.StartAsync(settings: new Dictionary<string, string?> { ["Switchboard:MaxRequestBytes"] = "4096" });
        var queue = Unique("jobs");
        await CreateAsync(hub, queue);
        using var response = await hub.Http.PatchAsync($"/v1/queues/{queue}", MergePatch($$"""{"description": "{{new string('x', 5000)}}"}"""));
        await response.AssertProblemAsync(HttpStatusCode.RequestEntityTooLarge, "request-too-large", "4096");
        Assert.Equal("thumbnails", (await ReadAsync(hub, queue)).GetProperty("description").GetString());
    }

    [Theory]
    [MemberData(nameof(Engines))]
    public async Task Concurrent_patches_of_different_settings_are_all_kept(bool sqlite)
    {
        await using var hub = await TestHub.StartAsync(sqlite);
        var queue = Unique("jobs");
        await CreateAsync(hub, queue);
        string[] patches = ["""{"lease": "3m"}""", """{"maxAttempts": 9}""", """{"backoff": {"initial": "4s"}}""", """{"backoff": {"max": "20m"}}""", """{"description": "all five"}"""];
        var answers = await Task.WhenAll(patches.Select(async p =>
        {
            using var response = await hub.Http.PatchAsync($"/v1/queues/{queue}", MergePatch(p));
            return response.StatusCode;
        }));
        Assert.All(answers, a => Assert.Equal(HttpStatusCode.OK, a));
        var after = await ReadAsync(hub, queue);
        Assert.Equal(("3m", 9, "4s", "20m", "all five"), Settings(after));
        Assert.Equal(6, after.GetProperty("configVersion").GetInt64());
    }

    // ---- the topic PATCH refuses what it cannot change, as PUT refuses unknown members ----

    [Theory]
    [InlineData("""{"name": "x"}""", "read-only")]
    [InlineData("""{"epoch": "x"}""", "read-only")]
    [InlineData("""{"stats": null}""", "read-only")]
    [InlineData("""{"colour": "red"}""", "Unknown field \"colour\"")]
    [InlineData("""{"colour": null}""", "Unknown field \"colour\"")]
    [InlineData("""{"retention": {"maxDays": null}}""", "Unknown field \"retention.maxDays\"")]
    public async Task A_topic_patch_refuses_read_only_and_unknown_members(string patch, string word)
    {
        await using var hub = await TestHub.StartAsync();
        var topic = Unique("orders");
        using (var created = await hub.Http.PutAsync($"/v1/topics/{topic}", Json("""{"description": "kept"}""")))
        {
            Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        }
        using var response = await hub.Http.PatchAsync($"/v1/topics/{topic}", MergePatch(patch));
        await response.AssertProblemAsync(HttpStatusCode.BadRequest, "invalid-request", word);
        var after = await (await hub.Http.GetAsync($"/v1/topics/{topic}")).BodyAsync();
        Assert.Equal(("kept", topic), (after.GetProperty("description").GetString(), after.GetProperty("name").GetString()));
    }

    [Fact]
    public async Task A_topic_patch_with_an_unknown_member_gives_the_error_PUT_gives()
    {
        await using var hub = await TestHub.StartAsync();
        var topic = Unique("orders");
        using (await hub.Http.PutAsync($"/v1/topics/{topic}", Json("{}")))
        {
        }
        using var patch = await hub.Http.PatchAsync($"/v1/topics/{topic}", MergePatch("""{"colour": "red"}"""));
        using var put = await hub.Http.PutAsync($"/v1/topics/{topic}", Json("""{"colour": "red"}"""));
        var patchDetail = (await patch.AssertProblemAsync(HttpStatusCode.BadRequest, "invalid-request")).GetProperty("detail").GetString();
        Assert.Equal((await put.AssertProblemAsync(HttpStatusCode.BadRequest, "invalid-request")).GetProperty("detail").GetString(), patchDetail);
    }
}
