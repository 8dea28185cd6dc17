using System.Net;
using System.Text.Json;
using Switchboard.Server.Tests.Support;

namespace Switchboard.Server.Tests;

/// <summary>
/// The topic, message, connection, presence and system descriptions against the wire, as for the queues: every
/// answer of a real session is checked against the schema its route declares for its status (problems included),
/// every status must be declared, and every member a route's answer declares must turn up in the session.
/// </summary>
public sealed partial class OpenApiTests
{
    private static readonly Dictionary<string, string?> SmallLimits = new()
    {
        ["Switchboard:MaxMessageBytes"] = "4096",
        ["Switchboard:MaxBatchMessages"] = "10",
    };

    [Fact]
    public async Task Every_topic_and_message_answer_matches_the_schema_documented_for_its_route_and_status()
    {
        await using var hub = await TestHub.StartAsync("memory", SmallLimits);
        var http = hub.Http;
        var check = new Conformance(await (await http.GetAsync("/openapi/v1.json")).ReadJsonAsync());
        var topic = Names.Unique("orders");
        var t = $"/v1/topics/{topic}";
        var m = $"{t}/messages";

        // Configuration: created with every limit and a description, read before any publish, listed.
        await check.AnswerAsync(HttpStatusCode.Created, "/v1/topics/{topic}", "put",
            http.PutAsync(t, Http.Json("""{"retention": {"maxMessages": 3, "maxAge": "7d", "maxBytes": 1000000}, "description": "order events"}""")));
        var fresh = await check.AnswerAsync(HttpStatusCode.OK, "/v1/topics/{topic}", "get", http.GetAsync(t));
        Assert.False(fresh.GetProperty("stats").TryGetProperty("lastPublishedAt", out _));

        // Publish: one JSON message with headers and a key, a batch (JSON, text, binary), a raw body with ?key=.
        var one = await check.AnswerAsync(HttpStatusCode.Created, "/v1/topics/{topic}/messages", "post",
            http.PostAsync(m, Http.Json("""{"payload": {"id": 1}, "headers": {"source": "web"}, "key": "o-1"}""")));
        var epoch = one.GetProperty("epoch").GetString();
        var batch = await check.AnswerAsync(HttpStatusCode.Created, "/v1/topics/{topic}/messages", "post", http.PostAsync(m, Http.Json("""
            {"messages": [{"payload": [2], "headers": null, "key": null}, {"payload": "three", "contentType": "text/plain"}, {"payload": "AAEC/w==", "contentType": "application/octet-stream", "encoding": "base64"}]}
            """)));
        Assert.Equal(3, batch.GetProperty("count").GetInt32());
        var raw = await check.AnswerAsync(HttpStatusCode.Created, "/v1/topics/{topic}/messages", "post", http.PostAsync($"{m}?key=o-5", Http.Body("five", "text/plain")));
        Assert.Equal(5, raw.GetProperty("offset").GetInt64());

        // The topic now has statistics with lastPublishedAt; its ETag answers 304.
        using (var conditional = new HttpRequestMessage(HttpMethod.Get, t))
        {
            using var first = await http.GetAsync(t);
            conditional.Headers.TryAddWithoutValidation("If-None-Match", first.Headers.ETag!.ToString());
            await check.AnswerAsync(HttpStatusCode.OK, "/v1/topics/{topic}", "get", http.GetAsync(t));
            await check.AnswerAsync(HttpStatusCode.NotModified, "/v1/topics/{topic}", "get", http.SendAsync(conditional));
        }

        // Listing: a page with a next cursor, then the last page (next null).
        var other = Names.Unique("orders");
        await check.AnswerAsync(HttpStatusCode.OK, "/v1/topics/{topic}", "put", http.PutAsync(t, Http.Json("""{"retention": {"maxMessages": 3, "maxAge": 604800, "maxBytes": 1000000}, "description": "order events"}""")));
        var otherEpoch = (await check.AnswerAsync(HttpStatusCode.Created, "/v1/topics/{topic}", "put", http.PutAsync($"/v1/topics/{other}", null))).GetProperty("epoch").GetString();
        var prefix = topic.Split('.')[0];
        var page = await check.AnswerAsync(HttpStatusCode.OK, "/v1/topics", "get", http.GetAsync($"/v1/topics?prefix={prefix}&limit=1"));
        var cursor = page.GetProperty("next").GetString();
        Assert.NotNull(cursor);
        await check.AnswerAsync(HttpStatusCode.OK, "/v1/topics", "get", http.GetAsync($"/v1/topics?prefix={prefix}&limit=1000&cursor={Uri.EscapeDataString(cursor)}"));

        // History: from the start (offsets 1 and 2 were removed by retention: missed), an empty long poll, a field selection.
        var history = await check.AnswerAsync(HttpStatusCode.OK, "/v1/topics/{topic}/messages", "get", http.GetAsync($"{m}?after=0"));
        Assert.Equal(2, history.GetProperty("missed").GetProperty("toOffset").GetInt64());
        Assert.Contains(history.GetProperty("messages").EnumerateArray(), message => message.TryGetProperty("encoding", out _));
        await check.AnswerAsync(HttpStatusCode.OK, "/v1/topics/{topic}/messages", "get", http.GetAsync($"{m}?after={epoch}:5&wait=0"));

        // One message: JSON with a key, binary with encoding; its ETag answers 304; its payload as raw bytes.
        await check.AnswerAsync(HttpStatusCode.OK, "/v1/topics/{topic}/messages/{offset}", "get", http.GetAsync($"{m}/5?epoch={epoch}"));
        await check.AnswerAsync(HttpStatusCode.OK, "/v1/topics/{topic}/messages/{offset}", "get", http.GetAsync($"{m}/4"));
        using (var conditional = new HttpRequestMessage(HttpMethod.Get, $"{m}/4"))
        {
            using var first = await http.GetAsync($"{m}/4");
            conditional.Headers.TryAddWithoutValidation("If-None-Match", first.Headers.ETag!.ToString());
            await check.AnswerAsync(HttpStatusCode.NotModified, "/v1/topics/{topic}/messages/{offset}", "get", http.SendAsync(conditional));
        }
        await check.AnswerAsync(HttpStatusCode.OK, "/v1/topics/{topic}/messages/{offset}/payload", "get", http.GetAsync($"{m}/4/payload"));

        // Merge patches: one that changes the description, one that removes it and a limit.
        await check.AnswerAsync(HttpStatusCode.OK, "/v1/topics/{topic}", "patch",
            http.PatchAsync(t, new StringContent("""{"description": "order events, v2"}""", System.Text.Encoding.UTF8, "application/merge-patch+json")));
        var patch = new StringContent("""{"description": null, "retention": {"maxBytes": null}}""", System.Text.Encoding.UTF8, "application/merge-patch+json");
        var patched = await check.AnswerAsync(HttpStatusCode.OK, "/v1/topics/{topic}", "patch", http.PatchAsync(t, patch));
        Assert.False(patched.TryGetProperty("description", out _));

        await RefusalsAsync(check, http, t, m, epoch!, otherEpoch!);

        // A topic is created by its PUT only before anything is published to it.
        check.AssertEveryDeclaredMemberSeen("PUT /v1/topics/{topic} 201", "$.stats.lastPublishedAt");
        foreach (var route in new[]
        {
            "PUT /v1/topics/{topic} 200", "GET /v1/topics/{topic} 200", "PATCH /v1/topics/{topic} 200", "GET /v1/topics 200",
            "POST /v1/topics/{topic}/messages 201", "GET /v1/topics/{topic}/messages 200", "GET /v1/topics/{topic}/messages/{offset} 200",
        })
        {
            check.AssertEveryDeclaredMemberSeen(route);
        }
    }

