using System.Text.Json;

namespace Switchboard.Bench.Scenarios;

/// <summary>
/// The hub's durable queues over its REST API. Producers send one message per request (201 once it is stored);
/// consumers receive batches with a long poll (max=50, wait=5 s) and ack each batch in one request (POST /v1/queues/{q}/ack,
/// answered once the acks are durable) — a REST consumer's cheapest way, where AMQP sends each ack without an answer and
/// StackExchange.Redis pipelines each XACK over its one connection. Request/reply: requesters post to /requests and wait
/// for the reply; one responder receives the requests and posts each reply to /v1/replies/{replyTo}?lease=…, which acks the request with the reply — up to 50
/// replies in flight while it goes on receiving, as the gRPC and WebSocket responders do (and as RabbitMQ's responder
/// publishes its replies without waiting for them).
/// </summary>
internal sealed class HubQueuePeer(string label, HttpClient http) : IQueuePeer
{
    private const int Window = 50;
    private readonly HashSet<string> _created = [];

    public string Name => label;

    public async Task<Throughput> EndToEndAsync(string queue, int producers, int consumers, TimeSpan length)
    {
        await CreateAsync(queue);
        var run = new EndToEndRun();
        using var stop = new CancellationTokenSource();
        var consuming = Enumerable.Range(0, consumers).Select(_ => Task.Run(() => ConsumeAsync(queue, run, stop.Token))).ToList();
        try
        {
            await run.ProduceAsync(producers, length, (_, sequence) => SendAsync(queue, sequence));
            return await run.FinishAsync(Name, queue);
        }
        finally
        {
            // Every message is acked by now (or the run failed): what the consumers still wait for is an empty queue.
            await stop.CancelAsync();
            await Task.WhenAll(consuming);
        }
    }

    private async Task SendAsync(string queue, long sequence)
    {
        var path = $"/v1/queues/{queue}/messages";
        var body = "{\"payload\":" + QueuePayload.Json(sequence) + "}";
        using var response = await http.PostAsync(path, Load.Json(body));
        var text = await response.Content.ReadAsStringAsync();
        if ((int)response.StatusCode != 201)
        {
            throw Unexpected("POST", path, body, response, text, "201");
        }
        using var document = JsonDocument.Parse(text);
        if (!document.RootElement.TryGetProperty("id", out var id) || id.GetInt64() < 1)
        {
            throw Unexpected("POST", path, body, response, text, "201 with {\"queue\", \"id\"}");
        }
    }

    /// <summary>Receive, ack every message of the batch, again; until <paramref name="stop"/> (bounded in count too).</summary>
    private async Task ConsumeAsync(string queue, EndToEndRun run, CancellationToken stop)
    {
        try
        {
            for (var i = 0; i < Load.MaxOperations && !stop.IsCancellationRequested; i++)
            {
                using var batch = await ReceiveAsync(queue, Window, stop);
                var messages = batch.RootElement.GetProperty("messages");
                if (messages.GetArrayLength() == 0)
                {
                    continue;
                }
                var sequences = messages.EnumerateArray().Select(message => QueuePayload.TrySequence(message.GetProperty("payload"))
                    ?? throw new InvalidOperationException($"a message received from '{queue}' that is not one of the bench's: {message.GetRawText()}")).ToList();
                await AckAllAsync(queue, messages);
                foreach (var sequence in sequences)
                {
                    run.Acked(sequence);
                }
            }
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
            // the run is over: the long poll in flight is abandoned (the queue is empty)
        }
        catch (Exception ex)
        {
            run.Fail(ex);
        }
    }

    private async Task<JsonDocument> ReceiveAsync(string queue, int max, CancellationToken stop)
    {
        var path = $"/v1/queues/{queue}/receive?max={max}&wait=5&lease=60";
        using var response = await http.PostAsync(path, null, stop);
        var text = await response.Content.ReadAsStringAsync(stop);
        if ((int)response.StatusCode != 200)
        {
            throw Unexpected("POST", path, "", response, text, "200");
        }
        var document = JsonDocument.Parse(text);
        if (!document.RootElement.TryGetProperty("messages", out var messages) || messages.ValueKind != JsonValueKind.Array)
        {
            document.Dispose();
            throw Unexpected("POST", path, "", response, text, "200 with {\"messages\": [ … ]}");
        }
        return document;
    }

    /// <summary>Acks a received batch in one request; every message of it must be acked.</summary>
    private async Task AckAllAsync(string queue, JsonElement messages)
    {
        var path = $"/v1/queues/{queue}/ack";
        var body = "{\"messages\":[" + string.Join(",", messages.EnumerateArray().Select(m =>
            "{\"id\":" + m.GetProperty("id").GetInt64() + ",\"lease\":" + JsonSerializer.Serialize(m.GetProperty("lease").GetString()) + "}")) + "]}";
        using var response = await http.PostAsync(path, Load.Json(body));
        var text = await response.Content.ReadAsStringAsync();
        if ((int)response.StatusCode != 200)
        {
            throw Unexpected("POST", path, body, response, text, "200");
        }
        using var answer = JsonDocument.Parse(text);
        if (answer.RootElement.GetProperty("acked").GetArrayLength() != messages.GetArrayLength())
        {
            throw Unexpected("POST", path, body, response, text, "200 with every message acked");
        }
    }

