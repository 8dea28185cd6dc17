using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using static Switchboard.Rest.Tests.Http;

namespace Switchboard.Rest.Tests;

/// <summary>Topics as resources, history and single messages: the status codes of the guide's table in real use.</summary>
public sealed class ResourceTests
{
    [Fact]
    public async Task Put_creates_with_201_then_replaces_with_200_and_delete_answers_204_then_404()
    {
        await using var hub = await TestHub.StartAsync();
        using var created = await hub.Http.PutAsync("/v1/topics/cfg", Json("""{"retention":{"maxMessages":10,"maxAge":"1h"},"description":"orders"}"""));
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        Assert.Equal("/v1/topics/cfg", created.Headers.Location!.ToString());
        var body = await created.BodyAsync();
        Assert.Equal(10, body.GetProperty("retention").GetProperty("maxMessages").GetInt64());
        Assert.Equal("1h", body.GetProperty("retention").GetProperty("maxAge").GetString());

        // GET, edit, PUT back: read-only fields are accepted and ignored.
        var edited = body.ToString().Replace("\"orders\"", "\"orders, edited\"", StringComparison.Ordinal);
        using var replaced = await hub.Http.PutAsync("/v1/topics/cfg", Json(edited));
        Assert.Equal(HttpStatusCode.OK, replaced.StatusCode);
        Assert.Equal("orders, edited", (await replaced.BodyAsync()).GetProperty("description").GetString());
        Assert.Equal(body.GetProperty("epoch").GetString(), (await replaced.BodyAsync()).GetProperty("epoch").GetString());

        Assert.Equal(HttpStatusCode.NoContent, (await hub.Http.DeleteAsync("/v1/topics/cfg")).StatusCode);
        await (await hub.Http.DeleteAsync("/v1/topics/cfg")).AssertProblemAsync(HttpStatusCode.NotFound, "topic-not-found", "cfg");
        await (await hub.Http.GetAsync("/v1/topics/cfg")).AssertProblemAsync(HttpStatusCode.NotFound, "topic-not-found", "does not exist");
    }

