using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Switchboard.RealTime.Tests;

namespace Switchboard.Redis.Tests;

/// <summary>
/// Three nodes, one Redis, no sticky sessions: whichever node a client reaches, on whichever transport, it sees the
/// same topics, queues and replies, and resumes by position where another node left off.
/// </summary>
public sealed class ScaleOutTests(Cluster cluster) : IClassFixture<Cluster>
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);

    public static TheoryData<string> Transports() => ["ws-json", "ws-proto", "ws-plain", "sse", "longpoll", "poll", "grpc"];

    [Theory]
    [MemberData(nameof(Transports))]
    public async Task A_reader_that_moves_to_another_node_resumes_with_no_gap_and_no_duplicate(string transport)
    {
        const int Count = 300;
        using var timeout = new CancellationTokenSource(Patience);
        var topic = $"moves.{transport}";
        Assert.Equal(HttpStatusCode.Created, (await cluster.A.Http.PutAsync($"/v1/topics/{topic}", null, timeout.Token)).StatusCode);
        var epoch = JsonDocument.Parse(await cluster.B.Http.GetStringAsync($"/v1/topics/{topic}", timeout.Token)).RootElement.GetProperty("epoch").GetString();

        // Published on A (REST) and B (WebSocket) while the reader is on B, then on C; the reader moves to C.
        var firstHalf = Publishers.PublishAsync("rest", cluster.A, topic, 1, Count / 2, timeout.Token);
        var before = await Receiver.Create(transport, cluster.B).ReadAsync(topic, $"{epoch}:0", Count / 3, timeout.Token);
        await firstHalf;
        var secondHalf = Publishers.PublishAsync("ws", cluster.B, topic, Count / 2 + 1, Count, timeout.Token);
        var after = await Receiver.Create(transport, cluster.C).ReadAsync(topic, $"{epoch}:{before[^1].Offset}", Count - before.Count, timeout.Token);
        await secondHalf;

        var all = before.Concat(after).ToList();
        Assert.Equal(Enumerable.Range(1, Count).Select(i => (long)i), all.Select(r => r.Offset));
        Assert.Equal(Enumerable.Range(1, Count), all.Select(r => r.Payload.GetProperty("i").GetInt32()));
    }

    [Fact]
    public async Task A_stream_of_many_topics_resumes_on_another_node_from_the_snapshot_its_id_names()
    {
        using var timeout = new CancellationTokenSource(Patience);
        for (var i = 0; i < 40; i++)
        {
            using var created = await cluster.A.Http.PostAsJsonAsync($"/v1/topics/snapshots.t{i:D2}/messages", new { payload = 0 }, timeout.Token);
            Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        }
        async Task<(HttpResponseMessage, IAsyncEnumerator<SseEvent>)> OpenAsync(TestHub node, string? lastEventId)
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, "/v1/events?topic=snapshots.*");
            if (lastEventId is not null)
            {
                request.Headers.TryAddWithoutValidation("Last-Event-ID", lastEventId);
            }
            var response = await node.Http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, timeout.Token);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            return (response, SseParser.ReadAsync(new StreamReader(await response.Content.ReadAsStreamAsync(timeout.Token)), timeout.Token).GetAsyncEnumerator(timeout.Token));
        }
        async Task<(string Topic, long Offset, string Id)> NextMessageAsync(IAsyncEnumerator<SseEvent> events)
        {
            while (await events.MoveNextAsync())
            {
                if (events.Current is { Event: null, Data.Length: > 0, Id: { } id } e)
                {
                    var message = JsonDocument.Parse(e.Data).RootElement;
                    return (message.GetProperty("topic").GetString()!, message.GetProperty("offset").GetInt64(), id);
                }
            }
            throw new InvalidOperationException("the stream ended");
        }

        // On A: 40 topics, so the ids name a snapshot of their positions, stored in Redis.
        string lastId;
        var (first, events) = await OpenAsync(cluster.A, null);
        using (first)
        {
            Assert.True(await events.MoveNextAsync());
            Assert.StartsWith("p2.", events.Current.Id, StringComparison.Ordinal);
            using var published = await cluster.B.Http.PostAsJsonAsync("/v1/topics/snapshots.t03/messages", new { payload = 1 }, timeout.Token);
            var (topic, offset, id) = await NextMessageAsync(events);
            Assert.Equal(("snapshots.t03", 2L), (topic, offset));
            lastId = id;
        }
        await cluster.C.Http.PostAsJsonAsync("/v1/topics/snapshots.t03/messages", new { payload = 2 }, timeout.Token);
        await cluster.C.Http.PostAsJsonAsync("/v1/topics/snapshots.t30/messages", new { payload = 2 }, timeout.Token);

        // On B: the snapshot is read back from Redis, and exactly the two messages published while away come.
        var (resumed, again) = await OpenAsync(cluster.B, lastId);
        using (resumed)
        {
            var seen = new[] { await NextMessageAsync(again), await NextMessageAsync(again) }.Select(m => (m.Topic, m.Offset));
            Assert.Equal([("snapshots.t03", 3L), ("snapshots.t30", 2L)], seen.Order());
        }
    }

    [Fact]
    public async Task Concurrent_publishers_on_three_nodes_get_one_sequence_of_offsets()
    {
        using var timeout = new CancellationTokenSource(Patience);
        const string Topic = "shared.offsets";
        await cluster.A.Http.PutAsync($"/v1/topics/{Topic}", null, timeout.Token);
        var offsets = await Task.WhenAll(cluster.Nodes.Select(async node =>
        {
            var mine = new List<long>();
            for (var i = 0; i < 50; i++)
            {
                using var response = await node.Http.PostAsJsonAsync($"/v1/topics/{Topic}/messages", new { payload = new { i } }, timeout.Token);
                Assert.Equal(HttpStatusCode.Created, response.StatusCode);
                mine.Add(JsonDocument.Parse(await response.Content.ReadAsStringAsync(timeout.Token)).RootElement.GetProperty("offset").GetInt64());
            }
            return mine;
        }));
        Assert.Equal(Enumerable.Range(1, 150).Select(i => (long)i), offsets.SelectMany(o => o).Order());
        Assert.All(offsets, mine => Assert.Equal(mine.Order(), mine)); // each publisher's own offsets rise
    }

    [Fact]
    public async Task A_long_poll_on_one_node_is_answered_by_a_publish_on_another()
    {
        using var timeout = new CancellationTokenSource(Patience);
        const string Topic = "wake.longpoll";
        await cluster.A.Http.PutAsync($"/v1/topics/{Topic}", null, timeout.Token);
        var started = DateTime.UtcNow;
        var poll = cluster.B.Http.GetStringAsync($"/v1/topics/{Topic}/messages?after=0&wait=30", timeout.Token);
        await WaitUntilAsync(() => Listening(cluster.B, Topic), timeout.Token); // the poll is parked on B
        Assert.False(poll.IsCompleted);
        await cluster.C.Http.PostAsJsonAsync($"/v1/topics/{Topic}/messages", new { payload = "hello" }, timeout.Token);
        using var page = JsonDocument.Parse(await poll);
        Assert.Equal("hello", Assert.Single(page.RootElement.GetProperty("messages").EnumerateArray().ToList()).GetProperty("payload").GetString());
        Assert.True(DateTime.UtcNow - started < TimeSpan.FromSeconds(20), "the long poll ran to its timeout instead of being woken");
    }

    [Fact]
    public async Task A_message_sent_on_A_is_leased_on_B_and_acked_on_C_and_a_waiting_receive_is_woken_across_nodes()
    {
        using var timeout = new CancellationTokenSource(Patience);
        const string Queue = "work.cross";
        await cluster.A.Http.PutAsJsonAsync($"/v1/queues/{Queue}", new { lease = "30s" }, timeout.Token);

        var waiting = cluster.B.Http.PostAsync($"/v1/queues/{Queue}/receive?wait=30", null, timeout.Token);
        await WaitUntilAsync(() => Listening(cluster.B, Queue, "Queue"), timeout.Token);
        using (var sent = await cluster.A.Http.PostAsJsonAsync($"/v1/queues/{Queue}/messages", new { payload = new { job = 1 } }, timeout.Token))
        {
            Assert.Equal(HttpStatusCode.Created, sent.StatusCode);
        }
        using var received = JsonDocument.Parse(await (await waiting).Content.ReadAsStringAsync(timeout.Token));
        var message = Assert.Single(received.RootElement.GetProperty("messages").EnumerateArray().ToList());
        var id = message.GetProperty("id").GetInt64();
        var lease = message.GetProperty("lease").GetString();

        // Competing consumers on other nodes get nothing while it is leased.
        using (var other = JsonDocument.Parse(await (await cluster.A.Http.PostAsync($"/v1/queues/{Queue}/receive", null, timeout.Token)).Content.ReadAsStringAsync(timeout.Token)))
        {
            Assert.Empty(other.RootElement.GetProperty("messages").EnumerateArray());
        }
        using (var wrong = await cluster.C.Http.PostAsJsonAsync($"/v1/queues/{Queue}/messages/{id}/ack", new { lease = "not-the-lease" }, timeout.Token))
        {
            Assert.Equal(HttpStatusCode.Conflict, wrong.StatusCode);
        }
        using (var ack = await cluster.C.Http.PostAsJsonAsync($"/v1/queues/{Queue}/messages/{id}/ack", new { lease }, timeout.Token))
        {
            Assert.Equal(HttpStatusCode.NoContent, ack.StatusCode);
        }
        using var stats = JsonDocument.Parse(await cluster.B.Http.GetStringAsync($"/v1/queues/{Queue}", timeout.Token));
        var counts = stats.RootElement.GetProperty("stats");
        Assert.Equal((0, 0), (counts.GetProperty("ready").GetInt64(), counts.GetProperty("leased").GetInt64()));
    }

    [Fact]
    public async Task A_request_sent_on_A_is_answered_by_a_responder_on_B()
    {
        using var timeout = new CancellationTokenSource(Patience);
        const string Queue = "rpc.cross";
        await cluster.A.Http.PutAsJsonAsync($"/v1/queues/{Queue}", new { lease = "30s" }, timeout.Token);

        var request = cluster.A.Http.PostAsJsonAsync($"/v1/queues/{Queue}/requests?timeout=30", new { payload = new { sku = "A-1" } }, timeout.Token);
        using var received = JsonDocument.Parse(await (await cluster.B.Http.PostAsync($"/v1/queues/{Queue}/receive?wait=30", null, timeout.Token)).Content.ReadAsStringAsync(timeout.Token));
        var message = Assert.Single(received.RootElement.GetProperty("messages").EnumerateArray().ToList());
        Assert.Equal("A-1", message.GetProperty("payload").GetProperty("sku").GetString());
        var replyTo = message.GetProperty("replyTo").GetString();
        var lease = message.GetProperty("lease").GetString();
        using (var replied = await cluster.C.Http.PostAsJsonAsync($"/v1/replies/{replyTo}?lease={Uri.EscapeDataString(lease!)}", new { payload = new { price = 9.5 } }, timeout.Token))
        {
            Assert.Equal(HttpStatusCode.NoContent, replied.StatusCode);
        }
        using var answer = await request;
        Assert.Equal(HttpStatusCode.OK, answer.StatusCode);
        using var reply = JsonDocument.Parse(await answer.Content.ReadAsStringAsync(timeout.Token));
        Assert.Equal(9.5, reply.RootElement.GetProperty("payload").GetProperty("price").GetDouble());
    }

    [Fact]
    public async Task Every_node_lists_the_three_nodes_with_their_connections()
    {
        using var timeout = new CancellationTokenSource(Patience);
        using var socket = new System.Net.WebSockets.ClientWebSocket();
        socket.Options.AddSubProtocol("switchboard.v1.json");
        await socket.ConnectAsync(cluster.C.WebSocketAddress("/v1/ws"), timeout.Token);

        JsonElement nodes = default;
        await WaitUntilAsync(async () =>
        {
            using var listed = JsonDocument.Parse(await cluster.A.Http.GetStringAsync("/v1/nodes", timeout.Token));
            nodes = listed.RootElement.GetProperty("nodes").Clone();
            return nodes.GetArrayLength() == 3
                && nodes.EnumerateArray().Single(n => n.GetProperty("name").GetString() == "node-c").GetProperty("connectionsByTransport").TryGetProperty("ws-json", out var ws)
                && ws.GetInt32() >= 1;
        }, timeout.Token);
        Assert.Equal(["node-a", "node-b", "node-c"], nodes.EnumerateArray().Select(n => n.GetProperty("name").GetString()));
        Assert.All(nodes.EnumerateArray(), n =>
        {
            Assert.Equal("ready", n.GetProperty("state").GetString());
            Assert.StartsWith("http://127.0.0.1:", Assert.Single(n.GetProperty("addresses").EnumerateArray().ToList()).GetString(), StringComparison.Ordinal);
        });
        Assert.Equal(3, nodes.EnumerateArray().Select(n => n.GetProperty("id").GetString()).Distinct().Count());
        await socket.CloseAsync(System.Net.WebSockets.WebSocketCloseStatus.NormalClosure, "done", timeout.Token);
    }

    [Fact]
    public async Task Presence_and_connections_asked_on_any_node_show_the_whole_cluster()
    {
        using var timeout = new CancellationTokenSource(Patience);
        const string Topic = "present.here";
        await cluster.A.Http.PutAsync($"/v1/topics/{Topic}", null, timeout.Token);
        using var socket = new System.Net.WebSockets.ClientWebSocket();
        socket.Options.AddSubProtocol("switchboard.v1.json");
        await socket.ConnectAsync(cluster.B.WebSocketAddress("/v1/ws"), timeout.Token);
        await socket.SendAsync(Encoding.UTF8.GetBytes($$$"""{"id":"p","subscribe":{"topics":["{{{Topic}}}"]}}"""), System.Net.WebSockets.WebSocketMessageType.Text, true, timeout.Token);
        Assert.Contains("subscribed", Encoding.UTF8.GetString(await WebSockets.ReceiveAsync(socket, timeout.Token)), StringComparison.Ordinal);
        using var events = await cluster.C.Http.SendAsync(new HttpRequestMessage(HttpMethod.Get, $"/v1/topics/{Topic}/events"), HttpCompletionOption.ResponseHeadersRead, timeout.Token);
        Assert.Equal(HttpStatusCode.OK, events.StatusCode);

        JsonElement presence = default;
        await WaitUntilAsync(async () =>
        {
            using var answer = JsonDocument.Parse(await cluster.A.Http.GetStringAsync($"/v1/topics/{Topic}/presence", timeout.Token));
            presence = answer.RootElement.Clone();
            return presence.GetProperty("count").GetInt32() == 2; // the SSE stream subscribes as its response starts
        }, timeout.Token);
        Assert.Equal(["node-a", "node-b", "node-c"], presence.GetProperty("nodes").EnumerateArray().Select(n => n.GetString()).Order());
        Assert.False(presence.GetProperty("partial").GetBoolean());
        Assert.Equal([("node-b", "ws-json"), ("node-c", "sse")], presence.GetProperty("subscribers").EnumerateArray()
            .Select(s => (s.GetProperty("node").GetString(), s.GetProperty("transport").GetString())).OrderBy(s => s.Item1));

        using var connections = JsonDocument.Parse(await cluster.C.Http.GetStringAsync("/v1/connections?limit=1000", timeout.Token));
        var listed = connections.RootElement.GetProperty("connections").EnumerateArray().ToList();
        Assert.Equal(connections.RootElement.GetProperty("count").GetInt32(), listed.Count);
        Assert.Contains(listed, c => c.GetProperty("node").GetString() == "node-b" && c.GetProperty("transport").GetString() == "ws-json"
            && c.GetProperty("subscriptions").EnumerateArray().Any(s => s.GetProperty("topics")[0].GetString() == Topic));
        Assert.Contains(listed, c => c.GetProperty("node").GetString() == "node-c" && c.GetProperty("transport").GetString() == "sse");
        Assert.Equal(listed.Select(c => c.GetProperty("connectedAt").GetDateTime()).Order(), listed.Select(c => c.GetProperty("connectedAt").GetDateTime()));

        // A bad topic is refused by the node asked, before any other node is bothered.
        using var bad = await cluster.A.Http.GetAsync("/v1/topics/bad..name/presence", timeout.Token);
        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
        await socket.CloseAsync(System.Net.WebSockets.WebSocketCloseStatus.NormalClosure, "done", timeout.Token);
    }

    private static bool Listening(TestHub node, string name, string kind = "Topic") =>
        node.Services.GetService(typeof(Core.Engines.IBackplane)) is RedisBackplane backplane
        && backplane.Subjects.Any(s => s.Name == name && s.Kind.ToString() == kind);

    private static Task WaitUntilAsync(Func<bool> condition, CancellationToken cancellationToken) => WaitUntilAsync(() => Task.FromResult(condition()), cancellationToken);

    private static async Task WaitUntilAsync(Func<Task<bool>> condition, CancellationToken cancellationToken)
    {
        while (!await condition())
        {
            await Task.Delay(20, cancellationToken); // no signal to wait on from outside the node: poll, bounded by the token
        }
    }
}
