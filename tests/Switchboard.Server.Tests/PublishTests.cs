using System.Net;
using System.Text;
using System.Text.Json;
using Switchboard.Server.Tests.Support;

namespace Switchboard.Server.Tests;

/// <summary>Publishing: the JSON envelope (one message and batches), raw bodies, headers and keys, field selection, idempotency.</summary>
public sealed class PublishTests
{
    [Theory]
    [MemberData(nameof(Engines.Both), MemberType = typeof(Engines))]
    public async Task Publish_answers_201_with_Location_of_the_new_message(string engine)
    {
        await using var hub = await TestHub.StartAsync(engine);
        var topic = Names.Unique("orders");

        using var response = await hub.Http.PublishAsync(topic, """{"payload": {"id": 7, "item": "tea"}}""");

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        var published = await response.ReadJsonAsync();
        Assert.Equal(topic, published.GetProperty("topic").GetString());
        Assert.Equal(1, published.GetProperty("offset").GetInt64());
        var epoch = published.GetProperty("epoch").GetString();
        Assert.False(string.IsNullOrEmpty(epoch));
        Assert.True(published.TryGetProperty("timestamp", out _));
        var location = response.Headers.Location;
        Assert.NotNull(location);
        Assert.Equal($"/v1/topics/{topic}/messages/1?epoch={epoch}", location.OriginalString);

        var message = await hub.Http.GetJsonOkAsync(location.OriginalString);
        Assert.Equal(topic, message.GetProperty("topic").GetString());
        Assert.Equal(1, message.GetProperty("offset").GetInt64());
        Assert.Equal(7, message.GetProperty("payload").GetProperty("id").GetInt32());
        Assert.Equal("tea", message.GetProperty("payload").GetProperty("item").GetString());
    }

    [Theory]
    [MemberData(nameof(Engines.Both), MemberType = typeof(Engines))]
    public async Task Publish_of_a_batch_answers_201_with_the_offset_range_and_a_Location_that_reads_it_back(string engine)
    {
        await using var hub = await TestHub.StartAsync(engine);
        var topic = Names.Unique("orders");

        using var response = await hub.Http.PublishAsync(topic, """{"messages": [{"payload": "a"}, {"payload": "b", "key": "k"}, {"payload": 3}]}""");

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        var published = await response.ReadJsonAsync();
        Assert.Equal(1, published.GetProperty("firstOffset").GetInt64());
        Assert.Equal(3, published.GetProperty("lastOffset").GetInt64());
        Assert.Equal(3, published.GetProperty("count").GetInt32());
        var epoch = published.GetProperty("epoch").GetString();
        Assert.Equal($"/v1/topics/{topic}/messages?after={epoch}:0&limit=3", response.Headers.Location?.OriginalString);

        var page = await hub.Http.GetJsonOkAsync(response.Headers.Location!.OriginalString);
        Assert.Equal([1L, 2L, 3L], page.Offsets());
        var payloads = page.GetProperty("messages").EnumerateArray().Select(m => m.GetProperty("payload").GetRawText()).ToArray();
        Assert.Equal(["\"a\"", "\"b\"", "3"], payloads);
        Assert.Equal("k", page.GetProperty("messages")[1].GetProperty("key").GetString());
    }

    [Theory]
    [MemberData(nameof(Engines.Both), MemberType = typeof(Engines))]
    public async Task A_batch_with_one_invalid_message_stores_nothing(string engine)
    {
        await using var hub = await TestHub.StartAsync(engine);
        var fresh = Names.Unique("orders");
        var existing = Names.Unique("orders");
        await hub.Http.PublishOkAsync(existing, "1");

        // Second message has a header value that is not a string: the parser refuses it (400).
        using var parseError = await hub.Http.PublishAsync(fresh, """{"messages": [{"payload": 1}, {"payload": 2, "headers": {"n": 5}}]}""");
        await Problem.AssertAsync(parseError, 400, "invalid-request", "messages[1]", "header");
        await hub.Http.AssertTopicAbsentAsync(fresh);

        // Third message breaks a hub rule (a control character in a header value): the hub refuses the whole batch (422).
        using var ruleError = await hub.Http.PublishAsync(existing, """{"messages": [{"payload": 1}, {"payload": 2}, {"payload": 3, "headers": {"h": "a\u0001b"}}]}""");
        await Problem.AssertAsync(ruleError, 422, "validation-failed", "messages[2]", "control");
        Assert.Equal(1, await hub.Http.LastOffsetAsync(existing));
    }

