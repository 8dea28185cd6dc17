using System.Globalization;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Switchboard.Core;
using Switchboard.Core.Engines;
using Switchboard.Server.Auth;
using Switchboard.Server.Connections;
using Switchboard.Server.Errors;
using Switchboard.Server.Rest.Json;
using Switchboard.Server.Rest.Parsing;

namespace Switchboard.Server.Rest;

/// <summary>
/// Queues: settings, send, receive (with leases and long-poll waits), ack / nack / extend, dead letters,
/// topic bindings, and request/reply with reply slots. Decode → hub → encode. The routes and their OpenAPI
/// description are in QueuesEndpoints.Routes.cs.
/// </summary>
internal static partial class QueuesEndpoints
{
    private static Task<IResult> List(HttpRequest request, Hub hub, string? prefix, string? limit, string? cursor)
        => ScopedListing.RespondAsync(request, prefix, limit, cursor, "queues", async (after, count) =>
        {
            var page = await hub.ListQueuesAsync(prefix, after, count, request.HttpContext.RequestAborted);
            return (page.Queues, page.NextAfter);
        }, q => q.Name, QueueJson.WriteQueue);

    private static async Task<IResult> Put(HttpRequest request, Hub hub, ServerOptions options, string queue)
    {
        QueueName.Validate(queue);
        using var body = await ReadJsonAsync(request, options, optional: true);
        var result = await hub.PutQueueAsync(queue, QueueDocuments.Config(body.Memory), Conditional.Write(request, QueueJson.ParseETag), CancellationToken.None);
        return QueueResult(request, result.Queue, result.Created ? 201 : 200);
    }

    private static async Task<IResult> Get(HttpRequest request, Hub hub, string queue)
    {
        var info = await hub.GetQueueAsync(queue, request.HttpContext.RequestAborted);
        var etag = QueueJson.ETag(info);
        return Conditional.NotModified(request, etag) ? Conditional.NotModifiedResult(etag, "no-cache") : QueueResult(request, info, 200);
    }

    private static async Task<IResult> Patch(HttpRequest request, Hub hub, ServerOptions options, string queue)
    {
        QueueName.Validate(queue);
        if (!ContentTypes.Is(request.ContentType, "application/merge-patch+json") && !ContentTypes.IsJson(request.ContentType))
        {
            throw ContentTypes.Unsupported(request.ContentType, "application/merge-patch+json");
        }
        using var body = await RequestBody.ReadAsync(request, options.MaxRequestBytes, ErrorCode.RequestTooLarge, "A queue settings patch", request.HttpContext.RequestAborted);
        var patch = QueueDocuments.Patch(body.Memory);
        var info = await hub.UpdateQueueAsync(queue, patch, Conditional.Write(request, QueueJson.ParseETag), CancellationToken.None);
        return QueueResult(request, info, 200);
    }

    private static async Task<IResult> Delete(HttpRequest request, Hub hub, string queue)
    {
        await hub.DeleteQueueAsync(queue, Conditional.Write(request, QueueJson.ParseETag), CancellationToken.None);
        return Results.NoContent();
    }

    private static JsonResult QueueResult(HttpRequest request, QueueInfo info, int status) => new(status, w => QueueJson.WriteQueue(w, info), r =>
    {
        r.Headers.ETag = QueueJson.ETag(info);
        r.Headers.CacheControl = "no-cache"; // cacheable, but revalidate: the counts change with every send and receive
        if (status == 201)
        {
            r.Headers.Location = $"{request.PathBase}/v1/queues/{info.Name}";
        }
    });

    private static async Task<IResult> Send(HttpRequest request, Hub hub, ServerOptions options, RateLimits limits, string queue, string? delay)
    {
        QueueName.Validate(queue);
        var drafts = await ReadMessagesAsync(request, hub, options);
        var idempotencyKey = IdempotencyHeader.Read(request);
        limits.AdmitMessages(request.HttpContext, drafts.Drafts.Count);
        var result = await hub.SendAsync(queue, [.. drafts.Drafts.Select(d => new QueueDraft { Message = d })], QueueDocuments.Query(delay, "delay") ?? TimeSpan.Zero, "delay",
            idempotencyKey, request.HttpContext.Grants().Owner, CancellationToken.None);
        return new JsonResult(201, writer =>
        {
            writer.WriteStartObject();
            writer.WriteString("queue", result.Queue);
            if (drafts.Batch)
            {
                writer.WriteNumber("firstId", result.FirstId);
                writer.WriteNumber("lastId", result.FirstId + result.Count - 1);
                writer.WriteNumber("count", result.Count);
            }
            else
            {
                writer.WriteNumber("id", result.FirstId);
            }
            writer.WriteEndObject();
        }, response =>
        {
            response.Headers.Location = $"{request.PathBase}/v1/queues/{queue}";
            response.Headers.CacheControl = "no-store";
            if (result.Replayed)
            {
                response.Headers["Idempotent-Replayed"] = "true";
            }
        });
    }

