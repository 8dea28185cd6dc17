using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using Google.Protobuf;
using Switchboard.Protocol.V1;

namespace Switchboard.RealTime.Tests;

/// <summary>
/// The ackBatch frame of the multiplexed WebSocket, in JSON and protobuf: a consumer settles what it received in one
/// frame, each ack stands alone, its credits come back, and a malformed batch is refused whole without touching the
/// connection's other work.
/// </summary>
public sealed class WebSocketAckBatchTests
{
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task Json_ackBatch_acks_each_message_alone_and_frees_its_credits()
    {
        await using var hub = await TestHub.StartAsync(sqlite: true);
        using var stop = new CancellationTokenSource(Limit);
        using var socket = await ConnectAsync(hub, "switchboard.v1.json", stop.Token);
        for (var n = 1; n <= 5; n++)
        {
            await SendTextAsync(socket, "{\"id\":\"s" + n + "\",\"send\":{\"queue\":\"wsb.jobs\",\"payload\":{\"n\":" + n + "}}}", stop.Token);
        }
        await SendTextAsync(socket, """{"id":"c","receive":{"queue":"wsb.jobs","max":3,"leaseSeconds":60}}""", stop.Token);
        var taken = new List<JsonElement>();
        while (taken.Count < 3)
        {
            if ((await NextJsonAsync(socket, stop.Token)).TryGetProperty("queueMessage", out var message))
            {
                taken.Add(message);
            }
        }
        string Item(int i, int leaseOf) => $$"""{"id":{{taken[i].GetProperty("id")}},"lease":"{{taken[leaseOf].GetProperty("lease").GetString()}}"}""";

        // 1 and 2 with their own leases (2's id as a string, as REST takes it), 3 with 1's lease.
        await SendTextAsync(socket, $$$"""{"id":"b","ackBatch":{"queue":"wsb.jobs","messages":[{{{Item(0, 0)}}},{"id":"{{{taken[1].GetProperty("id")}}}","lease":"{{{taken[1].GetProperty("lease").GetString()}}}"},{{{Item(2, 0)}}}]}}""", stop.Token);
        // The freed credits may deliver 4 and 5 before the answer: keep what comes.
        var next = new List<long>();
        JsonElement answer;
        while (true)
        {
            var frame = await NextJsonAsync(socket, stop.Token);
            if (frame.TryGetProperty("queueMessage", out var message))
            {
                next.Add(message.GetProperty("id").GetInt64());
            }
            else if (frame.TryGetProperty("ackedBatch", out _))
            {
                answer = frame;
                break;
            }
        }
        Assert.Equal("b", answer.GetProperty("id").GetString());
        var batch = answer.GetProperty("ackedBatch");
        Assert.Equal("wsb.jobs", batch.GetProperty("queue").GetString());
        Assert.Equal([1L, 2L], batch.GetProperty("acked").EnumerateArray().Select(e => e.GetInt64()));
        var failure = Assert.Single(batch.GetProperty("failed").EnumerateArray());
        Assert.Equal((3, "lease-mismatch", 409), (failure.GetProperty("id").GetInt64(), failure.GetProperty("error").GetProperty("code").GetString(), failure.GetProperty("error").GetProperty("status").GetInt32()));

        // The same failure as the single ack frame answers it, word for word; meanwhile two credits came back: 4 and 5 arrive.
        await SendTextAsync(socket, "{\"id\":\"one\",\"ack\":{\"queue\":\"wsb.jobs\"," + Item(2, 0)[1..^1] + "}}", stop.Token);
        JsonElement? single = null;
        while (single is null || next.Count < 2)
        {
            var frame = await NextJsonAsync(socket, stop.Token);
            if (frame.TryGetProperty("queueMessage", out var message))
            {
                next.Add(message.GetProperty("id").GetInt64());
            }
            else if (frame.TryGetProperty("id", out var id) && id.GetString() == "one")
            {
                single = frame.GetProperty("error");
            }
        }
        Assert.Equal(single.Value.GetProperty("message").GetString(), failure.GetProperty("error").GetProperty("message").GetString());
        Assert.Equal([4L, 5L], next);
    }

