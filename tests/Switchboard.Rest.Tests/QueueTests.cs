using System.Net;
using System.Text.Json;
using static Switchboard.Rest.Tests.Http;

namespace Switchboard.Rest.Tests;

/// <summary>/v1/queues and /v1/replies over HTTP: the four patterns of the guide, and every way to get them wrong.</summary>
public sealed class QueueTests
{
    public static TheoryData<bool> Engines => new() { false, true };

    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(30);

    private static async Task<JsonElement> ReceiveOneAsync(TestHub hub, string queue, string query = "wait=10")
    {
        using var response = await hub.Http.PostAsync($"/v1/queues/{queue}/receive?{query}", null);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return Assert.Single((await response.BodyAsync()).GetProperty("messages").EnumerateArray());
    }

    private static StringContent Lease(JsonElement message, string extra = "")
        => Json($$"""{"lease":"{{message.GetProperty("lease").GetString()}}"{{extra}}}""");

    [Theory]
    [MemberData(nameof(Engines))]
    public async Task Send_receive_ack_is_point_to_point_and_ack_is_final(bool sqlite)
    {
        await using var hub = await TestHub.StartAsync(sqlite);
        using var sent = await hub.Http.PostAsync("/v1/queues/emails/messages", Json("""{"payload":{"to":"a@example.com"},"headers":{"kind":"welcome"}}"""));
        Assert.Equal(HttpStatusCode.Created, sent.StatusCode);
        Assert.Equal(1, (await sent.BodyAsync()).GetProperty("id").GetInt64());

        var message = await ReceiveOneAsync(hub, "emails", "lease=60");
        Assert.Equal(("a@example.com", "welcome", 1), (message.GetProperty("payload").GetProperty("to").GetString(), message.GetProperty("headers").GetProperty("kind").GetString(), message.GetProperty("attempts").GetInt32()));
        // A competing consumer gets nothing while the lease runs.
        using (var other = await hub.Http.PostAsync("/v1/queues/emails/receive", null))
        {
            Assert.Equal(0, (await other.BodyAsync()).GetProperty("messages").GetArrayLength());
        }
        using (var ack = await hub.Http.PostAsync($"/v1/queues/emails/messages/{message.GetProperty("id")}/ack", Lease(message)))
        {
            Assert.Equal(HttpStatusCode.NoContent, ack.StatusCode);
        }
        using var twice = await hub.Http.PostAsync($"/v1/queues/emails/messages/{message.GetProperty("id")}/ack", Lease(message));
        await (twice).AssertProblemAsync((HttpStatusCode)409, "lease-mismatch", "not leased");
        var stats = (await (await hub.Http.GetAsync("/v1/queues/emails")).BodyAsync()).GetProperty("stats");
        Assert.Equal((0, 0, 0, 0), (stats.GetProperty("ready").GetInt32(), stats.GetProperty("leased").GetInt32(), stats.GetProperty("delayed").GetInt32(), stats.GetProperty("dead").GetInt32()));
    }

    [Theory]
    [MemberData(nameof(Engines))]
    public async Task A_waiting_receive_is_answered_by_the_send_itself(bool sqlite)
    {
        await using var hub = await TestHub.StartAsync(sqlite);
        using (await hub.Http.PutAsync("/v1/queues/work", Json("{}")))
        {
        }
        var waiting = hub.Http.PostAsync("/v1/queues/work/receive?wait=30", null);
        await Task.Delay(200); // let the receive park (if it had not, it would still find the message: no false pass)
        using (await hub.Http.PostAsync("/v1/queues/work/messages", Json("""{"payload":"wake"}""")))
        {
        }
        using var answer = await waiting.WaitAsync(TimeSpan.FromSeconds(10)); // far below the 30 s wait: woken, not timed out
        Assert.Equal("wake", Assert.Single((await answer.BodyAsync()).GetProperty("messages").EnumerateArray()).GetProperty("payload").GetString());
    }

