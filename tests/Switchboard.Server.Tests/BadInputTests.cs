using System.Net;
using System.Text;
using Switchboard.Server.Tests.Support;

namespace Switchboard.Server.Tests;

/// <summary>
/// Client mistakes: each gets a 4xx problem+json whose detail says what to fix, and nothing is written
/// (a refused first publish leaves no topic behind).
/// </summary>
public sealed class BadInputTests
{
    // ---- 400 ----

    [Theory]
    [MemberData(nameof(Engines.Both), MemberType = typeof(Engines))]
    public async Task Malformed_JSON_answers_400_invalid_json_and_writes_nothing(string engine)
    {
        await using var hub = await TestHub.StartAsync(engine);
        var topic = Names.Unique("orders");

        using var truncated = await hub.Http.PublishAsync(topic, """{"payload": {"id": 1""");
        await Problem.AssertAsync(truncated, 400, "invalid-json", "not valid JSON");

        using var trailing = await hub.Http.PublishAsync(topic, """{"payload": 1} {"payload": 2}""");
        await Problem.AssertAsync(trailing, 400, "invalid-json", "after a single JSON value");

        using var empty = await hub.Http.PostAsync(Http.MessagesPath(topic), Http.Body("", "application/json"));
        await Problem.AssertAsync(empty, 400, "invalid-json", "empty");

        await hub.Http.AssertTopicAbsentAsync(topic);
    }

    [Theory]
    [MemberData(nameof(Engines.Both), MemberType = typeof(Engines))]
    public async Task An_unknown_envelope_field_answers_400_naming_the_field(string engine)
    {
        await using var hub = await TestHub.StartAsync(engine);
        var topic = Names.Unique("orders");

        using var single = await hub.Http.PublishAsync(topic, """{"payload": 1, "colour": "red"}""");
        await Problem.AssertAsync(single, 400, "invalid-request", "unknown field", "colour");

        using var inBatch = await hub.Http.PublishAsync(topic, """{"messages": [{"payload": 1}, {"payload": 2, "priority": 9}]}""");
        await Problem.AssertAsync(inBatch, 400, "invalid-request", "messages[1]", "priority");

        using var noPayload = await hub.Http.PublishAsync(topic, """{"key": "k"}""");
        await Problem.AssertAsync(noPayload, 400, "invalid-request", "payload");

        using var notAnObject = await hub.Http.PublishAsync(topic, """[1, 2, 3]""");
        await Problem.AssertAsync(notAnObject, 400, "invalid-request", "JSON object");

        await hub.Http.AssertTopicAbsentAsync(topic);
    }

    [Theory]
    [InlineData("orders..created", "empty token")]
    [InlineData(".orders", "empty token")]
    [InlineData("orders.", "empty token")]
    [InlineData("orders.*", "wildcard")]
    [InlineData("orders.>", "wildcard")]
    [InlineData("or%20ders", "index")]
    [InlineData("orders%3Bdrop", "index")]
    [InlineData("%24sys.stats", "reserved")]
    public async Task A_bad_topic_name_answers_400_invalid_topic_name_and_writes_nothing(string name, string word)
    {
        await using var hub = await TestHub.StartAsync("memory");

        using var publish = await hub.Http.PublishAsync(name, """{"payload": 1}""");
        await Problem.AssertAsync(publish, 400, "invalid-topic-name", word);

        using var put = await hub.Http.PutAsync($"/v1/topics/{name}", Http.Json("{}"));
        await Problem.AssertAsync(put, 400, "invalid-topic-name", word);

        using var list = await hub.Http.GetAsync("/v1/topics");
        var topics = (await list.ReadJsonAsync()).GetProperty("topics");
        Assert.Empty(topics.EnumerateArray());
    }

    [Fact]
    public async Task A_topic_name_over_255_characters_answers_400()
    {
        await using var hub = await TestHub.StartAsync("memory");
        var name = new string('a', 256);

        using var publish = await hub.Http.PublishAsync(name, """{"payload": 1}""");

        await Problem.AssertAsync(publish, 400, "invalid-topic-name", "256", "255");
    }

