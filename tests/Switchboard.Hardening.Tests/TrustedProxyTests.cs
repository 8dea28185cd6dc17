using System.Net;
using System.Text.Json;
using Microsoft.Extensions.Configuration;
using Switchboard.Server;

namespace Switchboard.Hardening.Tests;

/// <summary>
/// Switchboard:TrustedProxies: behind a load balancer the hub sees the client named by X-Forwarded-For — only when the
/// connection comes from a balancer it was told to trust; anyone else's header is ignored.
/// </summary>
public sealed class TrustedProxyTests
{
    private static ServerOptions Read(params (string Key, string Value)[] values)
        => ServerConfiguration.Read(new ConfigurationBuilder().AddInMemoryCollection(values.Select(v => new KeyValuePair<string, string?>(v.Key, v.Value))).Build());

    [Fact]
    public void Addresses_and_networks_are_read_and_a_bad_entry_names_the_key_and_the_forms()
    {
        var proxies = Read(("Switchboard:TrustedProxies", "10.0.0.5, 192.168.0.0/16 ::1")).TrustedProxies;
        Assert.Equal(["10.0.0.5/32", "192.168.0.0/16", "::1/128"], proxies.Select(p => p.ToString()));
        Assert.Equal(["10.1.0.0/16"], Read(("Switchboard:TrustedProxies:0", "10.1.0.0/16")).TrustedProxies.Select(p => p.ToString()));
        Assert.Empty(Read().TrustedProxies);

        var refused = Assert.Throws<InvalidOperationException>(() => Read(("Switchboard:TrustedProxies", "lb.example.com")));
        Assert.Contains("Switchboard:TrustedProxies has 'lb.example.com'", refused.Message, StringComparison.Ordinal);
        Assert.Contains("10.0.0.0/8", refused.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("127.0.0.1", "203.0.113.7")] // the test client is the trusted balancer: the forwarded client is seen
    [InlineData("10.9.9.9", "127.0.0.1")] // another balancer is trusted: the header from 127.0.0.1 is ignored
    [InlineData(null, "127.0.0.1")] // nothing trusted (the default): ignored
    public async Task A_connection_is_seen_from_the_forwarded_address_only_through_a_trusted_proxy(string? trusted, string seen)
    {
        var settings = new Dictionary<string, string?>();
        if (trusted is not null)
        {
            settings["Switchboard:TrustedProxies"] = trusted;
        }
        await using var hub = await TestHub.StartAsync(settings: settings);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        using var events = new HttpRequestMessage(HttpMethod.Get, "/v1/topics/proxied/events");
        events.Headers.Add("X-Forwarded-For", "203.0.113.7");
        using var stream = await hub.Http.SendAsync(events, HttpCompletionOption.ResponseHeadersRead, timeout.Token);
        Assert.Equal(HttpStatusCode.OK, stream.StatusCode);

        using var listed = JsonDocument.Parse(await hub.Http.GetStringAsync("/v1/connections", timeout.Token));
        var connection = Assert.Single(listed.RootElement.GetProperty("connections").EnumerateArray().ToList());
        Assert.Equal(seen, connection.GetProperty("remoteAddress").GetString());
    }
}