    [Fact]
    public async Task A_put_without_any_body_as_curl_sends_it_creates_with_defaults()
    {
        await using var hub = await TestHub.StartAsync();
        using var client = new System.Net.Sockets.TcpClient();
        await client.ConnectAsync(hub.Address.Host, hub.Address.Port);
        var stream = client.GetStream();
        await stream.WriteAsync("PUT /v1/topics/bare HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"u8.ToArray());
        using var reader = new StreamReader(stream);
        Assert.StartsWith("HTTP/1.1 201", await reader.ReadLineAsync(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("""{"retention":{"maxMessages":0}}""", HttpStatusCode.UnprocessableEntity, "validation-failed", "maxMessages")]
    [InlineData("""{"retention":{"maxMessages":1.5}}""", HttpStatusCode.UnprocessableEntity, "validation-failed", "whole number")]
    [InlineData("""{"retention":{"maxAge":"soon"}}""", HttpStatusCode.BadRequest, "invalid-request", "duration")]
    [InlineData("""{"retention":{"maxAge":"0s"}}""", HttpStatusCode.UnprocessableEntity, "validation-failed", "maxAge")]
    [InlineData("""{"retention":{"maxAgee":"1d"}}""", HttpStatusCode.BadRequest, "invalid-request", "maxAgee")]
    [InlineData("""{"retention":5}""", HttpStatusCode.BadRequest, "invalid-request", "retention must be an object")]
    [InlineData("""{"colour":"red"}""", HttpStatusCode.BadRequest, "invalid-request", "colour")]
    [InlineData("""{"retention":""", HttpStatusCode.BadRequest, "invalid-json", "not valid JSON")]
    public async Task A_bad_configuration_is_refused_and_nothing_is_created(string body, HttpStatusCode status, string code, string word)
    {
        await using var hub = await TestHub.StartAsync();
        await (await hub.Http.PutAsync("/v1/topics/cfg.bad", Json(body))).AssertProblemAsync(status, code, word);
        Assert.Equal(HttpStatusCode.NotFound, (await hub.Http.GetAsync("/v1/topics/cfg.bad")).StatusCode);
        await (await hub.Http.PutAsync("/v1/topics/cfg.bad", Raw("{}"u8.ToArray(), "text/plain"))).AssertProblemAsync(HttpStatusCode.UnsupportedMediaType, "unsupported-media-type", "application/json");
    }

    [Fact]
    public async Task Patch_is_a_json_merge_patch_where_null_removes_a_limit()
    {
        await using var hub = await TestHub.StartAsync();
        await hub.Http.PutAsync("/v1/topics/p", Json("""{"retention":{"maxMessages":100,"maxAge":"7d"},"description":"x"}"""));
        using var request = new HttpRequestMessage(HttpMethod.Patch, "/v1/topics/p") { Content = Raw("""{"retention":{"maxAge":null,"maxBytes":2048},"description":null}"""u8.ToArray(), "application/merge-patch+json") };
        using var patched = await hub.Http.SendAsync(request);
        Assert.Equal(HttpStatusCode.OK, patched.StatusCode);
        var retention = (await patched.BodyAsync()).GetProperty("retention");
        Assert.Equal(100, retention.GetProperty("maxMessages").GetInt64());
        Assert.Equal(2048, retention.GetProperty("maxBytes").GetInt64());
        Assert.False(retention.TryGetProperty("maxAge", out _));
        Assert.False((await patched.BodyAsync()).TryGetProperty("description", out _));

        using var missing = new HttpRequestMessage(HttpMethod.Patch, "/v1/topics/nope") { Content = Raw("{}"u8.ToArray(), "application/merge-patch+json") };
        await (await hub.Http.SendAsync(missing)).AssertProblemAsync(HttpStatusCode.NotFound, "topic-not-found");
        using var notObject = new HttpRequestMessage(HttpMethod.Patch, "/v1/topics/p") { Content = Raw("[]"u8.ToArray(), "application/merge-patch+json") };
        await (await hub.Http.SendAsync(notObject)).AssertProblemAsync(HttpStatusCode.BadRequest, "invalid-request", "merge patch");
        using var wrongType = new HttpRequestMessage(HttpMethod.Patch, "/v1/topics/p") { Content = Raw("{}"u8.ToArray(), "text/plain") };
        await (await hub.Http.SendAsync(wrongType)).AssertProblemAsync(HttpStatusCode.UnsupportedMediaType, "unsupported-media-type", "merge-patch");
    }

    [Fact]
    public async Task A_topic_carries_an_ETag_and_answers_304_until_it_changes()
    {
        await using var hub = await TestHub.StartAsync();
        await hub.PublishAsync("etag", """{"payload":1}""");
        using var first = await hub.Http.GetAsync("/v1/topics/etag");
        var etag = first.Headers.ETag!;
        Assert.False(etag.IsWeak);
        using var same = new HttpRequestMessage(HttpMethod.Get, "/v1/topics/etag");
        same.Headers.IfNoneMatch.Add(etag);
        using var notModified = await hub.Http.SendAsync(same);
        Assert.Equal(HttpStatusCode.NotModified, notModified.StatusCode);
        Assert.Empty(await notModified.Content.ReadAsByteArrayAsync());

        await hub.PublishAsync("etag", """{"payload":2}""");
        using var after = new HttpRequestMessage(HttpMethod.Get, "/v1/topics/etag");
        after.Headers.IfNoneMatch.Add(etag);
        using var changed = await hub.Http.SendAsync(after);
        Assert.Equal(HttpStatusCode.OK, changed.StatusCode);
        Assert.NotEqual(etag, changed.Headers.ETag);
    }

    [Fact]
    public async Task A_message_is_immutable_with_a_strong_ETag_and_a_long_cache_lifetime()
    {
        await using var hub = await TestHub.StartAsync();
        var epoch = (await hub.PublishAsync("imm", """{"payload":{"v":1}}""")).GetProperty("epoch").GetString();
        using var response = await hub.Http.GetAsync($"/v1/topics/imm/messages/1?epoch={epoch}");
        Assert.False(response.Headers.ETag!.IsWeak);
        Assert.Contains("immutable", response.Headers.CacheControl!.ToString(), StringComparison.Ordinal);
        Assert.True(response.Headers.CacheControl.MaxAge >= TimeSpan.FromDays(365));
        using var again = new HttpRequestMessage(HttpMethod.Get, "/v1/topics/imm/messages/1");
        again.Headers.IfNoneMatch.Add(response.Headers.ETag);
        Assert.Equal(HttpStatusCode.NotModified, (await hub.Http.SendAsync(again)).StatusCode);

        using var head = await hub.Http.SendAsync(new HttpRequestMessage(HttpMethod.Head, "/v1/topics/imm/messages/1"));
        Assert.Equal(HttpStatusCode.OK, head.StatusCode);
        Assert.Empty(await head.Content.ReadAsByteArrayAsync());
        Assert.True(head.Content.Headers.ContentLength > 0);

        var fields = await (await hub.Http.GetAsync("/v1/topics/imm/messages/1?fields=offset,payload")).BodyAsync();
        Assert.Equal(["offset", "payload"], fields.EnumerateObject().Select(p => p.Name));
        await (await hub.Http.GetAsync("/v1/topics/imm/messages/1?fields=offset,colour")).AssertProblemAsync(HttpStatusCode.BadRequest, "invalid-request", "colour");
    }

    [Fact]
    public async Task Missing_expired_and_malformed_message_addresses_answer_404_410_and_400()
    {
        await using var hub = await TestHub.StartAsync();
        await hub.Http.PutAsync("/v1/topics/exp", Json("""{"retention":{"maxMessages":2}}"""));
        for (var i = 0; i < 4; i++)
        {
            await hub.PublishAsync("exp", """{"payload":1}""");
        }
        await (await hub.Http.GetAsync("/v1/topics/exp/messages/9")).AssertProblemAsync(HttpStatusCode.NotFound, "message-not-found", "last offset is 4");
        var gone = await (await hub.Http.GetAsync("/v1/topics/exp/messages/1")).AssertProblemAsync(HttpStatusCode.Gone, "message-expired", "retention");
        Assert.Equal(3, gone.GetProperty("firstOffset").GetInt64());
        await (await hub.Http.GetAsync("/v1/topics/exp/messages/0")).AssertProblemAsync(HttpStatusCode.BadRequest, "invalid-position", "from 1");
        await (await hub.Http.GetAsync("/v1/topics/exp/messages/abc")).AssertProblemAsync(HttpStatusCode.BadRequest, "invalid-position");
        await (await hub.Http.GetAsync("/v1/topics/exp/messages/3?epoch=zzzz")).AssertProblemAsync(HttpStatusCode.BadRequest, "invalid-position", "epoch");
        await (await hub.Http.GetAsync("/v1/topics/nothing/messages/1")).AssertProblemAsync(HttpStatusCode.NotFound, "topic-not-found");
    }

    [Fact]
    public async Task History_pages_continue_from_next_and_report_what_retention_removed()
    {
        await using var hub = await TestHub.StartAsync();
        await hub.Http.PutAsync("/v1/topics/hist", Json("""{"retention":{"maxMessages":5}}"""));
        for (var i = 1; i <= 8; i++)
        {
            await hub.PublishAsync("hist", $"{{\"payload\":{i}}}");
        }
        using var response = await hub.Http.GetAsync("/v1/topics/hist/messages?after=0&limit=2");
        var page = await response.BodyAsync();
        var epoch = page.GetProperty("epoch").GetString();
        Assert.Equal((4, 8), (page.GetProperty("firstOffset").GetInt64(), page.GetProperty("lastOffset").GetInt64()));
        var missed = page.GetProperty("missed");
        Assert.Equal((1, 3), (missed.GetProperty("fromOffset").GetInt64(), missed.GetProperty("toOffset").GetInt64()));
        Assert.Equal([4L, 5L], page.GetProperty("messages").EnumerateArray().Select(m => m.GetProperty("offset").GetInt64()));
        Assert.Equal($"{epoch}:5", page.GetProperty("next").GetString());
        Assert.Contains($"after={epoch}%3A5", response.Headers.GetValues("Link").Single(), StringComparison.Ordinal);
        var rest = await (await hub.Http.GetAsync($"/v1/topics/hist/messages?after={epoch}:5")).BodyAsync();
        Assert.Equal([6L, 7L, 8L], rest.GetProperty("messages").EnumerateArray().Select(m => m.GetProperty("offset").GetInt64()));
        Assert.False(rest.TryGetProperty("missed", out _));
    }

    [Fact]
    public async Task A_position_from_another_incarnation_or_past_the_end_answers_409()
    {
        await using var hub = await TestHub.StartAsync();
        await hub.PublishAsync("inc", """{"payload":1}""");
        var old = (await (await hub.Http.GetAsync("/v1/topics/inc")).BodyAsync()).GetProperty("epoch").GetString();
        await hub.Http.DeleteAsync("/v1/topics/inc");
        await hub.PublishAsync("inc", """{"payload":2}""");
        var problem = await (await hub.Http.GetAsync($"/v1/topics/inc/messages?after={old}:1")).AssertProblemAsync(HttpStatusCode.Conflict, "epoch-mismatch", "recreated");
        Assert.NotEqual(old, problem.GetProperty("epoch").GetString());
        Assert.Equal(1, problem.GetProperty("firstOffset").GetInt64());
        await (await hub.Http.GetAsync($"/v1/topics/inc/messages/1?epoch={old}")).AssertProblemAsync(HttpStatusCode.Conflict, "epoch-mismatch");
        await (await hub.Http.GetAsync("/v1/topics/inc/messages?after=5")).AssertProblemAsync(HttpStatusCode.Conflict, "position-out-of-range", "beyond the last offset");
    }

    [Theory]
    [InlineData("after=-1", "invalid-position")]
    [InlineData("after=abc", "invalid-position")]
    [InlineData("after=xyz:3", "invalid-position")]
    [InlineData("limit=0", "invalid-request")]
    [InlineData("limit=100000", "invalid-request")]
    [InlineData("wait=61", "invalid-request")]
    [InlineData("wait=soon", "invalid-request")]
    [InlineData("fields=nope", "invalid-request")]
    [InlineData("fields=,", "invalid-request")]
    public async Task Bad_history_parameters_answer_400(string query, string code)
    {
        await using var hub = await TestHub.StartAsync();
        await hub.PublishAsync("q", """{"payload":1}""");
        await (await hub.Http.GetAsync($"/v1/topics/q/messages?{query}")).AssertProblemAsync(HttpStatusCode.BadRequest, code, query.Split('=')[0]);
    }

    [Fact]
    public async Task A_long_poll_answers_at_once_when_something_is_there_and_is_woken_by_a_publish()
    {
        await using var hub = await TestHub.StartAsync(sqlite: true);
        await hub.PublishAsync("lp", """{"payload":1}""");
        var clock = Stopwatch.StartNew();
        var immediate = await (await hub.Http.GetAsync("/v1/topics/lp/messages?after=0&wait=30")).BodyAsync();
        Assert.Single(immediate.GetProperty("messages").EnumerateArray());
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(10));

        clock.Restart();
        var waiting = hub.Http.GetAsync("/v1/topics/lp/messages?after=1&wait=30");
        Assert.NotSame(waiting, await Task.WhenAny(waiting, Task.Delay(300))); // parked: nothing after offset 1 yet
        await hub.PublishAsync("lp", """{"payload":2}""");
        var woken = await (await waiting).BodyAsync();
        Assert.Equal(2, woken.GetProperty("messages")[0].GetProperty("offset").GetInt64());
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(10), $"woken after {clock.Elapsed}, not by the publish");
    }

