using System.Net;
using System.Net.Http.Headers;
using System.Text;
using Switchboard.Server.Tests.Support;

namespace Switchboard.Server.Tests;

/// <summary>GET /metrics: the Switchboard meter in Prometheus text format, admin-only once the hub has credentials.</summary>
/// <remarks>Alone, beside no other test: a scrape reads every "Switchboard" meter in the process, other hubs' too.</remarks>
[Collection(nameof(MetricsMovementTests))]
public sealed class MetricsEndpointTests
{
    private const string Admin = "sb_metrics_admin_key_0123456789abcdef";
    private const string Reader = "sb_metrics_reader_key_0123456789abcdef";

    [Fact]
    public async Task Publishes_show_up_in_prometheus_text_by_protocol()
    {
        await using var hub = await TestHub.StartAsync("memory");
        for (var i = 0; i < 3; i++)
        {
            using var published = await hub.Http.PostAsync("/v1/topics/metrics.t/messages", new StringContent("""{"payload":1}""", Encoding.UTF8, "application/json"));
            Assert.Equal(HttpStatusCode.Created, published.StatusCode);
        }
        // The exporter collects on request; the counter is cumulative, so one scrape after the publishes sees them.
        using var response = await hub.Http.GetAsync("/metrics");
        var text = await response.Content.ReadAsStringAsync();
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.StartsWith("text/plain", response.Content.Headers.ContentType?.MediaType ?? "", StringComparison.Ordinal);
        var line = text.Split('\n').FirstOrDefault(l => l.StartsWith("switchboard_messages_published", StringComparison.Ordinal) && l.Contains("protocol=\"rest\"", StringComparison.Ordinal));
        Assert.True(line is not null, "no switchboard_messages_published{protocol=\"rest\"} series in:\n" + text);
        Assert.Equal(3, double.Parse(line!.Split(' ')[1], System.Globalization.CultureInfo.InvariantCulture));
        Assert.DoesNotContain("metrics.t", text, StringComparison.Ordinal); // no topic names: bounded label cardinality
    }

    [Fact]
    public async Task Turned_off_metrics_answer_501_saying_how_to_turn_them_on()
    {
        await using var hub = await TestHub.StartAsync("memory", new Dictionary<string, string?> { ["Switchboard:Telemetry:Metrics"] = "false" });
        using (var published = await hub.Http.PostAsync("/v1/topics/metrics.off/messages", new StringContent("""{"payload":1}""", Encoding.UTF8, "application/json")))
        {
            Assert.Equal(HttpStatusCode.Created, published.StatusCode); // the hub works; only its figures are off
        }
        foreach (var path in new[] { "/metrics", "/v1/sys/stats" })
        {
            using var response = await hub.Http.GetAsync(path);
            Assert.Equal(HttpStatusCode.NotImplemented, response.StatusCode);
            Assert.Contains("Switchboard:Telemetry:Metrics", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task With_credentials_only_the_admin_scope_may_scrape()
    {
        await using var hub = await TestHub.StartAsync("memory", new Dictionary<string, string?>
        {
            ["Switchboard:Auth:ApiKeys:0:Name"] = "prometheus",
            ["Switchboard:Auth:ApiKeys:0:Key"] = Admin,
            ["Switchboard:Auth:ApiKeys:0:Scopes"] = "admin",
            ["Switchboard:Auth:ApiKeys:1:Name"] = "reader",
            ["Switchboard:Auth:ApiKeys:1:Key"] = Reader,
            ["Switchboard:Auth:ApiKeys:1:Scopes"] = "subscribe:>",
        });
        using (var anonymous = await hub.Http.GetAsync("/metrics"))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, anonymous.StatusCode);
        }
        foreach (var (key, status) in new[] { (Reader, HttpStatusCode.Forbidden), (Admin, HttpStatusCode.OK) })
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, "/metrics");
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
            using var response = await hub.Http.SendAsync(request);
            Assert.Equal(status, response.StatusCode);
        }
    }
}
