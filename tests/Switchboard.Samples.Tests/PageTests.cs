using System.Net;
using System.Text.RegularExpressions;
using Switchboard.EndToEnd.Tests;

namespace Switchboard.Samples.Tests;

/// <summary>
/// The browser pages of samples/chat and samples/dashboard, as far as a test without a browser can take them: the page
/// server serves them, their scripts parse as modules, and a hub that lists the pages' origin in
/// Switchboard:AllowedOrigins lets them load /client.js and open the event stream (and refuses another origin).
/// </summary>
public sealed partial class PageTests
{
    [Fact]
    public async Task The_pages_are_served_and_the_hub_allows_their_origin_only()
    {
        await using var pages = Sample.Start("node", ["samples/serve-pages.mjs", "--port", "0"], new Dictionary<string, string?>());
        var origin = Origin().Match(await pages.LineAsync("serving the sample pages on ")).Value;
        await using var hub = await HubProcess.StartAsync(new Dictionary<string, string> { ["Switchboard__AllowedOrigins"] = origin }, "--memory");
        using var http = new HttpClient { Timeout = Sample.Patience };

        var chat = await http.GetStringAsync($"{origin}/chat/");
        Assert.Contains("await import(new URL('/client.js', hub).href)", chat, StringComparison.Ordinal);
        var dashboard = await http.GetStringAsync($"{origin}/dashboard/");
        Assert.Contains("new EventSource(new URL('/v1/events?topic=metrics.*', hub))", dashboard, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.NotFound, (await http.GetAsync($"{origin}/../package.json")).StatusCode);

        // What the browser checks: CORS on the module and the event stream for the page's origin, and a refusal for any other.
        Assert.Equal(origin, await AllowedOriginAsync(http, hub.Address, "/client.js", origin));
        Assert.Null(await AllowedOriginAsync(http, hub.Address, "/client.js", "http://127.0.0.1:1"));
        using (var stream = await OpenStreamAsync(http, hub.Address, origin))
        {
            Assert.Equal(HttpStatusCode.OK, stream.StatusCode);
            Assert.Equal(origin, stream.Headers.GetValues("Access-Control-Allow-Origin").Single());
        }
        using (var refused = await OpenStreamAsync(http, hub.Address, "http://127.0.0.1:1"))
        {
            Assert.Equal(HttpStatusCode.Forbidden, refused.StatusCode);
        }
    }

    [Theory]
    [InlineData("chat")]
    [InlineData("dashboard")]
    public async Task The_page_script_parses_as_a_module(string page)
    {
        var html = await File.ReadAllTextAsync(Path.Combine(Sample.Root, "samples", page, "index.html"));
        var script = Assert.Single(ModuleScript().Matches(html)).Groups["code"].Value;
        var file = Path.Combine(Path.GetTempPath(), $"switchboard-sample-{page}-{Guid.NewGuid():N}.mjs");
        await File.WriteAllTextAsync(file, script);
        try
        {
            await using var check = Sample.Start("node", ["--check", file], new Dictionary<string, string?>());
            await check.ExitsWithAsync(0);
        }
        finally
        {
            File.Delete(file);
        }
    }

    private static async Task<string?> AllowedOriginAsync(HttpClient http, Uri hub, string path, string origin)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(hub, path));
        request.Headers.Add("Origin", origin);
        using var response = await http.SendAsync(request);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return response.Headers.TryGetValues("Access-Control-Allow-Origin", out var values) ? values.Single() : null;
    }

    private static async Task<HttpResponseMessage> OpenStreamAsync(HttpClient http, Uri hub, string origin)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(hub, "/v1/events?topic=metrics.*"));
        request.Headers.Add("Origin", origin);
        request.Headers.Add("Accept", "text/event-stream");
        return await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
    }

    [GeneratedRegex(@"http://127\.0\.0\.1:\d+")]
    private static partial Regex Origin();

    [GeneratedRegex(@"<script type=""module"">(?<code>.*?)</script>", RegexOptions.Singleline)]
    private static partial Regex ModuleScript();
}
