using System.Net;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Switchboard.Core;
using Switchboard.Core.Engines;
using Switchboard.Core.Engines.Memory;

namespace Switchboard.RealTime.Tests;

/// <summary>
/// Answers to committing frames come in frame order (ARCHITECTURE.md, Sessions), including a request's: the refusal or
/// failure of its send, and its reply, come after the answers of the frames before it.
/// </summary>
public sealed class AnswerOrderTests
{
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(30);

    /// <summary>A store whose appends to <c>held.*</c> wait until the test lets them go: a publish still committing.</summary>
    private sealed class HeldAppends(IStore inner) : IStore
    {
        public TaskCompletionSource Release { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
        public void SetListener(IStoreListener listener) => inner.SetListener(listener);
        public Task OpenAsync(CancellationToken cancellationToken) => inner.OpenAsync(cancellationToken);
        public Task<TopicInfo?> GetTopicAsync(string topic, CancellationToken cancellationToken) => inner.GetTopicAsync(topic, cancellationToken);
        public Task<TopicPage> ListTopicsAsync(string? prefix, string? afterName, int limit, CancellationToken cancellationToken) => inner.ListTopicsAsync(prefix, afterName, limit, cancellationToken);
        public Task<PutTopicResult> PutTopicAsync(string topic, TopicConfig config, long? expectedConfigVersion, CancellationToken cancellationToken) => inner.PutTopicAsync(topic, config, expectedConfigVersion, cancellationToken);
        public Task<TopicInfo?> DeleteTopicAsync(string topic, long? expectedConfigVersion, CancellationToken cancellationToken) => inner.DeleteTopicAsync(topic, expectedConfigVersion, cancellationToken);
        public Task<ReadResult> ReadAsync(string topic, long afterOffset, int limit, CancellationToken cancellationToken) => inner.ReadAsync(topic, afterOffset, limit, cancellationToken);
        public IQueueStore Queues => inner.Queues;
        public Task<long> SweepAsync(DateTimeOffset now, CancellationToken cancellationToken) => inner.SweepAsync(now, cancellationToken);
        public ValueTask DisposeAsync() => inner.DisposeAsync();

        public async Task<AppendResult> AppendAsync(AppendRequest request, CancellationToken cancellationToken)
        {
            if (request.Topic.StartsWith("held.", StringComparison.Ordinal))
            {
                await Release.Task.WaitAsync(cancellationToken);
            }
            return await inner.AppendAsync(request, cancellationToken);
        }
    }

    private static async Task<ClientWebSocket> ConnectAsync(TestHub hub)
    {
        var socket = new ClientWebSocket();
        socket.Options.AddSubProtocol("switchboard.v1.json");
        await socket.ConnectAsync(hub.WebSocketAddress("/v1/ws"), CancellationToken.None);
        return socket;
    }

    private static Task SendAsync(ClientWebSocket socket, string json, CancellationToken cancellationToken)
        => socket.SendAsync(Encoding.UTF8.GetBytes(json), WebSocketMessageType.Text, true, cancellationToken);

    private static async Task<JsonElement> NextAsync(ClientWebSocket socket, CancellationToken cancellationToken)
        => JsonDocument.Parse(await WebSockets.ReceiveAsync(socket, cancellationToken)).RootElement.Clone();

