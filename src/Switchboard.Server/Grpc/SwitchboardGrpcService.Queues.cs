using System.Globalization;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Switchboard.Core;
using Switchboard.Protocol.V1;
using Switchboard.Server.Auth;
using Switchboard.Server.Sessions;
using ProtoQueueMessage = Switchboard.Protocol.V1.QueueMessage;

namespace Switchboard.Server.Grpc;

/// <summary>Queues and request/reply over gRPC: thin mappings to the hub, errors through the one table.</summary>
internal sealed partial class SwitchboardGrpcService
{
    public async Task<SendReply> Send(SendRequest request, ServerCallContext context)
    {
        Demand(context, Permission.Publish, request.Queue);
        Admit(context);
        var draft = new QueueDraft
        {
            Message = ProtoFrameCodec.Draft(request.Payload, request.Headers, "", request.ContentType),
            ReplyTo = request.ReplyTo.Length > 0 ? request.ReplyTo : null,
            CorrelationId = request.CorrelationId.Length > 0 ? request.CorrelationId : null,
        };
        var result = await Call(() => hub.SendAsync(request.Queue, [draft], Seconds(ProtoFrameCodec.Delay, request.DelaySeconds, "delay_seconds") ?? TimeSpan.Zero, "delay_seconds",
            request.IdempotencyKey.Length > 0 ? request.IdempotencyKey : null, context.GetHttpContext().Grants().Owner, CancellationToken.None));
        return new SendReply { Queue = result.Queue, Id = Id(result.FirstId), Replayed = result.Replayed };
    }

    /// <summary>Leases messages as they become visible, keeping at most <c>max</c> (default 1) leased to this stream.</summary>
    public async Task Receive(ReceiveRequest request, IServerStreamWriter<ProtoQueueMessage> responses, ServerCallContext context)
    {
        Demand(context, Permission.Consume, request.Queue);
        var credit = request.Max == 0 ? 1 : request.Max;
        if (credit is < 0 or > Hub.MaxReceive)
        {
            throw GrpcErrors.ToRpc(ErrorCode.InvalidRequest, $"max is {request.Max}; a stream may hold 1 to {Hub.MaxReceive} leased messages at once.");
        }
        var lease = Seconds(ProtoFrameCodec.Lease, request.LeaseSeconds, "lease_seconds");
        try
        {
            ProtoFrameCodec.NoWait(request, "wait_seconds");
        }
        catch (SwitchboardException ex)
        {
            throw GrpcErrors.ToRpc(ex);
        }
        using var held = Hold(context);
        using var expiry = CredentialExpiry(context);
        var cancel = CancellationTokenSource.CreateLinkedTokenSource(context.CancellationToken, hub.Stopping, expiry?.Token ?? CancellationToken.None);
        var outstanding = new List<Task>();
        try
        {
            while (!cancel.IsCancellationRequested)
            {
                outstanding.RemoveAll(t => t.IsCompleted);
                if (outstanding.Count >= credit)
                {
                    await Task.WhenAny(outstanding);
                    continue;
                }
                var messages = await Call(() => hub.ReceiveAsync(request.Queue, credit - outstanding.Count, lease, hub.Options.MaxWait, cancel.Token));
                foreach (var message in messages)
                {
                    outstanding.Add(hub.WhenSettledAsync(message, cancel.Token));
                    await responses.WriteAsync(ToProto(message), cancel.Token);
                }
            }
            // The loop also ends without an exception when the cancellation woke the credit wait (a settle watcher
            // ends with it): report that end as below, not as a clean end of the call.
            cancel.Token.ThrowIfCancellationRequested();
        }
        catch (OperationCanceledException) when (cancel.IsCancellationRequested)
        {
            if (expiry?.IsCancellationRequested == true && !context.CancellationToken.IsCancellationRequested)
            {
                throw GrpcErrors.ToRpc(Expired(context));
            }
            if (hub.Stopping.IsCancellationRequested && !context.CancellationToken.IsCancellationRequested)
            {
                throw GrpcErrors.ToRpc(ErrorCode.ShuttingDown, "The hub is shutting down; unacked messages are delivered again when their leases run out. Reconnect (to another node).");
            }
        }
        finally
        {
            await cancel.CancelAsync();
            cancel.Dispose();
            // The settle watchers end with the cancellation.
            await Task.WhenAll(outstanding.Select(t => t.ContinueWith(static _ => { }, TaskScheduler.Default)));
        }
    }