    [Theory]
    [MemberData(nameof(Engines))]
    public async Task Nack_with_an_error_dead_letters_on_the_last_attempt_and_redrive_brings_it_back(bool sqlite)
    {
        await using var hub = await TestHub.StartAsync(sqlite);
        using (var put = await hub.Http.PutAsync("/v1/queues/orders", Json("""{"maxAttempts":2,"backoff":{"initial":"0s","max":"0s"}}""")))
        {
            Assert.Equal(HttpStatusCode.Created, put.StatusCode);
        }
        using (await hub.Http.PostAsync("/v1/queues/orders/messages", Json("""{"payload":{"order":7}}"""))) { }
        for (var attempt = 1; attempt <= 2; attempt++)
        {
            var message = await ReceiveOneAsync(hub, "orders");
            Assert.Equal(attempt, message.GetProperty("attempts").GetInt32());
            using var nack = await hub.Http.PostAsync($"/v1/queues/orders/messages/{message.GetProperty("id")}/nack", Lease(message, ",\"error\":\"payment service down\""));
            Assert.Equal(attempt == 2, (await nack.BodyAsync()).GetProperty("deadLettered").GetBoolean());
        }
        var dead = Assert.Single((await (await hub.Http.GetAsync("/v1/queues/orders/dead-letters")).BodyAsync()).GetProperty("messages").EnumerateArray());
        Assert.Equal(("nacked", "payment service down", 7), (dead.GetProperty("reason").GetString(), dead.GetProperty("lastError").GetString(), dead.GetProperty("payload").GetProperty("order").GetInt32()));

        using var missing = await hub.Http.PostAsync("/v1/queues/orders/dead-letters/99/redrive", null);
        await (missing).AssertProblemAsync((HttpStatusCode)404, "message-not-found", "dead letter 99");
        using (var redrive = await hub.Http.PostAsync($"/v1/queues/orders/dead-letters/{dead.GetProperty("id")}/redrive", null))
        {
            Assert.Equal(1, (await redrive.BodyAsync()).GetProperty("redriven").GetInt32());
        }
        var back = await ReceiveOneAsync(hub, "orders");
        Assert.Equal(1, back.GetProperty("attempts").GetInt32());
    }

    [Theory]
    [MemberData(nameof(Engines))]
    public async Task A_topic_bound_to_a_queue_feeds_it_durably(bool sqlite)
    {
        await using var hub = await TestHub.StartAsync(sqlite);
        using (var bind = await hub.Http.PutAsync("/v1/queues/billing/bindings/orders.%3E", null))
        {
            Assert.Equal(HttpStatusCode.Created, bind.StatusCode);
        }
        using (await hub.Http.PostAsync("/v1/topics/orders.eu/messages", Json("""{"messages":[{"payload":1},{"payload":2}]}"""))) { }
        using (await hub.Http.PostAsync("/v1/topics/invoices/messages", Json("""{"payload":3}"""))) { }
        using var received = await hub.Http.PostAsync("/v1/queues/billing/receive?max=10", null);
        var messages = (await received.BodyAsync()).GetProperty("messages").EnumerateArray().ToList();
        Assert.Equal([1, 2], messages.Select(m => m.GetProperty("payload").GetInt32()));
        Assert.Equal("orders.eu", messages[0].GetProperty("headers").GetProperty("sb-topic").GetString());
        var bindings = (await (await hub.Http.GetAsync("/v1/queues/billing/bindings")).BodyAsync()).GetProperty("bindings");
        Assert.Equal("orders.>", Assert.Single(bindings.EnumerateArray()).GetProperty("pattern").GetString());
    }

