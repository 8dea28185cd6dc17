using System.Net;
using System.Text;
using static Switchboard.Rest.Tests.Http;

namespace Switchboard.Rest.Tests;

/// <summary>POST /v1/topics/{topic}/messages: shapes, answers, idempotency, and every way to get it wrong.</summary>
public sealed class PublishTests
{
    public static TheoryData<bool> Engines => new() { false, true };

    [Theory]
    [MemberData(nameof(Engines))]
    public async Task Publish_answers_201_with_the_Location_of_the_new_message(bool sqlite)
    {
        await using var hub = await TestHub.StartAsync(sqlite);
        using var response = await hub.Http.PostAsync("/v1/topics/orders/messages", Json("""{"payload":{"id":42},"headers":{"source":"shop"},"key":"order-42"}"""));
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        var body = await response.BodyAsync();
        Assert.Equal(1, body.GetProperty("offset").GetInt64());
        var location = response.Headers.Location!.ToString();
        Assert.Equal($"/v1/topics/orders/messages/1?epoch={body.GetProperty("epoch").GetString()}", location);

        var stored = await (await hub.Http.GetAsync(location)).BodyAsync();
        Assert.Equal(42, stored.GetProperty("payload").GetProperty("id").GetInt32());
        Assert.Equal("shop", stored.GetProperty("headers").GetProperty("source").GetString());
        Assert.Equal("order-42", stored.GetProperty("key").GetString());
        Assert.Equal("application/json", stored.GetProperty("contentType").GetString());
    }

    [Theory]
    [MemberData(nameof(Engines))]
    public async Task A_batch_is_stored_in_one_transaction_with_consecutive_offsets(bool sqlite)
    {
        await using var hub = await TestHub.StartAsync(sqlite);
        using var response = await hub.Http.PostAsync("/v1/topics/batch/messages", Json("""{"messages":[{"payload":1},{"payload":"two"},{"payload":{"three":3},"key":"k"}]}"""));
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        var body = await response.BodyAsync();
        Assert.Equal((1, 3, 3), (body.GetProperty("firstOffset").GetInt64(), body.GetProperty("lastOffset").GetInt64(), body.GetProperty("count").GetInt32()));
        var page = await (await hub.Http.GetAsync(response.Headers.Location)).BodyAsync();
        Assert.Equal(3, page.GetProperty("messages").GetArrayLength());
    }

    [Fact]
    public async Task A_batch_with_one_bad_message_stores_nothing()
    {
        await using var hub = await TestHub.StartAsync(settings: new Dictionary<string, string?> { ["Switchboard:MaxMessageBytes"] = "100" });
        using var response = await hub.Http.PostAsync("/v1/topics/atomic/messages", Json("{\"messages\":[{\"payload\":1},{\"payload\":\"" + new string('x', 200) + "\"}]}"));
        var problem = await response.AssertProblemAsync(HttpStatusCode.RequestEntityTooLarge, "message-too-large", "messages[1]", "limit");
        Assert.Equal(1, problem.GetProperty("index").GetInt32());
        Assert.Equal(-1, await hub.LastOffsetAsync("atomic"));
    }

    [Fact]
    public async Task Raw_bodies_keep_their_content_type_and_read_back_as_text_or_base64()
    {
        await using var hub = await TestHub.StartAsync();
        using (var text = await hub.Http.PostAsync("/v1/topics/raw/messages?key=k1", Raw(Encoding.UTF8.GetBytes("hello, world"), "text/plain; charset=utf-8")))
        {
            Assert.Equal(HttpStatusCode.Created, text.StatusCode);
        }
        using (var binary = await hub.Http.PostAsync("/v1/topics/raw/messages", Raw([0, 1, 2, 254, 255], "application/octet-stream")))
        {
            Assert.Equal(HttpStatusCode.Created, binary.StatusCode);
        }
        var page = await (await hub.Http.GetAsync("/v1/topics/raw/messages?after=0")).BodyAsync();
        var messages = page.GetProperty("messages");
        Assert.Equal("hello, world", messages[0].GetProperty("payload").GetString());
        Assert.Equal("k1", messages[0].GetProperty("key").GetString());
        Assert.Equal("text/plain; charset=utf-8", messages[0].GetProperty("contentType").GetString());
        Assert.Equal(Convert.ToBase64String(new byte[] { 0, 1, 2, 254, 255 }), messages[1].GetProperty("payload").GetString());
        Assert.Equal("base64", messages[1].GetProperty("encoding").GetString());

        using var payload = await hub.Http.GetAsync("/v1/topics/raw/messages/2/payload");
        Assert.Equal("application/octet-stream", payload.Content.Headers.ContentType?.MediaType);
        Assert.Equal(new byte[] { 0, 1, 2, 254, 255 }, await payload.Content.ReadAsByteArrayAsync());
    }