    public async Task<LeaseReply> Ack(AckRequest request, ServerCallContext context)
    {
        Demand(context, Permission.Consume, request.Queue);
        await Call(() => hub.AckAsync(request.Queue, ProtoFrameCodec.MessageId(request.Id), request.Lease, CancellationToken.None));
        return new LeaseReply { Id = request.Id };
    }

    public async Task<AckBatchReply> AckBatch(AckBatchRequest request, ServerCallContext context)
    {
        Demand(context, Permission.Consume, request.Queue);
        var outcomes = await Call(() => hub.AckManyAsync(request.Queue, ProtoFrameCodec.Acks(request, "messages"), CancellationToken.None));
        return ProtoFrameCodec.AckedBatch(request.Queue, outcomes);
    }

    public async Task<LeaseReply> Nack(NackRequest request, ServerCallContext context)
    {
        Demand(context, Permission.Consume, request.Queue);
        var nacked = await Call(() => hub.NackAsync(request.Queue, ProtoFrameCodec.MessageId(request.Id), request.Lease, Seconds(ProtoFrameCodec.Delay, request.DelaySeconds, "delay_seconds"), request.Error.Length > 0 ? request.Error : null, CancellationToken.None));
        return LeaseReply(request.Id, null, nacked);
    }

    /// <summary>The answer to ack (id only), extend (the new lease end) and nack (dead-lettered, or visible again when).</summary>
    internal static LeaseReply LeaseReply(string id, DateTimeOffset? leaseExpiresAt, Core.NackResult? nacked)
    {
        var reply = new LeaseReply { Id = id };
        if (leaseExpiresAt is { } until)
        {
            reply.LeaseExpiresAt = Timestamp.FromDateTimeOffset(until);
        }
        if (nacked is not null)
        {
            reply.DeadLettered = nacked.DeadLettered;
            if (nacked.VisibleAt is { } visible)
            {
                reply.VisibleAt = Timestamp.FromDateTimeOffset(visible);
            }
        }
        return reply;
    }

    public async Task<LeaseReply> Extend(ExtendRequest request, ServerCallContext context)
    {
        Demand(context, Permission.Consume, request.Queue);
        var by = Seconds(ProtoFrameCodec.Lease, request.LeaseSeconds, "lease_seconds");
        var until = await Call(() => hub.ExtendAsync(request.Queue, ProtoFrameCodec.MessageId(request.Id), request.Lease, by, CancellationToken.None));
        return new LeaseReply { Id = request.Id, LeaseExpiresAt = Timestamp.FromDateTimeOffset(until) };
    }

    public async Task<Reply> Request(RequestRequest request, ServerCallContext context)
    {
        Demand(context, Permission.Publish, request.Queue);
        Admit(context);
        var timeout = Seconds(ProtoFrameCodec.Timeout, request.TimeoutSeconds, "timeout_seconds") ?? Hub.DefaultRequestWait;
        try
        {
            hub.CheckRequestWait(timeout, "timeout_seconds");
        }
        catch (SwitchboardException ex)
        {
            throw GrpcErrors.ToRpc(ex);
        }
        var draft = new QueueDraft { Message = ProtoFrameCodec.Draft(request.Payload, request.Headers, "", request.ContentType) };
        using var held = Hold(context); // before the request is sent: a refusal sends nothing
        var requestedAt = System.Diagnostics.Stopwatch.GetTimestamp();
        var slot = await Call(() => hub.RequestAndAwaitAsync(request.Queue, draft, timeout, null, context.GetHttpContext().Grants().Owner, requestedAt, context.CancellationToken));
        var id = slot.Id;
        if (slot.Reply is not { } reply)
        {
            throw GrpcErrors.ToRpc(ErrorCode.Timeout, $"No reply came within {timeout.TotalSeconds:0.#} s (request {id}); the request stays queued until a responder takes it.");
        }
        var answer = new Reply { RequestId = id, Payload = ByteString.CopyFrom(reply.Payload.Span), ContentType = reply.ContentType == Core.MessageDraft.JsonContentType ? "" : reply.ContentType };
        foreach (var (name, value) in reply.Headers)
        {
            answer.Headers[name] = value;
        }
        return answer;
    }

