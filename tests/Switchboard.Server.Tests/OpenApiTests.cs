using System.Net;
using System.Text.Json;
using System.Text.RegularExpressions;
using Switchboard.Server.Tests.Support;
using Switchboard.Testing.Schemas;

namespace Switchboard.Server.Tests;

/// <summary>The API describes itself: OpenAPI at /openapi/v1.json and a browsable reference at /docs, served locally.</summary>
public sealed partial class OpenApiTests
{
    [Fact]
    public async Task The_OpenAPI_document_is_valid_JSON_listing_the_topic_paths()
    {
        await using var hub = await TestHub.StartAsync("memory");

        using var response = await hub.Http.GetAsync("/openapi/v1.json");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("application/json", response.MediaType()?.MediaType);
        var document = await response.ReadJsonAsync();
        Assert.StartsWith("3.", document.GetProperty("openapi").GetString());
        Assert.Equal("Switchboard", document.GetProperty("info").GetProperty("title").GetString());
        var paths = document.GetProperty("paths");
        foreach (var path in new[] { "/v1/topics", "/v1/topics/{topic}", "/v1/topics/{topic}/messages", "/v1/topics/{topic}/messages/{offset}" })
        {
            Assert.True(paths.TryGetProperty(path, out _), $"the document has no path {path}");
        }
        var publish = paths.GetProperty("/v1/topics/{topic}/messages").GetProperty("post");
        Assert.True(publish.GetProperty("responses").TryGetProperty("201", out _), "publish documents its 201");
        Assert.True(paths.GetProperty("/v1/topics/{topic}").TryGetProperty("patch", out _));
        Assert.Equal(JsonValueKind.Object, paths.GetProperty("/v1/topics/{topic}").GetProperty("delete").ValueKind);
    }

    [Fact]
    public async Task Every_queue_and_reply_route_documents_its_answers_with_schemas_and_its_problems()
    {
        await using var hub = await TestHub.StartAsync("memory");
        var document = await (await hub.Http.GetAsync("/openapi/v1.json")).ReadJsonAsync();

        var operations = QueueOperations(document).ToList();
        // 20 queue routes (peek, the ack batch and PATCH included) and 2 reply routes (GET routes also answer HEAD, listed on their own).
        Assert.Equal(22, operations.Select(o => o.Operation.GetProperty("operationId").GetString()).Distinct().Count());
        foreach (var (path, method, operation) in operations)
        {
            var name = $"{method.ToUpperInvariant()} {path}";
            var responses = operation.GetProperty("responses").EnumerateObject().ToList();
            var success = responses.Where(r => r.Name.StartsWith('2')).ToList();
            Assert.True(success.Count > 0, $"{name} documents no 2xx answer");
            foreach (var answer in success.Where(r => r.Name != "204"))
            {
                var schema = answer.Value.TryGetProperty("content", out var content) && content.TryGetProperty("application/json", out var json) && json.TryGetProperty("schema", out var found) ? found : default;
                Assert.True(schema.ValueKind == JsonValueKind.Object, $"{name} {answer.Name} has no application/json schema");
                var shape = JsonSchemaCheck.Resolve(schema, document);
                Assert.True(shape.TryGetProperty("properties", out var properties) && properties.EnumerateObject().Any(), $"{name} {answer.Name}: the schema names no members");
            }
            foreach (var problem in responses.Where(r => r.Name[0] is '4' or '5'))
            {
                Assert.True(problem.Value.GetProperty("content").TryGetProperty("application/problem+json", out _), $"{name} {problem.Name} is not problem+json");
            }
            Assert.True(responses.Any(r => r.Name[0] is '4'), $"{name} documents no client error");
            if (path.StartsWith("/v1/queues/{queue}", StringComparison.Ordinal) && method != "put")
            {
                Assert.True(responses.Any(r => r.Name == "404"), $"{name} can answer 404 queue-not-found but does not say so");
            }
        }

        // The routes that read a body describe it.
        foreach (var id in new[] { "PutQueue", "PatchQueue", "Send", "Ack", "AckMany", "Nack", "Extend", "Request", "PostReply" })
        {
            var operation = operations.Single(o => o.Operation.GetProperty("operationId").GetString() == id).Operation;
            Assert.True(operation.TryGetProperty("requestBody", out var body) && body.GetProperty("content").TryGetProperty("application/json", out _), $"{id} describes no JSON body");
        }
    }