    [Fact]
    public async Task A_long_poll_that_times_out_answers_an_empty_page()
    {
        await using var hub = await TestHub.StartAsync();
        await hub.PublishAsync("lp.empty", """{"payload":1}""");
        var clock = Stopwatch.StartNew();
        var page = await (await hub.Http.GetAsync("/v1/topics/lp.empty/messages?after=1&wait=1")).BodyAsync();
        Assert.Empty(page.GetProperty("messages").EnumerateArray());
        Assert.InRange(clock.Elapsed, TimeSpan.FromSeconds(0.9), TimeSpan.FromSeconds(10));
        Assert.EndsWith(":1", page.GetProperty("next").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Topics_are_listed_with_a_prefix_and_opaque_cursors()
    {
        await using var hub = await TestHub.StartAsync();
        foreach (var name in new[] { "list.c", "list.a", "list.b", "other" })
        {
            await hub.PublishAsync(name, """{"payload":1}""");
        }
        using var first = await hub.Http.GetAsync("/v1/topics?prefix=list.&limit=2");
        var page = await first.BodyAsync();
        Assert.Equal(["list.a", "list.b"], page.GetProperty("topics").EnumerateArray().Select(t => t.GetProperty("name").GetString()));
        var cursor = page.GetProperty("next").GetString()!;
        Assert.Contains("cursor=", first.Headers.GetValues("Link").Single(), StringComparison.Ordinal);
        var second = await (await hub.Http.GetAsync($"/v1/topics?prefix=list.&limit=2&cursor={cursor}")).BodyAsync();
        Assert.Equal(["list.c"], second.GetProperty("topics").EnumerateArray().Select(t => t.GetProperty("name").GetString()));
        Assert.Equal(JsonValueKind.Null, second.GetProperty("next").ValueKind);
        await (await hub.Http.GetAsync("/v1/topics?cursor=garbage!")).AssertProblemAsync(HttpStatusCode.BadRequest, "invalid-position", "cursor");
        await (await hub.Http.GetAsync("/v1/topics?prefix=a%20b")).AssertProblemAsync(HttpStatusCode.BadRequest, "invalid-topic-name", "prefix");
        await (await hub.Http.GetAsync("/v1/topics?limit=0")).AssertProblemAsync(HttpStatusCode.BadRequest, "invalid-request", "limit");
    }

    [Fact]
    public async Task Unversioned_paths_answer_301_to_v1_keeping_the_query()
    {
        await using var hub = await TestHub.StartAsync();
        using var client = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false }) { BaseAddress = hub.Address };
        using var response = await client.GetAsync("/topics/orders/messages?after=3&limit=2");
        Assert.Equal(HttpStatusCode.MovedPermanently, response.StatusCode);
        Assert.Equal("/v1/topics/orders/messages?after=3&limit=2", response.Headers.Location!.ToString());
    }