    [Theory]
    [InlineData("after=abc", "invalid-position", "after")]
    [InlineData("after=-1", "invalid-position", "after")]
    [InlineData("after=1.5", "invalid-position", "after")]
    [InlineData("after=zzzz:1", "invalid-position", "epoch")]
    [InlineData("limit=0", "invalid-request", "limit")]
    [InlineData("limit=-5", "invalid-request", "limit")]
    [InlineData("limit=abc", "invalid-request", "limit")]
    [InlineData("limit=1001", "invalid-request", "limit")]
    [InlineData("wait=abc", "invalid-request", "wait")]
    [InlineData("wait=61", "invalid-request", "wait")]
    [InlineData("wait=-1", "invalid-request", "wait")]
    [InlineData("fields=offset,colour", "invalid-request", "colour")]
    [InlineData("epoch=nope", "invalid-position", "epoch")]
    public async Task A_bad_history_query_answers_400_naming_the_parameter(string query, string code, string word)
    {
        await using var hub = await TestHub.StartAsync("memory");
        var topic = Names.Unique("orders");
        await hub.Http.PublishOkAsync(topic, "1");

        using var response = await hub.Http.GetAsync($"{Http.MessagesPath(topic)}?{query}");

        await Problem.AssertAsync(response, 400, code, word);
    }

    [Theory]
    [InlineData("abc")]
    [InlineData("0")]
    [InlineData("-1")]
    [InlineData("1e3")]
    [InlineData("99999999999999999999")]
    public async Task A_bad_message_offset_answers_400_invalid_position(string offset)
    {
        await using var hub = await TestHub.StartAsync("memory");
        var topic = Names.Unique("orders");
        await hub.Http.PublishOkAsync(topic, "1");

        using var response = await hub.Http.GetAsync($"{Http.MessagesPath(topic)}/{offset}");

        await Problem.AssertAsync(response, 400, "invalid-position", offset, "offset");
    }

    [Theory]
    [InlineData("not-base64!!")]
    [InlineData("bjphLi5i")] // base64url of "n:a..b": the right shape around a name that cannot exist
    [InlineData("eDpvcmRlcnM")] // base64url of "x:orders": a cursor this hub never issues
    public async Task A_cursor_the_hub_did_not_issue_answers_400(string cursor)
    {
        await using var hub = await TestHub.StartAsync("memory");

        using var response = await hub.Http.GetAsync($"/v1/topics?cursor={cursor}");

        await Problem.AssertAsync(response, 400, "invalid-position", "cursor");
    }

    [Theory]
    [InlineData("limit=0", "invalid-request", "limit")]
    [InlineData("limit=1001", "invalid-request", "limit")]
    [InlineData("prefix=a%20b", "invalid-topic-name", "prefix")]
    public async Task A_bad_topic_listing_query_answers_400(string query, string code, string word)
    {
        await using var hub = await TestHub.StartAsync("memory");

        using var response = await hub.Http.GetAsync($"/v1/topics?{query}");

        await Problem.AssertAsync(response, 400, code, word);
    }

    [Theory]
    [MemberData(nameof(Engines.Both), MemberType = typeof(Engines))]
    public async Task A_key_in_the_query_of_a_JSON_envelope_answers_400(string engine)
    {
        await using var hub = await TestHub.StartAsync(engine);
        var topic = Names.Unique("orders");

        using var response = await hub.Http.PostAsync(Http.MessagesPath(topic) + "?key=k", Http.Json("""{"payload": 1}"""));

        await Problem.AssertAsync(response, 400, "invalid-request", "key");
        await hub.Http.AssertTopicAbsentAsync(topic);
    }

    // ---- 413 ----

    [Theory]
    [MemberData(nameof(Engines.Both), MemberType = typeof(Engines))]
    public async Task A_raw_body_over_MaxMessageBytes_answers_413_message_too_large(string engine)
    {
        await using var hub = await TestHub.StartAsync(engine, new Dictionary<string, string?> { ["Switchboard:MaxMessageBytes"] = "1024" });
        var topic = Names.Unique("blobs");

        using var response = await hub.Http.PostAsync(Http.MessagesPath(topic), Http.Body(new byte[1025], "application/octet-stream"));

        var problem = await Problem.AssertAsync(response, 413, "message-too-large", "1024", "limit");
        Assert.Equal(1024, problem.GetProperty("limit").GetInt64());
        await hub.Http.AssertTopicAbsentAsync(topic);

        using var fits = await hub.Http.PostAsync(Http.MessagesPath(topic), Http.Body(new byte[1024], "application/octet-stream"));
        Assert.Equal(HttpStatusCode.Created, fits.StatusCode);
    }