    [Fact]
    public async Task A_requests_failed_send_and_its_reply_are_answered_after_the_frames_before_it()
    {
        var store = new HeldAppends(new MemoryStore());
        await using var hub = await TestHub.StartAsync(services: s => s.AddSingleton<IStore>(store));
        using var socket = await ConnectAsync(hub);
        using var timeout = new CancellationTokenSource(Limit);

        // A publish still committing, then a request whose send is refused, then one a responder answers, then a ping:
        // its pong (answered at once, not a committing frame) says the frames before it were all taken.
        await SendAsync(socket, """{"id":"p1","publish":{"topic":"held.a","payload":1}}""", timeout.Token);
        await SendAsync(socket, """{"id":"r2","request":{"queue":"bad queue","payload":1}}""", timeout.Token);
        await SendAsync(socket, """{"id":"r3","request":{"queue":"order.rpc","payload":1,"timeoutSeconds":30}}""", timeout.Token);
        await SendAsync(socket, """{"id":"x","ping":{}}""", timeout.Token);
        var answers = new List<JsonElement>();
        do
        {
            answers.Add(await NextAsync(socket, timeout.Token));
        }
        while (answers[^1].GetProperty("id").GetString() != "x");

        // The reply is written while the publish before the request is still committing.
        using (var received = await hub.Http.PostAsync("/v1/queues/order.rpc/receive?wait=10", null, timeout.Token))
        {
            Assert.Equal(HttpStatusCode.OK, received.StatusCode);
            var request = JsonDocument.Parse(await received.Content.ReadAsStringAsync(timeout.Token)).RootElement.GetProperty("messages")[0];
            using var replied = await hub.Http.PostAsync($"/v1/replies/{request.GetProperty("replyTo").GetString()}", new StringContent("""{"payload":"yes"}""", Encoding.UTF8, "application/json"), timeout.Token);
            Assert.Equal(HttpStatusCode.NoContent, replied.StatusCode);
        }
        store.Release.SetResult();
        while (answers.Count < 4)
        {
            answers.Add(await NextAsync(socket, timeout.Token));
        }

        var committing = answers.Where(a => a.GetProperty("id").GetString() != "x").ToList();
        Assert.Equal(["p1", "r2", "r3"], committing.Select(a => a.GetProperty("id").GetString()));
        Assert.True(committing[0].TryGetProperty("published", out _), committing[0].ToString());
        Assert.Equal("invalid-queue-name", committing[1].GetProperty("error").GetProperty("code").GetString());
        Assert.Equal("yes", committing[2].GetProperty("reply").GetProperty("payload").GetString());
    }

    [Fact]
    public async Task An_extend_is_answered_after_the_frames_before_it_and_an_ack_after_it_finds_the_lease_extended()
    {
        var store = new HeldAppends(new MemoryStore());
        await using var hub = await TestHub.StartAsync(services: s => s.AddSingleton<IStore>(store));
        using var socket = await ConnectAsync(hub);
        using var timeout = new CancellationTokenSource(Limit);
        using (var sent = await hub.Http.PostAsync("/v1/queues/order.jobs/messages", new StringContent("""{"payload":1}""", Encoding.UTF8, "application/json"), timeout.Token))
        {
            Assert.Equal(HttpStatusCode.Created, sent.StatusCode);
        }
        JsonElement message;
        using (var received = await hub.Http.PostAsync("/v1/queues/order.jobs/receive?lease=5", null, timeout.Token))
        {
            message = JsonDocument.Parse(await received.Content.ReadAsStringAsync(timeout.Token)).RootElement.GetProperty("messages")[0].Clone();
        }
        var (id, lease) = (message.GetProperty("id").GetInt64(), message.GetProperty("lease").GetString());

        await SendAsync(socket, """{"id":"p1","publish":{"topic":"held.a","payload":1}}""", timeout.Token);
        await SendAsync(socket, $$$"""{"id":"e2","extend":{"queue":"order.jobs","id":{{{id}}},"lease":"wrong","leaseSeconds":60}}""", timeout.Token);
        await SendAsync(socket, $$$"""{"id":"e3","extend":{"queue":"order.jobs","id":{{{id}}},"lease":"{{{lease}}}","leaseSeconds":60}}""", timeout.Token);
        await SendAsync(socket, $$$"""{"id":"a4","ack":{"queue":"order.jobs","id":{{{id}}},"lease":"{{{lease}}}"}}""", timeout.Token);
        await SendAsync(socket, """{"id":"x","ping":{}}""", timeout.Token);
        var answers = new List<JsonElement>();
        do
        {
            answers.Add(await NextAsync(socket, timeout.Token));
        }
        while (answers[^1].GetProperty("id").GetString() != "x");
        store.Release.SetResult();
        while (answers.Count < 5)
        {
            answers.Add(await NextAsync(socket, timeout.Token));
        }

        var committing = answers.Where(a => a.GetProperty("id").GetString() != "x").ToList();
        Assert.Equal(["p1", "e2", "e3", "a4"], committing.Select(a => a.GetProperty("id").GetString()));
        Assert.Equal("lease-mismatch", committing[1].GetProperty("error").GetProperty("code").GetString());
        Assert.False(committing[2].TryGetProperty("error", out _), committing[2].ToString());
        Assert.False(committing[3].TryGetProperty("error", out _), committing[3].ToString());
    }
}
