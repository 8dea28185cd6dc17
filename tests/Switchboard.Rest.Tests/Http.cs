using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;

namespace Switchboard.Rest.Tests;

/// <summary>Small helpers so tests read as requests and answers.</summary>
internal static class Http
{
    public static StringContent Json(string json) => new(json, Encoding.UTF8, "application/json");

    public static ByteArrayContent Raw(byte[] bytes, string? contentType)
    {
        var content = new ByteArrayContent(bytes);
        if (contentType is not null)
        {
            content.Headers.ContentType = MediaTypeHeaderValue.Parse(contentType);
        }
        return content;
    }

    public static async Task<JsonElement> BodyAsync(this HttpResponseMessage response)
    {
        var text = await response.Content.ReadAsStringAsync();
        return text.Length == 0 ? default : JsonDocument.Parse(text).RootElement.Clone();
    }

    /// <summary>Asserts an RFC 9457 problem with the given status and code, whose detail mentions each of <paramref name="words"/>.</summary>
    public static async Task<JsonElement> AssertProblemAsync(this HttpResponseMessage response, HttpStatusCode status, string code, params string[] words)
    {
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == status, $"expected {(int)status}, got {(int)response.StatusCode}: {body}");
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var problem = JsonDocument.Parse(body).RootElement.Clone();
        Assert.Equal((int)status, problem.GetProperty("status").GetInt32());
        Assert.Equal(code, problem.GetProperty("code").GetString());
        Assert.Equal("/v1/errors/" + code, problem.GetProperty("type").GetString());
        Assert.False(string.IsNullOrWhiteSpace(problem.GetProperty("title").GetString()));
        Assert.True(problem.TryGetProperty("instance", out _));
        var detail = problem.GetProperty("detail").GetString()!;
        foreach (var word in words)
        {
            Assert.Contains(word, detail, StringComparison.OrdinalIgnoreCase);
        }
        return problem;
    }

    public static async Task<JsonElement> PublishAsync(this TestHub hub, string topic, string envelope)
    {
        using var response = await hub.Http.PostAsync($"/v1/topics/{topic}/messages", Json(envelope));
        Assert.True(response.StatusCode == HttpStatusCode.Created, await response.Content.ReadAsStringAsync());
        return await response.BodyAsync();
    }

    public static async Task<long> LastOffsetAsync(this TestHub hub, string topic)
    {
        using var response = await hub.Http.GetAsync($"/v1/topics/{topic}");
        return response.StatusCode == HttpStatusCode.NotFound ? -1 : (await response.BodyAsync()).GetProperty("stats").GetProperty("lastOffset").GetInt64();
    }
}
