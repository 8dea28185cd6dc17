using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Switchboard.Core;
using Switchboard.Core.Engines;
using Switchboard.Core.Engines.Memory;

namespace Switchboard.RealTime.Tests;

/// <summary>
/// A subscription whose history cannot be read (a fault the hub does not retry, unlike a store that is away for a
/// moment) ends its subscriber's stream with an error that says to subscribe again, on every streaming transport, instead
/// of leaving it open and silent for good.
/// </summary>
public sealed class SubscriptionFailureTests
{
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(30);

    /// <summary>The memory engine, except that reading the history of a "broken." topic throws.</summary>
    private sealed class BrokenHistory(IStore inner) : IStore
    {
        public void SetListener(IStoreListener listener) => inner.SetListener(listener);
        public Task OpenAsync(CancellationToken cancellationToken) => inner.OpenAsync(cancellationToken);
        public Task<AppendResult> AppendAsync(AppendRequest request, CancellationToken cancellationToken) => inner.AppendAsync(request, cancellationToken);
        public Task<TopicInfo?> GetTopicAsync(string topic, CancellationToken cancellationToken) => inner.GetTopicAsync(topic, cancellationToken);
        public Task<TopicPage> ListTopicsAsync(string? prefix, string? afterName, int limit, CancellationToken cancellationToken) => inner.ListTopicsAsync(prefix, afterName, limit, cancellationToken);
        public Task<PutTopicResult> PutTopicAsync(string topic, TopicConfig config, long? expectedConfigVersion, CancellationToken cancellationToken) => inner.PutTopicAsync(topic, config, expectedConfigVersion, cancellationToken);
        public Task<TopicInfo?> DeleteTopicAsync(string topic, long? expectedConfigVersion, CancellationToken cancellationToken) => inner.DeleteTopicAsync(topic, expectedConfigVersion, cancellationToken);
        public IQueueStore Queues => inner.Queues;
        public Task<long> SweepAsync(DateTimeOffset now, CancellationToken cancellationToken) => inner.SweepAsync(now, cancellationToken);
        public ValueTask DisposeAsync() => inner.DisposeAsync();

        public Task<ReadResult> ReadAsync(string topic, long afterOffset, int limit, CancellationToken cancellationToken)
            => topic.StartsWith("broken.", StringComparison.Ordinal)
                ? throw new InvalidOperationException("this history cannot be decoded")
                : inner.ReadAsync(topic, afterOffset, limit, cancellationToken);
    }

    private static Task<TestHub> StartAsync() => TestHub.StartAsync(services: s => s.AddSingleton<IStore>(new BrokenHistory(new MemoryStore())));

    private static async Task<string> PublishAsync(TestHub hub, string topic)
    {
        using var response = await hub.Http.PostAsync($"/v1/topics/{topic}/messages", new StringContent("""{"payload":{"n":1}}""", Encoding.UTF8, "application/json"));
        Assert.Equal(System.Net.HttpStatusCode.Created, response.StatusCode);
        return JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("epoch").GetString()!;
    }

    [Theory]
    [InlineData("/v1/topics/broken.sse/events")]
    [InlineData("/v1/events?topic=broken.*")]
    public async Task An_event_stream_ends_with_an_error_event(string path)
    {
        await using var hub = await StartAsync();
        var epoch = await PublishAsync(hub, "broken.sse");
        using var request = new HttpRequestMessage(HttpMethod.Get, path.Contains('?') ? path + "&lastEventId=p1." : path);
        if (!path.Contains('?'))
        {
            request.Headers.TryAddWithoutValidation("Last-Event-ID", $"{epoch}:0");
        }
        using var response = await hub.Http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal(System.Net.HttpStatusCode.OK, response.StatusCode);
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync());
        var events = new List<SseEvent>();
        await foreach (var e in SseParser.ReadAsync(reader, new CancellationTokenSource(Limit).Token))
        {
            events.Add(e); // to the end of the stream: the hub ends it
        }
        var last = events[^1];
        Assert.Equal("error", last.Event);
        using var error = JsonDocument.Parse(last.Data);
        Assert.Equal("storage-unavailable", error.RootElement.GetProperty("code").GetString());
        Assert.Contains("subscribe again", error.RootElement.GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.DoesNotContain(events, e => e.Event is null or "message" && e.Data.Contains("\"n\"", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_multiplexed_WebSocket_is_closed_with_1011_and_a_reason()
    {
        await using var hub = await StartAsync();
        var epoch = await PublishAsync(hub, "broken.ws");
        using var socket = new ClientWebSocket();
        socket.Options.AddSubProtocol("switchboard.v1.json");
        await socket.ConnectAsync(hub.WebSocketAddress("/v1/ws"), CancellationToken.None);
        await socket.SendAsync(Encoding.UTF8.GetBytes($$$"""{"id":"s","subscribe":{"topics":["broken.ws"],"after":"{{{epoch}}}:0"}}"""), WebSocketMessageType.Text, true, CancellationToken.None);
        using var timeout = new CancellationTokenSource(Limit);
        var closed = await Assert.ThrowsAsync<WebSocketClosedException>(async () =>
        {
            while (true)
            {
                var frame = Encoding.UTF8.GetString(await WebSockets.ReceiveAsync(socket, timeout.Token));
                Assert.DoesNotContain("\"message\"", frame, StringComparison.Ordinal);
            }
        });
        Assert.Equal(WebSocketCloseStatus.InternalServerError, closed.Status); // 1011: reconnect and resume by position
        Assert.Contains("subscribe again", closed.Description, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_multi_topic_poll_answers_503_instead_of_an_empty_page()
    {
        await using var hub = await StartAsync();
        await PublishAsync(hub, "broken.poll");
        using var response = await hub.Http.GetAsync("/v1/messages?topic=broken.*&after=0&wait=20");
        Assert.Equal(System.Net.HttpStatusCode.ServiceUnavailable, response.StatusCode);
        Assert.Contains("subscribe again", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }
}
