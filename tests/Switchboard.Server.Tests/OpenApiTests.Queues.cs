using System.Net;
using System.Text.Json;
using Switchboard.Server.Tests.Support;
using Switchboard.Testing.Schemas;

namespace Switchboard.Server.Tests;

/// <summary>
/// The queue description against the wire: every answer of a real session is checked against the schema the
/// document gives for its route and status (members named, required ones present, types), and every status the
/// hub answers, refusals included, must be one the route declares.
/// </summary>
public sealed partial class OpenApiTests
{
    [Fact]
    public async Task Every_queue_answer_matches_the_schema_documented_for_its_route_and_status()
    {
        await using var hub = await TestHub.StartAsync("memory");
        var http = hub.Http;
        var check = new Conformance(await (await http.GetAsync("/openapi/v1.json")).ReadJsonAsync());
        var queue = Names.Unique("jobs");
        var q = $"/v1/queues/{queue}";

        // Settings: created (with a description), replaced (without), read, listed.
        await check.AnswerAsync(HttpStatusCode.Created, "/v1/queues/{queue}", "put",
            http.PutAsync(q, Http.Json("""{"lease": "30s", "maxAttempts": 2, "backoff": {"initial": 0, "max": "1m"}, "description": "resize images"}""")));
        await check.AnswerAsync(HttpStatusCode.OK, "/v1/queues/{queue}", "put", http.PutAsync(q, Http.Json("""{"maxAttempts": 2, "backoff": {"initial": 0}}""")));
        await check.AnswerAsync(HttpStatusCode.OK, "/v1/queues/{queue}", "get", http.GetAsync(q));
        await check.AnswerAsync(HttpStatusCode.OK, "/v1/queues", "get", http.GetAsync($"/v1/queues?prefix={queue}"));
        // Merge patches: one that sets a description, one that removes it; the ETag answers 304, and a stale one 412.
        await check.AnswerAsync(HttpStatusCode.OK, "/v1/queues/{queue}", "patch",
            http.PatchAsync(q, new StringContent("""{"description": "resize images, v2", "maxAttempts": 2}""", System.Text.Encoding.UTF8, "application/merge-patch+json")));
        string etag;
        using (var read = await http.GetAsync(q))
        {
            etag = read.Headers.ETag!.ToString();
        }
        using (var conditional = new HttpRequestMessage(HttpMethod.Get, q))
        {
            conditional.Headers.TryAddWithoutValidation("If-None-Match", etag);
            await check.AnswerAsync(HttpStatusCode.NotModified, "/v1/queues/{queue}", "get", http.SendAsync(conditional));
        }
        await check.AnswerAsync(HttpStatusCode.OK, "/v1/queues/{queue}", "patch", http.PatchAsync(q, Http.Json("""{"description": null}""")));
        using (var stale = new HttpRequestMessage(HttpMethod.Patch, q) { Content = Http.Json("""{"maxAttempts": 3}""") })
        {
            stale.Headers.TryAddWithoutValidation("If-Match", etag);
            await check.AnswerAsync(HttpStatusCode.PreconditionFailed, "/v1/queues/{queue}", "patch", http.SendAsync(stale));
        }

        // Send: one JSON message, a batch (JSON, text, binary), and a raw body.
        await check.AnswerAsync(HttpStatusCode.Created, "/v1/queues/{queue}/messages", "post",
            http.PostAsync($"{q}/messages", Http.Json("""{"payload": {"n": 1}, "headers": {"h": "v"}, "key": "k1"}""")));
        await check.AnswerAsync(HttpStatusCode.Created, "/v1/queues/{queue}/messages", "post", http.PostAsync($"{q}/messages", Http.Json("""
            {"messages": [{"payload": [2]}, {"payload": "three", "contentType": "text/plain"}, {"payload": "AAEC/w==", "contentType": "application/octet-stream", "encoding": "base64"}]}
            """)));
        await check.AnswerAsync(HttpStatusCode.Created, "/v1/queues/{queue}/messages", "post", http.PostAsync($"{q}/messages", Http.Body("five", "text/plain")));

        // Peek: ready ones, and (after the receive below) the leased ones, as documented.
        await check.AnswerAsync(HttpStatusCode.OK, "/v1/queues/{queue}/messages", "get", http.GetAsync($"{q}/messages?limit=2"));

        // Receive all five; ack, extend, nack (redelivered, then dead-lettered on its second and last attempt).
        var received = await check.AnswerAsync(HttpStatusCode.OK, "/v1/queues/{queue}/receive", "post", http.PostAsync($"{q}/receive?max=10&lease=60", null));
        var messages = received.GetProperty("messages").EnumerateArray().ToList();
        Assert.Equal(5, messages.Count);
        Assert.Contains(messages, m => m.TryGetProperty("encoding", out _));
        await check.AnswerAsync(HttpStatusCode.OK, "/v1/queues/{queue}/messages", "get", http.GetAsync($"{q}/messages?state=all"));
        await check.AnswerAsync(HttpStatusCode.NoContent, "/v1/queues/{queue}/messages/{id}/ack", "post", http.PostAsync(Settle(q, messages[0], "ack"), Lease(messages[0])));
        await check.AnswerAsync(HttpStatusCode.OK, "/v1/queues/{queue}/messages/{id}/extend", "post", http.PostAsync(Settle(q, messages[1], "extend"), Lease(messages[1], ", \"extendBy\": 120")));
        var nacked = await check.AnswerAsync(HttpStatusCode.OK, "/v1/queues/{queue}/messages/{id}/nack", "post",
            http.PostAsync(Settle(q, messages[2], "nack"), Lease(messages[2], ", \"delay\": 0, \"error\": \"no thumbnail\"")));
        Assert.True(nacked.TryGetProperty("visibleAt", out _));
        var again = await check.AnswerAsync(HttpStatusCode.OK, "/v1/queues/{queue}/receive", "post", http.PostAsync($"{q}/receive?wait=5", null));
        var retry = Assert.Single(again.GetProperty("messages").EnumerateArray());
        Assert.Equal("no thumbnail", retry.GetProperty("lastError").GetString());
        var dead = await check.AnswerAsync(HttpStatusCode.OK, "/v1/queues/{queue}/messages/{id}/nack", "post", http.PostAsync(Settle(q, retry, "nack"), Lease(retry, ", \"error\": \"still none\"")));
        Assert.True(dead.GetProperty("deadLettered").GetBoolean());

        // Dead letters: listed with their reason, redriven one by one and all at once, purged.
        var letters = await check.AnswerAsync(HttpStatusCode.OK, "/v1/queues/{queue}/dead-letters", "get", http.GetAsync($"{q}/dead-letters"));
        Assert.Equal("nacked", Assert.Single(letters.GetProperty("messages").EnumerateArray()).GetProperty("reason").GetString());
        await check.AnswerAsync(HttpStatusCode.OK, "/v1/queues/{queue}/dead-letters/{id}/redrive", "post", http.PostAsync($"{q}/dead-letters/{retry.GetProperty("id")}/redrive", null));
        await check.AnswerAsync(HttpStatusCode.OK, "/v1/queues/{queue}/dead-letters/redrive", "post", http.PostAsync($"{q}/dead-letters/redrive", null));
        await check.AnswerAsync(HttpStatusCode.OK, "/v1/queues/{queue}/dead-letters/purge", "post", http.PostAsync($"{q}/dead-letters/purge", null));

        // Bindings.
        var binding = $"{q}/bindings/{Uri.EscapeDataString("orders.>")}";
        await check.AnswerAsync(HttpStatusCode.Created, "/v1/queues/{queue}/bindings/{pattern}", "put", http.PutAsync(binding, null));
        await check.AnswerAsync(HttpStatusCode.OK, "/v1/queues/{queue}/bindings/{pattern}", "put", http.PutAsync(binding, null));
        await check.AnswerAsync(HttpStatusCode.OK, "/v1/queues/{queue}/bindings", "get", http.GetAsync($"{q}/bindings"));
        await check.AnswerAsync(HttpStatusCode.NoContent, "/v1/queues/{queue}/bindings/{pattern}", "delete", http.DeleteAsync(binding));
        await check.AnswerAsync(HttpStatusCode.NotFound, "/v1/queues/{queue}/bindings/{pattern}", "delete", http.DeleteAsync(binding));

        // Request/reply, asynchronous: 202, pending, the responder's reply, replied; a second reply is refused.
        var rpc = Names.Unique("rpc");
        using var asking = new HttpRequestMessage(HttpMethod.Post, $"/v1/queues/{rpc}/requests") { Content = Http.Json("""{"payload": {"sku": "A-1"}, "headers": {"trace": "t1"}}""") };
        asking.Headers.TryAddWithoutValidation("Prefer", "respond-async");
        var accepted = await check.AnswerAsync(HttpStatusCode.Accepted, "/v1/queues/{queue}/requests", "post", http.SendAsync(asking));
        var replyPath = $"/v1/replies/{accepted.GetProperty("id").GetString()}";
        await check.AnswerAsync(HttpStatusCode.Accepted, "/v1/replies/{id}", "get", http.GetAsync(replyPath));
        var request = Assert.Single((await check.AnswerAsync(HttpStatusCode.OK, "/v1/queues/{queue}/receive", "post", http.PostAsync($"/v1/queues/{rpc}/receive", null))).GetProperty("messages").EnumerateArray());
        Assert.Equal(accepted.GetProperty("id").GetString(), request.GetProperty("replyTo").GetString());
        // The reply carries the request's lease: the request is acked with it.
        await check.AnswerAsync(HttpStatusCode.NoContent, "/v1/replies/{id}", "post",
            http.PostAsync($"{replyPath}?lease={Uri.EscapeDataString(request.GetProperty("lease").GetString()!)}", Http.Json("""{"payload": {"price": 9.5}, "key": "A-1"}""")));
        var replied = await check.AnswerAsync(HttpStatusCode.OK, "/v1/replies/{id}", "get", http.GetAsync(replyPath));
        Assert.Equal("replied", replied.GetProperty("status").GetString());
        await check.AnswerAsync((HttpStatusCode)409, "/v1/replies/{id}", "post", http.PostAsync(replyPath, Http.Json("""{"payload": 0}""")));
        var rpcStats = (await check.AnswerAsync(HttpStatusCode.OK, "/v1/queues/{queue}", "get", http.GetAsync($"/v1/queues/{rpc}"))).GetProperty("stats");
        Assert.Equal(0, rpcStats.GetProperty("leased").GetInt64() + rpcStats.GetProperty("ready").GetInt64());
        // Synchronous with no responder: 504.
        await check.AnswerAsync(HttpStatusCode.GatewayTimeout, "/v1/queues/{queue}/requests", "post", http.PostAsync($"/v1/queues/{rpc}/requests?timeout=1", Http.Json("""{"payload": 1}""")));

        // Refusals: each status must be one the route declares.
        await check.AnswerAsync(HttpStatusCode.NotFound, "/v1/queues/{queue}/receive", "post", http.PostAsync("/v1/queues/missing.queue/receive", null));
        await check.AnswerAsync(HttpStatusCode.BadRequest, "/v1/queues/{queue}/receive", "post", http.PostAsync($"{q}/receive?max=5000", null));
        await check.AnswerAsync(HttpStatusCode.Conflict, "/v1/queues/{queue}/messages/{id}/ack", "post", http.PostAsync(Settle(q, messages[1], "ack"), Http.Json("""{"lease": "not-the-token"}""")));
        await check.AnswerAsync(HttpStatusCode.UnprocessableEntity, "/v1/queues/{queue}/messages/{id}/extend", "post", http.PostAsync(Settle(q, messages[1], "extend"), Http.Json("""{"lease": ""}""")));
        await check.AnswerAsync(HttpStatusCode.UnprocessableEntity, "/v1/queues/{queue}", "put", http.PutAsync(q, Http.Json("""{"maxAttempts": 0}""")));
        await check.AnswerAsync(HttpStatusCode.UnprocessableEntity, "/v1/queues/{queue}", "patch", http.PatchAsync(q, Http.Json("""{"maxAttempts": 0}""")));
        await check.AnswerAsync(HttpStatusCode.BadRequest, "/v1/queues/{queue}", "patch", http.PatchAsync(q, Http.Json("""{"colour": "red"}""")));
        await check.AnswerAsync(HttpStatusCode.UnsupportedMediaType, "/v1/queues/{queue}", "patch", http.PatchAsync(q, Http.Body("{}", "text/plain")));
        await check.AnswerAsync(HttpStatusCode.NotFound, "/v1/queues/{queue}", "patch", http.PatchAsync("/v1/queues/missing.queue", Http.Json("{}")));
        await check.AnswerAsync(HttpStatusCode.PreconditionFailed, "/v1/queues/{queue}", "put", http.SendAsync(WithHeader(HttpMethod.Put, q, "If-None-Match", "*", Http.Json("{}"))));
        await check.AnswerAsync(HttpStatusCode.PreconditionFailed, "/v1/queues/{queue}", "delete", http.SendAsync(WithHeader(HttpMethod.Delete, q, "If-Match", "\"nope\"")));
        await check.AnswerAsync(HttpStatusCode.UnsupportedMediaType, "/v1/queues/{queue}/messages", "post", http.PostAsync($"{q}/messages", Http.Body("x", null)));
        await check.AnswerAsync(HttpStatusCode.BadRequest, "/v1/queues/{queue}/requests", "post", http.PostAsync($"/v1/queues/{rpc}/requests", Http.Json("""{"messages": [{"payload": 1}]}""")));
        await check.AnswerAsync(HttpStatusCode.NotFound, "/v1/queues/{queue}/dead-letters/{id}/redrive", "post", http.PostAsync($"{q}/dead-letters/999/redrive", null));
        await check.AnswerAsync(HttpStatusCode.NotFound, "/v1/replies/{id}", "get", http.GetAsync("/v1/replies/rnosuchrequest"));

        await check.AnswerAsync(HttpStatusCode.NoContent, "/v1/queues/{queue}", "delete", http.DeleteAsync(q));
        await check.AnswerAsync(HttpStatusCode.NotFound, "/v1/queues/{queue}", "get", http.GetAsync(q));
    }

    private static HttpRequestMessage WithHeader(HttpMethod method, string path, string header, string value, HttpContent? content = null)
    {
        var request = new HttpRequestMessage(method, path) { Content = content };
        request.Headers.TryAddWithoutValidation(header, value);
        return request;
    }

    private static string Settle(string queuePath, JsonElement message, string action) => $"{queuePath}/messages/{message.GetProperty("id")}/{action}";

    private static StringContent Lease(JsonElement message, string more = "") => Http.Json($$"""{"lease": "{{message.GetProperty("lease").GetString()}}"{{more}}}""");
}
