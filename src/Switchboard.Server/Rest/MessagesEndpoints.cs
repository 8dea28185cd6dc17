using System.Globalization;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Switchboard.Core;
using Switchboard.Core.Engines;
using Switchboard.Core.Observability;
using Switchboard.Server.Auth;
using Switchboard.Server.Connections;
using Switchboard.Server.Observability;
using Switchboard.Server.OpenApi;
using Switchboard.Server.Rest.Json;
using Switchboard.Server.Rest.Parsing;

namespace Switchboard.Server.Rest;

/// <summary>Publishing, history (polling and long polling) and single messages. Decode → hub → encode.</summary>
internal static class MessagesEndpoints
{
    public static void Map(RouteGroupBuilder v1)
    {
        var messages = v1.MapGroup("/topics/{topic}/messages").WithTags("Messages");

        messages.MapPost("", Publish).Requires(Permission.Publish, "topic")
            .WithName("Publish").WithSummary("Publish one message or a batch")
            .WithDescription("""
                application/json: {"payload": <any JSON>, "headers": {…}, "key": "…"} or {"messages": [ … ]} (one transaction).
                Any other Content-Type publishes the body as raw bytes of that type (key from ?key=).
                Answers 201 once the messages are durable, with Location of the message (or of the batch's history page).
                Idempotency-Key: a retry with the same key within the window returns the first result (Idempotent-Replayed: true) and stores nothing new.
                """)
            .DocumentBody<EnvelopeSchema, PublishBatchSchema>(required: true, "application/json", "application/octet-stream", "text/plain")
            .DocumentResponse<PublishedSchema, PublishedBatchSchema>(201).ProducesProblem(400).ProducesProblem(404).ProducesProblem(413).ProducesProblem(415).ProducesProblem(422).ProducesProblem(503);

        messages.MapMethods("", [HttpMethods.Get, HttpMethods.Head], History).Requires(Permission.Subscribe, "topic")
            .WithName("ReadMessages").WithSummary("Read history; poll; long-poll")
            .WithDescription("""
                Messages after the position after= (an offset, or epoch:offset as returned in next), up to limit=.
                With wait=SECONDS (up to 60) the request is held until a message arrives (answered the moment it is committed) or the wait ends (empty page).
                Continue from the page's next. A position from another incarnation of the topic answers 409 epoch-mismatch; messages removed by retention are reported in missed.
                fields=offset,payload,… keeps only those members of each message; fields=payload (each message as {"payload": …}) is served from a cache like whole messages, for long polls that want only payloads.
                """)
            .Produces<HistorySchema>().ProducesProblem(400).ProducesProblem(404).ProducesProblem(409);

        messages.MapMethods("/{offset}", [HttpMethods.Get, HttpMethods.Head], One).Requires(Permission.Subscribe, "topic")
            .WithName("ReadMessage").WithSummary("Read one message")
            .WithDescription("Messages are immutable: strong ETag. With epoch= (as in a publish's Location) the address names one incarnation for good, and Cache-Control lets it be kept a year; without, a cache must revalidate (a topic deleted and created again has another message 1).")
            .Produces<MessageSchema>().Produces(304).ProducesProblem(400).ProducesProblem(404).ProducesProblem(409).ProducesProblem(410);

        messages.MapMethods("/{offset}/payload", [HttpMethods.Get, HttpMethods.Head], Payload).Requires(Permission.Subscribe, "topic")
            .WithName("ReadMessagePayload").WithSummary("Read one message's payload as raw bytes, with its own Content-Type")
            .DocumentRawResponse(200, "The payload's bytes, with the message's contentType as Content-Type.")
            .Produces(304).ProducesProblem(400).ProducesProblem(404).ProducesProblem(409).ProducesProblem(410);
    }