    /// <summary>The refusals of the topic and message routes, each with a status its route declares and the problem shape.</summary>
    private static async Task RefusalsAsync(Conformance check, HttpClient http, string t, string m, string epoch, string otherEpoch)
    {
        const string Publish = "/v1/topics/{topic}/messages";
        await check.AnswerAsync(HttpStatusCode.BadRequest, Publish, "post", http.PostAsync(m, Http.Json("""{"payload": 1, "messages": [{"payload": 2}]}""")));
        await check.AnswerAsync(HttpStatusCode.BadRequest, Publish, "post", http.PostAsync(m, Http.Json("""{"payload": 1, "colour": "red"}""")));
        await check.AnswerAsync(HttpStatusCode.BadRequest, Publish, "post", http.PostAsync(m, Http.Json("{")));
        await check.AnswerAsync(HttpStatusCode.UnprocessableEntity, Publish, "post", http.PostAsync(m, Http.Json("""{"messages": []}""")));
        await check.AnswerAsync(HttpStatusCode.UnsupportedMediaType, Publish, "post", http.PostAsync(m, Http.Body("x", null)));
        var big = new string('x', 5000);
        var tooLarge = await check.AnswerAsync(HttpStatusCode.RequestEntityTooLarge, Publish, "post", http.PostAsync(m, Http.Json($$"""{"messages": [{"payload": 1}, {"payload": "{{big}}"}]}""")));
        Assert.Equal(1, tooLarge.GetProperty("index").GetInt32());
        Assert.True(tooLarge.TryGetProperty("size", out _) && tooLarge.TryGetProperty("limit", out _));
        var tooMany = string.Join(", ", Enumerable.Repeat("""{"payload": 0}""", 11));
        await check.AnswerAsync(HttpStatusCode.RequestEntityTooLarge, Publish, "post", http.PostAsync(m, Http.Json($$"""{"messages": [{{tooMany}}]}""")));
        await check.AnswerAsync(HttpStatusCode.RequestEntityTooLarge, Publish, "post", http.PostAsync(m, Http.Body(big, "text/plain")));
        await check.AnswerAsync(HttpStatusCode.BadRequest, Publish, "post", http.PostAsync("/v1/topics/bad..name/messages", Http.Json("""{"payload": 1}""")));

        // History: another incarnation's position, beyond the end, no such topic, a bad limit.
        var mismatch = await check.AnswerAsync(HttpStatusCode.Conflict, Publish, "get", http.GetAsync($"{m}?after={otherEpoch}:0"));
        Assert.True(mismatch.TryGetProperty("epoch", out _) && mismatch.TryGetProperty("firstOffset", out _));
        var beyond = await check.AnswerAsync(HttpStatusCode.Conflict, Publish, "get", http.GetAsync($"{m}?after={epoch}:99"));
        Assert.True(beyond.TryGetProperty("lastOffset", out _));
        await check.AnswerAsync(HttpStatusCode.NotFound, Publish, "get", http.GetAsync("/v1/topics/no.such.topic/messages"));
        await check.AnswerAsync(HttpStatusCode.BadRequest, Publish, "get", http.GetAsync($"{m}?limit=lots"));
        await check.AnswerAsync(HttpStatusCode.BadRequest, Publish, "get", http.GetAsync($"{m}?fields=colour"));

        // One message: not yet written, removed by retention, not an offset, another incarnation.
        const string One = "/v1/topics/{topic}/messages/{offset}";
        await check.AnswerAsync(HttpStatusCode.NotFound, One, "get", http.GetAsync($"{m}/99"));
        var expired = await check.AnswerAsync(HttpStatusCode.Gone, One, "get", http.GetAsync($"{m}/1"));
        Assert.True(expired.TryGetProperty("firstOffset", out _));
        await check.AnswerAsync(HttpStatusCode.BadRequest, One, "get", http.GetAsync($"{m}/first"));
        await check.AnswerAsync(HttpStatusCode.Conflict, One, "get", http.GetAsync($"{m}/4?epoch={otherEpoch}"));
        await check.AnswerAsync(HttpStatusCode.Gone, "/v1/topics/{topic}/messages/{offset}/payload", "get", http.GetAsync($"{m}/1/payload"));

        // Configuration: unknown member, value out of range, wrong type, not JSON, missing topic.
        await check.AnswerAsync(HttpStatusCode.BadRequest, "/v1/topics/{topic}", "put", http.PutAsync(t, Http.Json("""{"colour": "red"}""")));
        await check.AnswerAsync(HttpStatusCode.UnprocessableEntity, "/v1/topics/{topic}", "put", http.PutAsync(t, Http.Json("""{"retention": {"maxMessages": 0}}""")));
        await check.AnswerAsync(HttpStatusCode.UnsupportedMediaType, "/v1/topics/{topic}", "put", http.PutAsync(t, Http.Body("retention", "text/plain")));
        await check.AnswerAsync(HttpStatusCode.UnsupportedMediaType, "/v1/topics/{topic}", "patch", http.PatchAsync(t, Http.Body("{}", "text/plain")));
        await check.AnswerAsync(HttpStatusCode.NotFound, "/v1/topics/{topic}", "patch",
            http.PatchAsync("/v1/topics/no.such.topic", new StringContent("{}", System.Text.Encoding.UTF8, "application/merge-patch+json")));
        await check.AnswerAsync(HttpStatusCode.NotFound, "/v1/topics/{topic}", "get", http.GetAsync("/v1/topics/no.such.topic"));
        await check.AnswerAsync(HttpStatusCode.BadRequest, "/v1/topics", "get", http.GetAsync("/v1/topics?cursor=%%%"));

        // Conditional writes: a stale or malformed If-Match, and If-None-Match: * on an existing topic, are 412.
        foreach (var (method, header, value) in new[] { ("put", "If-None-Match", "*"), ("patch", "If-Match", "\"nope\""), ("delete", "If-Match", "W/\"x\"") })
        {
            using var conditional = new HttpRequestMessage(new HttpMethod(method.ToUpperInvariant()), t)
            {
                Content = method == "delete" ? null : new StringContent("{}", System.Text.Encoding.UTF8, method == "put" ? "application/json" : "application/merge-patch+json"),
            };
            conditional.Headers.TryAddWithoutValidation(header, value);
            await check.AnswerAsync(HttpStatusCode.PreconditionFailed, "/v1/topics/{topic}", method, http.SendAsync(conditional));
        }

        await check.AnswerAsync(HttpStatusCode.NoContent, "/v1/topics/{topic}", "delete", http.DeleteAsync(t));
        await check.AnswerAsync(HttpStatusCode.NotFound, "/v1/topics/{topic}", "delete", http.DeleteAsync(t));
        await check.AnswerAsync(HttpStatusCode.NotFound, "/v1/topics/{topic}", "get", http.GetAsync(t));
    }
}