    [Fact]
    public async Task The_queue_descriptions_say_what_receive_settle_and_request_reply_exchange()
    {
        await using var hub = await TestHub.StartAsync("memory");
        var document = await (await hub.Http.GetAsync("/openapi/v1.json")).ReadJsonAsync();
        var paths = document.GetProperty("paths");

        var receive = paths.GetProperty("/v1/queues/{queue}/receive").GetProperty("post");
        var answer = JsonSchemaCheck.Resolve(ResponseSchema(receive, "200"), document);
        var message = JsonSchemaCheck.Resolve(answer.GetProperty("properties").GetProperty("messages").GetProperty("items"), document);
        var required = Strings(message.GetProperty("required"));
        foreach (var member in new[] { "id", "lease", "leaseExpiresAt", "attempts", "enqueuedAt", "headers", "contentType", "payload" })
        {
            Assert.Contains(member, required);
        }
        Assert.True(message.GetProperty("properties").TryGetProperty("replyTo", out _), "a received request carries replyTo");
        Assert.DoesNotContain("replyTo", required);

        foreach (var action in new[] { "ack", "nack", "extend" })
        {
            var operation = paths.GetProperty($"/v1/queues/{{queue}}/messages/{{id}}/{action}").GetProperty("post");
            Assert.True(operation.GetProperty("responses").TryGetProperty("409", out _), $"{action} does not declare 409 (lease-mismatch, lease-expired)");
            var body = JsonSchemaCheck.Resolve(operation.GetProperty("requestBody").GetProperty("content").GetProperty("application/json").GetProperty("schema"), document);
            Assert.Equal(new[] { "lease" }, Strings(body.GetProperty("required")));
        }
        var nack = paths.GetProperty("/v1/queues/{queue}/messages/{id}/nack").GetProperty("post");
        Assert.Equal(new[] { "deadLettered" }, Strings(JsonSchemaCheck.Resolve(ResponseSchema(nack, "200"), document).GetProperty("required")));

        // Send takes one message or a batch; a request and a reply are one message.
        var send = paths.GetProperty("/v1/queues/{queue}/messages").GetProperty("post").GetProperty("requestBody").GetProperty("content").GetProperty("application/json").GetProperty("schema");
        var alternatives = send.GetProperty("oneOf").EnumerateArray().Select(a => Strings(JsonSchemaCheck.Resolve(a, document).GetProperty("required"))).ToList();
        Assert.Equal(new[] { new[] { "payload" }, new[] { "messages" } }, alternatives);
        var request = paths.GetProperty("/v1/queues/{queue}/requests").GetProperty("post");
        Assert.Equal(new[] { "payload" }, Strings(JsonSchemaCheck.Resolve(request.GetProperty("requestBody").GetProperty("content").GetProperty("application/json").GetProperty("schema"), document).GetProperty("required")));
        foreach (var status in new[] { "200", "202", "504" })
        {
            Assert.True(request.GetProperty("responses").TryGetProperty(status, out _), $"request does not declare {status}");
        }
        var getReply = paths.GetProperty("/v1/replies/{id}").GetProperty("get").GetProperty("responses");
        Assert.True(getReply.GetProperty("200").GetProperty("content").TryGetProperty("text/event-stream", out _), "GET /v1/replies/{id} streams with Accept: text/event-stream");
        Assert.True(getReply.TryGetProperty("202", out _) && getReply.TryGetProperty("410", out _));
        var postReply = paths.GetProperty("/v1/replies/{id}").GetProperty("post").GetProperty("responses");
        Assert.True(postReply.TryGetProperty("409", out _) && postReply.TryGetProperty("410", out _), "a reply can be refused as already sent (409) or too late (410)");
    }

    [Fact]
    public async Task Numbers_are_described_as_JSON_numbers_and_durations_as_seconds_or_text()
    {
        await using var hub = await TestHub.StartAsync("memory");
        var document = await (await hub.Http.GetAsync("/openapi/v1.json")).ReadJsonAsync();

        // The hub writes and reads numbers as JSON numbers only, never "42".
        var numeric = Types(document, "$").Where(t => t.Types.Contains("integer") && t.Types.Contains("string")).Select(t => t.Path).ToList();
        Assert.True(numeric.Count == 0, $"numbers described as strings too: {string.Join(", ", numeric)}");
        var stats = JsonSchemaCheck.Resolve(document.GetProperty("components").GetProperty("schemas").GetProperty("QueueStatsSchema"), document);
        Assert.Equal("integer", stats.GetProperty("properties").GetProperty("ready").GetProperty("type").GetString());

        var put = document.GetProperty("paths").GetProperty("/v1/queues/{queue}").GetProperty("put").GetProperty("requestBody").GetProperty("content").GetProperty("application/json").GetProperty("schema");
        var lease = JsonSchemaCheck.Resolve(put, document).GetProperty("properties").GetProperty("lease").GetProperty("type");
        Assert.Equal(new[] { "number", "string" }, Strings(lease));
    }