    [Theory]
    [MemberData(nameof(Engines.Both), MemberType = typeof(Engines))]
    public async Task A_chunked_raw_body_over_MaxMessageBytes_answers_413_without_a_Content_Length(string engine)
    {
        await using var hub = await TestHub.StartAsync(engine, new Dictionary<string, string?> { ["Switchboard:MaxMessageBytes"] = "1024" });
        var topic = Names.Unique("blobs");
        // A StreamContent over a non-seekable stream has no length: HttpClient sends it chunked, so the server
        // can only find out while reading.
        var content = new StreamContent(new UnseekableStream(new byte[64 * 1024]));
        content.Headers.ContentType = new("application/octet-stream");
        using var request = new HttpRequestMessage(HttpMethod.Post, Http.MessagesPath(topic)) { Content = content };

        using var response = await hub.Http.SendAsync(request);

        Assert.Null(request.Content.Headers.ContentLength);
        await Problem.AssertAsync(response, 413, "message-too-large", "1024");
        await hub.Http.AssertTopicAbsentAsync(topic);
    }

    [Theory]
    [MemberData(nameof(Engines.Both), MemberType = typeof(Engines))]
    public async Task An_envelope_over_MaxRequestBytes_answers_413_request_too_large(string engine)
    {
        await using var hub = await TestHub.StartAsync(engine, new Dictionary<string, string?>
        {
            ["Switchboard:MaxRequestBytes"] = "4096",
            ["Switchboard:MaxMessageBytes"] = "2048",
        });
        var topic = Names.Unique("orders");
        // Each message fits, the request does not.
        var batch = "{\"messages\": [" + string.Join(",", Enumerable.Range(0, 5).Select(_ => $"{{\"payload\": \"{new string('x', 1000)}\"}}")) + "]}";

        using var response = await hub.Http.PublishAsync(topic, batch);

        var problem = await Problem.AssertAsync(response, 413, "request-too-large", "4096", "split");
        Assert.Equal(4096, problem.GetProperty("limit").GetInt64());
        await hub.Http.AssertTopicAbsentAsync(topic);
    }

    [Theory]
    [MemberData(nameof(Engines.Both), MemberType = typeof(Engines))]
    public async Task A_payload_over_the_limit_inside_an_envelope_answers_413_message_too_large(string engine)
    {
        await using var hub = await TestHub.StartAsync(engine, new Dictionary<string, string?> { ["Switchboard:MaxMessageBytes"] = "1024" });
        var topic = Names.Unique("orders");
        var big = new string('x', 2000);

        using var single = await hub.Http.PublishAsync(topic, $$"""{"payload": "{{big}}"}""");
        var problem = await Problem.AssertAsync(single, 413, "message-too-large", "1024");
        Assert.True(problem.GetProperty("size").GetInt64() > 1024);

        using var inBatch = await hub.Http.PublishAsync(topic, $$"""{"messages": [{"payload": 1}, {"payload": "{{big}}"}]}""");
        var batchProblem = await Problem.AssertAsync(inBatch, 413, "message-too-large", "messages[1]", "1024");
        Assert.Equal(1, batchProblem.GetProperty("index").GetInt32());

        await hub.Http.AssertTopicAbsentAsync(topic);
    }

    // ---- 415 ----

    [Theory]
    [MemberData(nameof(Engines.Both), MemberType = typeof(Engines))]
    public async Task A_publish_without_Content_Type_answers_415(string engine)
    {
        await using var hub = await TestHub.StartAsync(engine);
        var topic = Names.Unique("orders");

        using var response = await hub.Http.PostAsync(Http.MessagesPath(topic), Http.Body("""{"payload": 1}""", contentType: null));

        await Problem.AssertAsync(response, 415, "unsupported-media-type", "no Content-Type", "application/json");
        await hub.Http.AssertTopicAbsentAsync(topic);
    }

    [Theory]
    [MemberData(nameof(Engines.Both), MemberType = typeof(Engines))]
    public async Task A_form_urlencoded_publish_answers_415(string engine)
    {
        await using var hub = await TestHub.StartAsync(engine);
        var topic = Names.Unique("orders");

        using var response = await hub.Http.PostAsync(Http.MessagesPath(topic), new FormUrlEncodedContent([new("payload", "1")]));

        await Problem.AssertAsync(response, 415, "unsupported-media-type", "application/x-www-form-urlencoded", "form");
        await hub.Http.AssertTopicAbsentAsync(topic);
    }

