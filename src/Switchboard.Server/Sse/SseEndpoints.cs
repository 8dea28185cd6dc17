using System.Buffers;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Logging;
using Switchboard.Core;
using Switchboard.Core.Delivery;
using Switchboard.Server.Auth;
using Switchboard.Server.Connections;
using Switchboard.Server.Observability;
using Switchboard.Server.Rest.Parsing;

namespace Switchboard.Server.Sse;

/// <summary>
/// Server-Sent Events: <c>GET /v1/topics/{topic}/events</c> and, for several topics or patterns,
/// <c>GET /v1/events?topic=a&amp;topic=b.*</c>. Every event's <c>id:</c> is a resume position; a reconnect with
/// <c>Last-Event-ID</c> (or <c>?lastEventId=</c>) continues with no gap and no duplicate. Works with a browser's EventSource.
/// </summary>
internal static class SseEndpoints
{
    // EventSource reconnects this long after a stream ends: quick enough to feel live, slow enough not to hammer a restarting hub.
    private static readonly TimeSpan ClientRetry = TimeSpan.FromSeconds(2);

    public static void Map(RouteGroupBuilder v1)
    {
        v1.MapGet("/topics/{topic}/events", (HttpContext context, Hub hub, ServerOptions options, ConnectionRegistry registry, ILogger<Connection> logger, string topic, string? after, string? lastEventId, string? data)
                => StreamOneAsync(context, hub, options, registry, logger, topic, after, lastEventId, data))
            .Requires(Permission.Subscribe, "topic")
            .WithTags("Server-Sent Events").WithName("TopicEvents")
            .WithSummary("Server-Sent Events of one topic; id: is the resume position (epoch:offset), Last-Event-ID resumes")
            .WithDescription("""
                Each message is an event with id: epoch:offset and data: the message JSON (REST read shape; empty headers and the default content type left out).
                With data=payload, data: is the payload alone: JSON or UTF-8 text as it is, any other payload base64 in an event named binary. Notices and the final event are the same in both.
                """)
            .Produces(200, contentType: "text/event-stream").ProducesProblem(400).ProducesProblem(409).ProducesProblem(503);
        v1.MapGet("/events", (HttpContext context, Hub hub, ServerOptions options, ConnectionRegistry registry, ILogger<Connection> logger, string[]? topic, string? lastEventId, string? data)
                => StreamManyAsync(context, hub, options, registry, logger, topic ?? [], lastEventId, data))
            .WithTags("Server-Sent Events").WithName("Events")
            .WithSummary("Server-Sent Events of several topics or patterns (?topic=a&topic=b.*); Last-Event-ID resumes them all")
            .Produces(200, contentType: "text/event-stream").ProducesProblem(400).ProducesProblem(503);
    }

    private static async Task StreamOneAsync(HttpContext context, Hub hub, ServerOptions options, ConnectionRegistry registry, ILogger logger, string topic, string? after, string? lastEventIdQuery, string? data)
    {
        // The hub's own topics ($presence.{topic}) are read like any other: history and long polls take them, so does SSE.
        TopicName.Validate(topic, allowSystem: true);
        var encoding = data switch
        {
            null or "message" => SseFormat.WithId,
            "payload" => SseFormat.PayloadWithId,
            _ => throw new SwitchboardException(ErrorCode.InvalidRequest,
                $"data is '{SwitchboardException.Echo(data, 64)}'; use data=message (the default: each event's data is the message JSON) or data=payload (the payload alone)."),
        };
        var lastEventId = LastEventId(context, lastEventIdQuery);
        Position start;
        if (lastEventId is not null)
        {
            start = Position.TryParse(lastEventId, out var position, out _)
                ? position
                : throw new SwitchboardException(ErrorCode.InvalidPosition, $"Last-Event-ID '{SwitchboardException.Echo(lastEventId, 64)}' is not a position of this topic (epoch:offset, as sent in id:); reconnect without it, or with the id of the last event received.");
        }
        else if (after is not null)
        {
            start = QueryValues.After(after, null);
        }
        else
        {
            // "From now", pinned to the topic's current end and told to the client as its first id, so a reconnect
            // before the first message still resumes exactly. A topic that does not exist yet is pinned at 0 (whatever
            // incarnation comes, from its first message), and told too: with no id, a reconnect would start from its
            // own "now" and skip what was published while it was away.
            var now = await hub.PositionsNowAsync([topic], context.RequestAborted);
            start = now.TryGetValue(topic, out var end) ? end : new Position(null, 0);
        }
        // A start of 0 that the URL asked for (?after=0) is where a reconnect starts anyway: no id to tell.
        var firstId = after is not null && lastEventId is null && start.Epoch is null && start.Offset == 0 ? null : start.ToString();
        EnsureReady(hub);
        var connection = registry.Open("sse", context.Caller(), context.Connection.RemoteIpAddress?.ToString());
        var sink = new OutboxSink(connection.Outbox, encoding, FrameKind.Text, notice => new OutboundFrame(SseFormat.Notice(notice, notice.ResumeAfter.ToString()), FrameKind.Text), connection.SubscriptionFailed);
        await RunAsync(context, hub, options, registry, logger, connection, sink, [topic], SubscribeStart.AfterPosition(start), firstId);
    }

