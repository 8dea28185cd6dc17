using System.Diagnostics.Metrics;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Switchboard.Core;

namespace Switchboard.RealTime.Tests;

/// <summary>
/// Queue frames sent without waiting (sends, acks, replies) are taken in order and answered in order, a refusal in its
/// place — and they are not handled one commit at a time: one connection's stream of them shares the engine's commits.
/// </summary>
public sealed class WebSocketPipelineTests
{
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(30);
    private const int Count = 200;

    [Fact]
    public async Task Pipelined_sends_and_acks_keep_their_order_answer_in_order_and_share_commits()
    {
        await using var hub = await TestHub.StartAsync(sqlite: true);
        using var commits = new CommitCount(hub);
        using var socket = await ConnectAsync(hub);
        using var timeout = new CancellationTokenSource(Limit);

        // Every frame at once, then the answers: one of them is refused (a queue name with a space) and keeps its place.
        var before = commits.Value;
        for (var i = 1; i <= Count; i++)
        {
            var queue = i == Count / 2 ? "bad queue" : "pipe.jobs";
            await SendAsync(socket, $$$$"""{"id":"s{{{{i}}}}","send":{"queue":"{{{{queue}}}}","payload":{"n":{{{{i}}}}}}}""", timeout.Token);
        }
        var answers = await AnswersAsync(socket, Count, timeout.Token);
        Assert.Equal(Enumerable.Range(1, Count).Select(i => $"s{i}"), answers.Select(a => a.GetProperty("id").GetString()));
        Assert.Equal("invalid-queue-name", answers[Count / 2 - 1].GetProperty("error").GetProperty("code").GetString());
        var ids = answers.Where(a => a.TryGetProperty("sent", out _)).Select(a => a.GetProperty("sent").GetProperty("id").GetInt64()).ToList();
        Assert.Equal(Count - 1, ids.Count);
        Assert.Equal(ids.Order(), ids); // the hub took them in frame order

        // FIFO: the queue hands them out in the order they were sent.
        await SendAsync(socket, $$$"""{"id":"c","receive":{"queue":"pipe.jobs","max":{{{Count}}},"leaseSeconds":60}}""", timeout.Token);
        var leased = await AnswersAsync(socket, Count - 1, timeout.Token);
        Assert.Equal(Enumerable.Range(1, Count).Where(i => i != Count / 2), leased.Select(m => m.GetProperty("queueMessage").GetProperty("payload").GetProperty("n").GetInt32()));

        // Acks at once, one with a wrong lease in the middle: answered in order, and every right one took.
        for (var i = 0; i < leased.Count; i++)
        {
            var message = leased[i].GetProperty("queueMessage");
            var lease = i == 50 ? "wrong" : message.GetProperty("lease").GetString();
            await SendAsync(socket, $$$"""{"id":"a{{{i}}}","ack":{"queue":"pipe.jobs","id":{{{message.GetProperty("id").GetInt64()}}},"lease":"{{{lease}}}"}}""", timeout.Token);
        }
        var acked = await AnswersAsync(socket, leased.Count, timeout.Token);
        Assert.Equal(Enumerable.Range(0, leased.Count).Select(i => $"a{i}"), acked.Select(a => a.GetProperty("id").GetString()));
        Assert.Equal("lease-mismatch", acked[50].GetProperty("error").GetProperty("code").GetString());
        Assert.Equal(leased.Count - 1, acked.Count(a => a.TryGetProperty("lease", out _)));
        var stats = JsonDocument.Parse(await hub.Http.GetStringAsync("/v1/queues/pipe.jobs")).RootElement.GetProperty("stats");
        Assert.Equal((0, 1), (stats.GetProperty("ready").GetInt32(), stats.GetProperty("leased").GetInt32())); // only the wrongly acked one

        // Shared commits: one at a time, the sends and acks would have cost a commit each.
        var durable = 2 * (Count - 1) - 1;
        Assert.True(commits.Value - before < durable * 3 / 4, $"{commits.Value - before} commits for {durable} pipelined sends and acks: they were not sharing commits");
    }

