using System.Text.Json;

namespace Switchboard.Server.Tests.Support;

/// <summary>Assertions on RFC 9457 problem answers: every error is one, with the same members.</summary>
internal static class Problem
{
    /// <summary>
    /// Asserts the response is <c>application/problem+json</c> with <paramref name="status"/> and <paramref name="code"/>,
    /// every member RFC 9457 and Switchboard promise (type, title, status, detail, code, instance, traceId), and a
    /// detail that names the problem (contains each of <paramref name="detailWords"/>, ignoring case). Returns the body.
    /// </summary>
    public static async Task<JsonElement> AssertAsync(HttpResponseMessage response, int status, string code, params string[] detailWords)
    {
        var text = await response.Content.ReadAsStringAsync();
        Assert.True((int)response.StatusCode == status, $"expected {status} {code}, got {(int)response.StatusCode}: {text}");
        Assert.Equal("application/problem+json", response.MediaType()?.MediaType);

        var body = Http.Parse(text);
        Assert.Equal(JsonValueKind.Object, body.ValueKind);
        Assert.Equal(code, body.GetProperty("code").GetString());
        Assert.Equal(status, body.GetProperty("status").GetInt32());
        Assert.Equal("/v1/errors/" + code, body.GetProperty("type").GetString());
        Assert.False(string.IsNullOrWhiteSpace(body.GetProperty("title").GetString()), "title is empty");
        Assert.False(string.IsNullOrWhiteSpace(body.GetProperty("traceId").GetString()), "traceId is empty");

        var requestPath = response.RequestMessage?.RequestUri?.AbsolutePath;
        Assert.NotNull(requestPath);
        Assert.Equal(Uri.UnescapeDataString(requestPath), body.GetProperty("instance").GetString());

        var detail = body.GetProperty("detail").GetString();
        Assert.False(string.IsNullOrWhiteSpace(detail), "detail is empty");
        foreach (var word in detailWords)
        {
            Assert.True(detail!.Contains(word, StringComparison.OrdinalIgnoreCase), $"detail does not mention '{word}': {detail}");
        }
        return body;
    }
}
