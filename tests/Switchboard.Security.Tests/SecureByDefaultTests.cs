using System.Net;
using System.Net.Http.Headers;
using Switchboard.Security.Tests.Support;
using Switchboard.Server;

namespace Switchboard.Security.Tests;

/// <summary>
/// Without credentials the hub listens on loopback only: asked for any other address it refuses to start, naming
/// --insecure, unless that was given. Hubs bound to the any-address are spoken to on 127.0.0.1 only.
/// </summary>
public sealed class SecureByDefaultTests
{
    private static Dictionary<string, string?> Memory(params (string Key, string Value)[] more)
    {
        var settings = new Dictionary<string, string?> { ["Switchboard:Engine"] = "memory", ["Logging:LogLevel:Default"] = "Warning" };
        foreach (var (key, value) in more)
        {
            settings[key] = value;
        }
        return settings;
    }

    [Theory]
    [InlineData("http://0.0.0.0:0")]
    [InlineData("http://[::]:0")]
    [InlineData("http://*:0")]
    [InlineData("http://+:0")]
    [InlineData("http://192.0.2.10:7070")]
    [InlineData("http://127.0.0.1:0;http://0.0.0.0:0")]
    public void Without_credentials_the_hub_refuses_to_listen_beyond_loopback_and_says_insecure_would_allow_it(string urls)
    {
        var error = Assert.Throws<InvalidOperationException>(() => SwitchboardHost.Build(new SwitchboardHostSettings { Urls = urls, Overrides = Memory() }));
        Assert.Contains("--insecure", error.Message, StringComparison.Ordinal);
        Assert.Contains("without authentication", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("http://127.0.0.1:0")]
    [InlineData("http://localhost:17070")] // Kestrel allows no port 0 on localhost; Build does not bind
    [InlineData("http://[::1]:0")]
    public async Task Without_credentials_the_hub_may_listen_on_loopback(string urls)
    {
        await using var app = SwitchboardHost.Build(new SwitchboardHostSettings { Urls = urls, Overrides = Memory() });
        Assert.NotNull(app);
    }

    [Fact]
    public async Task With_insecure_it_starts_on_the_any_address_and_stays_open()
    {
        await using var hub = await TestHub.StartAsync(settings: Memory(("Switchboard:Insecure", "true")), urls: "http://0.0.0.0:0");
        using var http = Loopback(hub);

        using var topics = await http.GetAsync("/v1/topics");
        Assert.Equal(HttpStatusCode.OK, topics.StatusCode);
    }

    [Fact]
    public async Task With_an_API_key_it_starts_on_the_any_address_and_requires_it()
    {
        await using var hub = await TestHub.StartAsync(settings: Principals.Settings(), urls: "http://0.0.0.0:0");
        using var http = Loopback(hub);

        using var anonymous = await http.GetAsync("/v1/topics");
        Assert.Equal(Verdict.Unauthenticated, HttpVerdicts.Refusal(anonymous, await anonymous.Content.ReadAsStringAsync()).Verdict);
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", Principals.Admin.Credential);
        using var admin = await http.GetAsync("/v1/topics");
        Assert.Equal(HttpStatusCode.OK, admin.StatusCode);
    }

    [Fact]
    public async Task Without_credentials_every_caller_has_every_right_whatever_credential_it_presents()
    {
        // No credentials configured: nothing authenticates (no middleware, no per-route check), so a presented credential,
        // good or garbage, changes nothing — every route answers as for an anonymous caller, admin actions included.
        await using var hub = await TestHub.StartAsync(settings: Memory());
        using var http = Loopback(hub);
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", "not-a-key-this-hub-knows");
        http.DefaultRequestHeaders.Add("X-Api-Key", "nor-this-one");

        using var created = await http.PutAsync("/v1/topics/open.t", null);
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        using var published = await http.PostAsync("/v1/topics/open.t/messages", new StringContent("{\"payload\":{\"n\":1}}", System.Text.Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.Created, published.StatusCode);
        using var read = await http.GetAsync("/v1/topics/open.t/messages?after=0&wait=1");
        Assert.Equal(HttpStatusCode.OK, read.StatusCode);
        Assert.Contains("\"n\":1", await read.Content.ReadAsStringAsync());
        using var queue = await http.PutAsync("/v1/queues/open-q", null);
        Assert.Equal(HttpStatusCode.Created, queue.StatusCode);
        using var deleted = await http.DeleteAsync("/v1/topics/open.t"); // an admin action
        Assert.Equal(HttpStatusCode.NoContent, deleted.StatusCode);
    }

    /// <summary>A client for the hub's port on 127.0.0.1 (it listens on every address; tests speak to loopback only).</summary>
    private static HttpClient Loopback(TestHub hub)
    {
        return new HttpClient { BaseAddress = new UriBuilder(hub.Address) { Host = "127.0.0.1" }.Uri, Timeout = TimeSpan.FromSeconds(30) };
    }
}
