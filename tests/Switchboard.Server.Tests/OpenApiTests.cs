using System.Net;
using System.Text.Json;
using System.Text.RegularExpressions;
using Switchboard.Server.Tests.Support;

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