    private static async Task<IResult> Publish(HttpRequest request, Hub hub, ServerOptions options, RateLimits limits, string topic, string? key)
    {
        TopicName.Validate(topic);
        var contentType = request.ContentType;
        var envelope = ContentTypes.IsEnvelope(contentType);
        var idempotencyKey = IdempotencyHeader.Read(request);
        if (envelope && key is not null)
        {
            throw new SwitchboardException(ErrorCode.InvalidRequest, "?key= is for raw bodies; in a JSON envelope put \"key\" inside the message.");
        }

        using var body = await RequestBody.ReadAsync(request,
            envelope ? options.MaxRequestBytes : hub.Options.MaxMessageBytes,
            envelope ? ErrorCode.RequestTooLarge : ErrorCode.MessageTooLarge,
            envelope ? "The request body" : "The message",
            request.HttpContext.RequestAborted);

        IReadOnlyList<MessageDraft> drafts;
        var batch = false;
        if (envelope)
        {
            drafts = PublishBodyReader.Read(body.Memory, out batch);
        }
        else
        {
            drafts = [new MessageDraft { Payload = body.Memory, ContentType = contentType, Key = key }];
        }

        limits.AdmitMessages(request.HttpContext, drafts.Count);
        // Once the hub has the messages, a client hanging up must not abandon the publish half-way.
        var result = await hub.PublishAsync(topic, drafts, idempotencyKey, request.HttpContext.Grants().Owner, CancellationToken.None);
        hub.Meters.CountPublished(result, Protocols.RestTag);
        return Published(request, result, batch, hub.Options.MaxReadLimit);
    }

    private static JsonResult Published(HttpRequest request, AppendResult result, bool batch, int maxReadLimit) => new(201, writer =>
    {
        writer.WriteStartObject();
        writer.WriteString("topic", result.Topic);
        writer.WriteString("epoch", result.Epoch);
        if (batch)
        {
            writer.WriteNumber("firstOffset", result.FirstOffset);
            writer.WriteNumber("lastOffset", result.LastOffset);
            writer.WriteNumber("count", result.Count);
        }
        else
        {
            writer.WriteNumber("offset", result.FirstOffset);
        }
        writer.WriteString("timestamp", result.Timestamp.UtcDateTime);
        writer.WriteEndObject();
    }, response =>
    {
        var basePath = $"{request.PathBase}/v1/topics/{result.Topic}/messages";
        // A batch's Location is the page that holds it; a batch may be larger than a page may be (Switchboard:MaxBatchMessages
        // above MaxReadLimit), so it asks for the largest page and the page's next goes on with the rest.
        response.Headers.Location = batch
            ? string.Create(CultureInfo.InvariantCulture, $"{basePath}?after={result.Epoch}:{result.FirstOffset - 1}&limit={Math.Min(result.Count, maxReadLimit)}")
            : string.Create(CultureInfo.InvariantCulture, $"{basePath}/{result.FirstOffset}?epoch={result.Epoch}");
        response.Headers.CacheControl = "no-store";
        if (result.Replayed)
        {
            response.Headers["Idempotent-Replayed"] = "true";
        }
    });

    private static async Task<IResult> History(HttpRequest request, Hub hub, ConnectionRegistry connections, string topic, string? after, string? epoch, string? limit, string? wait, string? fields)
    {
        var position = QueryValues.After(after, epoch);
        var selected = MessageJson.ParseFields(fields);
        var waitFor = QueryValues.Wait(wait, hub.Options.MaxWait);
        if (HttpMethods.IsHead(request.Method))
        {
            waitFor = TimeSpan.Zero; // a HEAD asks what the page is now (its headers); it is not held like a long poll
        }
        var page = await ReadMeteredAsync(request.HttpContext, hub, connections, topic, position, QueryValues.Limit(limit, 100, hub.Options.MaxReadLimit), waitFor);
        var next = page.Next.ToString();
        return new JsonResult(200, writer =>
        {
            writer.WriteStartObject();
            writer.WriteString("topic", page.Topic.Name);
            writer.WriteString("epoch", page.Topic.Epoch);
            writer.WriteNumber("firstOffset", page.Topic.FirstOffset);
            writer.WriteNumber("lastOffset", page.Topic.LastOffset);
            if (page.Missed is var (from, to))
            {
                writer.WriteStartObject("missed");
                writer.WriteNumber("fromOffset", from);
                writer.WriteNumber("toOffset", to);
                writer.WriteString("reason", "retention");
                writer.WriteEndObject();
            }
            writer.WriteStartArray("messages");
            foreach (var message in page.Messages)
            {
                MessageJson.WriteCached(writer, message, selected);
            }
            writer.WriteEndArray();
            writer.WriteString("next", next);
            writer.WriteEndObject();
        }, response =>
        {
            response.Headers.CacheControl = "no-store";
            var query = Query.Of(("after", next), ("limit", limit), ("wait", wait), ("fields", fields));
            response.Headers.Link = $"<{request.PathBase}{request.Path}{query}>; rel=\"next\"";
        });
    }