    [Fact]
    public async Task Unknown_routes_and_methods_answer_404_and_405_problems()
    {
        await using var hub = await TestHub.StartAsync();
        await (await hub.Http.GetAsync("/v1/nothing-here")).AssertProblemAsync(HttpStatusCode.NotFound, "route-not-found", "/v1");
        await (await hub.Http.PostAsync("/v1/topics/x", Json("{}"))).AssertProblemAsync(HttpStatusCode.MethodNotAllowed, "method-not-allowed", "POST");
    }

    [Fact]
    public async Task Every_error_code_is_described_at_its_type_url()
    {
        await using var hub = await TestHub.StartAsync();
        var all = await (await hub.Http.GetAsync("/v1/errors")).BodyAsync();
        var codes = all.GetProperty("errors").EnumerateArray().Select(e => e.GetProperty("code").GetString()!).ToList();
        Assert.Equal(Enum.GetValues<Core.ErrorCode>().Length, codes.Count);
        foreach (var code in codes)
        {
            var one = await (await hub.Http.GetAsync($"/v1/errors/{code}")).BodyAsync();
            Assert.Equal(code, one.GetProperty("code").GetString());
            Assert.True(one.GetProperty("httpStatus").GetInt32() >= 400);
        }
        await (await hub.Http.GetAsync("/v1/errors/no-such-code")).AssertProblemAsync(HttpStatusCode.NotFound, "route-not-found", "no-such-code");
    }

