using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;

namespace Switchboard.Server.Tests.Support;

/// <summary>Small HTTP helpers over a plain <see cref="HttpClient"/>: bodies, JSON answers, and common calls.</summary>
internal static class Http
{
    /// <summary>A UTF-8 JSON body (Content-Type: application/json; charset=utf-8).</summary>
    public static StringContent Json(string json) => new(json, Encoding.UTF8, "application/json");

    /// <summary>A body with exactly the given Content-Type header value (or none at all when null).</summary>
    public static ByteArrayContent Body(byte[] bytes, string? contentType)
    {
        var content = new ByteArrayContent(bytes);
        if (contentType is not null)
        {
            content.Headers.TryAddWithoutValidation("Content-Type", contentType);
        }
        return content;
    }

    public static ByteArrayContent Body(string text, string? contentType) => Body(Encoding.UTF8.GetBytes(text), contentType);

    public static string MessagesPath(string topic) => $"/v1/topics/{topic}/messages";

    /// <summary>POSTs a JSON envelope (or batch) to a topic.</summary>
    public static Task<HttpResponseMessage> PublishAsync(this HttpClient http, string topic, string envelope, string? idempotencyKey = null)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, MessagesPath(topic)) { Content = Json(envelope) };
        if (idempotencyKey is not null)
        {
            request.Headers.Add("Idempotency-Key", idempotencyKey);
        }
        return http.SendAsync(request);
    }

    /// <summary>Publishes one JSON payload, asserts 201, and returns the publish answer.</summary>
    public static async Task<JsonElement> PublishOkAsync(this HttpClient http, string topic, string payloadJson)
    {
        using var response = await http.PublishAsync(topic, $$"""{"payload": {{payloadJson}}}""");
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        return await response.ReadJsonAsync();
    }

    /// <summary>Publishes a batch of JSON payloads, asserts 201, and returns the publish answer.</summary>
    public static async Task<JsonElement> PublishManyAsync(this HttpClient http, string topic, int count)
    {
        var messages = string.Join(",", Enumerable.Range(1, count).Select(i => $"{{\"payload\": {{\"n\": {i}}}}}"));
        using var response = await http.PublishAsync(topic, $$"""{"messages": [{{messages}}]}""");
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        return await response.ReadJsonAsync();
    }

    /// <summary>Creates (or replaces) a topic with a JSON configuration, asserting 200 or 201.</summary>
    public static async Task<JsonElement> PutTopicOkAsync(this HttpClient http, string topic, string configJson)
    {
        using var response = await http.PutAsync($"/v1/topics/{topic}", Json(configJson));
        Assert.True(response.StatusCode is HttpStatusCode.Created or HttpStatusCode.OK, $"PUT {topic}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
        return await response.ReadJsonAsync();
    }

    /// <summary>GETs a path, asserts 200 and returns the JSON answer.</summary>
    public static async Task<JsonElement> GetJsonOkAsync(this HttpClient http, string path)
    {
        using var response = await http.GetAsync(path);
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"GET {path}: {(int)response.StatusCode} {body}");
        return Parse(body);
    }

    /// <summary>The topic's last offset, or null when the topic does not exist: "was anything written?".</summary>
    public static async Task<long?> LastOffsetAsync(this HttpClient http, string topic)
    {
        using var response = await http.GetAsync($"/v1/topics/{topic}");
        if (response.StatusCode == HttpStatusCode.NotFound)
        {
            return null;
        }
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var json = await response.ReadJsonAsync();
        return json.GetProperty("stats").GetProperty("lastOffset").GetInt64();
    }

    /// <summary>Asserts the topic was never created (nothing was written by a refused first publish).</summary>
    public static async Task AssertTopicAbsentAsync(this HttpClient http, string topic)
        => Assert.Null(await http.LastOffsetAsync(topic));

    public static async Task<JsonElement> ReadJsonAsync(this HttpResponseMessage response)
        => Parse(await response.Content.ReadAsStringAsync());

    public static JsonElement Parse(string json)
    {
        using var document = JsonDocument.Parse(json);
        return document.RootElement.Clone();
    }

    /// <summary>The offsets of a history page's messages.</summary>
    public static long[] Offsets(this JsonElement page) => [.. page.GetProperty("messages").EnumerateArray().Select(m => m.GetProperty("offset").GetInt64())];

    public static string? Header(this HttpResponseMessage response, string name)
        => response.Headers.TryGetValues(name, out var values) ? string.Join(",", values)
            : response.Content.Headers.TryGetValues(name, out var contentValues) ? string.Join(",", contentValues) : null;

    public static MediaTypeHeaderValue? MediaType(this HttpResponseMessage response) => response.Content.Headers.ContentType;
}