    private static async Task<IResult> Receive(HttpRequest request, Hub hub, ConnectionRegistry registry, string queue, string? max, string? wait, string? lease)
    {
        var count = string.IsNullOrEmpty(max) ? 1 : QueryValues.TryParseWhole(max, out var m) && m is >= 1 and <= Hub.MaxReceive ? (int)m
            : throw new SwitchboardException(ErrorCode.InvalidRequest, $"max is '{max}'; receive 1 to {Hub.MaxReceive} messages at a time.");
        var leaseFor = QueueDocuments.Query(lease, "lease");
        var waitFor = QueryValues.Wait(wait, hub.Options.MaxWait);
        // A receive that may wait holds a connection's slot meanwhile (Switchboard:Connections caps).
        using var held = waitFor > TimeSpan.Zero ? registry.Hold(request.HttpContext) : null;
        var messages = await hub.ReceiveAsync(queue, count, leaseFor, waitFor, request.HttpContext.RequestAborted);
        return new JsonResult(200, writer =>
        {
            writer.WriteStartObject();
            writer.WriteStartArray("messages");
            foreach (var message in messages)
            {
                QueueJson.WriteMessage(writer, message);
            }
            writer.WriteEndArray();
            writer.WriteEndObject();
        }, r => r.Headers.CacheControl = "no-store");
    }

    private static async Task<IResult> Ack(HttpRequest request, Hub hub, ServerOptions options, string queue, string id)
    {
        using var body = await ReadJsonAsync(request, options, optional: true);
        var (lease, _, _) = QueueDocuments.Action(body.Memory, "ack");
        await hub.AckAsync(queue, MessageId(id), lease, CancellationToken.None);
        return Results.NoContent();
    }

    private static async Task<IResult> AckMany(HttpRequest request, Hub hub, ServerOptions options, string queue)
    {
        using var body = await ReadJsonAsync(request, options, optional: true);
        var outcomes = await hub.AckManyAsync(queue, QueueDocuments.Acks(body.Memory), CancellationToken.None);
        return new JsonResult(200, writer =>
        {
            writer.WriteStartObject();
            writer.WriteStartArray("acked");
            foreach (var outcome in outcomes.Where(o => o.Error is null))
            {
                writer.WriteNumberValue(outcome.Id);
            }
            writer.WriteEndArray();
            writer.WriteStartArray("failed");
            foreach (var (id, error) in outcomes.Where(o => o.Error is not null))
            {
                writer.WriteStartObject();
                writer.WriteNumber("id", id);
                writer.WriteNumber("status", error!.Info.HttpStatus);
                writer.WriteString("code", error.Info.Name);
                writer.WriteString("type", Problems.TypeUri(error.Info));
                writer.WriteString("detail", error.Message);
                writer.WriteEndObject();
            }
            writer.WriteEndArray();
            writer.WriteEndObject();
        }, r => r.Headers.CacheControl = "no-store");
    }

    private static async Task<IResult> Nack(HttpRequest request, Hub hub, ServerOptions options, string queue, string id)
    {
        using var body = await ReadJsonAsync(request, options, optional: true);
        var (lease, delay, error) = QueueDocuments.Action(body.Memory, "nack");
        var result = await hub.NackAsync(queue, MessageId(id), lease, delay, error, CancellationToken.None);
        return new JsonResult(200, writer =>
        {
            writer.WriteStartObject();
            QueueJson.WriteNackFields(writer, result);
            writer.WriteEndObject();
        });
    }

    private static async Task<IResult> Extend(HttpRequest request, Hub hub, ServerOptions options, string queue, string id)
    {
        using var body = await ReadJsonAsync(request, options, optional: true);
        var (lease, by, _) = QueueDocuments.Action(body.Memory, "extend");
        var until = await hub.ExtendAsync(queue, MessageId(id), lease, by, CancellationToken.None);
        return new JsonResult(200, writer =>
        {
            writer.WriteStartObject();
            writer.WriteString("leaseExpiresAt", until.UtcDateTime);
            writer.WriteEndObject();
        });
    }

