using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Server.Kestrel.Transport.Sockets;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Switchboard.RealTime.Tests;

/// <summary>
/// <c>Switchboard:Connections:InlineScheduling</c> (Kestrel's inline scheduling, off by default) changes which thread
/// runs a connection's reads and writes, never what arrives: with it on and off, a WebSocket's publishes and the
/// messages it and another connection receive keep their order, none lost; a value that is not a boolean stops the
/// start with the key and what to write instead.
/// </summary>
public sealed class InlineSchedulingTests
{
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(30);
    private const int Count = 300;

    [Theory]
    [InlineData("true")]
    [InlineData("false")]
    public async Task Both_schedulings_deliver_every_message_in_order(string inline)
    {
        await using var hub = await TestHub.StartAsync(sqlite: true, settings: new Dictionary<string, string?> { ["Switchboard:Connections:InlineScheduling"] = inline });
        Assert.Equal(bool.Parse(inline), hub.Services.GetRequiredService<IOptions<SocketTransportOptions>>().Value.UnsafePreferInlineScheduling); // what Kestrel was given
        using var timeout = new CancellationTokenSource(Limit);
        using var publisher = await ConnectAsync(hub, timeout.Token);
        using var subscriber = await ConnectAsync(hub, timeout.Token);
        await SendAsync(subscriber, """{"id":"sub","subscribe":{"topics":["inline.t"]}}""", timeout.Token);
        Assert.True((await NextAsync(subscriber, timeout.Token)).TryGetProperty("subscribed", out _));

        // Pipelined publishes, half over the WebSocket and half over REST, while the subscriber reads.
        var rest = Task.Run(async () =>
        {
            for (var i = 1; i <= Count; i += 2)
            {
                using var response = await hub.Http.PostAsync("/v1/topics/inline.r/messages", new StringContent($$$"""{"payload":{"n":{{{i}}}}}""", Encoding.UTF8, "application/json"), timeout.Token);
                Assert.Equal(201, (int)response.StatusCode);
            }
        });
        for (var i = 0; i < Count; i += 2)
        {
            await SendAsync(publisher, $$$$"""{"id":"p{{{{i}}}}","publish":{"topic":"inline.t","payload":{"n":{{{{i}}}}}}}""", timeout.Token);
        }
        var answers = new List<string>();
        for (var i = 0; i < Count / 2; i++)
        {
            answers.Add((await NextAsync(publisher, timeout.Token)).GetProperty("id").GetString()!);
        }
        Assert.Equal(Enumerable.Range(0, Count / 2).Select(i => $"p{i * 2}"), answers);
        var received = new List<int>();
        while (received.Count < Count / 2)
        {
            var frame = await NextAsync(subscriber, timeout.Token);
            received.Add(frame.GetProperty("message").GetProperty("payload").GetProperty("n").GetInt32());
        }
        Assert.Equal(Enumerable.Range(0, Count / 2).Select(i => i * 2), received);
        await rest;

        // The REST half reads back whole and in order too.
        var history = JsonDocument.Parse(await hub.Http.GetStringAsync("/v1/topics/inline.r/messages?after=0&limit=1000", timeout.Token)).RootElement;
        Assert.Equal(Enumerable.Range(0, Count / 2).Select(i => i * 2 + 1),
            history.GetProperty("messages").EnumerateArray().Select(m => m.GetProperty("payload").GetProperty("n").GetInt32()));
    }

    [Fact]
    public async Task A_value_that_is_not_a_boolean_stops_the_start_and_names_the_key()
    {
        var refused = await Assert.ThrowsAsync<InvalidOperationException>(() =>
            TestHub.StartAsync(settings: new Dictionary<string, string?> { ["Switchboard:Connections:InlineScheduling"] = "maybe" }));
        Assert.Equal("Switchboard:Connections:InlineScheduling is 'maybe'; use true or false.", refused.Message);
    }

    private static async Task<ClientWebSocket> ConnectAsync(TestHub hub, CancellationToken cancellationToken)
    {
        var socket = new ClientWebSocket();
        socket.Options.AddSubProtocol("switchboard.v1.json");
        await socket.ConnectAsync(hub.WebSocketAddress("/v1/ws"), cancellationToken);
        return socket;
    }

    private static Task SendAsync(ClientWebSocket socket, string json, CancellationToken cancellationToken)
        => socket.SendAsync(Encoding.UTF8.GetBytes(json), WebSocketMessageType.Text, true, cancellationToken);

    private static async Task<JsonElement> NextAsync(ClientWebSocket socket, CancellationToken cancellationToken)
        => JsonDocument.Parse(await WebSockets.ReceiveAsync(socket, cancellationToken)).RootElement.Clone();
}