    [Theory]
    [MemberData(nameof(Engines))]
    public async Task Request_reply_answers_200_with_the_reply_and_504_when_no_one_answers(bool sqlite)
    {
        await using var hub = await TestHub.StartAsync(sqlite);
        using var stop = new CancellationTokenSource(Limit);
        using (await hub.Http.PutAsync("/v1/queues/prices", Json("{}"))) { } // a receive on a missing queue is a 404
        var responder = Task.Run(async () =>
        {
            var request = await ReceiveOneAsync(hub, "prices");
            var replyTo = request.GetProperty("replyTo").GetString();
            var sku = request.GetProperty("payload").GetProperty("sku").GetString();
            using var reply = await hub.Http.PostAsync($"/v1/replies/{replyTo}", Json($$$"""{"payload":{"sku":"{{{sku}}}","price":9.5}}"""), stop.Token);
            Assert.Equal(HttpStatusCode.NoContent, reply.StatusCode);
            using var ack = await hub.Http.PostAsync($"/v1/queues/prices/messages/{request.GetProperty("id")}/ack", Lease(request), stop.Token);
            Assert.Equal(HttpStatusCode.NoContent, ack.StatusCode);
            return replyTo;
        });
        using var answered = await hub.Http.PostAsync("/v1/queues/prices/requests?timeout=20", Json("""{"payload":{"sku":"A-1"}}"""), stop.Token);
        Assert.Equal(HttpStatusCode.OK, answered.StatusCode);
        var body = await answered.BodyAsync();
        Assert.Equal(("A-1", 9.5), (body.GetProperty("payload").GetProperty("sku").GetString(), body.GetProperty("payload").GetProperty("price").GetDouble()));
        var replyId = await responder;
        using var late = await hub.Http.PostAsync($"/v1/replies/{replyId}", Json("""{"payload":0}"""));
        await (late).AssertProblemAsync((HttpStatusCode)409, "reply-already-sent", "already has its reply");

        using var unanswered = await hub.Http.PostAsync("/v1/queues/nobody/requests?timeout=1", Json("""{"payload":1}"""), stop.Token);
        await (unanswered).AssertProblemAsync((HttpStatusCode)504, "timeout", "No reply");
        using var unknown = await hub.Http.PostAsync("/v1/replies/rdoesnotexist", Json("""{"payload":1}"""));
        await (unknown).AssertProblemAsync((HttpStatusCode)404, "reply-not-found", "replyTo");
    }

    [Theory]
    [MemberData(nameof(Engines))]
    public async Task A_long_running_request_answers_202_with_a_reply_URL_to_long_poll(bool sqlite)
    {
        await using var hub = await TestHub.StartAsync(sqlite);
        HttpRequestMessage Asking()
        {
            var asking = new HttpRequestMessage(HttpMethod.Post, "/v1/queues/reports/requests") { Content = Json("""{"payload":{"month":"2026-10"}}""") };
            asking.Headers.TryAddWithoutValidation("Prefer", "respond-async");
            asking.Headers.TryAddWithoutValidation("Idempotency-Key", "report-2026-10");
            return asking;
        }
        using var asking = Asking();
        using var accepted = await hub.Http.SendAsync(asking);
        Assert.Equal(HttpStatusCode.Accepted, accepted.StatusCode);
        var location = accepted.Headers.Location!.ToString();
        var first = await accepted.BodyAsync();
        using (var pending = await hub.Http.GetAsync(location))
        {
            // The 202 of the request is the pending slot as its URL shows it, plus the URL.
            Assert.Equal(HttpStatusCode.Accepted, pending.StatusCode);
            var slot = await pending.BodyAsync();
            foreach (var name in new[] { "id", "queue", "status", "expiresAt" })
            {
                Assert.Equal(slot.GetProperty(name).GetString(), first.GetProperty(name).GetString());
            }
            Assert.Equal(("pending", "reports", location), (slot.GetProperty("status").GetString(), slot.GetProperty("queue").GetString(), first.GetProperty("location").GetString()));
        }
        // A retry with the same key is the same request: same reply URL, still one message in the queue.
        using (var retryRequest = Asking())
        using (var retry = await hub.Http.SendAsync(retryRequest))
        {
            Assert.Equal((HttpStatusCode.Accepted, location), (retry.StatusCode, retry.Headers.Location!.ToString()));
            Assert.Equal(first.GetProperty("expiresAt").GetString(), (await retry.BodyAsync()).GetProperty("expiresAt").GetString());
        }
        Assert.Equal(1, (await (await hub.Http.GetAsync("/v1/queues/reports")).BodyAsync()).GetProperty("stats").GetProperty("ready").GetInt32());
        var poll = hub.Http.GetAsync(location + "?wait=30");
        var request = await ReceiveOneAsync(hub, "reports");
        using (await hub.Http.PostAsync($"/v1/replies/{request.GetProperty("replyTo").GetString()}", Json("""{"payload":{"rows":12}}"""))) { }
        using var done = await poll.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(HttpStatusCode.OK, done.StatusCode);
        Assert.Equal(12, (await done.BodyAsync()).GetProperty("payload").GetProperty("rows").GetInt32());
    }

