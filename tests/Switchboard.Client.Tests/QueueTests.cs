using System.Net;
using System.Text;

namespace Switchboard.Client.Tests;

/// <summary>
/// Queues as a user drives them through the client: send, receive, ack; nack until the dead letters, and back out of
/// them; a consumer's prefetch window as the hub sees it; request/reply with responders that answer or throw.
/// Queues go over REST whatever transport carries the topics, so these run over the default transport only.
/// </summary>
public sealed class QueueTests(MemoryHub fixture) : IClassFixture<MemoryHub>, IAsyncLifetime
{
    private readonly TestHub _hub = fixture.Hub;
    private SwitchboardClient _client = null!;

    public async Task InitializeAsync() => _client = await Tests.ConnectAsync(_hub.Address, Transports.All[0]);

    public async Task DisposeAsync() => await _client.DisposeAsync();

    public sealed record Job(int N, string Text);

    /// <summary>Creates a queue with these attempts and a 1 s backoff (the client sends, receives and settles; the hub's admin API sets queues up).</summary>
    private async Task<string> QueueAsync(string prefix, int maxAttempts = 10)
    {
        var queue = Tests.Name(prefix);
        using var body = new StringContent("{\"maxAttempts\":" + maxAttempts + ",\"backoff\":{\"initial\":\"1s\",\"max\":\"1s\"}}", Encoding.UTF8, "application/json");
        using var created = await _hub.Http.PutAsync($"/v1/queues/{queue}", body);
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        return queue;
    }

    [Fact]
    public async Task Send_receive_and_ack_carry_payload_headers_and_key_and_remove_the_message()
    {
        var queue = await QueueAsync("q.basic");
        var sent = await _client.SendAsync(queue, new Job(1, "hello"), new SendOptions { Key = "job-1", Headers = new Dictionary<string, string> { ["tenant"] = "acme" } });
        Assert.Equal(queue, sent.Queue);

        var message = Assert.Single(await _client.ReceiveAsync(queue, new ReceiveOptions { Max = 10, Wait = TimeSpan.FromSeconds(5) }));

        Assert.Equal((sent.Id, 1, "job-1", "acme"), (message.Id, message.Attempts, message.Key, message.Headers["tenant"]));
        Assert.Equal(new Job(1, "hello"), message.GetPayload<Job>());
        Assert.False(string.IsNullOrEmpty(message.Lease));
        Assert.True(message.LeaseExpiresAt > DateTimeOffset.UtcNow);
        Assert.Equal(1, (await Tests.QueueStatsAsync(_hub.Http, queue)).GetProperty("leased").GetInt32());
        var leasedUntil = message.LeaseExpiresAt;
        await message.ExtendAsync(TimeSpan.FromMinutes(10));
        Assert.True(message.LeaseExpiresAt > leasedUntil + TimeSpan.FromMinutes(9), $"extended to {message.LeaseExpiresAt:O} from {leasedUntil:O}");
        await message.AckAsync();
        var stats = await Tests.QueueStatsAsync(_hub.Http, queue);
        Assert.Equal((0, 0), (stats.GetProperty("ready").GetInt32(), stats.GetProperty("leased").GetInt32()));
        Assert.Empty(await _client.ReceiveAsync(queue));
        // Settling again with a lease that is gone is refused with the hub's reason, not swallowed.
        var again = await Assert.ThrowsAsync<SwitchboardException>(() => message.AckAsync());
        Assert.Contains(again.Code, new[] { "message-not-found", "lease-mismatch", "lease-expired" });
    }

    [Fact]
    public async Task A_waiting_receive_is_answered_by_a_send_made_after_it_started()
    {
        var queue = await QueueAsync("q.wait");
        var receiving = _client.ReceiveAsync(queue, new ReceiveOptions { Wait = TimeSpan.FromSeconds(15) });
        await _client.SendAsync(queue, Payload.Text("late", "text/plain"));

        var message = Assert.Single(await receiving.WaitAsync(Tests.Limit));
        Assert.Equal(("late", "text/plain"), (message.Payload.ToString(), message.Payload.ContentType));
        await message.AckAsync();
    }