    [Fact]
    public async Task A_malformed_json_ackBatch_is_refused_whole_and_the_connection_goes_on()
    {
        await using var hub = await TestHub.StartAsync();
        using var stop = new CancellationTokenSource(Limit);
        using var socket = await ConnectAsync(hub, "switchboard.v1.json", stop.Token);
        await SendTextAsync(socket, """{"id":"sub","subscribe":{"topics":["wsb.side"]}}""", stop.Token);
        await NextJsonAsync(socket, stop.Token, f => f.TryGetProperty("subscribed", out _));
        await SendTextAsync(socket, """{"id":"s","send":{"queue":"wsb.bad","payload":1}}""", stop.Token);
        await SendTextAsync(socket, """{"id":"c","receive":{"queue":"wsb.bad","max":1}}""", stop.Token);
        var taken = (await NextJsonAsync(socket, stop.Token, f => f.TryGetProperty("queueMessage", out _))).GetProperty("queueMessage");
        var good = $$"""{"id":{{taken.GetProperty("id")}},"lease":"{{taken.GetProperty("lease").GetString()}}"}""";

        var cases = new (string Body, string Code, string Says)[]
        {
            ("""{"queue":"wsb.bad","messages":[]}""", "validation-failed", "1 to 1000"),
            ($$"""{"queue":"wsb.bad","messages":[{{good}},{{good}}]}""", "validation-failed", "twice"),
            ($$"""{"queue":"wsb.bad","messages":[{{good}},{"id":2}]}""", "invalid-request", "ackBatch.messages[1] needs the message's lease token"),
            ($$"""{"queue":"wsb.bad","messages":[{{good}},{"id":0,"lease":"x"}]}""", "invalid-request", "ackBatch.messages[1].id"),
            ($$"""{"queue":"wsb.bad","messages":[{{good}},{"id":2,"lease":"x","extra":1}]}""", "invalid-request", "no field 'extra'"),
            ("""{"queue":"wsb.bad","messages":{"id":1}}""", "invalid-request", "must be an array"),
            ($$"""{"messages":[{{good}}]}""", "invalid-request", "needs a \"queue\""),
            ("""{"queue":"wsb.bad"}""", "invalid-request", "needs \"messages\""),
            ($$"""{"queue":"wsb.bad","messages":[{{good}}],"lease":"x"}""", "invalid-request", "no field \"lease\""),
            ($$"""{"queue":"no.such.queue","messages":[{{good}}]}""", "queue-not-found", "no.such.queue"),
            ("[1]", "invalid-request", "ackBatch"),
            ($$$"""{"queue":"wsb.bad","messages":[{{{string.Join(",", Enumerable.Range(1, 1001).Select(n => $"{{\"id\":{n},\"lease\":\"x\"}}"))}}}]}""", "validation-failed", "1 to 1000"),
            ($$$"""{"queue":"wsb.bad","messages":[{{{good}}},{"id":2,"lease":""}]}""", "validation-failed", "The ack at 1 (message 2)"),
        };
        for (var i = 0; i < cases.Length; i++)
        {
            var (body, code, says) = cases[i];
            await SendTextAsync(socket, $$"""{"id":"bad{{i}}","ackBatch":{{body}}}""", stop.Token);
            var error = (await NextJsonAsync(socket, stop.Token, f => f.TryGetProperty("id", out var id) && id.GetString() == $"bad{i}")).GetProperty("error");
            Assert.True(error.GetProperty("code").GetString() == code && error.GetProperty("message").GetString()!.Contains(says, StringComparison.Ordinal), $"{body}: {error}");
        }
        // An escaped lone surrogate inside a lease (valid UTF-8 text, so the socket takes it; not Unicode): bad JSON, answered like any other.
        await SendTextAsync(socket, $$$"""{"id":"utf","ackBatch":{"queue":"wsb.bad","messages":[{{{good}}},{"id":2,"lease":"a\ud800"}]}}""", stop.Token);
        Assert.Equal("invalid-json", (await NextJsonAsync(socket, stop.Token, f => f.TryGetProperty("id", out var id) && id.GetString() == "utf")).GetProperty("error").GetProperty("code").GetString());
        var stats = (await JsonDocument.ParseAsync(await hub.Http.GetStreamAsync("/v1/queues/wsb.bad"))).RootElement.GetProperty("stats");
        Assert.Equal(1, stats.GetProperty("leased").GetInt32()); // nothing was acked by a refused batch

        // The subscription and the consumer are untouched: a publish arrives, and the good batch acks.
        await hub.Http.PostAsync("/v1/topics/wsb.side/messages", new StringContent("{\"payload\":7}", Encoding.UTF8, "application/json"));
        Assert.Equal(7, (await NextJsonAsync(socket, stop.Token, f => f.TryGetProperty("message", out _))).GetProperty("message").GetProperty("payload").GetInt32());
        await SendTextAsync(socket, $$$"""{"id":"ok","ackBatch":{"queue":"wsb.bad","messages":[{{{good}}}]}}""", stop.Token);
        var acked = (await NextJsonAsync(socket, stop.Token, f => f.TryGetProperty("ackedBatch", out _))).GetProperty("ackedBatch");
        Assert.Equal((1, 0), (acked.GetProperty("acked").GetArrayLength(), acked.GetProperty("failed").GetArrayLength()));
    }