    [Theory]
    [MemberData(nameof(Engines))]
    public async Task A_reply_with_the_request_lease_acks_the_request_in_the_same_call(bool sqlite)
    {
        await using var hub = await TestHub.StartAsync(sqlite: sqlite);
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        using (await hub.Http.PutAsync("/v1/queues/rpc", Json("{}"))) { }
        var responder = Task.Run(async () =>
        {
            var request = await ReceiveOneAsync(hub, "rpc");
            var lease = request.GetProperty("lease").GetString();
            var replyTo = request.GetProperty("replyTo").GetString();
            using var wrong = await hub.Http.PostAsync($"/v1/replies/{replyTo}?lease=not-the-lease", Json("""{"payload":"no"}"""), stop.Token);
            await wrong.AssertProblemAsync((HttpStatusCode)409, "lease-mismatch", "does not match");
            using var reply = await hub.Http.PostAsync($"/v1/replies/{replyTo}?lease={Uri.EscapeDataString(lease!)}", Json("""{"payload":"yes"}"""), stop.Token);
            Assert.Equal(HttpStatusCode.NoContent, reply.StatusCode);
            return request;
        });
        using var answered = await hub.Http.PostAsync("/v1/queues/rpc/requests?timeout=20", Json("""{"payload":1}"""), stop.Token);
        Assert.Equal(HttpStatusCode.OK, answered.StatusCode);
        Assert.Equal("yes", (await answered.BodyAsync()).GetProperty("payload").GetString()); // the refused reply left no trace
        var request = await responder;

        // Acked with the reply: nothing left in the queue, and a second ack finds no lease.
        var stats = (await (await hub.Http.GetAsync("/v1/queues/rpc")).BodyAsync()).GetProperty("stats");
        Assert.Equal((0, 0), (stats.GetProperty("ready").GetInt32(), stats.GetProperty("leased").GetInt32()));
        using var ack = await hub.Http.PostAsync($"/v1/queues/rpc/messages/{request.GetProperty("id")}/ack", Lease(request));
        Assert.Equal((HttpStatusCode)409, ack.StatusCode);
    }

    [Fact]
    public async Task Without_auto_created_queues_a_binding_needs_its_queue()
    {
        await using var hub = await TestHub.StartAsync(settings: new Dictionary<string, string?> { ["Switchboard:Queues:AutoCreate"] = "false" });
        await (await hub.Http.PutAsync("/v1/queues/missing/bindings/orders.*", null)).AssertProblemAsync((HttpStatusCode)404, "queue-not-found", "missing");
        Assert.Equal(HttpStatusCode.NotFound, (await hub.Http.GetAsync("/v1/queues/missing")).StatusCode); // not created by the refused bind

        using (await hub.Http.PutAsync("/v1/queues/audit", Json("{}"))) { }
        Assert.Equal(HttpStatusCode.Created, (await hub.Http.PutAsync("/v1/queues/audit/bindings/orders.*", null)).StatusCode);
    }