    [Fact]
    public async Task Nacked_maxAttempts_times_a_message_is_dead_lettered_with_why_and_can_be_redriven_or_purged()
    {
        var queue = await QueueAsync("q.dead", maxAttempts: 3);
        var sent = await _client.SendAsync(queue, new Job(7, "doomed"), new SendOptions { Headers = new Dictionary<string, string> { ["h"] = "v" } });

        for (var attempt = 1; attempt <= 3; attempt++)
        {
            var delivery = Assert.Single(await _client.ReceiveAsync(queue, new ReceiveOptions { Wait = TimeSpan.FromSeconds(10) }));
            Assert.Equal((sent.Id, attempt), (delivery.Id, delivery.Attempts));
            Assert.Equal(attempt == 3, await delivery.NackAsync(TimeSpan.Zero, $"smtp down #{attempt}")); // true: this nack dead-lettered it
        }

        var page = await _client.GetDeadLettersAsync(queue);
        var letter = Assert.Single(page.Messages);
        Assert.Equal((sent.Id, 3, "nacked", "smtp down #3"), (letter.Id, letter.Attempts, letter.Reason, letter.LastError));
        Assert.Equal("""{"n":7,"text":"doomed"}""", letter.Payload.ToString());
        Assert.Equal("v", letter.Headers["h"]);
        Assert.NotNull(letter.DeadAt);
        Assert.Null(page.Next);
        Assert.Empty(await _client.ReceiveAsync(queue));
        Assert.Equal(1, (await Tests.QueueStatsAsync(_hub.Http, queue)).GetProperty("dead").GetInt32());

        // Redrive one by id: it is delivered again.
        Assert.Equal(1, await _client.RedriveAsync(queue, letter.Id));
        var back = Assert.Single(await _client.ReceiveAsync(queue, new ReceiveOptions { Wait = TimeSpan.FromSeconds(10) }));
        Assert.Equal(sent.Id, back.Id);
        await back.AckAsync();

        // Three more die at once (maxAttempts reached by each); redrive them all, let them die again, purge.
        await KillAsync(queue, 3, 3);
        Assert.Equal(3, (await _client.GetDeadLettersAsync(queue)).Messages.Count);
        Assert.Equal(3, await _client.RedriveAsync(queue));
        Assert.Empty((await _client.GetDeadLettersAsync(queue)).Messages);
        await KillAsync(queue, 3, 3, send: false);
        Assert.Equal(3, await _client.PurgeDeadLettersAsync(queue));
        Assert.Empty((await _client.GetDeadLettersAsync(queue)).Messages);
        var stats = await Tests.QueueStatsAsync(_hub.Http, queue);
        Assert.Equal((0, 0, 0), (stats.GetProperty("ready").GetInt32(), stats.GetProperty("leased").GetInt32(), stats.GetProperty("dead").GetInt32()));
        Assert.Equal("queue-not-found", (await Assert.ThrowsAsync<SwitchboardException>(() => _client.GetDeadLettersAsync(Tests.Name("q.none")))).Code);
    }

    /// <summary>Sends <paramref name="count"/> messages (unless they are there already) and nacks each until it is dead.</summary>
    private async Task KillAsync(string queue, int count, int maxAttempts, bool send = true)
    {
        for (var i = 0; send && i < count; i++)
        {
            await _client.SendAsync(queue, i);
        }
        for (var round = 0; round < count * maxAttempts; round++)
        {
            var batch = await _client.ReceiveAsync(queue, new ReceiveOptions { Max = count, Wait = TimeSpan.FromSeconds(5) });
            foreach (var message in batch)
            {
                await message.NackAsync(TimeSpan.Zero, "again");
            }
            if ((await Tests.QueueStatsAsync(_hub.Http, queue)).GetProperty("dead").GetInt32() == count)
            {
                return;
            }
        }
        Assert.Fail($"{count} messages of {queue} were not dead after {count * maxAttempts} rounds of nacks");
    }