    [Theory]
    [MemberData(nameof(Engines.Both), MemberType = typeof(Engines))]
    public async Task A_multipart_publish_answers_415(string engine)
    {
        await using var hub = await TestHub.StartAsync(engine);
        var topic = Names.Unique("orders");
        using var form = new MultipartFormDataContent { { new StringContent("1"), "payload" } };

        using var response = await hub.Http.PostAsync(Http.MessagesPath(topic), form);

        await Problem.AssertAsync(response, 415, "unsupported-media-type", "multipart/form-data", "form");
        await hub.Http.AssertTopicAbsentAsync(topic);
    }

    [Theory]
    [MemberData(nameof(Engines.Both), MemberType = typeof(Engines))]
    public async Task A_JSON_envelope_in_a_charset_other_than_UTF_8_answers_415(string engine)
    {
        await using var hub = await TestHub.StartAsync(engine);
        var topic = Names.Unique("orders");

        using var response = await hub.Http.PostAsync(Http.MessagesPath(topic), Http.Body("""{"payload": 1}""", "application/json; charset=iso-8859-1"));

        await Problem.AssertAsync(response, 415, "unsupported-media-type", "UTF-8");
        await hub.Http.AssertTopicAbsentAsync(topic);
    }

    [Theory]
    [MemberData(nameof(Engines.Both), MemberType = typeof(Engines))]
    public async Task Text_plain_on_PUT_and_PATCH_of_a_topic_answers_415(string engine)
    {
        await using var hub = await TestHub.StartAsync(engine);
        var topic = Names.Unique("orders");

        using var put = await hub.Http.PutAsync($"/v1/topics/{topic}", Http.Body("""{"retention": {"maxMessages": 5}}""", "text/plain"));
        await Problem.AssertAsync(put, 415, "unsupported-media-type", "text/plain", "application/json");
        await hub.Http.AssertTopicAbsentAsync(topic);

        await hub.Http.PutTopicOkAsync(topic, """{"retention": {"maxMessages": 5}}""");
        using var patch = await hub.Http.PatchAsync($"/v1/topics/{topic}", Http.Body("""{"retention": {"maxMessages": 9}}""", "text/plain"));
        await Problem.AssertAsync(patch, 415, "unsupported-media-type", "application/merge-patch+json");
        var info = await hub.Http.GetJsonOkAsync($"/v1/topics/{topic}");
        Assert.Equal(5, info.GetProperty("retention").GetProperty("maxMessages").GetInt64());
    }

    // ---- 422 ----

    [Theory]
    [MemberData(nameof(Engines.Both), MemberType = typeof(Engines))]
    public async Task Retention_maxMessages_0_answers_422_and_keeps_the_topic_as_it_was(string engine)
    {
        await using var hub = await TestHub.StartAsync(engine);
        var topic = Names.Unique("orders");

        using var create = await hub.Http.PutAsync($"/v1/topics/{topic}", Http.Json("""{"retention": {"maxMessages": 0}}"""));
        await Problem.AssertAsync(create, 422, "validation-failed", "retention.maxMessages", "1 or more");
        await hub.Http.AssertTopicAbsentAsync(topic);

        await hub.Http.PutTopicOkAsync(topic, """{"retention": {"maxMessages": 10}}""");
        using var patch = await hub.Http.PatchAsync($"/v1/topics/{topic}", Http.Body("""{"retention": {"maxMessages": 0}}""", "application/merge-patch+json"));
        await Problem.AssertAsync(patch, 422, "validation-failed", "retention.maxMessages");
        var info = await hub.Http.GetJsonOkAsync($"/v1/topics/{topic}");
        Assert.Equal(10, info.GetProperty("retention").GetProperty("maxMessages").GetInt64());
    }

    [Theory]
    [MemberData(nameof(Engines.Both), MemberType = typeof(Engines))]
    public async Task An_idempotency_key_reused_with_a_different_body_answers_422_and_stores_nothing(string engine)
    {
        await using var hub = await TestHub.StartAsync(engine);
        var topic = Names.Unique("payments");
        var key = Guid.NewGuid().ToString();

        using (var first = await hub.Http.PublishAsync(topic, """{"payload": {"amount": 10}}""", key))
        {
            Assert.Equal(HttpStatusCode.Created, first.StatusCode);
        }
        using var reused = await hub.Http.PublishAsync(topic, """{"payload": {"amount": 99}}""", key);

        await Problem.AssertAsync(reused, 422, "idempotency-key-reused", "idempotency key");
        Assert.Equal(1, await hub.Http.LastOffsetAsync(topic));
    }