    private static async Task StreamManyAsync(HttpContext context, Hub hub, ServerOptions options, ConnectionRegistry registry, ILogger logger, string[] topics, string? lastEventIdQuery, string? data)
    {
        if (data is not null and not "message")
        {
            throw new SwitchboardException(ErrorCode.InvalidRequest,
                $"data is '{SwitchboardException.Echo(data, 64)}'; a stream of several topics sends whole messages (data=message), so each event names its topic. data=payload is for one topic: /v1/topics/{{topic}}/events?data=payload.");
        }
        context.DemandSubscribeToAll(topics, "Name the topics to follow: /v1/events?topic=orders&topic=payments.* (wildcards allowed).");
        var point = await ResumeTokens.StartAsync(hub, topics, LastEventId(context, lastEventIdQuery), null, context.RequestAborted);
        var first = await ResumeTokens.NextAsync(hub, options.Resume, point, point.Positions, context.RequestAborted);
        EnsureReady(hub);
        var connection = registry.Open("sse", context.Caller(), context.Connection.RemoteIpAddress?.ToString());
        if (point.ExpiredSnapshot is { } expired)
        {
            // Right after the opening block, before any message: the stream goes on, and says what it could not resume.
            connection.Outbox.Enqueue(new OutboundFrame(SseFormat.Event("notice", w => SseFormat.WriteResumeExpired(w, expired, point.Delta.Keys, hub.Options.ResumeSnapshotRetention)), FrameKind.Text));
        }
        using var sink = new MultiTopicSink(connection, hub, options.Resume, point.Positions, first);
        await RunAsync(context, hub, options, registry, logger, connection, sink, topics, SubscribeStart.AfterPositions(point.Positions), first.Id);
    }

    private static async Task RunAsync(HttpContext context, Hub hub, ServerOptions options, ConnectionRegistry registry, ILogger logger, Connection connection, IOpenableSink sink,
        IReadOnlyList<string> topics, SubscribeStart start, string? firstId)
    {
        RequestSpan.Leave();
        using var scope = ConnectionLog.Scope(logger, connection);
        ConnectionLog.Opened(logger, connection.Id, connection.Transport, connection.RemoteAddress);
        connection.Heartbeat = new OutboundFrame(SseFormat.Heartbeat, FrameKind.Text);
        using var aborted = context.RequestAborted.Register(connection.Close);
        using var draining = hub.Stopping.Register(() => connection.Abort(ErrorCode.ShuttingDown, "The hub is shutting down; reconnect to resume."));
        try
        {
            Subscription subscription;
            try
            {
                subscription = await hub.SubscribeAsync(topics, start, sink, connection.AsSubscriber(), connection.Closing);
            }
            catch (OperationCanceledException)
            {
                return;
            }
            connection.Subscriptions.TryAdd("events", subscription);

            var response = context.Response;
            SseFormat.Start(context);
            var body = response.BodyWriter;
            // Writes carry no cancellation token: cancelling a flush makes Kestrel abort the connection, and the
            // final event (why the stream ends) would be lost. Instead, once the hub ends the stream, a client that
            // does not take its last bytes within the grace period is reset.
            using var finished = new CancellationTokenSource();
            using var grace = connection.Closing.Register(() => _ = Task.Delay(options.CloseGrace, finished.Token)
                .ContinueWith(_ => context.Abort(), CancellationToken.None, TaskContinuationOptions.OnlyOnRanToCompletion, TaskScheduler.Default));
            try
            {
                // Open before the opening block goes out: a client may publish as soon as it sees that block, and a
                // message the sink refused then would come by the store instead, after later messages of other topics.
                // Nothing overtakes the block: what the sink queues is written by the loop below, after it.
                sink.Open();
                await body.WriteAsync(SseFormat.Retry(ClientRetry, firstId));
                await body.FlushAsync();
                try
                {
                    while (true)
                    {
                        var (ok, frame) = await connection.Outbox.ReadAsync(connection.Closing);
                        if (!ok)
                        {
                            break;
                        }
                        // Copy whatever else is ready (up to 64 KiB) and flush once: one syscall for a burst of events.
                        // The bound matters: flushing is where backpressure applies.
                        body.Write(frame.Data.Span);
                        var burst = frame.Data.Length;
                        while (burst < 64 * 1024 && !connection.Closing.IsCancellationRequested && connection.Outbox.TryRead(out frame))
                        {
                            body.Write(frame.Data.Span);
                            burst += frame.Data.Length;
                        }
                        await body.FlushAsync();
                    }
                }
                catch (OperationCanceledException)
                {
                    // ended by the hub or the client
                }
                if (connection.CloseReason is var (code, detail) && !context.RequestAborted.IsCancellationRequested)
                {
                    // The stream's last event says why it ends; EventSource then reconnects with Last-Event-ID.
                    await body.WriteAsync(SseFormat.Ended(code, detail));
                    await body.FlushAsync();
                }
            }
            finally
            {
                await finished.CancelAsync();
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException or IOException)
        {
            // the client went away mid-write
        }
        finally
        {
            await registry.CloseAsync(connection);
            ConnectionLog.Closed(logger, connection.Id, connection.Transport, connection.CloseReason?.Detail ?? "client left");
        }
    }

    private static string? LastEventId(HttpContext context, string? query)
        => context.Request.Headers["Last-Event-ID"].ToString() is { Length: > 0 } header ? header : string.IsNullOrEmpty(query) ? null : query;

    private static void EnsureReady(Hub hub)
    {
        if (hub.State != HubState.Ready)
        {
            throw new SwitchboardException(hub.State == HubState.Starting ? ErrorCode.NotReady : ErrorCode.ShuttingDown,
                "The hub is not accepting new streams right now; retry shortly (or on another node).") { RetryAfterSeconds = 1 };
        }
    }
}