    [Theory]
    [MemberData(nameof(Engines.Both), MemberType = typeof(Engines))]
    public async Task Raw_text_plain_is_published_as_text_with_its_content_type(string engine)
    {
        await using var hub = await TestHub.StartAsync(engine);
        var topic = Names.Unique("logs");

        using var response = await hub.Http.PostAsync(Http.MessagesPath(topic) + "?key=host-1", Http.Body("disk almost full", "text/plain; charset=utf-8"));

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        var message = await hub.Http.GetJsonOkAsync(response.Headers.Location!.OriginalString);
        Assert.Equal("disk almost full", message.GetProperty("payload").GetString());
        Assert.StartsWith("text/plain", message.GetProperty("contentType").GetString());
        Assert.Equal("host-1", message.GetProperty("key").GetString());
        Assert.False(message.TryGetProperty("encoding", out _), "text is not base64-encoded");
    }

    [Theory]
    [MemberData(nameof(Engines.Both), MemberType = typeof(Engines))]
    public async Task Raw_octet_stream_is_read_back_as_base64_with_its_encoding(string engine)
    {
        await using var hub = await TestHub.StartAsync(engine);
        var topic = Names.Unique("blobs");
        byte[] bytes = [0x00, 0x01, 0x02, 0xff, 0xfe];

        using var response = await hub.Http.PostAsync(Http.MessagesPath(topic), Http.Body(bytes, "application/octet-stream"));

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        var message = await hub.Http.GetJsonOkAsync(response.Headers.Location!.OriginalString);
        Assert.Equal("application/octet-stream", message.GetProperty("contentType").GetString());
        Assert.Equal("base64", message.GetProperty("encoding").GetString());
        Assert.Equal(bytes, message.GetProperty("payload").GetBytesFromBase64());
    }

    [Theory]
    [MemberData(nameof(Engines.Both), MemberType = typeof(Engines))]
    public async Task A_raw_plus_json_body_is_validated_as_JSON_and_read_back_as_JSON(string engine)
    {
        await using var hub = await TestHub.StartAsync(engine);
        var topic = Names.Unique("events");
        const string Type = "application/vnd.switchboard.order+json";

        using var bad = await hub.Http.PostAsync(Http.MessagesPath(topic), Http.Body("{\"id\": 1,", Type));
        await Problem.AssertAsync(bad, 400, "invalid-json", "not well-formed JSON", Type);
        await hub.Http.AssertTopicAbsentAsync(topic);

        using var good = await hub.Http.PostAsync(Http.MessagesPath(topic), Http.Body("{\"id\": 1, \"ok\": true}", Type));
        Assert.Equal(HttpStatusCode.Created, good.StatusCode);
        var message = await hub.Http.GetJsonOkAsync(good.Headers.Location!.OriginalString);
        Assert.Equal(Type, message.GetProperty("contentType").GetString());
        Assert.Equal(JsonValueKind.Object, message.GetProperty("payload").ValueKind);
        Assert.True(message.GetProperty("payload").GetProperty("ok").GetBoolean());
    }

    [Theory]
    [MemberData(nameof(Engines.Both), MemberType = typeof(Engines))]
    public async Task Headers_and_key_round_trip(string engine)
    {
        await using var hub = await TestHub.StartAsync(engine);
        var topic = Names.Unique("orders");

        using var response = await hub.Http.PublishAsync(topic, """{"payload": {"n": 1}, "headers": {"trace-id": "abc123", "source": "billing", "empty": ""}, "key": "customer-42"}""");
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);

