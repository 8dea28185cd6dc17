using System.Net;
using static Switchboard.Rest.Tests.Http;

namespace Switchboard.Rest.Tests;

/// <summary>Request/reply over REST as a skeptical client uses it: idempotency keys shared with plain sends.</summary>
public sealed class RequestReplyReviewTests
{
    [Fact]
    public async Task An_idempotency_key_used_by_a_send_is_refused_for_a_request_not_answered_with_a_reply_url_that_does_not_exist()
    {
        await using var hub = await TestHub.StartAsync();
        using var sent = await PostAsync(hub, "/v1/queues/jobs/messages", """{"payload":1}""", "k-1");
        Assert.Equal(HttpStatusCode.Created, sent.StatusCode);

        // Same key, same body, but a request: not a retry of the send (that message has no replyTo, so no responder
        // could ever answer it). It used to be "replayed": 202 with a Location that answers 404, and nothing enqueued.
        using var asked = await PostAsync(hub, "/v1/queues/jobs/requests?timeout=0", """{"payload":1}""", "k-1");
        await asked.AssertProblemAsync((HttpStatusCode)422, "idempotency-key-reused", "k-1");

        // The other way round too: a request's key does not make a later plain send a replay of the request.
        using var request = await PostAsync(hub, "/v1/queues/jobs/requests?timeout=0", """{"payload":2}""", "k-2");
        Assert.Equal(HttpStatusCode.Accepted, request.StatusCode);
        using var send = await PostAsync(hub, "/v1/queues/jobs/messages", """{"payload":2}""", "k-2");
        await send.AssertProblemAsync((HttpStatusCode)422, "idempotency-key-reused", "k-2");

        // A retried request is still a replay: the same reply URL, and one request message in the queue.
        using var retried = await PostAsync(hub, "/v1/queues/jobs/requests?timeout=0", """{"payload":2}""", "k-2");
        Assert.Equal(HttpStatusCode.Accepted, retried.StatusCode);
        Assert.Equal(request.Headers.Location, retried.Headers.Location);
        using var reply = await hub.Http.GetAsync(retried.Headers.Location);
        Assert.Equal(HttpStatusCode.Accepted, reply.StatusCode); // pending, not 404
        var queue = await (await hub.Http.GetAsync("/v1/queues/jobs")).BodyAsync();
        Assert.Equal(2, queue.GetProperty("stats").GetProperty("ready").GetInt64()); // the send and the one request
    }

    [Theory]
    [InlineData("NaN", "is not a number")]
    [InlineData("-1", "cannot be negative")]
    public async Task A_request_timeout_that_is_not_a_count_of_seconds_says_what_it_is(string timeout, string says)
    {
        await using var hub = await TestHub.StartAsync();
        using var asked = await PostAsync(hub, $"/v1/queues/jobs/requests?timeout={timeout}", """{"payload":1}""", null);
        await asked.AssertProblemAsync(HttpStatusCode.BadRequest, "invalid-request", says);
    }

    [Fact]
    public async Task A_reply_stream_cut_by_a_drain_ends_without_saying_the_request_expired()
    {
        var hub = await TestHub.StartAsync(sqlite: true, settings: new Dictionary<string, string?> { ["Switchboard:Shutdown:DrainDelay"] = "1s" });
        try
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
            using var asked = await hub.Http.PostAsync("/v1/queues/rpc/requests?timeout=0", Json("""{"payload":1}"""), timeout.Token);
            Assert.Equal(HttpStatusCode.Accepted, asked.StatusCode);
            using var streamRequest = new HttpRequestMessage(HttpMethod.Get, asked.Headers.Location);
            streamRequest.Headers.Accept.ParseAdd("text/event-stream");
            using var stream = await hub.Http.SendAsync(streamRequest, HttpCompletionOption.ResponseHeadersRead, timeout.Token);
            using var reader = new StreamReader(await stream.Content.ReadAsStreamAsync(timeout.Token));
            Assert.Equal(": waiting for the reply", await reader.ReadLineAsync(timeout.Token));

            // The slot lives on for an hour (durably, here): the reply can still come and be fetched after a restart
            // or from another node. "expired" would tell the client to stop looking for it.
            var stopping = hub.StopAsync();
            var rest = await reader.ReadToEndAsync(timeout.Token);
            Assert.DoesNotContain("event: expired", rest, StringComparison.Ordinal);
            Assert.DoesNotContain("event: reply", rest, StringComparison.Ordinal);
            await stopping.WaitAsync(timeout.Token);
        }
        finally
        {
            await hub.DisposeAsync();
        }
    }

    [Fact]
    public async Task A_requester_waiting_when_the_hub_drains_is_told_it_is_shutting_down_not_that_its_wait_timed_out()
    {
        var hub = await TestHub.StartAsync(settings: new Dictionary<string, string?> { ["Switchboard:Shutdown:DrainDelay"] = "1s" });
        try
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
            using (var created = await hub.Http.PutAsync("/v1/queues/rpc", null, timeout.Token))
            {
                Assert.True(created.IsSuccessStatusCode);
            }
            var asking = hub.Http.PostAsync("/v1/queues/rpc/requests?timeout=30", Json("""{"payload":1}"""), timeout.Token);
            using var received = await hub.Http.PostAsync("/v1/queues/rpc/receive?wait=30", null, timeout.Token);
            var replyTo = (await received.BodyAsync()).GetProperty("messages")[0].GetProperty("replyTo").GetString();

            // 25 s of the wait are left: a 504 "no reply came within 30s" would be untrue, and would not say to retry.
            var stopping = hub.StopAsync();
            using var asked = await asking;
            var problem = await asked.AssertProblemAsync(HttpStatusCode.ServiceUnavailable, "shutting-down", replyTo!);
            Assert.Equal(replyTo, problem.GetProperty("replyId").GetString()); // where to fetch the reply later
            await stopping.WaitAsync(timeout.Token);
        }
        finally
        {
            await hub.DisposeAsync();
        }
    }

    private static async Task<HttpResponseMessage> PostAsync(TestHub hub, string path, string json, string? idempotencyKey)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = Json(json) };
        if (idempotencyKey is not null)
        {
            request.Headers.Add("Idempotency-Key", idempotencyKey);
        }
        return await hub.Http.SendAsync(request);
    }
}