    [Fact]
    public async Task Bad_queue_calls_get_clear_errors_and_change_nothing()
    {
        await using var hub = await TestHub.StartAsync(sqlite: true);
        using (await hub.Http.PostAsync("/v1/queues/q/messages", Json("""{"payload":1}"""))) { }

        await (await hub.Http.PostAsync("/v1/queues/missing/receive", null)).AssertProblemAsync((HttpStatusCode)404, "queue-not-found", "missing");
        await (await hub.Http.PostAsync("/v1/queues/q/messages?delay=-5", Json("""{"payload":1}"""))).AssertProblemAsync((HttpStatusCode)400, "invalid-request", "negative");
        await (await hub.Http.PostAsync("/v1/queues/q/messages?delay=99999999", Json("""{"payload":1}"""))).AssertProblemAsync((HttpStatusCode)400, "invalid-request", "0s to 7d");
        await (await hub.Http.PostAsync("/v1/queues/q/receive?lease=0", null)).AssertProblemAsync((HttpStatusCode)400, "invalid-request", "1s to 12h");
        await (await hub.Http.PostAsync("/v1/queues/q/receive?lease=86400", null)).AssertProblemAsync((HttpStatusCode)400, "invalid-request", "1s to 12h");
        await (await hub.Http.PostAsync("/v1/queues/q/receive?max=5000", null)).AssertProblemAsync((HttpStatusCode)400, "invalid-request", "max");
        await (await hub.Http.PutAsync("/v1/queues/q2", Json("""{"maxAttempts":0}"""))).AssertProblemAsync((HttpStatusCode)422, "validation-failed", "1 to 1000");
        await (await hub.Http.PutAsync("/v1/queues/bad..name", Json("{}"))).AssertProblemAsync((HttpStatusCode)400, "invalid-queue-name", "queue name");
        await (await hub.Http.PostAsync("/v1/queues/q/requests?timeout=0.5", Json("""{"payload":1}"""))).AssertProblemAsync((HttpStatusCode)400, "invalid-request", "1s to");
        await (await hub.Http.PostAsync("/v1/queues/q/requests?timeout=86400", Json("""{"payload":1}"""))).AssertProblemAsync((HttpStatusCode)400, "invalid-request", "respond-async");

        var message = await ReceiveOneAsync(hub, "q");
        await (await hub.Http.PostAsync($"/v1/queues/q/messages/{message.GetProperty("id")}/ack", Json("""{"lease":"not-the-token"}"""))).AssertProblemAsync((HttpStatusCode)409, "lease-mismatch", "does not match");
        await (await hub.Http.PostAsync($"/v1/queues/q/messages/{message.GetProperty("id")}/ack", Json("{}"))).AssertProblemAsync((HttpStatusCode)400, "invalid-request", "lease");
        await (await hub.Http.PostAsync($"/v1/queues/q/messages/abc/ack", Lease(message))).AssertProblemAsync((HttpStatusCode)400, "invalid-request", "not a message id");
        await (await hub.Http.PostAsync("/v1/queues/q/dead-letters/5/redrive", null)).AssertProblemAsync((HttpStatusCode)404, "message-not-found", "no dead letter");
        await (await hub.Http.PostAsync("/v1/queues/q/messages/99/ack", Lease(message))).AssertProblemAsync((HttpStatusCode)404, "message-not-found", "never had a message 99");
        await (await hub.Http.DeleteAsync("/v1/queues/q/bindings/orders.*")).AssertProblemAsync((HttpStatusCode)404, "binding-not-found", "no binding");
        await (await hub.Http.PutAsync("/v1/queues/q/bindings/orders..x", null)).AssertProblemAsync((HttpStatusCode)400, "invalid-topic-name", "orders..x");

        // None of it touched the message: its lease still holds and acks.
        using var ack = await hub.Http.PostAsync($"/v1/queues/q/messages/{message.GetProperty("id")}/ack", Lease(message));
        Assert.Equal(HttpStatusCode.NoContent, ack.StatusCode);
        var stats = (await (await hub.Http.GetAsync("/v1/queues/q")).BodyAsync()).GetProperty("stats");
        Assert.Equal(0, stats.GetProperty("ready").GetInt32() + stats.GetProperty("leased").GetInt32() + stats.GetProperty("dead").GetInt32());
    }
}
