using System.Net;
using System.Net.Http.Headers;
using Switchboard.Security.Tests.Support;

namespace Switchboard.Security.Tests;

/// <summary>
/// Switchboard:RateLimits:PublishPerSecondPerClient (2 here, one second of burst) on the ways a client publishes that
/// the other suites do not cover: switching protocol must not be a way around it.
/// </summary>
public sealed class RateLimitTests
{
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task Plain_WebSocket_frames_count_against_the_publish_rate_and_the_socket_is_closed_with_4429()
    {
        var settings = Principals.Settings();
        settings["Switchboard:RateLimits:PublishPerSecondPerClient"] = "2";
        await using var hub = await TestHub.StartAsync(settings: settings);
        using var timeout = new CancellationTokenSource(Limit);
        var ct = timeout.Token;
        using (var admin = new HttpClient { BaseAddress = hub.Address })
        {
            admin.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", Principals.Admin.Credential);
            using var created = await admin.PutAsync("/v1/topics/orders.x", new StringContent("{}", System.Text.Encoding.UTF8, "application/json"), ct);
            Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        }

        await using var link = await WebSocketLink.ConnectAsync(hub.WebSocketAddress("/v1/topics/orders.x/ws"), null, Principals.Admin.Credential, ct);
        const int Frames = 20;
        for (var i = 0; i < Frames; i++)
        {
            await link.SendTextAsync($$"""{"n": {{i}}}""", ct);
        }
        // The socket follows its topic, so every frame that was published comes back. Two fit the budget; the socket must
        // be cut (4429, naming the setting) long before the last frame is.
        var last = $$"""{"n": {{Frames - 1}}}""";
        while (true)
        {
            var answer = await link.NextAsync(ct);
            if (answer.Kind == "closed")
            {
                Assert.Equal("4429", answer.Code);
                Assert.Contains("PublishPerSecondPerClient", answer.Text, StringComparison.Ordinal);
                break;
            }
            Assert.False(answer.Text == last, $"all {Frames} frames were published within a second: plain mode is not rate limited");
        }
    }
}
