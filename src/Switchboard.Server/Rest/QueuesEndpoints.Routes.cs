using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Switchboard.Core;
using Switchboard.Server.Auth;
using Switchboard.Server.OpenApi;

namespace Switchboard.Server.Rest;

/// <summary>The queue and reply routes with their OpenAPI description: bodies, answers and the problems each can give.</summary>
internal static partial class QueuesEndpoints
{
    private const string JsonType = "application/json";
    private const string OctetType = "application/octet-stream";
    private const string TextType = "text/plain";

    /// <summary>How If-Match works on a queue's writes, for their OpenAPI descriptions.</summary>
    private const string IfMatchRule =
        "If-Match: the ETag from GET (or *: the queue must exist) makes the write happen only while the queue's settings are the ones read; " +
        "only the ETag's first two parts (creation time, configuration version) are compared, so sends, receives and acks in between do not make it stale, " +
        "while a change of the settings or a delete does. Otherwise 412 precondition-failed: GET the queue again for its current ETag, then retry. Weak (W/) and malformed ETags never match.";

    public static void Map(RouteGroupBuilder v1)
    {
        var queues = v1.MapGroup("/queues").WithTags("Queues");
        queues.MapMethods("", [HttpMethods.Get, HttpMethods.Head], List).WithName("ListQueues").WithSummary("List queues (prefix=, limit=, cursor=)")
            .WithDescription("Queues in name order, with their settings and counts. Page with limit= and the opaque cursor= from the previous page's next.")
            .Produces<QueueListSchema>().ProducesProblem(400);
        queues.MapPut("/{queue}", Put).RequiresAdmin("put queue").WithName("PutQueue").WithSummary("Create a queue or replace its settings (lease, maxAttempts, backoff)")
            .WithDescription($"Idempotent: 201 (with Location) when created, 200 when replaced. Settings left out take the defaults; an empty body is all defaults. Messages are kept. If-None-Match: * creates only (412 when the queue exists). {IfMatchRule}")
            .DocumentBody<QueueConfigSchema>(required: false, JsonType)
            .Produces<QueueSchema>(201).Produces<QueueSchema>().ProducesProblem(400).ProducesProblem(412).ProducesProblem(413).ProducesProblem(415).ProducesProblem(422);
        queues.MapMethods("/{queue}", [HttpMethods.Get, HttpMethods.Head], Get).RequiresAny("queue").WithName("GetQueue").WithSummary("A queue's settings and counts (ready, leased, delayed, dead)")
            .WithDescription("Carries an ETag; send it back in If-None-Match to get 304 Not Modified while nothing changed (it changes with the counts). Send it in If-Match to make a PUT, PATCH or DELETE conditional.")
            .Produces<QueueSchema>().Produces(304).ProducesProblem(400).ProducesProblem(404);
        queues.MapPatch("/{queue}", Patch).RequiresAdmin("patch queue").WithName("PatchQueue").WithSummary("Change some of a queue's settings (JSON merge patch, RFC 7396)")
            .WithDescription($"Settings sent replace the current ones; the others stay. null resets a setting to its default (description: removes it). Unknown and read-only members are refused (400) as by PUT; values out of range 422. Concurrent changes are not lost: the patch is applied again to the newer settings. {IfMatchRule}")
            .DocumentBody<QueueConfigSchema>(required: true, "application/merge-patch+json", JsonType)
            .Produces<QueueSchema>().ProducesProblem(400).ProducesProblem(404).ProducesProblem(412).ProducesProblem(413).ProducesProblem(415).ProducesProblem(422);
        queues.MapDelete("/{queue}", Delete).RequiresAdmin("delete queue").WithName("DeleteQueue").WithSummary("Delete a queue, its messages, dead letters and bindings")
            .WithDescription($"204, then 404. {IfMatchRule}")
            .Produces(204).ProducesProblem(400).ProducesProblem(404).ProducesProblem(412);
        queues.MapPost("/{queue}/messages", Send).Requires(Permission.Publish, "queue").WithName("Send")
            .WithSummary("Send one message or a batch ({\"payload\": …} or {\"messages\": [ … ]}); ?delay=SECONDS; Idempotency-Key")
            .WithDescription("""
                application/json: {"payload": <any JSON>, "headers": {…}, "key": "…"} or {"messages": [ … ]} (one transaction, consecutive ids).
                Any other Content-Type sends the body as one message of that type, as it is.
                delay= (seconds or a duration, 0s to 7d) keeps the messages invisible that long. A missing queue is created with the defaults unless the hub forbids it (404).
                Answers 201 once durable. Idempotency-Key: a retry with the same key returns the first result (Idempotent-Replayed: true) and stores nothing new.
                """)
            .DocumentBody<EnvelopeSchema, QueueBatchSchema>(required: true, JsonType, OctetType, TextType)
            .Produces<EnqueuedSchema>(201).ProducesProblem(400).ProducesProblem(404).ProducesProblem(413).ProducesProblem(415).ProducesProblem(422).ProducesProblem(503);
        queues.MapPost("/{queue}/receive", Receive).Requires(Permission.Consume, "queue").WithName("Receive")
            .WithSummary("Lease up to max= messages (default 1) for lease= seconds (default: the queue's); wait= holds the request until one is visible")
            .WithDescription("No body. max= 1 to 1000; lease= 1s to 12h; wait= up to the hub's longest wait (60s by default). An empty messages array means nothing was visible. Ack, nack or extend each message with its id and lease before leaseExpiresAt, or it is delivered again.")
            .Produces<ReceivedSchema>().ProducesProblem(400).ProducesProblem(404);
        queues.MapPost("/{queue}/messages/{id}/ack", Ack).Requires(Permission.Consume, "queue").WithName("Ack").WithSummary("Done: the message is deleted. Body {\"lease\": \"…\"}")
            .WithDescription("409 lease-mismatch: the token is not the message's current lease (acked already, redelivered to someone else, never existed); 409 lease-expired: the lease ran out.")
            .DocumentBody<AckSchema>(required: true, JsonType)
            .Produces(204).ProducesProblem(400).ProducesProblem(404).ProducesProblem(409).ProducesProblem(413).ProducesProblem(415).ProducesProblem(422);
        queues.MapPost("/{queue}/ack", AckMany).Requires(Permission.Consume, "queue").WithName("AckMany").WithSummary("Ack up to 1000 received messages at once: {\"messages\": [{\"id\", \"lease\"}, …]}")
            .WithDescription("""
                One request for a received batch. Each ack stands alone, as if sent by itself (they reach the store at once): the answer lists the ids acked and,
                for each one that was not, the problem its own ack would have answered (lease-mismatch, lease-expired). A malformed batch (not 1 to 1000
                messages, a message without id or lease, a message twice) acks nothing (400); a missing queue answers 404.
                """)
            .DocumentBody<AckBatchSchema>(required: true, JsonType)
            .Produces<AckedBatchSchema>().ProducesProblem(400).ProducesProblem(404).ProducesProblem(413).ProducesProblem(415).ProducesProblem(422);
        queues.MapPost("/{queue}/messages/{id}/nack", Nack).Requires(Permission.Consume, "queue").WithName("Nack").WithSummary("Give it back: {\"lease\", \"delay\"?, \"error\"?}; dead-lettered on its last attempt")
            .WithDescription("Redelivered after delay (default: the queue's backoff), or moved to the dead letters when it was the last attempt. 409 as for ack.")
            .DocumentBody<NackSchema>(required: true, JsonType)
            .Produces<NackedSchema>().ProducesProblem(400).ProducesProblem(404).ProducesProblem(409).ProducesProblem(413).ProducesProblem(415).ProducesProblem(422);
        queues.MapPost("/{queue}/messages/{id}/extend", Extend).Requires(Permission.Consume, "queue").WithName("Extend").WithSummary("Extend the lease: {\"lease\", \"extendBy\"?}")
            .WithDescription("The lease then runs extendBy from now (default: the queue's lease). 409 as for ack.")
            .DocumentBody<ExtendSchema>(required: true, JsonType)
            .Produces<ExtendedSchema>().ProducesProblem(400).ProducesProblem(404).ProducesProblem(409).ProducesProblem(413).ProducesProblem(415).ProducesProblem(422);
        queues.MapGet("/{queue}/messages", Peek).Requires(Permission.Consume, "queue").WithName("Peek")
            .WithSummary("Peek: list messages without receiving them (state=ready|delayed|leased|all, after=, limit=)")
            .WithDescription("""
                Nothing changes: no lease is taken, no attempt counted, and no lease token is shown. state= is ready (the default: visible
                messages, in the order receives would take them), delayed, leased, all, or a comma-separated list of them; dead letters
                have their own listing. Messages come in id order; limit= 1 to 1000 (default 20); page with after= set to the previous page's next.
                404 queue-not-found for a queue that does not exist.
                """)
            .Produces<PeekPageSchema>().ProducesProblem(400).ProducesProblem(404);
        queues.MapGet("/{queue}/dead-letters", DeadLetters).Requires(Permission.Consume, "queue").WithName("ListDeadLetters").WithSummary("Dead letters with their reasons (after=, limit=)")
            .Produces<DeadLetterPageSchema>().ProducesProblem(400).ProducesProblem(404);
        queues.MapPost("/{queue}/dead-letters/redrive", RedriveAll).RequiresAdmin("redrive all dead letters").WithName("RedriveAll").WithSummary("Put every dead letter back into the queue")
            .Produces<RedrivenSchema>().ProducesProblem(400).ProducesProblem(404);
        queues.MapPost("/{queue}/dead-letters/purge", Purge).RequiresAdmin("purge dead letters").WithName("PurgeDeadLetters").WithSummary("Delete every dead letter")
            .Produces<PurgedSchema>().ProducesProblem(400).ProducesProblem(404);
        queues.MapPost("/{queue}/dead-letters/{id}/redrive", RedriveOne).RequiresAdmin("redrive a dead letter").WithName("Redrive").WithSummary("Put one dead letter back into the queue")
            .WithDescription("404 queue-not-found, or message-not-found when the queue has no dead letter with that id.")
            .Produces<RedrivenSchema>().ProducesProblem(400).ProducesProblem(404);
        queues.MapGet("/{queue}/bindings", Bindings).Requires(Permission.Consume, "queue").WithName("ListBindings").WithSummary("The topics (or patterns) feeding this queue")
            .Produces<BindingListSchema>().ProducesProblem(400).ProducesProblem(404);
        queues.MapPut("/{queue}/bindings/{pattern}", Bind).RequiresAdmin("bind a topic to a queue").WithName("Bind").WithSummary("Feed the queue with every message published to a topic or pattern (durable pub/sub)")
            .WithDescription("No body. 201 when added, 200 when it was there already. A missing queue is created with the defaults (404 queue-not-found instead when the hub does not create queues on first send).")
            .Produces<BindingSchema>(201).Produces<BindingSchema>().ProducesProblem(400).ProducesProblem(404);
        queues.MapDelete("/{queue}/bindings/{pattern}", Unbind).RequiresAdmin("unbind a topic from a queue").WithName("Unbind").WithSummary("Stop feeding the queue from a topic or pattern")
            .WithDescription("404 binding-not-found when the queue has no such binding.")
            .Produces(204).ProducesProblem(400).ProducesProblem(404);
        queues.MapPost("/{queue}/requests", Request).Requires(Permission.Publish, "queue").WithName("Request")
            .WithSummary("Request/reply: 200 with the reply within timeout= seconds (default 30) or 504; timeout=0 or Prefer: respond-async answers 202 + Location of the reply")
            .WithDescription("""
                One message (the body as for send, not a batch); the responder receives it with replyTo and answers with POST /v1/replies/{replyTo}.
                504 timeout (its problem carries replyId) when no reply came in time; the request stays in the queue.
                202: the reply stays fetchable at Location (GET /v1/replies/{id}) for an hour, by the caller only. Idempotency-Key as for send
                (each principal's own: the same key from another caller is another request with another reply).
                """)
            .DocumentBody<EnvelopeSchema>(required: true, JsonType, OctetType, TextType)
            .Produces<ReplySchema>().Produces<RequestAcceptedSchema>(202)
            .ProducesProblem(400).ProducesProblem(404).ProducesProblem(413).ProducesProblem(415).ProducesProblem(422).ProducesProblem(503).ProducesProblem(504);

        var replies = v1.MapGroup("/replies").WithTags("Queues");
        replies.MapGet("/{id}", GetReply).WithName("GetReply").WithSummary("A request's reply: 200 when replied, 202 while pending (wait= long-polls; Accept: text/event-stream streams it)")
            .WithDescription("Read by the principal that sent the request (and admins) only: anyone else gets 404 reply-not-found, as for an unknown id. 410 reply-expired: the wait ended without a reply. With Accept: text/event-stream the answer is one event, reply or expired, whose data is this JSON, then the stream ends.")
            .Produces<ReplySchema>().Produces<ReplySchema>(202).WithMetadata(Sse.EventStreamRoute.Instance)
            .DocumentEventStream(200, "Comments while waiting, then one event (reply or expired) whose data is the reply JSON.")
            .ProducesProblem(400).ProducesProblem(404).ProducesProblem(410);
        replies.MapPost("/{id}", PostReply).WithName("PostReply").WithSummary("Answer a request (its replyTo): {\"payload\": …}; ?lease= (the request's, from receive) also acks the request in the same step")
            .WithDescription("One message, as for send (not a batch). 409 reply-already-sent: a request is answered once; with lease=, 409 lease-mismatch or lease-expired as for ack (then no reply is stored); 410 reply-expired: the requester stopped waiting.")
            .DocumentBody<EnvelopeSchema>(required: true, JsonType, OctetType, TextType)
            .Produces(204).ProducesProblem(400).ProducesProblem(404).ProducesProblem(409).ProducesProblem(410).ProducesProblem(413).ProducesProblem(415).ProducesProblem(422);
    }
}
