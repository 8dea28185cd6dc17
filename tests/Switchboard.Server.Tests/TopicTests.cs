using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using Switchboard.Server.Tests.Support;

namespace Switchboard.Server.Tests;

/// <summary>Topic resources: PUT create-or-replace, GET with ETags, PATCH merge patch, DELETE, listing and paging, retention.</summary>
public sealed class TopicTests
{
    [Theory]
    [MemberData(nameof(Engines.Both), MemberType = typeof(Engines))]
    public async Task Put_creates_a_topic_with_201_and_Location_then_replaces_it_with_200(string engine)
    {
        await using var hub = await TestHub.StartAsync(engine);
        var topic = Names.Unique("orders");

        using var created = await hub.Http.PutAsync($"/v1/topics/{topic}", Http.Json("""{"retention": {"maxMessages": 100, "maxAge": "1d"}, "description": "orders"}"""));
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        Assert.Equal($"/v1/topics/{topic}", created.Headers.Location?.OriginalString);
        Assert.NotNull(created.Headers.ETag);
        var first = await created.ReadJsonAsync();
        Assert.Equal(topic, first.GetProperty("name").GetString());
        Assert.Equal(100, first.GetProperty("retention").GetProperty("maxMessages").GetInt64());
        Assert.Equal("1d", first.GetProperty("retention").GetProperty("maxAge").GetString());
        Assert.Equal("orders", first.GetProperty("description").GetString());

        using var replaced = await hub.Http.PutAsync($"/v1/topics/{topic}", Http.Json("""{"retention": {"maxMessages": 5}}"""));
        Assert.Equal(HttpStatusCode.OK, replaced.StatusCode);
        Assert.Null(replaced.Headers.Location);
        var second = await replaced.ReadJsonAsync();
        Assert.Equal(5, second.GetProperty("retention").GetProperty("maxMessages").GetInt64());
        Assert.False(second.TryGetProperty("description", out _), "a replace drops what it leaves out");
        Assert.Equal(first.GetProperty("epoch").GetString(), second.GetProperty("epoch").GetString());
        Assert.NotEqual(created.Headers.ETag, replaced.Headers.ETag);
    }

    [Theory]
    [MemberData(nameof(Engines.Both), MemberType = typeof(Engines))]
    public async Task Put_keeps_the_messages_and_the_epoch_of_an_existing_topic(string engine)
    {
        await using var hub = await TestHub.StartAsync(engine);
        var topic = Names.Unique("orders");
        var published = await hub.Http.PublishManyAsync(topic, 3);

        var replaced = await hub.Http.PutTopicOkAsync(topic, """{"description": "now configured"}""");

        Assert.Equal(published.GetProperty("epoch").GetString(), replaced.GetProperty("epoch").GetString());
        Assert.Equal(3, replaced.GetProperty("stats").GetProperty("lastOffset").GetInt64());
        Assert.Equal(new long[] { 1L, 2L, 3L }, (await hub.Http.GetJsonOkAsync(Http.MessagesPath(topic))).Offsets());
    }

    [Theory]
    [MemberData(nameof(Engines.Both), MemberType = typeof(Engines))]
    public async Task Put_without_a_body_creates_a_topic_with_the_default_configuration(string engine)
    {
        await using var hub = await TestHub.StartAsync(engine);
        var topic = Names.Unique("orders");

        using var response = await hub.Http.PutAsync($"/v1/topics/{topic}", content: null);

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        var info = await response.ReadJsonAsync();
        Assert.Equal("7d", info.GetProperty("retention").GetProperty("maxAge").GetString());
    }

    [Theory]
    [MemberData(nameof(Engines.Both), MemberType = typeof(Engines))]
    public async Task Get_answers_200_with_config_and_stats_and_a_revalidating_ETag(string engine)
    {
        await using var hub = await TestHub.StartAsync(engine);
        var topic = Names.Unique("orders");
        await hub.Http.PublishManyAsync(topic, 2);

        using var response = await hub.Http.GetAsync($"/v1/topics/{topic}");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("application/json", response.MediaType()?.MediaType);
        Assert.NotNull(response.Headers.ETag);
        Assert.True(response.Headers.CacheControl?.NoCache, "topic stats change: clients must revalidate");
        var info = await response.ReadJsonAsync();
        var stats = info.GetProperty("stats");
        Assert.Equal(1, stats.GetProperty("firstOffset").GetInt64());
        Assert.Equal(2, stats.GetProperty("lastOffset").GetInt64());
        Assert.Equal(2, stats.GetProperty("messageCount").GetInt64());
        Assert.True(stats.TryGetProperty("lastPublishedAt", out _));
        Assert.True(info.TryGetProperty("createdAt", out _));
    }