    private static async Task<IResult> DeadLetters(HttpRequest request, Hub hub, string queue, string? after, string? limit)
    {
        var afterId = AfterId(after, "the id of the last dead letter you saw (from next)");
        var page = await hub.ListDeadLettersAsync(queue, afterId, QueryValues.Limit(limit, 100, Hub.MaxListLimit), request.HttpContext.RequestAborted);
        return MessagePage(page.Messages, page.NextAfter, QueueJson.WriteMessage);
    }

    /// <summary><c>after=</c> of a listing by message id: empty is the start.</summary>
    private static long AfterId(string? after, string whatToGive) => string.IsNullOrEmpty(after) ? 0
        : QueryValues.TryParseWhole(after, out var id) ? id
        : throw new SwitchboardException(ErrorCode.InvalidRequest, $"after is '{after}'; give {whatToGive}.");

    /// <summary>A page of queue messages (dead letters, peeked ones): <c>{"messages": [...], "next": "id" | null}</c>.</summary>
    private static JsonResult MessagePage(IReadOnlyList<QueueMessage> messages, long? nextAfter, Action<Utf8JsonWriter, QueueMessage> write) => new(200, writer =>
    {
        writer.WriteStartObject();
        writer.WriteStartArray("messages");
        foreach (var message in messages)
        {
            write(writer, message);
        }
        writer.WriteEndArray();
        if (nextAfter is { } next)
        {
            writer.WriteString("next", next.ToString(CultureInfo.InvariantCulture));
        }
        else
        {
            writer.WriteNull("next");
        }
        writer.WriteEndObject();
    });

    private static async Task<IResult> RedriveAll(Hub hub, string queue) => Count("redriven", await hub.RedriveAsync(queue, null, CancellationToken.None));

    private static async Task<IResult> RedriveOne(Hub hub, string queue, string id) => Count("redriven", await hub.RedriveAsync(queue, MessageId(id), CancellationToken.None));

    private static async Task<IResult> Purge(Hub hub, string queue) => Count("purged", await hub.PurgeDeadLettersAsync(queue, CancellationToken.None));

    private static async Task<IResult> Bindings(HttpRequest request, Hub hub, string queue)
    {
        QueueName.Validate(queue);
        _ = await hub.GetQueueAsync(queue, request.HttpContext.RequestAborted);
        var bindings = (await hub.ListBindingsAsync(request.HttpContext.RequestAborted)).Where(b => b.Queue == queue).ToList();
        return new JsonResult(200, writer =>
        {
            writer.WriteStartObject();
            writer.WriteStartArray("bindings");
            foreach (var binding in bindings)
            {
                writer.WriteStartObject();
                writer.WriteString("pattern", binding.Pattern);
                writer.WriteString("queue", binding.Queue);
                writer.WriteEndObject();
            }
            writer.WriteEndArray();
            writer.WriteEndObject();
        });
    }

    private static async Task<IResult> Bind(HttpRequest request, Hub hub, string queue, string pattern)
    {
        var created = await hub.AddBindingAsync(pattern, queue, CancellationToken.None);
        return new JsonResult(created ? 201 : 200, writer =>
        {
            writer.WriteStartObject();
            writer.WriteString("pattern", pattern);
            writer.WriteString("queue", queue);
            writer.WriteEndObject();
        });
    }

    private static async Task<IResult> Unbind(Hub hub, string queue, string pattern)
        => await hub.RemoveBindingAsync(pattern, queue, CancellationToken.None)
            ? Results.NoContent()
            : throw new SwitchboardException(ErrorCode.BindingNotFound, $"Queue '{queue}' has no binding to '{pattern}'; GET /v1/queues/{queue}/bindings lists them.");