    /// <summary>
    /// A read, on the meters: a long poll counts as a connection while it waits (on the meters, and against the caller's
    /// connection caps: <see cref="ConnectionRegistry.Hold(HttpContext)"/>); the page it answers is a delivery burst
    /// (<see cref="DeliveryMeter.Page"/>).
    /// </summary>
    private static async Task<ReadPage> ReadMeteredAsync(HttpContext context, Hub hub, ConnectionRegistry connections, string topic, Position position, int limit, TimeSpan wait)
    {
        var cancellationToken = context.RequestAborted;
        var longPoll = wait > TimeSpan.Zero;
        var meter = connections.MeterOf(longPoll ? Protocols.LongPoll : Protocols.Poll);
        ReadPage page;
        if (longPoll)
        {
            using var held = connections.Hold(context);
            meter.Open.Add(1);
            try
            {
                page = await hub.ReadAsync(topic, position, limit, wait, cancellationToken);
            }
            finally
            {
                meter.Open.Add(-1);
            }
        }
        else
        {
            page = await hub.ReadAsync(topic, position, limit, wait, cancellationToken);
        }
        if (page.Messages.Count > 0)
        {
            meter.Page(page.Messages, live: longPoll && page.Next.Offset >= page.Topic.LastOffset);
        }
        return page;
    }

    private static async Task<IResult> One(HttpRequest request, Hub hub, Authenticator authenticator, string topic, string offset, string? epoch, string? fields)
    {
        var message = await Find(request, hub, topic, offset, epoch);
        var selected = MessageJson.ParseFields(fields);
        var etag = MessageETag(message, fields is null ? "" : ((int)selected).ToString(CultureInfo.InvariantCulture));
        var cacheControl = MessageCacheControl(authenticator, epoch);
        if (Conditional.NotModified(request, etag))
        {
            return Conditional.NotModifiedResult(etag, cacheControl);
        }
        return new JsonResult(200, writer => MessageJson.WriteCached(writer, message, selected), response =>
        {
            response.Headers.ETag = etag;
            response.Headers.CacheControl = cacheControl;
        });
    }

    private static async Task<IResult> Payload(HttpRequest request, Hub hub, Authenticator authenticator, string topic, string offset, string? epoch)
    {
        var message = await Find(request, hub, topic, offset, epoch);
        var etag = MessageETag(message, "raw");
        var cacheControl = MessageCacheControl(authenticator, epoch);
        if (Conditional.NotModified(request, etag))
        {
            return Conditional.NotModifiedResult(etag, cacheControl);
        }
        request.HttpContext.Response.Headers.ETag = etag;
        request.HttpContext.Response.Headers.CacheControl = cacheControl;
        return Results.Bytes(message.Payload, message.ContentType);
    }

    /// <summary>
    /// How long a message's answer may be kept. A message never changes, but only an address with <c>epoch=</c> (a publish's
    /// Location carries one) names it for good: without, <c>/messages/1</c> is message 1 of whichever incarnation of the topic
    /// exists now, so a cache keeps it but asks again each time (the strong ETag makes that a 304). With credentials required,
    /// only the caller's own cache may keep it: "public" lets a shared cache (a CDN, a company proxy) store an answer given to
    /// a credential and hand it to anyone asking for the same URL.
    /// </summary>
    private static string MessageCacheControl(Authenticator authenticator, string? epoch) => (authenticator.Enabled, epoch is null) switch
    {
        (false, false) => "public, max-age=31536000, immutable",
        (false, true) => "public, no-cache",
        (true, false) => "private, max-age=31536000, immutable",
        (true, true) => "private, no-cache",
    };

    private static string MessageETag(Message message, string variant) => $"\"{message.Epoch}.{message.Offset}{(variant.Length > 0 ? "." + variant : "")}\"";

    private static Task<Message> Find(HttpRequest request, Hub hub, string topic, string offset, string? epoch)
    {
        if (!QueryValues.TryParseWhole(offset, out var number) || number < 1)
        {
            throw new SwitchboardException(ErrorCode.InvalidPosition, $"'{offset}' is not an offset: offsets are whole numbers from 1.");
        }
        if (epoch is not null && !Core.Epoch.IsWellFormed(epoch))
        {
            throw new SwitchboardException(ErrorCode.InvalidPosition, $"epoch '{epoch}' is not an epoch the hub issued.");
        }
        return hub.GetMessageAsync(topic, number, epoch, request.HttpContext.RequestAborted);
    }
}