    [Theory]
    [MemberData(nameof(Engines.Both), MemberType = typeof(Engines))]
    public async Task Get_with_the_topic_ETag_in_If_None_Match_answers_304_until_a_publish_changes_it(string engine)
    {
        await using var hub = await TestHub.StartAsync(engine);
        var topic = Names.Unique("orders");
        await hub.Http.PublishOkAsync(topic, "1");
        using var first = await hub.Http.GetAsync($"/v1/topics/{topic}");
        var etag = first.Headers.ETag;
        Assert.NotNull(etag);

        using var unchanged = await SendConditionalAsync(hub.Http, $"/v1/topics/{topic}", etag);
        Assert.Equal(HttpStatusCode.NotModified, unchanged.StatusCode);
        Assert.Equal(etag, unchanged.Headers.ETag);
        Assert.Empty(await unchanged.Content.ReadAsByteArrayAsync());

        await hub.Http.PublishOkAsync(topic, "2");

        using var changed = await SendConditionalAsync(hub.Http, $"/v1/topics/{topic}", etag);
        Assert.Equal(HttpStatusCode.OK, changed.StatusCode);
        Assert.NotNull(changed.Headers.ETag);
        Assert.NotEqual(etag, changed.Headers.ETag);
        Assert.Equal(2, (await changed.ReadJsonAsync()).GetProperty("stats").GetProperty("lastOffset").GetInt64());

        using var again = await SendConditionalAsync(hub.Http, $"/v1/topics/{topic}", changed.Headers.ETag!);
        Assert.Equal(HttpStatusCode.NotModified, again.StatusCode);
    }

    [Theory]
    [MemberData(nameof(Engines.Both), MemberType = typeof(Engines))]
    public async Task Patch_merges_a_JSON_merge_patch_and_null_removes_a_limit(string engine)
    {
        await using var hub = await TestHub.StartAsync(engine);
        var topic = Names.Unique("orders");
        await hub.Http.PutTopicOkAsync(topic, """{"retention": {"maxMessages": 100, "maxAge": "1d"}, "description": "before"}""");

        using var described = await hub.Http.PatchAsync($"/v1/topics/{topic}", MergePatch("""{"description": "after"}"""));
        Assert.Equal(HttpStatusCode.OK, described.StatusCode);
        var afterDescription = await described.ReadJsonAsync();
        Assert.Equal("after", afterDescription.GetProperty("description").GetString());
        Assert.Equal(100, afterDescription.GetProperty("retention").GetProperty("maxMessages").GetInt64());
        Assert.Equal("1d", afterDescription.GetProperty("retention").GetProperty("maxAge").GetString());

        using var unlimited = await hub.Http.PatchAsync($"/v1/topics/{topic}", MergePatch("""{"retention": {"maxMessages": null}}"""));
        Assert.Equal(HttpStatusCode.OK, unlimited.StatusCode);

        var info = await hub.Http.GetJsonOkAsync($"/v1/topics/{topic}");
        Assert.False(info.GetProperty("retention").TryGetProperty("maxMessages", out _), "null removes the limit");
        Assert.Equal("1d", info.GetProperty("retention").GetProperty("maxAge").GetString());
        Assert.Equal("after", info.GetProperty("description").GetString());
    }

    [Theory]
    [MemberData(nameof(Engines.Both), MemberType = typeof(Engines))]
    public async Task Patch_of_a_missing_topic_answers_404_and_creates_nothing(string engine)
    {
        await using var hub = await TestHub.StartAsync(engine);
        var topic = Names.Unique("orders");

        using var response = await hub.Http.PatchAsync($"/v1/topics/{topic}", MergePatch("""{"description": "x"}"""));

        await Problem.AssertAsync(response, 404, "topic-not-found", topic);
        await hub.Http.AssertTopicAbsentAsync(topic);
    }

    [Theory]
    [MemberData(nameof(Engines.Both), MemberType = typeof(Engines))]
    public async Task Patch_with_an_unknown_field_answers_400_naming_it(string engine)
    {
        await using var hub = await TestHub.StartAsync(engine);
        var topic = Names.Unique("orders");
        await hub.Http.PutTopicOkAsync(topic, "{}");

        using var response = await hub.Http.PatchAsync($"/v1/topics/{topic}", MergePatch("""{"retention": {"maxMesages": 5}}"""));

        await Problem.AssertAsync(response, 400, "invalid-request", "retention.maxMesages");
    }

    [Theory]
    [MemberData(nameof(Engines.Both), MemberType = typeof(Engines))]
    public async Task Delete_answers_204_then_404(string engine)
    {
        await using var hub = await TestHub.StartAsync(engine);
        var topic = Names.Unique("orders");
        await hub.Http.PublishManyAsync(topic, 2);

        using var deleted = await hub.Http.DeleteAsync($"/v1/topics/{topic}");
        Assert.Equal(HttpStatusCode.NoContent, deleted.StatusCode);
        Assert.Empty(await deleted.Content.ReadAsByteArrayAsync());

        using var again = await hub.Http.DeleteAsync($"/v1/topics/{topic}");
        await Problem.AssertAsync(again, 404, "topic-not-found", topic);

        using var get = await hub.Http.GetAsync($"/v1/topics/{topic}");
        await Problem.AssertAsync(get, 404, "topic-not-found", topic, "does not exist");
        using var history = await hub.Http.GetAsync(Http.MessagesPath(topic));
        await Problem.AssertAsync(history, 404, "topic-not-found", topic);
    }