    /// <summary>Every "type": [ … ] of the document, with where it is.</summary>
    private static IEnumerable<(string Path, string[] Types)> Types(JsonElement element, string path)
    {
        if (element.ValueKind == JsonValueKind.Object)
        {
            foreach (var member in element.EnumerateObject())
            {
                if (member.Name == "type" && member.Value.ValueKind == JsonValueKind.Array)
                {
                    yield return (path, Strings(member.Value));
                }
                foreach (var found in Types(member.Value, $"{path}.{member.Name}"))
                {
                    yield return found;
                }
            }
        }
        else if (element.ValueKind == JsonValueKind.Array)
        {
            foreach (var item in element.EnumerateArray())
            {
                foreach (var found in Types(item, path + "[]"))
                {
                    yield return found;
                }
            }
        }
    }

    private static IEnumerable<(string Path, string Method, JsonElement Operation)> QueueOperations(JsonElement document)
    {
        foreach (var path in document.GetProperty("paths").EnumerateObject())
        {
            if (!path.Name.StartsWith("/v1/queues", StringComparison.Ordinal) && !path.Name.StartsWith("/v1/replies", StringComparison.Ordinal))
            {
                continue;
            }
            foreach (var operation in path.Value.EnumerateObject().Where(o => o.Value.ValueKind == JsonValueKind.Object && o.Value.TryGetProperty("responses", out _)))
            {
                yield return (path.Name, operation.Name, operation.Value);
            }
        }
    }

    private static JsonElement ResponseSchema(JsonElement operation, string status)
        => operation.GetProperty("responses").GetProperty(status).GetProperty("content").GetProperty("application/json").GetProperty("schema");

    private static string[] Strings(JsonElement array) => [.. array.EnumerateArray().Select(e => e.GetString()!)];

    [Fact]
    public async Task The_docs_page_is_HTML_whose_scripts_are_all_served_by_the_hub()
    {
        await using var hub = await TestHub.StartAsync("memory");

        // /docs redirects to /docs/ so that the page's relative script paths resolve under it.
        using var redirect = await hub.Http.GetAsync("/docs");
        Assert.True((int)redirect.StatusCode is >= 300 and < 400 || redirect.StatusCode == HttpStatusCode.OK, $"/docs: {(int)redirect.StatusCode}");
        using var response = await hub.Http.GetAsync("/docs/");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/html", response.MediaType()?.MediaType);
        var html = await response.Content.ReadAsStringAsync();
        var sources = ScriptSource().Matches(html).Select(m => m.Groups["src"].Value).ToList();
        Assert.NotEmpty(sources);
        foreach (var source in sources)
        {
            Assert.False(source.StartsWith("http:", StringComparison.OrdinalIgnoreCase) || source.StartsWith("https:", StringComparison.OrdinalIgnoreCase) || source.StartsWith("//", StringComparison.Ordinal),
                $"script {source} is loaded from elsewhere: /docs must work without a CDN");
        }
        Assert.DoesNotContain("cdn.jsdelivr.net", html, StringComparison.OrdinalIgnoreCase);

        // Every script it names is there.
        foreach (var source in sources)
        {
            var url = new Uri(new Uri(hub.Address, "/docs/"), source);
            using var script = await hub.Http.GetAsync(url);
            Assert.True(script.StatusCode == HttpStatusCode.OK, $"{url}: {(int)script.StatusCode}");
        }
    }

    [Fact]
    public async Task The_docs_script_is_served_locally()
    {
        await using var hub = await TestHub.StartAsync("memory");

        using var response = await hub.Http.GetAsync("/docs/scalar.js");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Contains("javascript", response.MediaType()?.MediaType ?? "");
        Assert.True((await response.Content.ReadAsByteArrayAsync()).Length > 10_000, "the bundle is the real reference UI, not a stub");
    }

    [GeneratedRegex("<script[^>]*\\ssrc\\s*=\\s*[\"'](?<src>[^\"']+)[\"']", RegexOptions.IgnoreCase)]
    private static partial Regex ScriptSource();
}