    [Theory]
    [MemberData(nameof(Engines.Both), MemberType = typeof(Engines))]
    public async Task An_empty_batch_answers_422(string engine)
    {
        await using var hub = await TestHub.StartAsync(engine);
        var topic = Names.Unique("orders");

        using var response = await hub.Http.PublishAsync(topic, """{"messages": []}""");

        await Problem.AssertAsync(response, 422, "validation-failed", "empty", "at least one");
        await hub.Http.AssertTopicAbsentAsync(topic);
    }

    [Theory]
    [MemberData(nameof(Engines.Both), MemberType = typeof(Engines))]
    public async Task A_batch_over_MaxBatchMessages_answers_413_request_too_large(string engine)
    {
        // The hub treats too many messages in one request as a request that is too large (413), not as a
        // validation failure (422): the remedy is the same as for a body over the byte limit, split it.
        await using var hub = await TestHub.StartAsync(engine, new Dictionary<string, string?> { ["Switchboard:MaxBatchMessages"] = "3" });
        var topic = Names.Unique("orders");

        using var response = await hub.Http.PublishAsync(topic, """{"messages": [{"payload": 1}, {"payload": 2}, {"payload": 3}, {"payload": 4}]}""");

        var problem = await Problem.AssertAsync(response, 413, "request-too-large", "4 messages", "limit is 3");
        Assert.Equal(3, problem.GetProperty("limit").GetInt32());
        await hub.Http.AssertTopicAbsentAsync(topic);

        await hub.Http.PublishManyAsync(topic, 3);
        Assert.Equal(3, await hub.Http.LastOffsetAsync(topic));
    }

    [Theory]
    [MemberData(nameof(Engines.Both), MemberType = typeof(Engines))]
    public async Task An_invalid_idempotency_key_answers_422(string engine)
    {
        await using var hub = await TestHub.StartAsync(engine);
        var topic = Names.Unique("orders");

        using var response = await hub.Http.PublishAsync(topic, """{"payload": 1}""", new string('k', 300));

        await Problem.AssertAsync(response, 422, "validation-failed", "idempotency key", "255");
        await hub.Http.AssertTopicAbsentAsync(topic);
    }

    [Fact]
    public async Task Every_refused_publish_leaves_the_existing_topic_unchanged()
    {
        await using var hub = await TestHub.StartAsync("sqlite", new Dictionary<string, string?> { ["Switchboard:MaxMessageBytes"] = "1024" });
        var topic = Names.Unique("orders");
        await hub.Http.PublishOkAsync(topic, "1");
        var before = await hub.Http.GetJsonOkAsync($"/v1/topics/{topic}");

        HttpContent[] refused =
        [
            Http.Json("{\"payload\": "),
            Http.Json("""{"payload": 1, "x": 1}"""),
            Http.Json("""{"messages": []}"""),
            Http.Body(new byte[2048], "application/octet-stream"),
            Http.Body("a=b", "application/x-www-form-urlencoded"),
            Http.Body("""{"payload": 1}""", null),
            Http.Body("{", "application/problem+json"),
        ];
        foreach (var content in refused)
        {
            using (content)
            using (var response = await hub.Http.PostAsync(Http.MessagesPath(topic), content))
            {
                Assert.InRange((int)response.StatusCode, 400, 499);
                Assert.Equal("application/problem+json", response.MediaType()?.MediaType);
            }
        }

        var after = await hub.Http.GetJsonOkAsync($"/v1/topics/{topic}");
        Assert.Equal(before.GetProperty("stats").GetRawText(), after.GetProperty("stats").GetRawText());
        Assert.Equal(Encoding.UTF8.GetByteCount("1"), after.GetProperty("stats").GetProperty("bytes").GetInt64());
    }

    /// <summary>A read-only stream that cannot seek, so HttpClient cannot know its length and sends it chunked.</summary>
    private sealed class UnseekableStream(byte[] data) : Stream
    {
        private readonly MemoryStream _inner = new(data);
        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
        public override int Read(byte[] buffer, int offset, int count) => _inner.Read(buffer, offset, count);
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
        public override void Flush() { }
        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                _inner.Dispose();
            }
            base.Dispose(disposing);
        }
    }
}