    private static async Task<IResult> Request(HttpRequest request, Hub hub, ServerOptions options, RateLimits limits, ConnectionRegistry registry, string queue, string? timeout)
    {
        QueueName.Validate(queue);
        var wait = QueueDocuments.Query(timeout, "timeout") ?? Hub.DefaultRequestWait;
        var async = wait == TimeSpan.Zero || request.Headers["Prefer"].ToString().Contains("respond-async", StringComparison.OrdinalIgnoreCase);
        var drafts = await ReadMessagesAsync(request, hub, options);
        if (drafts.Batch)
        {
            throw new SwitchboardException(ErrorCode.InvalidRequest, "A request is one message: send {\"payload\": …}, not a batch.");
        }
        if (!async)
        {
            hub.CheckRequestWait(wait, "timeout");
        }
        // The reply slot outlives an async request's first answer: the reply URL stays valid for an hour.
        var slotLifetime = async ? TimeSpan.FromHours(1) : wait;
        var idempotencyKey = IdempotencyHeader.Read(request);
        // Waiting for the reply holds a connection's slot; taken before the request is sent, so a refusal sends nothing.
        using var held = async ? null : registry.Hold(request.HttpContext);
        limits.AdmitMessages(request.HttpContext, 1);
        var requester = request.HttpContext.Grants().Owner;
        var requestedAt = System.Diagnostics.Stopwatch.GetTimestamp();
        if (async)
        {
            var sent = await hub.RequestAsync(queue, new QueueDraft { Message = drafts.Drafts[0] }, slotLifetime, idempotencyKey, requester, CancellationToken.None);
            var location = $"{request.PathBase}/v1/replies/{sent.Id}";
            // The pending reply slot, as GET on its location answers it, plus the location.
            return new JsonResult(202, w =>
            {
                w.WriteStartObject();
                QueueJson.WriteReplyFields(w, sent, "id");
                w.WriteString("location", location);
                w.WriteEndObject();
            }, r => r.Headers.Location = location);
        }
        var slot = await hub.RequestAndAwaitAsync(queue, new QueueDraft { Message = drafts.Drafts[0] }, wait, idempotencyKey, requester, requestedAt, request.HttpContext.RequestAborted);
        var id = slot.Id;
        if (slot.Reply is null)
        {
            throw new SwitchboardException(ErrorCode.Timeout, $"No reply came within {DurationText.Format(wait)}. The request stays in queue '{queue}' until a responder takes it; its reply is lost after the wait.")
            {
                Extensions = new Dictionary<string, object?> { ["replyId"] = id },
            };
        }
        return new JsonResult(200, w => QueueJson.WriteReply(w, slot));
    }

    private static async Task<IResult> GetReply(HttpRequest request, Hub hub, ConnectionRegistry registry, string id, string? wait)
    {
        var sse = request.Headers.Accept.ToString().Contains("text/event-stream", StringComparison.OrdinalIgnoreCase);
        if (sse)
        {
            await request.HttpContext.Grants().DemandReplyAsync(hub, id, Permission.Publish);
            return new ReplyStream(hub, id, registry);
        }
        await request.HttpContext.Grants().DemandReplyAsync(hub, id, Permission.Publish);
        var waitFor = QueryValues.Wait(wait, hub.Options.MaxWait);
        using var held = waitFor > TimeSpan.Zero ? registry.Hold(request.HttpContext) : null;
        var slot = await hub.WaitForReplyAsync(id, waitFor, request.HttpContext.RequestAborted);
        return ReplyResult(slot);
    }

    private static JsonResult ReplyResult(ReplyRecord slot)
    {
        if (slot.Reply is null && slot.ExpiresAt <= DateTimeOffset.UtcNow)
        {
            throw new SwitchboardException(ErrorCode.ReplyExpired, $"Request '{slot.Id}' got no reply before its wait ended at {slot.ExpiresAt:O}.");
        }
        return new JsonResult(slot.Reply is null ? 202 : 200, w => QueueJson.WriteReply(w, slot), r =>
        {
            if (slot.Reply is null)
            {
                r.Headers.RetryAfter = "1";
            }
        });
    }

    private static async Task<IResult> PostReply(HttpRequest request, Hub hub, ServerOptions options, string id, string? lease)
    {
        var drafts = await ReadMessagesAsync(request, hub, options);
        if (drafts.Batch)
        {
            throw new SwitchboardException(ErrorCode.InvalidRequest, "A reply is one message: send {\"payload\": …}, not a batch.");
        }
        await request.HttpContext.Grants().DemandReplyAsync(hub, id, Permission.Consume);
        await hub.ReplyAsync(id, drafts.Drafts[0], lease, CancellationToken.None);
        return Results.NoContent();
    }