    [Theory]
    [MemberData(nameof(Engines.Both), MemberType = typeof(Engines))]
    public async Task List_filters_by_prefix_and_pages_with_limit_cursor_and_a_Link_to_the_next_page(string engine)
    {
        await using var hub = await TestHub.StartAsync(engine);
        var prefix = "p" + Guid.NewGuid().ToString("N")[..8];
        string[] mine = [$"{prefix}.a", $"{prefix}.b", $"{prefix}.c", $"{prefix}.d", $"{prefix}.e"];
        foreach (var name in mine.Reverse())
        {
            await hub.Http.PutTopicOkAsync(name, "{}");
        }
        await hub.Http.PutTopicOkAsync("q" + prefix, "{}"); // another prefix: never listed

        var seen = new List<string>();
        var path = $"/v1/topics?prefix={prefix}&limit=2";
        var pages = 0;
        while (path is not null && pages++ < 10)
        {
            using var response = await hub.Http.GetAsync(path);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            var page = await response.ReadJsonAsync();
            var names = page.GetProperty("topics").EnumerateArray().Select(t => t.GetProperty("name").GetString()!).ToList();
            Assert.InRange(names.Count, 1, 2);
            seen.AddRange(names);
            var next = page.GetProperty("next");
            var link = response.Header("Link");
            if (next.ValueKind == JsonValueKind.Null)
            {
                Assert.Null(link);
                path = null;
            }
            else
            {
                var cursor = next.GetString()!;
                Assert.NotNull(link);
                Assert.Contains("rel=\"next\"", link);
                Assert.Contains($"cursor={cursor}", link);
                Assert.Contains($"prefix={prefix}", link);
                Assert.Contains("limit=2", link);
                path = link[(link.IndexOf('<') + 1)..link.IndexOf('>')];
            }
        }

        Assert.Equal(3, pages);
        Assert.Equal(mine, seen);
    }

    [Theory]
    [MemberData(nameof(Engines.Both), MemberType = typeof(Engines))]
    public async Task List_with_a_prefix_that_matches_nothing_is_an_empty_page(string engine)
    {
        await using var hub = await TestHub.StartAsync(engine);
        await hub.Http.PutTopicOkAsync(Names.Unique("orders"), "{}");

        var page = await hub.Http.GetJsonOkAsync("/v1/topics?prefix=nothing-here");

        Assert.Empty(page.GetProperty("topics").EnumerateArray());
        Assert.Equal(JsonValueKind.Null, page.GetProperty("next").ValueKind);
    }

    [Theory]
    [MemberData(nameof(Engines.Both), MemberType = typeof(Engines))]
    public async Task Retention_by_count_keeps_only_the_newest_messages(string engine)
    {
        await using var hub = await TestHub.StartAsync(engine);
        var topic = Names.Unique("ticks");
        await hub.Http.PutTopicOkAsync(topic, """{"retention": {"maxMessages": 3}}""");

        for (var i = 1; i <= 5; i++)
        {
            await hub.Http.PublishOkAsync(topic, i.ToString(System.Globalization.CultureInfo.InvariantCulture));
        }

        var stats = (await hub.Http.GetJsonOkAsync($"/v1/topics/{topic}")).GetProperty("stats");
        Assert.Equal(3, stats.GetProperty("firstOffset").GetInt64());
        Assert.Equal(5, stats.GetProperty("lastOffset").GetInt64());
        Assert.Equal(3, stats.GetProperty("messageCount").GetInt64());
        var page = await hub.Http.GetJsonOkAsync(Http.MessagesPath(topic));
        Assert.Equal([3L, 4L, 5L], page.Offsets());
    }

    [Theory]
    [MemberData(nameof(Engines.Both), MemberType = typeof(Engines))]
    public async Task Lowering_the_count_limit_with_a_patch_applies_retention_on_the_next_publish(string engine)
    {
        await using var hub = await TestHub.StartAsync(engine);
        var topic = Names.Unique("ticks");
        await hub.Http.PublishManyAsync(topic, 6);

        using (var patch = await hub.Http.PatchAsync($"/v1/topics/{topic}", MergePatch("""{"retention": {"maxMessages": 2}}""")))
        {
            Assert.Equal(HttpStatusCode.OK, patch.StatusCode);
        }
        await hub.Http.PublishOkAsync(topic, "7");

        var page = await hub.Http.GetJsonOkAsync(Http.MessagesPath(topic));
        Assert.Equal([6L, 7L], page.Offsets());
    }

    private static StringContent MergePatch(string json)
    {
        var content = new StringContent(json);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/merge-patch+json");
        return content;
    }

    private static Task<HttpResponseMessage> SendConditionalAsync(HttpClient http, string path, EntityTagHeaderValue etag)
    {
        var request = new HttpRequestMessage(HttpMethod.Get, path);
        request.Headers.IfNoneMatch.Add(etag);
        return http.SendAsync(request);
    }
}