        var message = await hub.Http.GetJsonOkAsync(response.Headers.Location!.OriginalString);
        var headers = message.GetProperty("headers").EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetString());
        Assert.Equal(new Dictionary<string, string?> { ["trace-id"] = "abc123", ["source"] = "billing", ["empty"] = "" }, headers);
        Assert.Equal("customer-42", message.GetProperty("key").GetString());

        var page = await hub.Http.GetJsonOkAsync(Http.MessagesPath(topic));
        Assert.Equal("abc123", page.GetProperty("messages")[0].GetProperty("headers").GetProperty("trace-id").GetString());
        Assert.Equal("customer-42", page.GetProperty("messages")[0].GetProperty("key").GetString());
    }

    [Theory]
    [MemberData(nameof(Engines.Both), MemberType = typeof(Engines))]
    public async Task Fields_selects_only_the_named_members_of_each_message(string engine)
    {
        await using var hub = await TestHub.StartAsync(engine);
        var topic = Names.Unique("orders");
        await hub.Http.PublishOkAsync(topic, """{"id": 1}""");

        var page = await hub.Http.GetJsonOkAsync(Http.MessagesPath(topic) + "?fields=offset,payload");
        var names = page.GetProperty("messages")[0].EnumerateObject().Select(p => p.Name).Order().ToArray();
        Assert.Equal(["offset", "payload"], names);

        var one = await hub.Http.GetJsonOkAsync(Http.MessagesPath(topic) + "/1?fields=key,timestamp,topic");
        Assert.Equal(["timestamp", "topic"], one.EnumerateObject().Select(p => p.Name).Order().ToArray()); // no key was given

        // The payload alone (its own cached form, what long polls that want only payloads ask for), whole pages first:
        // the cache of one form must not answer for the other.
        using (var binary = await hub.Http.PostAsync(Http.MessagesPath(topic), Http.Body([0xff, 0x00], "application/octet-stream")))
        {
            Assert.Equal(System.Net.HttpStatusCode.Created, binary.StatusCode);
        }
        Assert.Equal(2, (await hub.Http.GetJsonOkAsync(Http.MessagesPath(topic))).GetProperty("messages").GetArrayLength());
        var payloads = (await hub.Http.GetJsonOkAsync(Http.MessagesPath(topic) + "?fields=payload")).GetProperty("messages");
        Assert.Equal("""{"payload":{"id": 1}}""", payloads[0].GetRawText());
        Assert.Equal("""{"payload":"/wA=","encoding":"base64"}""", payloads[1].GetRawText());
        Assert.Equal(3, (await hub.Http.GetJsonOkAsync(Http.MessagesPath(topic) + "?after=0&limit=1")).GetProperty("messages")[0].EnumerateObject().Count(p => p.Name is "topic" or "offset" or "payload"));
    }

    [Theory]
    [MemberData(nameof(Engines.Both), MemberType = typeof(Engines))]
    public async Task The_payload_resource_returns_the_raw_bytes_with_the_original_content_type(string engine)
    {
        await using var hub = await TestHub.StartAsync(engine);
        var topic = Names.Unique("blobs");
        byte[] bytes = [0x89, 0x50, 0x4e, 0x47, 0x00, 0xff];
        using (var raw = await hub.Http.PostAsync(Http.MessagesPath(topic), Http.Body(bytes, "image/png")))
        {
            Assert.Equal(HttpStatusCode.Created, raw.StatusCode);
        }
        await hub.Http.PublishOkAsync(topic, """{"a": [1, 2]}""");

        using var binary = await hub.Http.GetAsync(Http.MessagesPath(topic) + "/1/payload");
        Assert.Equal(HttpStatusCode.OK, binary.StatusCode);
        Assert.Equal("image/png", binary.MediaType()?.MediaType);
        Assert.Equal(bytes, await binary.Content.ReadAsByteArrayAsync());

        using var json = await hub.Http.GetAsync(Http.MessagesPath(topic) + "/2/payload");
        Assert.Equal(HttpStatusCode.OK, json.StatusCode);
        Assert.Equal("application/json", json.MediaType()?.MediaType);
        Assert.Equal("""{"a": [1, 2]}""", await json.Content.ReadAsStringAsync());
    }

    [Theory]
    [MemberData(nameof(Engines.Both), MemberType = typeof(Engines))]
    public async Task A_retried_publish_with_the_same_Idempotency_Key_returns_the_first_result_and_stores_nothing_new(string engine)
    {
        await using var hub = await TestHub.StartAsync(engine);
        var topic = Names.Unique("payments");
        var key = Guid.NewGuid().ToString();
        const string Body = """{"payload": {"amount": 10}}""";

        using var first = await hub.Http.PublishAsync(topic, Body, key);
        Assert.Equal(HttpStatusCode.Created, first.StatusCode);
        Assert.Null(first.Header("Idempotent-Replayed"));
        var firstJson = await first.ReadJsonAsync();

        using var retry = await hub.Http.PublishAsync(topic, Body, key);
        Assert.Equal(HttpStatusCode.Created, retry.StatusCode);
        Assert.Equal("true", retry.Header("Idempotent-Replayed"));
        var retryJson = await retry.ReadJsonAsync();
        Assert.Equal(firstJson.GetProperty("offset").GetInt64(), retryJson.GetProperty("offset").GetInt64());
        Assert.Equal(firstJson.GetProperty("epoch").GetString(), retryJson.GetProperty("epoch").GetString());
        Assert.Equal(first.Headers.Location, retry.Headers.Location);

        Assert.Equal(1, await hub.Http.LastOffsetAsync(topic));
        var page = await hub.Http.GetJsonOkAsync(Http.MessagesPath(topic));
        Assert.Single(page.GetProperty("messages").EnumerateArray());
    }

    [Theory]
    [MemberData(nameof(Engines.Both), MemberType = typeof(Engines))]
    public async Task A_retried_batch_with_the_same_Idempotency_Key_returns_the_same_offsets(string engine)
    {
        await using var hub = await TestHub.StartAsync(engine);
        var topic = Names.Unique("payments");
        var key = Guid.NewGuid().ToString();
        const string Batch = """{"messages": [{"payload": 1}, {"payload": 2}]}""";
        await hub.Http.PublishOkAsync(topic, "0");

        using var first = await hub.Http.PublishAsync(topic, Batch, key);
        using var retry = await hub.Http.PublishAsync(topic, Batch, key);

        Assert.Equal(HttpStatusCode.Created, first.StatusCode);
        Assert.Equal(HttpStatusCode.Created, retry.StatusCode);
        Assert.Equal("true", retry.Header("Idempotent-Replayed"));
        var a = await first.ReadJsonAsync();
        var b = await retry.ReadJsonAsync();
        Assert.Equal((2L, 3L), (a.GetProperty("firstOffset").GetInt64(), a.GetProperty("lastOffset").GetInt64()));
        Assert.Equal((2L, 3L), (b.GetProperty("firstOffset").GetInt64(), b.GetProperty("lastOffset").GetInt64()));
        Assert.Equal(3, await hub.Http.LastOffsetAsync(topic));
    }

    [Theory]
    [MemberData(nameof(Engines.Both), MemberType = typeof(Engines))]
    public async Task Publishing_to_a_new_topic_creates_it(string engine)
    {
        await using var hub = await TestHub.StartAsync(engine);
        var topic = Names.Unique("fresh");
        await hub.Http.AssertTopicAbsentAsync(topic);

        await hub.Http.PublishOkAsync(topic, "\"hello\"");

        var info = await hub.Http.GetJsonOkAsync($"/v1/topics/{topic}");
        Assert.Equal(topic, info.GetProperty("name").GetString());
        Assert.Equal(1, info.GetProperty("stats").GetProperty("messageCount").GetInt64());
        Assert.Equal(Encoding.UTF8.GetByteCount("\"hello\""), info.GetProperty("stats").GetProperty("bytes").GetInt64());
    }
}
