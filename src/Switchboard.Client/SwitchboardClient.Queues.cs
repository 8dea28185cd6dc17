using System.Globalization;
using System.Net;
using System.Runtime.CompilerServices;
using System.Text.Json;

namespace Switchboard.Client;

/// <summary>Queues, dead letters and request/reply, over REST whatever transport carries the topics (docs/queues.md).</summary>
public sealed partial class SwitchboardClient
{
    // The hub holds a long poll (receive wait, reply wait) for at most 60 s.
    private static readonly TimeSpan MaxWait = TimeSpan.FromSeconds(60);
    private readonly HashSet<Responder> _responders = [];

    /// <summary>Sends a message to a queue; returns once it is durable. Retried across connection failures with its idempotency key.</summary>
    public async Task<SentMessage> SendAsync<T>(string queue, T payload, SendOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(queue);
        var body = Wire.Object(w => Wire.WriteEnvelope(w, Payload.From(payload, Options.JsonSerializerOptions), options?.Key, options?.Headers));
        var key = options?.IdempotencyKey ?? NewKey();
        var answer = await RetryingAsync($"send to {queue}", (_, ct) => Http.JsonAsync(HttpMethod.Post, $"/v1/queues/{HubHttp.Segment(queue)}/messages",
            [new("delay", options?.Delay is { } delay ? Wire.Seconds(delay) : null)], body, [new("Idempotency-Key", key)], cancellationToken: ct), Options.PublishTimeout, cancellationToken);
        return new SentMessage(queue, Id(answer.Body.GetProperty("id")));
    }

    /// <summary>Leases up to <see cref="ReceiveOptions.Max"/> messages, waiting up to <see cref="ReceiveOptions.Wait"/> for the first. May return none.</summary>
    public async Task<IReadOnlyList<QueueMessage>> ReceiveAsync(string queue, ReceiveOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(queue);
        options ??= new ReceiveOptions();
        if (options.Wait < TimeSpan.Zero || options.Wait > MaxWait)
        {
            throw new ArgumentOutOfRangeException(nameof(options), options.Wait, "ReceiveOptions.Wait must be between 0 and 60 seconds.");
        }
        var answer = await RetryingAsync($"receive from {queue}", (_, ct) => Http.JsonAsync(HttpMethod.Post, $"/v1/queues/{HubHttp.Segment(queue)}/receive",
            [new("max", options.Max.ToString(CultureInfo.InvariantCulture)), new("wait", Wire.Seconds(options.Wait)),
             new("lease", options.Lease is { } lease ? Wire.Seconds(lease) : null)], cancellationToken: ct),
            Options.PublishTimeout + options.Wait, cancellationToken);
        return [.. answer.Body.GetProperty("messages").EnumerateArray().Select(m => Leased(queue, m))];
    }