    [Fact]
    public async Task Proto_ack_batch_frames_carry_the_same_outcomes()
    {
        await using var hub = await TestHub.StartAsync(sqlite: true);
        using var stop = new CancellationTokenSource(Limit);
        using var socket = await ConnectAsync(hub, "switchboard.v1.proto", stop.Token);
        for (var n = 1; n <= 2; n++)
        {
            await SendProtoAsync(socket, new ClientFrame { Id = "s" + n, Send = new SendRequest { Queue = "wsb.proto", Payload = ByteString.CopyFromUtf8(n.ToString(System.Globalization.CultureInfo.InvariantCulture)) } }, stop.Token);
        }
        await SendProtoAsync(socket, new ClientFrame { Id = "c", Receive = new ReceiveRequest { Queue = "wsb.proto", Max = 2, LeaseSeconds = 60 } }, stop.Token);
        var taken = new List<QueueMessage>();
        while (taken.Count < 2)
        {
            if (await NextProtoAsync(socket, stop.Token) is { QueueMessage: { } message })
            {
                taken.Add(message);
            }
        }

        await SendProtoAsync(socket, new ClientFrame { Id = "x", AckBatch = new AckBatchRequest { Queue = "wsb.proto", Messages = { new AckBatchItem { Id = "nope", Lease = taken[0].Lease } } } }, stop.Token);
        var refused = await NextProtoAsync(socket, stop.Token, f => f.Id == "x");
        Assert.Equal(("invalid-request", true), (refused.Error.Code, refused.Error.Message.Contains("ack_batch.messages[0].id 'nope'", StringComparison.Ordinal)));

        await SendProtoAsync(socket, new ClientFrame { Id = "e", AckBatch = new AckBatchRequest { Queue = "wsb.proto" } }, stop.Token);
        Assert.Equal("validation-failed", (await NextProtoAsync(socket, stop.Token, f => f.Id == "e")).Error.Code);
        await SendProtoAsync(socket, new ClientFrame { Id = "q", AckBatch = new AckBatchRequest { Queue = "wsb.none", Messages = { new AckBatchItem { Id = taken[0].Id, Lease = taken[0].Lease } } } }, stop.Token);
        Assert.Equal("queue-not-found", (await NextProtoAsync(socket, stop.Token, f => f.Id == "q")).Error.Code);

        await SendProtoAsync(socket, new ClientFrame
        {
            Id = "b",
            AckBatch = new AckBatchRequest { Queue = "wsb.proto", Messages = { new AckBatchItem { Id = taken[0].Id, Lease = taken[0].Lease }, new AckBatchItem { Id = taken[1].Id, Lease = taken[0].Lease } } },
        }, stop.Token);
        var answer = await NextProtoAsync(socket, stop.Token, f => f.Id == "b");
        Assert.Equal(ServerFrame.KindOneofCase.AckedBatch, answer.KindCase);
        Assert.Equal(("wsb.proto", taken[0].Id), (answer.AckedBatch.Queue, Assert.Single(answer.AckedBatch.Acked)));
        var failure = Assert.Single(answer.AckedBatch.Failed);
        Assert.Equal((taken[1].Id, "lease-mismatch", 409), (failure.Id, failure.Error.Code, failure.Error.Status));
    }

    private static async Task<ClientWebSocket> ConnectAsync(TestHub hub, string subProtocol, CancellationToken cancellationToken)
    {
        var socket = new ClientWebSocket();
        socket.Options.AddSubProtocol(subProtocol);
        await socket.ConnectAsync(hub.WebSocketAddress("/v1/ws"), cancellationToken);
        return socket;
    }

    private static Task SendTextAsync(ClientWebSocket socket, string frame, CancellationToken cancellationToken)
        => socket.SendAsync(Encoding.UTF8.GetBytes(frame), WebSocketMessageType.Text, true, cancellationToken);

    private static Task SendProtoAsync(ClientWebSocket socket, ClientFrame frame, CancellationToken cancellationToken)
        => socket.SendAsync(frame.ToByteArray(), WebSocketMessageType.Binary, true, cancellationToken);

    private static async Task<JsonElement> NextJsonAsync(ClientWebSocket socket, CancellationToken cancellationToken, Func<JsonElement, bool>? until = null)
    {
        while (true)
        {
            var frame = JsonDocument.Parse(await WebSockets.ReceiveAsync(socket, cancellationToken)).RootElement.Clone();
            if (until is null || until(frame))
            {
                return frame;
            }
        }
    }

    private static async Task<ServerFrame> NextProtoAsync(ClientWebSocket socket, CancellationToken cancellationToken, Func<ServerFrame, bool>? until = null)
    {
        while (true)
        {
            var frame = ServerFrame.Parser.ParseFrom(await WebSockets.ReceiveAsync(socket, cancellationToken));
            if (until is null || until(frame))
            {
                return frame;
            }
        }
    }
}
