using System.Text.Json;

namespace Switchboard.Client;

/// <summary>A queue message leased to this client: settle it with <see cref="AckAsync"/> or <see cref="NackAsync"/> before the lease expires, or it is delivered again.</summary>
public sealed class QueueMessage
{
    private readonly SwitchboardClient _client;
    private int _settled;

    internal QueueMessage(SwitchboardClient client) => _client = client;

    /// <summary>The queue.</summary>
    public required string Queue { get; init; }

    /// <summary>The message's id in its queue.</summary>
    public required long Id { get; init; }

    /// <summary>The lease token that settles it.</summary>
    public required string Lease { get; init; }

    /// <summary>When the lease ends (moved by <see cref="ExtendAsync"/>).</summary>
    public DateTimeOffset LeaseExpiresAt { get; internal set; }

    /// <summary>Deliveries so far, this one included.</summary>
    public int Attempts { get; init; }

    /// <summary>When it was sent.</summary>
    public DateTimeOffset EnqueuedAt { get; init; }

    /// <summary>Its headers (messages from a topic binding carry <c>sb-topic</c> and <c>sb-offset</c>).</summary>
    public IReadOnlyDictionary<string, string> Headers { get; init; } = Message.EmptyHeaders;

    /// <summary>Its key, when it has one.</summary>
    public string? Key { get; init; }

    /// <summary>The payload.</summary>
    public Payload Payload { get; init; }

    /// <summary>With a request: the reply id a responder answers.</summary>
    public string? ReplyTo { get; init; }

    /// <summary>With a request: the requester's correlation id, when it gave one.</summary>
    public string? CorrelationId { get; init; }

    /// <summary>The payload read as JSON.</summary>
    public T? GetPayload<T>() => Payload.Deserialize<T>(_client.Options.JsonSerializerOptions);

    /// <summary>Released when the message is settled (a consumer's prefetch window counts it until then).</summary>
    internal Action? OnSettled { get; set; }

    internal void Settled()
    {
        if (Interlocked.Exchange(ref _settled, 1) == 0)
        {
            OnSettled?.Invoke();
        }
    }

    /// <summary>Done: the message is deleted.</summary>
    /// <exception cref="SwitchboardException"><c>lease-mismatch</c> / <c>lease-expired</c> (409) when the lease is no longer this client's.</exception>
    public Task AckAsync(CancellationToken cancellationToken = default) => _client.SettleAsync(this, "ack", null, cancellationToken);

    /// <summary>Gives it back, to be delivered again after <paramref name="delay"/> (default: the queue's backoff); on its last attempt it moves to the dead letters with <paramref name="error"/>.</summary>
    /// <returns>True when this nack moved the message to the dead letters (it was its last attempt).</returns>
    public async Task<bool> NackAsync(TimeSpan? delay = null, string? error = null, CancellationToken cancellationToken = default)
    {
        var answer = await _client.SettleAsync(this, "nack", w =>
        {
            if (delay is { } d)
            {
                w.WriteNumber("delay", d.TotalSeconds); // a JSON number: the hub reads a string only as a duration text ("30s")
            }
            if (error is not null)
            {
                w.WriteString("error", error.Length > 1000 ? error[..1000] : error);
            }
        }, cancellationToken);
        return answer.ValueKind == JsonValueKind.Object && answer.TryGetProperty("deadLettered", out var dead) && dead.ValueKind == JsonValueKind.True;
    }

    /// <summary>Extends the lease by <paramref name="by"/> (default: the queue's lease).</summary>
    public Task ExtendAsync(TimeSpan? by = null, CancellationToken cancellationToken = default)
        => _client.SettleAsync(this, "extend", w =>
        {
            if (by is { } b)
            {
                w.WriteNumber("extendBy", b.TotalSeconds);
            }
        }, cancellationToken);
}

/// <summary>What a send stored.</summary>
/// <param name="Queue">The queue.</param>
/// <param name="Id">The message's id.</param>
public sealed record SentMessage(string Queue, long Id);

/// <summary>The reply to a request.</summary>
public sealed class Reply
{
    /// <summary>The reply id (the request's <c>replyTo</c>).</summary>
    public required string Id { get; init; }

    /// <summary>The queue the request went to.</summary>
    public required string Queue { get; init; }

    /// <summary>When the responder answered.</summary>
    public DateTimeOffset RepliedAt { get; init; }

    /// <summary>The reply's headers.</summary>
    public IReadOnlyDictionary<string, string> Headers { get; init; } = Message.EmptyHeaders;

    /// <summary>The reply's payload.</summary>
    public Payload Payload { get; init; }

    /// <summary>The payload read as JSON.</summary>
    public T? GetPayload<T>() => Payload.Deserialize<T>(JsonOptions);

    internal System.Text.Json.JsonSerializerOptions? JsonOptions { get; init; }
}