    /// <summary>
    /// Consumes a queue: yields messages as they come, keeping at most <see cref="ConsumeOptions.Prefetch"/> leased and
    /// unsettled at once (settle each with ack or nack). Ends when <paramref name="cancellationToken"/> is cancelled or the client closes.
    /// </summary>
    public async IAsyncEnumerable<QueueMessage> ConsumeAsync(string queue, ConsumeOptions? options = null, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        options ??= new ConsumeOptions();
        ArgumentOutOfRangeException.ThrowIfLessThan(options.Prefetch, 1);
        using var credits = new SemaphoreSlim(options.Prefetch, options.Prefetch);
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _closing.Token);
        var disposed = 0;
        try
        {
        while (!stop.IsCancellationRequested)
        {
            try
            {
                await credits.WaitAsync(stop.Token);
            }
            catch (OperationCanceledException)
            {
                yield break;
            }
            var free = 1;
            while (credits.Wait(0, CancellationToken.None))
            {
                free++;
            }
            IReadOnlyList<QueueMessage> messages;
            try
            {
                messages = await ReceiveAsync(queue, new ReceiveOptions { Max = free, Wait = options.Wait, Lease = options.Lease }, stop.Token);
            }
            catch (OperationCanceledException)
            {
                yield break;
            }
            if (messages.Count < free)
            {
                credits.Release(free - messages.Count);
            }
            foreach (var message in messages)
            {
                message.OnSettled = () =>
                {
                    if (Volatile.Read(ref disposed) == 0)
                    {
                        credits.Release();
                    }
                };
                yield return message;
            }
        }
        }
        finally
        {
            // Messages still unsettled when the consumer stops settle later without a window to free.
            Volatile.Write(ref disposed, 1);
        }
    }

    /// <summary>
    /// Sends a request to a queue's responders and returns the reply; <c>timeout</c> (504) when none came within
    /// <see cref="RequestOptions.Timeout"/>. Retried across connection failures with its idempotency key (a retry gets the same reply).
    /// </summary>
    public async Task<Reply> RequestAsync<T>(string queue, T payload, RequestOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(queue);
        options ??= new RequestOptions();
        var timeout = options.Timeout;
        var body = Wire.Object(w => Wire.WriteEnvelope(w, Payload.From(payload, Options.JsonSerializerOptions), null, options.Headers));
        var key = options.IdempotencyKey ?? NewKey();
        var deadline = DateTimeOffset.UtcNow + timeout;
        var (_, slot) = await RetryingAsync($"request to {queue}", (_, ct) => Http.JsonAsync(HttpMethod.Post, $"/v1/queues/{HubHttp.Segment(queue)}/requests",
            [new("timeout", Wire.Seconds(timeout <= MaxWait ? timeout : TimeSpan.Zero))], body, [new("Idempotency-Key", key)], cancellationToken: ct),
            timeout + TimeSpan.FromSeconds(10), cancellationToken);
        // 202: the hub answered "pending" (a wait past its limit, or a retried request): long-poll the reply.
        while (Wire.String(slot, "status") != "replied")
        {
            var left = deadline - DateTimeOffset.UtcNow;
            var id = Wire.String(slot, "id")!;
            if (left <= TimeSpan.Zero)
            {
                throw new SwitchboardException(ClientErrorCodes.Timeout, $"No reply came within {timeout.TotalSeconds:0.#} s (request {id}).") { Status = 504 };
            }
            (_, slot) = await RetryingAsync($"reply {id}", (_, ct) => Http.JsonAsync(HttpMethod.Get, $"/v1/replies/{HubHttp.Segment(id)}",
                [new("wait", Math.Ceiling(Math.Min(MaxWait.TotalSeconds, left.TotalSeconds)).ToString(CultureInfo.InvariantCulture))], cancellationToken: ct),
                MaxWait + TimeSpan.FromSeconds(10), cancellationToken);
        }
        return new Reply
        {
            Id = Wire.String(slot, "id")!,
            Queue = queue,
            RepliedAt = slot.TryGetProperty("repliedAt", out var at) ? at.GetDateTimeOffset() : default,
            Headers = Wire.ReadHeaders(slot),
            Payload = Wire.ReadPayload(slot),
            JsonOptions = Options.JsonSerializerOptions,
        };
    }

    /// <summary>
    /// Answers requests on a queue: <paramref name="handler"/> returns the reply payload (through <see cref="Payload.From{T}"/>).
    /// The reply acks the request in the same step; a handler that throws nacks it with the exception's message
    /// (delivered again with backoff, dead-lettered after the queue's maxAttempts). Plain messages (no reply wanted) are acked.
    /// </summary>
    public Responder Respond<TReply>(string queue, Func<QueueMessage, CancellationToken, Task<TReply>> handler, RespondOptions? options = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(queue);
        ArgumentNullException.ThrowIfNull(handler);
        options ??= new RespondOptions();
        ArgumentOutOfRangeException.ThrowIfLessThan(options.Concurrency, 1);
        EnsureStarted();
        var stop = CancellationTokenSource.CreateLinkedTokenSource(_closing.Token);
        var responder = new Responder(stop, r =>
        {
            lock (_lock)
            {
                _responders.Remove(r);
            }
        });
        lock (_lock)
        {
            _responders.Add(responder);
        }
        responder.Loop = Task.Run(() => RespondLoopAsync(queue, handler, options, stop.Token));
        return responder;
    }

    private async Task RespondLoopAsync<TReply>(string queue, Func<QueueMessage, CancellationToken, Task<TReply>> handler, RespondOptions options, CancellationToken stop)
    {
        var running = new List<Task>();
        var consume = new ConsumeOptions { Prefetch = options.Concurrency, Lease = options.Lease, Wait = options.Wait };
        for (var failures = 0; !stop.IsCancellationRequested; failures++)
        {
            try
            {
                await foreach (var message in ConsumeAsync(queue, consume, stop))
                {
                    failures = 0;
                    running.RemoveAll(t => t.IsCompleted);
                    running.Add(AnswerAsync(message, handler, stop));
                }
            }
            catch (SwitchboardException error)
            {
                ReportError(error);
                try
                {
                    await Task.Delay(Backoff.Delay(failures, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(10)), stop);
                }
                catch (OperationCanceledException)
                {
                    break;
                }
            }
        }
        await Task.WhenAll(running);
    }

    private async Task AnswerAsync<TReply>(QueueMessage message, Func<QueueMessage, CancellationToken, Task<TReply>> handler, CancellationToken stop)
    {
        TReply reply;
        try
        {
            reply = await handler(message, stop);
        }
        catch (Exception ex)
        {
            try
            {
                await message.NackAsync(error: ex.Message, cancellationToken: CancellationToken.None);
            }
            catch (SwitchboardException error)
            {
                ReportError(error);
            }
            catch (OperationCanceledException)
            {
                // the client closed: the request's lease runs out and it is delivered again
            }
            return;
        }
        try
        {
            if (message.ReplyTo is null)
            {
                await message.AckAsync(CancellationToken.None); // a plain queue message: nobody waits for an answer
                return;
            }
            var body = Wire.Object(w => Wire.WriteEnvelope(w, Payload.From(reply, Options.JsonSerializerOptions), null, null));
            await RetryingAsync($"reply to {message.ReplyTo}", (_, ct) => Http.JsonAsync(HttpMethod.Post, $"/v1/replies/{HubHttp.Segment(message.ReplyTo)}",
                [new("lease", message.Lease)], body, cancellationToken: ct), Options.PublishTimeout, _closing.Token);
            message.Settled();
        }
        catch (SwitchboardException error)
        {
            message.Settled();
            ReportError(error);
        }
        catch (OperationCanceledException)
        {
            message.Settled(); // the client closed: the request's lease runs out and it is delivered again
        }
    }

    /// <summary>One page of a queue's dead letters, oldest first, each with its reason and last error.</summary>
    public async Task<DeadLetterPage> GetDeadLettersAsync(string queue, string? after = null, int limit = 100, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(queue);
        var (_, page) = await Http.JsonAsync(HttpMethod.Get, $"/v1/queues/{HubHttp.Segment(queue)}/dead-letters",
            [new("after", after), new("limit", limit.ToString(CultureInfo.InvariantCulture))], cancellationToken: cancellationToken);
        var letters = page.GetProperty("messages").EnumerateArray().Select(m => new DeadLetter
        {
            Id = Id(m.GetProperty("id")),
            Attempts = m.TryGetProperty("attempts", out var attempts) ? attempts.GetInt32() : 0,
            Reason = Wire.String(m, "reason"),
            LastError = Wire.String(m, "lastError"),
            DeadAt = m.TryGetProperty("deadAt", out var deadAt) ? deadAt.GetDateTimeOffset() : null,
            EnqueuedAt = m.TryGetProperty("enqueuedAt", out var enqueued) ? enqueued.GetDateTimeOffset() : default,
            Headers = Wire.ReadHeaders(m),
            Payload = Wire.ReadPayload(m),
        }).ToList();
        return new DeadLetterPage(letters, Wire.String(page, "next"));
    }

    /// <summary>Puts one dead letter (by id) or all of them (<paramref name="id"/> null) back into the queue; returns how many.</summary>
    public async Task<int> RedriveAsync(string queue, long? id = null, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(queue);
        var path = id is { } one ? $"/v1/queues/{HubHttp.Segment(queue)}/dead-letters/{one}/redrive" : $"/v1/queues/{HubHttp.Segment(queue)}/dead-letters/redrive";
        var (_, answer) = await Http.JsonAsync(HttpMethod.Post, path, cancellationToken: cancellationToken);
        return answer.GetProperty("redriven").GetInt32();
    }

    /// <summary>Deletes every dead letter of a queue; returns how many.</summary>
    public async Task<int> PurgeDeadLettersAsync(string queue, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(queue);
        var (_, answer) = await Http.JsonAsync(HttpMethod.Post, $"/v1/queues/{HubHttp.Segment(queue)}/dead-letters/purge", cancellationToken: cancellationToken);
        return answer.GetProperty("purged").GetInt32();
    }

    /// <summary>
    /// Acks received messages of one queue in one request per thousand, instead of one per message. Each ack stands alone:
    /// returns the messages that were not acked, each with why (a lease that ran out or was replaced: the message will be
    /// delivered again); empty when every message was acked.
    /// </summary>
    public async Task<IReadOnlyList<AckFailure>> AckAsync(IReadOnlyList<QueueMessage> messages, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(messages);
        if (messages.Select(m => m.Queue).Distinct(StringComparer.Ordinal).Skip(1).Any())
        {
            throw new ArgumentException("Ack the messages of one queue at a time.", nameof(messages));
        }
        var ids = new HashSet<long>(messages.Count);
        foreach (var message in messages)
        {
            if (!ids.Add(message.Id))
            {
                throw new ArgumentException($"Message {message.Id} is in the list twice; ack each message once.", nameof(messages));
            }
        }
        var failures = new List<AckFailure>();
        foreach (var chunk in messages.Chunk(1000))
        {
            var byId = chunk.ToDictionary(m => m.Id);
            var body = Wire.Object(w =>
            {
                w.WriteStartArray("messages");
                foreach (var message in chunk)
                {
                    w.WriteStartObject();
                    w.WriteNumber("id", message.Id);
                    w.WriteString("lease", message.Lease);
                    w.WriteEndObject();
                }
                w.WriteEndArray();
            });
            var path = $"/v1/queues/{HubHttp.Segment(chunk[0].Queue)}/ack";
            var tries = 0;
            try
            {
                var (_, answer) = await RetryingAsync($"ack of {chunk.Length} messages in {chunk[0].Queue}", (attempt, ct) =>
                {
                    tries = attempt;
                    return Http.JsonAsync(HttpMethod.Post, path, body: body, cancellationToken: ct);
                }, Options.PublishTimeout, cancellationToken);
                foreach (var failed in answer.GetProperty("failed").EnumerateArray())
                {
                    var code = failed.GetProperty("code").GetString() ?? ClientErrorCodes.Internal;
                    if (tries > 0 && code == "message-not-found")
                    {
                        continue; // retried after no answer came: the first try deleted it
                    }
                    failures.Add(new AckFailure(byId[failed.GetProperty("id").GetInt64()],
                        new SwitchboardException(code, failed.GetProperty("detail").GetString() ?? code) { Status = failed.GetProperty("status").GetInt32() }));
                }
            }
            finally
            {
                foreach (var message in chunk)
                {
                    message.Settled();
                }
            }
        }
        return failures;
    }

    internal async Task<JsonElement> SettleAsync(QueueMessage message, string action, Action<Utf8JsonWriter>? fields, CancellationToken cancellationToken)
    {
        var body = Wire.Object(w =>
        {
            w.WriteString("lease", message.Lease);
            fields?.Invoke(w);
        });
        var path = $"/v1/queues/{HubHttp.Segment(message.Queue)}/messages/{message.Id}/{action}";
        try
        {
            var answer = await RetryingAsync($"{action} of message {message.Id} in {message.Queue}", async (tries, ct) =>
            {
                try
                {
                    return await Http.JsonAsync(HttpMethod.Post, path, body: body, cancellationToken: ct);
                }
                catch (SwitchboardException error) when (tries > 0 && action == "ack" && error.Code == "message-not-found")
                {
                    return (HttpStatusCode.NoContent, default); // retried after no answer came: the first try deleted it
                }
            }, Options.PublishTimeout, cancellationToken);
            if (action == "extend" && answer.Body.ValueKind == JsonValueKind.Object && answer.Body.TryGetProperty("leaseExpiresAt", out var expires))
            {
                message.LeaseExpiresAt = expires.GetDateTimeOffset();
            }
            return answer.Body;
        }
        finally
        {
            if (action != "extend")
            {
                message.Settled();
            }
        }
    }

    private QueueMessage Leased(string queue, JsonElement wire) => new(this)
    {
        Queue = queue,
        Id = Id(wire.GetProperty("id")),
        Lease = wire.GetProperty("lease").GetString()!,
        LeaseExpiresAt = wire.TryGetProperty("leaseExpiresAt", out var expires) ? expires.GetDateTimeOffset() : default,
        Attempts = wire.TryGetProperty("attempts", out var attempts) ? attempts.GetInt32() : 1,
        EnqueuedAt = wire.TryGetProperty("enqueuedAt", out var enqueued) ? enqueued.GetDateTimeOffset() : default,
        Headers = Wire.ReadHeaders(wire),
        Key = Wire.String(wire, "key"),
        Payload = Wire.ReadPayload(wire),
        ReplyTo = Wire.String(wire, "replyTo"),
        CorrelationId = Wire.String(wire, "correlationId"),
    };

    private static long Id(JsonElement id) => id.ValueKind == JsonValueKind.Number ? id.GetInt64() : long.Parse(id.GetString()!, CultureInfo.InvariantCulture);

    /// <summary>
    /// Calls <paramref name="attempt"/> until it succeeds, the hub refuses, or <paramref name="timeout"/> passes: a network
    /// failure or a 503/429 is tried again after a backoff (what is passed here is idempotent or carries an idempotency key).
    /// </summary>
    private async Task<TResult> RetryingAsync<TResult>(string what, Func<int, CancellationToken, Task<TResult>> attempt, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var deadline = DateTimeOffset.UtcNow + timeout;
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _closing.Token);
        if (State == ConnectionState.Closed)
        {
            throw SwitchboardException.Closed();
        }
        for (var tries = 0; ; tries++)
        {
            // Each try ends by the deadline too: a connection that went silent (half-open) never answers by itself.
            using var attemptToken = CancellationTokenSource.CreateLinkedTokenSource(linked.Token);
            attemptToken.CancelAfter(TimeSpan.FromTicks(Math.Max(1, (deadline - DateTimeOffset.UtcNow).Ticks)));
            try
            {
                return await attempt(tries, attemptToken.Token);
            }
            catch (OperationCanceledException ex) when (!linked.IsCancellationRequested)
            {
                throw new SwitchboardException(ClientErrorCodes.Timeout, $"{what} got no answer within {timeout.TotalSeconds:0.#} s; it may or may not have been done.", ex);
            }
            catch (SwitchboardException error) when (error.IsLost || (error.IsTransient && error.Code != "slow-consumer"))
            {
                var delay = error.RetryAfter ?? Backoff.Delay(tries, Options.ReconnectDelay, Options.MaxReconnectDelay);
                if (DateTimeOffset.UtcNow + delay > deadline)
                {
                    throw new SwitchboardException(ClientErrorCodes.Timeout, $"{what} did not succeed within {timeout.TotalSeconds:0.#} s: {error.Message}", error);
                }
                await Task.Delay(delay, linked.Token);
            }
        }
    }

    private async Task StopRespondersAsync()
    {
        Responder[] responders;
        lock (_lock)
        {
            responders = [.. _responders];
        }
        foreach (var responder in responders)
        {
            try
            {
                await responder.StopAsync();
            }
            catch (Exception ex) when (ex is SwitchboardException or OperationCanceledException)
            {
                // closing anyway
            }
        }
    }
}