    [Fact]
    public async Task ConsumeAsync_never_holds_more_than_Prefetch_unsettled_messages_and_gets_every_message_once()
    {
        const int Total = 30, Prefetch = 4;
        var queue = await QueueAsync("q.consume");
        for (var n = 1; n <= Total; n++)
        {
            await _client.SendAsync(queue, n);
        }
        using var stop = new CancellationTokenSource(Tests.Limit);
        var held = new Queue<QueueMessage>();
        var got = new List<int>();
        var maxLeased = 0;
        await using var consumer = _client.ConsumeAsync(queue, new ConsumeOptions { Prefetch = Prefetch, Wait = TimeSpan.FromSeconds(1) }, stop.Token).GetAsyncEnumerator(stop.Token);
        for (var step = 0; got.Count < Total && step < Total * 3; step++)
        {
            var next = consumer.MoveNextAsync().AsTask();
            if (held.Count == Prefetch)
            {
                // The window is full: the next message must wait for a settle. Watch the hub a little while it waits.
                for (var look = 0; look < 5; look++)
                {
                    Assert.Equal(Prefetch, (await Tests.QueueStatsAsync(_hub.Http, queue)).GetProperty("leased").GetInt32());
                    Assert.False(next.IsCompleted, $"a message came with {Prefetch} unsettled");
                    await Task.Delay(20); // no signal exists for "nothing arrived": a short, bounded look
                }
                // Settle the oldest: message 2 is nacked once (it comes back later), the rest acked.
                var oldest = held.Dequeue();
                if (oldest.GetPayload<int>() == 2 && oldest.Attempts == 1)
                {
                    await oldest.NackAsync(TimeSpan.Zero, "try later");
                    got.Remove(2);
                }
                else
                {
                    await oldest.AckAsync();
                }
            }
            Assert.True(await next.WaitAsync(Tests.Limit), "the consumer ended early");
            got.Add(consumer.Current.GetPayload<int>());
            held.Enqueue(consumer.Current);
            maxLeased = Math.Max(maxLeased, (await Tests.QueueStatsAsync(_hub.Http, queue)).GetProperty("leased").GetInt32());
        }
        foreach (var message in held)
        {
            await message.AckAsync();
        }

        Assert.InRange(maxLeased, 1, Prefetch);
        Assert.Equal(Enumerable.Range(1, Total), got.Order());
        var stats = await Tests.QueueStatsAsync(_hub.Http, queue);
        Assert.Equal((0, 0), (stats.GetProperty("ready").GetInt32(), stats.GetProperty("leased").GetInt32()));
    }

    [Fact]
    public async Task RequestAsync_gets_each_requests_own_reply_from_a_responder()
    {
        var queue = await QueueAsync("q.rpc");
        var seenHeaders = new Inbox<string>();
        await using var responder = _client.Respond(queue, (request, _) =>
        {
            seenHeaders.Add(request.Headers.TryGetValue("caller", out var caller) ? caller : "none");
            Assert.NotNull(request.ReplyTo);
            return Task.FromResult(new Job(request.GetPayload<Job>()!.N * 2, "done"));
        }, new RespondOptions { Concurrency = 2, Wait = TimeSpan.FromSeconds(2) });

        var replies = await Task.WhenAll(Enumerable.Range(1, 8).Select(n => _client.RequestAsync(queue, new Job(n, "ask"),
            new RequestOptions { Timeout = Tests.Limit, Headers = new Dictionary<string, string> { ["caller"] = $"c{n}" } })));

        Assert.Equal(Enumerable.Range(1, 8).Select(n => new Job(n * 2, "done")), replies.Select(r => r.GetPayload<Job>()));
        Assert.All(replies, r => Assert.Equal(queue, r.Queue));
        Assert.Equal(Enumerable.Range(1, 8).Select(n => $"c{n}").Order(), (await seenHeaders.CountAsync(8)).Order());
        var stats = await Tests.QueueStatsAsync(_hub.Http, queue);
        Assert.Equal((0, 0), (stats.GetProperty("ready").GetInt32(), stats.GetProperty("leased").GetInt32())); // each reply acked its request
    }

    [Fact]
    public async Task The_same_idempotency_key_sends_once_and_asks_once()
    {
        var queue = await QueueAsync("q.idem");
        var key = Guid.NewGuid().ToString("N");
        var first = await _client.SendAsync(queue, "once", new SendOptions { IdempotencyKey = key });
        var again = await _client.SendAsync(queue, "once", new SendOptions { IdempotencyKey = key });
        Assert.Equal(first.Id, again.Id);
        Assert.Equal(1, (await Tests.QueueStatsAsync(_hub.Http, queue)).GetProperty("ready").GetInt32());

        var rpc = await QueueAsync("q.idem-rpc");
        var calls = 0;
        await using var responder = _client.Respond(rpc, (_, _) => Task.FromResult(Interlocked.Increment(ref calls)), new RespondOptions { Wait = TimeSpan.FromSeconds(2) });
        var requestKey = Guid.NewGuid().ToString("N");
        var reply = await _client.RequestAsync(rpc, "ask", new RequestOptions { IdempotencyKey = requestKey, Timeout = Tests.Limit });
        var replayed = await _client.RequestAsync(rpc, "ask", new RequestOptions { IdempotencyKey = requestKey, Timeout = Tests.Limit });
        Assert.Equal((reply.Id, 1), (replayed.Id, replayed.GetPayload<int>()));
        Assert.Equal(1, Volatile.Read(ref calls));
    }