    [Fact]
    public async Task A_binary_envelope_round_trips_through_base64()
    {
        await using var hub = await TestHub.StartAsync();
        await hub.PublishAsync("bin", """{"payload":"AAEC/w==","encoding":"base64","contentType":"image/png"}""");
        using var payload = await hub.Http.GetAsync("/v1/topics/bin/messages/1/payload");
        Assert.Equal("image/png", payload.Content.Headers.ContentType?.MediaType);
        Assert.Equal(new byte[] { 0, 1, 2, 255 }, await payload.Content.ReadAsByteArrayAsync());
    }

    [Fact]
    public async Task A_json_typed_raw_body_must_be_json()
    {
        await using var hub = await TestHub.StartAsync();
        using (var ok = await hub.Http.PostAsync("/v1/topics/ce/messages", Raw(Encoding.UTF8.GetBytes("""{"specversion":"1.0"}"""), "application/cloudevents+json")))
        {
            Assert.Equal(HttpStatusCode.Created, ok.StatusCode);
        }
        using var bad = await hub.Http.PostAsync("/v1/topics/ce/messages", Raw(Encoding.UTF8.GetBytes("{not json"), "application/cloudevents+json"));
        await bad.AssertProblemAsync(HttpStatusCode.BadRequest, "invalid-json", "not well-formed JSON");
        Assert.Equal(1, await hub.LastOffsetAsync("ce"));
    }

    [Theory]
    [MemberData(nameof(Engines))]
    public async Task A_retry_with_the_same_Idempotency_Key_returns_the_first_result_and_stores_nothing(bool sqlite)
    {
        await using var hub = await TestHub.StartAsync(sqlite);
        async Task<HttpResponseMessage> Post(string body)
        {
            var request = new HttpRequestMessage(HttpMethod.Post, "/v1/topics/idem/messages") { Content = Json(body) };
            request.Headers.Add("Idempotency-Key", "order-7-attempt");
            return await hub.Http.SendAsync(request);
        }
        using var first = await Post("""{"payload":{"order":7}}""");
        using var second = await Post("""{"payload":{"order":7}}""");
        Assert.Equal(HttpStatusCode.Created, second.StatusCode);
        Assert.False(first.Headers.Contains("Idempotent-Replayed"));
        Assert.Equal("true", second.Headers.GetValues("Idempotent-Replayed").Single());
        Assert.Equal((await first.BodyAsync()).GetProperty("offset").GetInt64(), (await second.BodyAsync()).GetProperty("offset").GetInt64());
        Assert.Equal(1, await hub.LastOffsetAsync("idem"));

        using var different = await Post("""{"payload":{"order":8}}""");
        await different.AssertProblemAsync(HttpStatusCode.UnprocessableEntity, "idempotency-key-reused", "different request");
        Assert.Equal(1, await hub.LastOffsetAsync("idem"));
    }

    [Theory]
    [InlineData("""{"paylod":1}""", HttpStatusCode.BadRequest, "invalid-request", "paylod")]
    [InlineData("""{"payload":1""", HttpStatusCode.BadRequest, "invalid-json", "not valid JSON")]
    [InlineData("""[1,2]""", HttpStatusCode.BadRequest, "invalid-request", "JSON object")]
    [InlineData("", HttpStatusCode.BadRequest, "invalid-json", "empty")]
    [InlineData("""{"headers":{"a":"b"}}""", HttpStatusCode.BadRequest, "invalid-request", "payload")]
    [InlineData("""{"payload":1,"headers":{"n":5}}""", HttpStatusCode.BadRequest, "invalid-request", "not a string")]
    [InlineData("""{"payload":1,"messages":[]}""", HttpStatusCode.BadRequest, "invalid-request", "both")]
    [InlineData("""{"messages":[]}""", HttpStatusCode.UnprocessableEntity, "validation-failed", "empty")]
    [InlineData("""{"messages":[1]}""", HttpStatusCode.BadRequest, "invalid-request", "messages[0]")]
    [InlineData("""{"payload":5,"contentType":"text/plain"}""", HttpStatusCode.BadRequest, "invalid-request", "string")]
    [InlineData("""{"payload":"@@","encoding":"base64","contentType":"x/y"}""", HttpStatusCode.BadRequest, "invalid-request", "base64")]
    [InlineData("""{"payload":"a","encoding":"gzip","contentType":"x/y"}""", HttpStatusCode.BadRequest, "invalid-request", "encoding")]
    [InlineData("""{"payload":1,"key":""}""", HttpStatusCode.UnprocessableEntity, "validation-failed", "key")]
    [InlineData("""{"payload":1,"contentType":"nonsense"}""", HttpStatusCode.UnprocessableEntity, "validation-failed", "media type")]
    [InlineData("""{"payload":"\ud800","contentType":"text/plain"}""", HttpStatusCode.BadRequest, "invalid-json", "Unicode")]
    [InlineData("""{"payload":1} trailing""", HttpStatusCode.BadRequest, "invalid-json", "")]
    public async Task A_malformed_publish_gets_a_problem_that_says_what_to_fix_and_stores_nothing(string body, HttpStatusCode status, string code, string word)
    {
        await using var hub = await TestHub.StartAsync();
        using var response = await hub.Http.PostAsync("/v1/topics/bad.input/messages", Json(body));
        await response.AssertProblemAsync(status, code, word);
        Assert.Equal(-1, await hub.LastOffsetAsync("bad.input"));
    }