    /// <summary>
    /// SSE for one reply: an event "reply" when it comes (or "expired"), then the stream ends. Not a connection of the
    /// registry, so it watches its caller's credential itself: when that expires first, an "error" event (unauthorized) ends it.
    /// It holds a connection's slot until it ends (refused over the caps with 429, before the answer begins).
    /// </summary>
    private sealed class ReplyStream(Hub hub, string id, ConnectionRegistry registry) : IResult
    {
        public async Task ExecuteAsync(HttpContext httpContext)
        {
            using var held = registry.Hold(httpContext);
            var caller = httpContext.Caller();
            var slot = await hub.WaitForReplyAsync(id, TimeSpan.Zero, httpContext.RequestAborted);
            var response = httpContext.Response;
            Sse.SseFormat.Start(httpContext);
            using var expiry = CredentialExpiry.Watch(caller);
            using var ending = CancellationTokenSource.CreateLinkedTokenSource(httpContext.RequestAborted, expiry?.Token ?? CancellationToken.None);
            var aborted = ending.Token;
            try
            {
                await response.WriteAsync(": waiting for the reply\n\n", aborted);
                await response.Body.FlushAsync(aborted);
                while (slot.Reply is null && slot.ExpiresAt > DateTimeOffset.UtcNow && !aborted.IsCancellationRequested && hub.State == HubState.Ready)
                {
                    slot = await hub.WaitForReplyAsync(id, TimeSpan.FromSeconds(15), aborted);
                    if (slot.Reply is null)
                    {
                        await response.WriteAsync(": heartbeat\n\n", aborted);
                        await response.Body.FlushAsync(aborted);
                    }
                }
                if (slot.Reply is null && slot.ExpiresAt > DateTimeOffset.UtcNow)
                {
                    // Cut short by the hub's drain, not expired: the reply may still come (fetched after a restart or from
                    // another node), so end without an event and let the client reconnect.
                    return;
                }
                // SSE framing: a JSON payload kept as sent may span lines, and each line needs its own "data:".
                var kind = slot.Reply is not null ? "reply" : "expired";
                await response.Body.WriteAsync(Sse.SseFormat.Event(kind, writer => QueueJson.WriteReply(writer, slot)), aborted);
            }
            catch (OperationCanceledException) when (expiry?.IsCancellationRequested == true && !httpContext.RequestAborted.IsCancellationRequested)
            {
                var expired = CredentialExpiry.Expired(caller, "Fetch the reply again with a fresh one; it is kept until the request's wait ends.");
                await response.Body.WriteAsync(Sse.SseFormat.Ended(expired.Code, expired.Message), httpContext.RequestAborted);
            }
        }
    }

    private static JsonResult Count(string name, long count) => new(200, w =>
    {
        w.WriteStartObject();
        w.WriteNumber(name, count);
        w.WriteEndObject();
    });

    private static long MessageId(string text) => QueryValues.TryParseWhole(text, out var id) && id > 0
        ? id
        : throw new SwitchboardException(ErrorCode.InvalidRequest, $"'{SwitchboardException.Echo(text)}' is not a message id; ids are whole numbers from 1 (the \"id\" of the received message).");

    private sealed record SentBody(IReadOnlyList<MessageDraft> Drafts, bool Batch);

    /// <summary>The publish envelope ({"payload": …} or {"messages": [ … ]}), or a raw body of any other content type.</summary>
    private static async Task<SentBody> ReadMessagesAsync(HttpRequest request, Hub hub, ServerOptions options)
    {
        var contentType = request.ContentType;
        var envelope = ContentTypes.IsEnvelope(contentType);
        using var body = await RequestBody.ReadAsync(request,
            envelope ? options.MaxRequestBytes : hub.Options.MaxMessageBytes,
            envelope ? ErrorCode.RequestTooLarge : ErrorCode.MessageTooLarge,
            envelope ? "The request body" : "The message",
            request.HttpContext.RequestAborted);
        if (envelope)
        {
            // The drafts keep slices of the body: copy it, since the pooled buffer goes back when this returns.
            var owned = body.Memory.ToArray();
            var drafts = PublishBodyReader.Read(owned, out var batch);
            return new SentBody(drafts, batch);
        }
        return new SentBody([new MessageDraft { Payload = body.Memory.ToArray(), ContentType = contentType }], false);
    }

    private static async Task<RequestBody> ReadJsonAsync(HttpRequest request, ServerOptions options, bool optional)
    {
        if (!string.IsNullOrEmpty(request.ContentType) && !ContentTypes.IsJson(request.ContentType))
        {
            throw new SwitchboardException(ErrorCode.UnsupportedMediaType, $"Content-Type '{request.ContentType}' is not accepted here; send application/json.");
        }
        var body = await RequestBody.ReadAsync(request, options.MaxRequestBytes, ErrorCode.RequestTooLarge, "The request body", request.HttpContext.RequestAborted);
        if (!optional && body.Length == 0)
        {
            body.Dispose();
            throw new SwitchboardException(ErrorCode.InvalidRequest, "The body is empty.");
        }
        return body;
    }
}
