using System.Net;
using Switchboard.Security.Tests.Support;

namespace Switchboard.Security.Tests;

/// <summary>
/// A credential in a URL (<c>?access_token=</c>: EventSource and browser WebSockets cannot send headers) never reaches
/// the logs, even with ASP.NET Core's request log turned on, which writes every request's whole URL.
/// </summary>
public sealed class CredentialLoggingTests
{
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task With_the_request_log_on_no_log_line_holds_an_access_token_from_a_URL()
    {
        var settings = Principals.Settings();
        settings["Logging:LogLevel:Microsoft.AspNetCore.Hosting.Diagnostics"] = "Information";
        settings["Logging:LogLevel:Switchboard"] = "Debug";
        var hub = await TestHub.StartAsync(settings: settings);
        var log = LogCapture.Attach(hub.Services);
        using var timeout = new CancellationTokenSource(Limit);
        var ct = timeout.Token;
        var key = Principals.Subscriber.Credential!;
        var token = Principals.JwtUser.Credential!;
        await using (hub)
        {
            // An event stream and a WebSocket as a browser opens them, one refused where the query is not accepted, and
            // an unversioned path (its redirect), the underscore escaped and the name in capitals.
            var (stream, refused) = await SseStream.OpenAsync(hub.Http, $"/v1/topics/orders.x/events?after=0&access_token={Uri.EscapeDataString(key)}", ct);
            Assert.True(stream is not null, $"refused: {refused}");
            await stream.DisposeAsync();
            await using (var socket = await WebSocketLink.ConnectAsync(hub.WebSocketAddress("/v1/ws?access_token=" + Uri.EscapeDataString(token)), JsonWire.Instance, null, ct))
            {
                await socket.SendAsync("p", new PingCommand(), ct);
                Assert.Equal("pong", (await BrowserAuthTests.AnswerAsync(socket, "p", ct)).Kind);
            }
            using (var listed = await hub.Http.GetAsync("/v1/topics?access_token=" + Uri.EscapeDataString(key), ct))
            {
                Assert.Equal(HttpStatusCode.Unauthorized, listed.StatusCode);
            }
            using (var unfollowed = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false }) { BaseAddress = hub.Address })
            using (var moved = await unfollowed.GetAsync("/topics/orders.x/events?ACCESS%5FTOKEN=" + Uri.EscapeDataString(key), ct))
            {
                Assert.Equal(HttpStatusCode.MovedPermanently, moved.StatusCode);
            }
        }

        // Stopped: every request has ended, and its end is logged too.
        var lines = log.Lines.ToList();
        Assert.Contains(lines, line => line.Contains("/v1/topics/orders.x/events?after=0&access_token=[redacted]", StringComparison.Ordinal));
        Assert.Contains(lines, line => line.Contains("/v1/ws?access_token=[redacted]", StringComparison.Ordinal));
        Assert.Contains(lines, line => line.Contains("/topics/orders.x/events?ACCESS", StringComparison.Ordinal) && line.Contains("TOKEN=[redacted]", StringComparison.Ordinal));
        foreach (var secret in (string[])[key, Uri.EscapeDataString(key), token])
        {
            Assert.DoesNotContain(lines, line => line.Contains(secret, StringComparison.Ordinal));
        }
    }
}