/// <summary>A message that used up its attempts.</summary>
public sealed class DeadLetter
{
    /// <summary>Its id (redrive takes it).</summary>
    public required long Id { get; init; }

    /// <summary>Deliveries it had.</summary>
    public int Attempts { get; init; }

    /// <summary><c>nacked</c> or <c>lease-expired</c>.</summary>
    public string? Reason { get; init; }

    /// <summary>The text of its last nack.</summary>
    public string? LastError { get; init; }

    /// <summary>When it died.</summary>
    public DateTimeOffset? DeadAt { get; init; }

    /// <summary>When it was sent.</summary>
    public DateTimeOffset EnqueuedAt { get; init; }

    /// <summary>Its headers.</summary>
    public IReadOnlyDictionary<string, string> Headers { get; init; } = Message.EmptyHeaders;

    /// <summary>Its payload.</summary>
    public Payload Payload { get; init; }
}

/// <summary>A page of dead letters; <see cref="Next"/> continues the listing.</summary>
/// <param name="Messages">The dead letters, oldest first.</param>
/// <param name="Next">The <c>after</c> of the next page (null at the end).</param>
public sealed record DeadLetterPage(IReadOnlyList<DeadLetter> Messages, string? Next);

/// <summary>How to send to a queue.</summary>
public sealed class SendOptions
{
    /// <summary>Keep it invisible this long (up to 7 days).</summary>
    public TimeSpan? Delay { get; set; }

    /// <summary>Its headers.</summary>
    public IReadOnlyDictionary<string, string>? Headers { get; set; }

    /// <summary>Its key.</summary>
    public string? Key { get; set; }

    /// <summary>A retry with the same key within 2 minutes stores nothing new. One is generated when absent (and kept across the client's own retries).</summary>
    public string? IdempotencyKey { get; set; }
}

/// <summary>How to receive once.</summary>
public sealed class ReceiveOptions
{
    /// <summary>At most this many messages (1–100; default 1).</summary>
    public int Max { get; set; } = 1;

    /// <summary>Wait up to this long for a first message (long poll, at most 60 s; default: answer at once).</summary>
    public TimeSpan Wait { get; set; }

    /// <summary>The lease (default: the queue's).</summary>
    public TimeSpan? Lease { get; set; }
}

/// <summary>How to consume a queue continuously.</summary>
public sealed class ConsumeOptions
{
    /// <summary>How many messages may be leased to this consumer and not yet settled (the credit window; default 10).</summary>
    public int Prefetch { get; set; } = 10;

    /// <summary>The lease (default: the queue's).</summary>
    public TimeSpan? Lease { get; set; }

    /// <summary>How long each long poll waits (default 30 s, at most 60).</summary>
    public TimeSpan Wait { get; set; } = TimeSpan.FromSeconds(30);
}

/// <summary>How to send a request.</summary>
public sealed class RequestOptions
{
    /// <summary>How long to wait for the reply (default 30 s; beyond 60 s the client long-polls for it).</summary>
    public TimeSpan Timeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>The request's headers.</summary>
    public IReadOnlyDictionary<string, string>? Headers { get; set; }

    /// <summary>A retried request with the same key gets the first one's reply (use unguessable keys). Generated when absent.</summary>
    public string? IdempotencyKey { get; set; }
}

/// <summary>How to answer requests.</summary>
public sealed class RespondOptions
{
    /// <summary>Requests handled at once (default 1).</summary>
    public int Concurrency { get; set; } = 1;

    /// <summary>The lease of each request (default: the queue's).</summary>
    public TimeSpan? Lease { get; set; }

    /// <summary>How long each long poll for requests waits (default 30 s).</summary>
    public TimeSpan Wait { get; set; } = TimeSpan.FromSeconds(30);
}

/// <summary>A running responder (see <see cref="SwitchboardClient.Respond"/>).</summary>
public sealed class Responder : IAsyncDisposable
{
    private readonly CancellationTokenSource _stop;
    private readonly Action<Responder> _forget;

    internal Responder(CancellationTokenSource stop, Action<Responder> forget)
    {
        _stop = stop;
        _forget = forget;
    }

    internal Task Loop { get; set; } = Task.CompletedTask;

    /// <summary>Stops taking requests and waits for those being handled.</summary>
    public async Task StopAsync()
    {
        await _stop.CancelAsync();
        try
        {
            await Loop;
        }
        catch (OperationCanceledException)
        {
            // stopped while waiting
        }
        _forget(this);
    }

    /// <summary>Same as <see cref="StopAsync"/>.</summary>
    public async ValueTask DisposeAsync() => await StopAsync();
}

/// <summary>A message of a batch ack that was not acked, and why (it will be delivered again).</summary>
/// <param name="Message">The message.</param>
/// <param name="Error">The hub's reason: <c>lease-expired</c>, <c>lease-mismatch</c>, <c>message-not-found</c>.</param>
public sealed record AckFailure(QueueMessage Message, SwitchboardException Error);