    [Theory]
    [InlineData("bad..name", "empty token")]
    [InlineData(".leading", "empty token")]
    [InlineData("orders.*", "wildcard")]
    [InlineData("orders.>", "wildcard")]
    [InlineData("sp ace", "contains")]
    [InlineData("$sys.x", "reserved")]
    [InlineData("ünïcode", "contains")]
    public async Task A_bad_topic_name_answers_400(string name, string word)
    {
        await using var hub = await TestHub.StartAsync();
        using var response = await hub.Http.PostAsync($"/v1/topics/{Uri.EscapeDataString(name)}/messages", Json("""{"payload":1}"""));
        await response.AssertProblemAsync(HttpStatusCode.BadRequest, "invalid-topic-name", word);
        using var tooLong = await hub.Http.PostAsync($"/v1/topics/{new string('a', 256)}/messages", Json("""{"payload":1}"""));
        await tooLong.AssertProblemAsync(HttpStatusCode.BadRequest, "invalid-topic-name", "255");
    }

    [Theory]
    [InlineData(null, "no Content-Type")]
    [InlineData("application/x-www-form-urlencoded", "form")]
    [InlineData("multipart/form-data; boundary=x", "form")]
    [InlineData("application/json; charset=latin1", "UTF-8")]
    public async Task A_wrong_content_type_answers_415(string? contentType, string word)
    {
        await using var hub = await TestHub.StartAsync();
        using var response = await hub.Http.PostAsync("/v1/topics/ct/messages", Raw(Encoding.UTF8.GetBytes("a=b"), contentType));
        await response.AssertProblemAsync(HttpStatusCode.UnsupportedMediaType, "unsupported-media-type", word);
        Assert.Equal(-1, await hub.LastOffsetAsync("ct"));
    }

    [Fact]
    public async Task Bodies_over_the_limits_answer_413_naming_the_limit()
    {
        await using var hub = await TestHub.StartAsync(settings: new Dictionary<string, string?>
        {
            ["Switchboard:MaxMessageBytes"] = "1000",
            ["Switchboard:MaxRequestBytes"] = "4096",
            ["Switchboard:MaxBatchMessages"] = "5",
        });
        using var raw = await hub.Http.PostAsync("/v1/topics/big/messages", Raw(new byte[1001], "application/octet-stream"));
        await raw.AssertProblemAsync(HttpStatusCode.RequestEntityTooLarge, "message-too-large", "1000");
        using var envelope = await hub.Http.PostAsync("/v1/topics/big/messages", Json("{\"payload\":\"" + new string('x', 1100) + "\"}"));
        await envelope.AssertProblemAsync(HttpStatusCode.RequestEntityTooLarge, "message-too-large", "1000");
        using var request = await hub.Http.PostAsync("/v1/topics/big/messages", Json("{\"messages\":[" + string.Join(",", Enumerable.Repeat("{\"payload\":\"" + new string('x', 900) + "\"}", 5)) + "]}"));
        await request.AssertProblemAsync(HttpStatusCode.RequestEntityTooLarge, "request-too-large", "4096");
        using var many = await hub.Http.PostAsync("/v1/topics/big/messages", Json("{\"messages\":[" + string.Join(",", Enumerable.Repeat("{\"payload\":1}", 6)) + "]}"));
        await many.AssertProblemAsync(HttpStatusCode.RequestEntityTooLarge, "request-too-large", "6 messages", "5");
        Assert.Equal(-1, await hub.LastOffsetAsync("big"));
    }

    [Fact]
    public async Task Publishing_to_a_missing_topic_is_404_when_auto_create_is_off()
    {
        await using var hub = await TestHub.StartAsync(settings: new Dictionary<string, string?> { ["Switchboard:Topics:AutoCreate"] = "false" });
        using var response = await hub.Http.PostAsync("/v1/topics/strict/messages", Json("""{"payload":1}"""));
        await response.AssertProblemAsync(HttpStatusCode.NotFound, "topic-not-found", "PUT /v1/topics/strict");
        Assert.Equal(HttpStatusCode.Created, (await hub.Http.PutAsync("/v1/topics/strict", null)).StatusCode);
        Assert.Equal(1, (await hub.PublishAsync("strict", """{"payload":1}""")).GetProperty("offset").GetInt64());
    }
}