    [Fact]
    public async Task A_responder_that_throws_nacks_the_request_with_its_message_and_the_requester_times_out()
    {
        var queue = await QueueAsync("q.throws", maxAttempts: 1);
        var calls = new Inbox<long>();
        await using var responder = _client.Respond<string>(queue, (request, _) =>
        {
            calls.Add(request.Id);
            throw new InvalidOperationException("boom: no price for A-1");
        }, new RespondOptions { Wait = TimeSpan.FromSeconds(2) });

        var error = await Assert.ThrowsAsync<SwitchboardException>(() => _client.RequestAsync(queue, "A-1", new RequestOptions { Timeout = TimeSpan.FromSeconds(2) }).WaitAsync(Tests.Limit));

        Assert.Equal(ClientErrorCodes.Timeout, error.Code);
        await calls.CountAsync(1);
        var letter = Assert.Single((await _client.GetDeadLettersAsync(queue)).Messages);
        Assert.Equal(("nacked", "boom: no price for A-1"), (letter.Reason, letter.LastError));
    }

    [Fact]
    public async Task Stopping_a_responder_or_disposing_the_client_ends_its_long_poll_at_once_and_later_requests_are_left_for_others()
    {
        var queue = await QueueAsync("q.stop");
        var client = await Tests.ConnectAsync(_hub.Address, Transports.All[0]);
        var stopped = client.Respond(queue, (_, _) => Task.FromResult("stopped responder"), new RespondOptions { Wait = TimeSpan.FromSeconds(30) });
        var disposed = client.Respond(queue + "-2", (_, _) => Task.FromResult("disposed responder"), new RespondOptions { Wait = TimeSpan.FromSeconds(30) });
        Assert.Equal("stopped responder", (await _client.RequestAsync(queue, 1, new RequestOptions { Timeout = Tests.Limit })).GetPayload<string>());

        var clock = System.Diagnostics.Stopwatch.StartNew();
        await stopped.StopAsync().WaitAsync(Tests.Limit);
        await client.DisposeAsync().AsTask().WaitAsync(Tests.Limit);

        Assert.InRange(clock.Elapsed, TimeSpan.Zero, TimeSpan.FromSeconds(10)); // not the 30 s long polls
        Assert.Equal(ClientErrorCodes.Timeout, (await Assert.ThrowsAsync<SwitchboardException>(() => _client.RequestAsync(queue, 2, new RequestOptions { Timeout = TimeSpan.FromSeconds(1) }))).Code);
        // The request is still in the queue for others. Known hub behaviour: when the stopped responder's long poll was
        // cut at the moment a send arrived, the hub can hand the message to that abandoned receive (leased until the
        // lease runs out, then delivered again) — so it counts as ready or leased, never consumed or lost.
        var stats = await Tests.QueueStatsAsync(_hub.Http, queue);
        Assert.Equal(1, stats.GetProperty("ready").GetInt32() + stats.GetProperty("leased").GetInt32());
        await disposed.StopAsync(); // after the client closed: harmless
    }

    [Fact]
    public async Task RequestAsync_with_nobody_answering_fails_with_timeout_when_its_timeout_is_up()
    {
        var queue = await QueueAsync("q.nobody");
        var started = DateTime.UtcNow;

        var error = await Assert.ThrowsAsync<SwitchboardException>(() => _client.RequestAsync(queue, 1, new RequestOptions { Timeout = TimeSpan.FromSeconds(1) }).WaitAsync(Tests.Limit));

        Assert.Equal(ClientErrorCodes.Timeout, error.Code);
        Assert.InRange(DateTime.UtcNow - started, TimeSpan.FromSeconds(0.9), TimeSpan.FromSeconds(10));
        // The request stays in the queue for a responder that comes later; nothing was lost.
        Assert.Equal(1, (await Tests.QueueStatsAsync(_hub.Http, queue)).GetProperty("ready").GetInt32());
    }
}