    public async Task<Responded> Respond(ReplyRequest request, ServerCallContext context)
    {
        if (request.RequestId.Length == 0)
        {
            // proto3's unset string: a missing field to name, not a request id that no request has (NOT_FOUND).
            throw GrpcErrors.ToRpc(ErrorCode.InvalidRequest, "request_id is empty: give the reply_to of the request message you received.");
        }
        await Call(() => context.GetHttpContext().Grants().DemandReplyAsync(hub, request.RequestId, Permission.Consume));
        await Call(() => hub.ReplyAsync(request.RequestId, ProtoFrameCodec.Draft(request.Payload, request.Headers, "", request.ContentType), request.Lease.Length > 0 ? request.Lease : null, CancellationToken.None));
        return new Responded { RequestId = request.RequestId };
    }

    internal static ProtoQueueMessage ToProto(Core.QueueMessage message)
    {
        var proto = new ProtoQueueMessage
        {
            Queue = message.Queue,
            Id = Id(message.Id),
            Lease = message.Lease ?? "",
            Attempts = message.Attempts,
            Payload = ByteString.CopyFrom(message.Payload.Span),
            ContentType = message.ContentType == Core.MessageDraft.JsonContentType ? "" : message.ContentType,
            EnqueuedAt = Timestamp.FromDateTimeOffset(message.EnqueuedAt),
            ReplyTo = message.ReplyTo ?? "",
            CorrelationId = message.CorrelationId ?? "",
        };
        if (message.LeaseExpiresAt is { } expires)
        {
            proto.LeaseExpiresAt = Timestamp.FromDateTimeOffset(expires);
        }
        foreach (var (name, value) in message.Headers)
        {
            proto.Headers[name] = value;
        }
        return proto;
    }

    private static string Id(long id) => id.ToString(CultureInfo.InvariantCulture);

    /// <summary>A duration field read by <see cref="ProtoFrameCodec"/>'s rule (the field and its range named), refused as INVALID_ARGUMENT.</summary>
    private static TimeSpan? Seconds(Func<long, string, TimeSpan?> read, long seconds, string field)
    {
        try
        {
            return read(seconds, field);
        }
        catch (SwitchboardException ex)
        {
            throw GrpcErrors.ToRpc(ex);
        }
    }

    /// <summary>RESOURCE_EXHAUSTED when the caller is over its publish rate.</summary>
    private void Admit(ServerCallContext context)
    {
        try
        {
            registry.RateLimits.AdmitMessages(context.GetHttpContext(), 1);
        }
        catch (SwitchboardException ex)
        {
            throw GrpcErrors.ToRpc(ex);
        }
    }

    /// <summary>PERMISSION_DENIED unless the caller's scopes allow <paramref name="permission"/> on <paramref name="name"/>.</summary>
    private static void Demand(ServerCallContext context, Permission permission, string name)
    {
        try
        {
            context.GetHttpContext().Grants().Demand(permission, name);
        }
        catch (SwitchboardException ex)
        {
            throw GrpcErrors.ToRpc(ex);
        }
    }

    private static async Task<T> Call<T>(Func<Task<T>> call)
    {
        try
        {
            return await call();
        }
        catch (SwitchboardException ex)
        {
            throw GrpcErrors.ToRpc(ex);
        }
    }

    private static async Task Call(Func<Task> call)
    {
        try
        {
            await call();
        }
        catch (SwitchboardException ex)
        {
            throw GrpcErrors.ToRpc(ex);
        }
    }
}
