using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;

namespace Switchboard.RealTime.Tests;

/// <summary>
/// What one multiplexed connection may subscribe to is bounded by topics and patterns, not by subscriptions: every
/// publish is matched against each wildcard pattern held, so 1,024 subscriptions of 256 patterns each let one connection
/// make every publish of the hub try 262,144 patterns.
/// </summary>
public sealed class SubscriptionLimitTests
{
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task A_connection_holds_at_most_1024_topics_and_patterns_and_is_told_limit_reached_past_them()
    {
        await using var hub = await TestHub.StartAsync();
        using var stop = new CancellationTokenSource(Limit);
        using var socket = new ClientWebSocket();
        socket.Options.AddSubProtocol("switchboard.v1.json");
        await socket.ConnectAsync(hub.WebSocketAddress("/v1/ws"), stop.Token);

        // Four subscriptions of 256 wildcard patterns each: 1,024, the limit.
        for (var s = 0; s < 4; s++)
        {
            await SubscribeAsync(socket, $"s{s}", Patterns(s, 256), stop.Token);
            var answer = await AnswerAsync(socket, $"s{s}", stop.Token);
            Assert.True(answer.TryGetProperty("subscribed", out _), answer.ToString());
        }

        await SubscribeAsync(socket, "over", Patterns(4, 1), stop.Token);
        var error = (await AnswerAsync(socket, "over", stop.Token)).GetProperty("error");
        Assert.Equal("limit-reached", error.GetProperty("code").GetString());
        Assert.Contains("1024", error.GetProperty("message").GetString(), StringComparison.Ordinal);

        // Unsubscribing gives the room back, and the connection goes on.
        await socket.SendAsync(Encoding.UTF8.GetBytes("""{"id":"u","unsubscribe":{"subscriptionId":"s0"}}"""), WebSocketMessageType.Text, true, stop.Token);
        await AnswerAsync(socket, "u", stop.Token);
        await SubscribeAsync(socket, "again", Patterns(4, 256), stop.Token);
        Assert.True((await AnswerAsync(socket, "again", stop.Token)).TryGetProperty("subscribed", out _));
    }

    [Theory]
    [InlineData("/v1/events")]
    [InlineData("/v1/messages")]
    public async Task A_stream_or_poll_of_many_topics_is_refused_before_it_holds_anything(string path)
    {
        await using var hub = await TestHub.StartAsync();
        // 256 topics or patterns are one subscription's most: one more is refused with what to fix.
        using (var over = await hub.Http.GetAsync(path + "?" + string.Join('&', Enumerable.Range(0, 257).Select(i => $"topic=m{i}.*")), HttpCompletionOption.ResponseHeadersRead))
        {
            Assert.Equal(System.Net.HttpStatusCode.UnprocessableEntity, over.StatusCode);
            Assert.Contains("1 to 256", await over.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }
        // ?topic= 100,000 times never reaches the hub: the request line is bounded (Switchboard:Limits:MaxRequestLineSize).
        var flood = await StatusOfRawRequestAsync(hub.Address, path + "?" + string.Join('&', Enumerable.Range(0, 100_000).Select(i => $"topic=m{i}")));
        Assert.Equal(414, flood);
        Assert.Equal(0, hub.Services.GetRequiredService<Switchboard.Core.Hub>().SubscriptionCount);
    }

    /// <summary>
    /// Sends a GET on a bare socket and answers the status the hub wrote. The hub answers an over-long request line as
    /// soon as it has read past the limit and closes, so the rest of a 1 MB line may meet a closed socket (HttpClient then
    /// throws "Broken pipe" without reading the answer): the write's failure is expected, the answer is still there to read.
    /// </summary>
    private static async Task<int> StatusOfRawRequestAsync(Uri hub, string pathAndQuery)
    {
        using var timeout = new CancellationTokenSource(Limit);
        using var socket = new System.Net.Sockets.Socket(System.Net.Sockets.AddressFamily.InterNetwork, System.Net.Sockets.SocketType.Stream, System.Net.Sockets.ProtocolType.Tcp);
        await socket.ConnectAsync(hub.Host, hub.Port, timeout.Token);
        try
        {
            await socket.SendAsync(Encoding.ASCII.GetBytes($"GET {pathAndQuery} HTTP/1.1\r\nHost: {hub.Authority}\r\n\r\n"), timeout.Token);
        }
        catch (System.Net.Sockets.SocketException)
        {
            // Closed by the hub mid-write: its answer was sent before it closed.
        }
        var answer = new MemoryStream();
        var buffer = new byte[4096];
        try
        {
            int read;
            while ((read = await socket.ReceiveAsync(buffer, timeout.Token)) > 0 && answer.Length < 64 * 1024)
            {
                answer.Write(buffer, 0, read);
            }
        }
        catch (System.Net.Sockets.SocketException) when (answer.Length > 0)
        {
            // Reset after the answer arrived.
        }
        var statusLine = Encoding.ASCII.GetString(answer.ToArray()).Split("\r\n")[0];
        Assert.StartsWith("HTTP/1.1 ", statusLine, StringComparison.Ordinal);
        return int.Parse(statusLine.AsSpan(9, 3), System.Globalization.CultureInfo.InvariantCulture);
    }

    private static string[] Patterns(int subscription, int count) => [.. Enumerable.Range(0, count).Select(i => $"limit{subscription}.p{i}.*")];

    private static Task SubscribeAsync(ClientWebSocket socket, string id, string[] topics, CancellationToken cancellationToken)
        => socket.SendAsync(Encoding.UTF8.GetBytes(JsonSerializer.Serialize(new { id, subscribe = new { topics } })), WebSocketMessageType.Text, true, cancellationToken);

    private static async Task<JsonElement> AnswerAsync(ClientWebSocket socket, string id, CancellationToken cancellationToken)
    {
        while (true)
        {
            var frame = JsonDocument.Parse(await WebSockets.ReceiveAsync(socket, cancellationToken)).RootElement.Clone();
            if (frame.TryGetProperty("id", out var answered) && answered.GetString() == id)
            {
                return frame;
            }
        }
    }
}