    [Fact]
    public async Task A_responder_replying_without_waiting_answers_every_requester_and_its_replies_share_commits()
    {
        await using var hub = await TestHub.StartAsync(sqlite: true);
        using var commits = new CommitCount(hub);
        using var responder = await ConnectAsync(hub);
        using var requester = await ConnectAsync(hub);
        using var timeout = new CancellationTokenSource(Limit);
        const int requests = 100;
        await hub.Http.PutAsync("/v1/queues/pipe.rpc", new StringContent("{}", Encoding.UTF8, "application/json"));
        for (var i = 0; i < requests; i++)
        {
            await SendAsync(requester, $$$"""{"id":"q{{{i}}}","request":{"queue":"pipe.rpc","payload":{"n":{{{i}}}},"timeoutSeconds":30}}""", timeout.Token);
        }
        await SendAsync(responder, $$$"""{"id":"c","receive":{"queue":"pipe.rpc","max":{{{requests}}}}}""", timeout.Token);
        var received = await AnswersAsync(responder, requests, timeout.Token);

        var before = commits.Value;
        foreach (var request in received.Select(r => r.GetProperty("queueMessage")))
        {
            await SendAsync(responder, $$$$"""{"id":"re{{{{request.GetProperty("id").GetInt64()}}}}","reply":{"requestId":"{{{{request.GetProperty("replyTo").GetString()}}}}","lease":"{{{{request.GetProperty("lease").GetString()}}}}","payload":{"echo":{{{{request.GetProperty("payload").GetProperty("n").GetInt32()}}}}}}}""", timeout.Token);
        }
        var responded = await AnswersAsync(responder, requests, timeout.Token);
        Assert.Equal(received.Select(r => $"re{r.GetProperty("queueMessage").GetProperty("id").GetInt64()}"), responded.Select(a => a.GetProperty("id").GetString()));
        Assert.All(responded, a => Assert.True(a.TryGetProperty("responded", out _), a.ToString()));

        var replies = await AnswersAsync(requester, requests, timeout.Token);
        Assert.Equal(Enumerable.Range(0, requests).Select(i => $"q{i}").Order(), replies.Select(r => r.GetProperty("id").GetString()).Order());
        Assert.All(replies, r => Assert.Equal(r.GetProperty("id").GetString(), "q" + r.GetProperty("reply").GetProperty("payload").GetProperty("echo").GetInt32()));
        Assert.True(commits.Value - before < requests * 3 / 4, $"{commits.Value - before} commits for {requests} pipelined replies: they were not sharing commits");
        var stats = JsonDocument.Parse(await hub.Http.GetStringAsync("/v1/queues/pipe.rpc")).RootElement.GetProperty("stats");
        Assert.Equal((0, 0), (stats.GetProperty("ready").GetInt32(), stats.GetProperty("leased").GetInt32())); // every reply acked its request
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

    private static async Task<List<JsonElement>> AnswersAsync(ClientWebSocket socket, int count, CancellationToken cancellationToken)
    {
        var frames = new List<JsonElement>(count);
        while (frames.Count < count)
        {
            frames.Add(JsonDocument.Parse(await WebSockets.ReceiveAsync(socket, cancellationToken)).RootElement.Clone());
        }
        return frames;
    }

    /// <summary>This hub's engine commits so far, from its own meter (other hubs in the process have meters of their own).</summary>
    private sealed class CommitCount : IDisposable
    {
        private readonly MeterListener _listener = new();
        private long _value;

        public CommitCount(TestHub hub)
        {
            var meter = hub.Services.GetRequiredService<Hub>().Meters.Meter;
            _listener.InstrumentPublished = (instrument, listener) =>
            {
                if (ReferenceEquals(instrument.Meter, meter) && instrument.Name == "switchboard.engine.commit.duration")
                {
                    listener.EnableMeasurementEvents(instrument);
                }
            };
            _listener.SetMeasurementEventCallback<double>((_, _, _, _) => Interlocked.Increment(ref _value));
            _listener.Start();
        }

        public long Value => Interlocked.Read(ref _value);

        public void Dispose() => _listener.Dispose();
    }
}