    [Fact]
    public async Task OpenAPI_and_the_reference_page_are_served_without_a_CDN()
    {
        await using var hub = await TestHub.StartAsync();
        var openApi = await (await hub.Http.GetAsync("/openapi/v1.json")).BodyAsync();
        var paths = openApi.GetProperty("paths");
        foreach (var path in new[] { "/v1/topics", "/v1/topics/{topic}", "/v1/topics/{topic}/messages", "/v1/topics/{topic}/messages/{offset}" })
        {
            Assert.True(paths.TryGetProperty(path, out _), $"OpenAPI lacks {path}");
        }
        var publish = paths.GetProperty("/v1/topics/{topic}/messages").GetProperty("post");
        Assert.True(publish.GetProperty("requestBody").GetProperty("content").TryGetProperty("application/json", out _));
        Assert.True(publish.GetProperty("responses").TryGetProperty("413", out _));

        var html = await hub.Http.GetStringAsync("/docs/");
        Assert.Contains("<script", html, StringComparison.Ordinal);
        Assert.DoesNotMatch("src=\"https?://", html);
        using var script = await hub.Http.GetAsync("/docs/scalar.js");
        Assert.Equal(HttpStatusCode.OK, script.StatusCode);
        Assert.True((await script.Content.ReadAsByteArrayAsync()).Length > 100_000);
        var asyncApi = await (await hub.Http.GetAsync("/asyncapi.json")).BodyAsync();
        Assert.Equal("3.0.0", asyncApi.GetProperty("asyncapi").GetString());
    }
}