    public async Task<Throughput> RequestReplyAsync(string queue, int requesters, TimeSpan length)
    {
        await CreateAsync(queue);
        using var stop = new CancellationTokenSource();
        long answered = 0;
        var responder = Task.Run(() => RespondAsync(queue, () => Interlocked.Increment(ref answered), stop.Token));
        long sequence = 0;
        var requesting = Load.RunAsync(requesters, length, async () =>
        {
            await RequestAsync(queue, Interlocked.Increment(ref sequence));
            return 1;
        });
        try
        {
            if (await Task.WhenAny(requesting, responder) == responder)
            {
                await responder; // it failed: its error, not the requesters' time-outs
                throw new InvalidOperationException($"the responder on '{queue}' stopped while requests were running");
            }
            var result = await requesting;
            // A reply can reach its requester before the responder's ack of the request is answered: wait for those acks.
            for (var i = 0; i < 600 && Interlocked.Read(ref answered) < result.Operations && !responder.IsCompleted; i++)
            {
                await Task.Delay(50);
            }
            if (Interlocked.Read(ref answered) != result.Operations)
            {
                throw new InvalidOperationException($"hub, queue '{queue}': {result.Operations:N0} requests got their replies but the responder acked {Interlocked.Read(ref answered):N0} of them");
            }
            return result;
        }
        finally
        {
            await stop.CancelAsync();
            await responder.WaitAsync(TimeSpan.FromSeconds(70));
        }
    }

    /// <summary>One request (its payload carries <paramref name="sequence"/>), waited on until its reply, which must echo it.</summary>
    internal async Task RequestAsync(string queue, long sequence)
    {
        var path = $"/v1/queues/{queue}/requests?timeout=30";
        var body = "{\"payload\":" + QueuePayload.Json(sequence) + "}";
        using var response = await http.PostAsync(path, Load.Json(body));
        var text = await response.Content.ReadAsStringAsync();
        if ((int)response.StatusCode != 200)
        {
            throw Unexpected("POST", path, body, response, text, "200 with the reply");
        }
        using var reply = JsonDocument.Parse(text);
        if (!reply.RootElement.TryGetProperty("payload", out var payload) || QueuePayload.TrySequence(payload) != sequence)
        {
            throw Unexpected("POST", path, body, response, text, $"200 with the reply to request {sequence} (its payload echoed)");
        }
    }

    /// <summary>
    /// The responder: receive requests, reply to each (the payload echoed, acking it), up to <see cref="Window"/> replies
    /// in flight while it receives more; until <paramref name="stop"/>.
    /// </summary>
    internal async Task RespondAsync(string queue, Action answered, CancellationToken stop)
    {
        var replying = new List<Task>();
        try
        {
            for (var i = 0; i < Load.MaxOperations && !stop.IsCancellationRequested; i++)
            {
                foreach (var failed in replying.Where(t => t.IsFaulted))
                {
                    await failed; // its error
                }
                replying.RemoveAll(t => t.IsCompleted);
                if (replying.Count >= Window)
                {
                    await Task.WhenAny(replying).WaitAsync(stop);
                    continue;
                }
                using var batch = await ReceiveAsync(queue, Window - replying.Count, stop);
                foreach (var message in batch.RootElement.GetProperty("messages").EnumerateArray())
                {
                    if (!message.TryGetProperty("replyTo", out var replyTo) || replyTo.GetString() is not { Length: > 0 } id)
                    {
                        throw new InvalidOperationException($"a request received from '{queue}' has no replyTo: {message.GetRawText()}");
                    }
                    // The request's lease on the reply acks the request in the same step (one call, one commit).
                    var path = $"/v1/replies/{Uri.EscapeDataString(id)}?lease={Uri.EscapeDataString(message.GetProperty("lease").GetString()!)}";
                    var body = "{\"payload\":" + message.GetProperty("payload").GetRawText() + "}";
                    replying.Add(ReplyAsync(path, body, answered));
                }
            }
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
            // the run is over: the long poll in flight is abandoned (no request is left)
        }
        await Task.WhenAll(replying); // every reply sent is answered (or its error is the run's)
    }

    private async Task ReplyAsync(string path, string body, Action answered)
    {
        using (var response = await http.PostAsync(path, Load.Json(body)))
        {
            if ((int)response.StatusCode != 204)
            {
                throw Unexpected("POST", path, body, response, await response.Content.ReadAsStringAsync(), "204");
            }
        }
        answered();
    }

    public async Task CheckEmptyAsync(string queue)
    {
        var path = $"/v1/queues/{queue}";
        using var response = await http.GetAsync(path);
        var text = await response.Content.ReadAsStringAsync();
        if ((int)response.StatusCode != 200)
        {
            throw Unexpected("GET", path, "", response, text, "200");
        }
        using var document = JsonDocument.Parse(text);
        var stats = document.RootElement.GetProperty("stats");
        if (stats.GetProperty("ready").GetInt64() != 0 || stats.GetProperty("leased").GetInt64() != 0
            || stats.GetProperty("delayed").GetInt64() != 0 || stats.GetProperty("dead").GetInt64() != 0)
        {
            throw new InvalidOperationException($"{Name}: queue '{queue}' should be empty after the run; GET {path} answered {text}");
        }
    }

    /// <summary>PUT the queue with its default settings (lease, attempts) once.</summary>
    internal async Task CreateAsync(string queue)
    {
        if (!_created.Add(queue))
        {
            return;
        }
        var path = $"/v1/queues/{queue}";
        using var response = await http.PutAsync(path, Load.Json("{}"));
        if ((int)response.StatusCode is not (200 or 201))
        {
            throw Unexpected("PUT", path, "{}", response, await response.Content.ReadAsStringAsync(), "201 or 200");
        }
    }

    private static InvalidOperationException Unexpected(string method, string path, string body, HttpResponseMessage response, string text, string expected)
        => new($"the hub's queue API: {method} {path}{(body.Length > 0 ? " " + Shorten(body) : "")} answered {(int)response.StatusCode} {Shorten(text)} (expected {expected})");

    private static string Shorten(string text) => text.Length <= 300 ? text : text[..300] + "…";
}
