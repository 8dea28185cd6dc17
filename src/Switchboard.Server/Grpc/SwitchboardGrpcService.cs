using Grpc.Core;
using Switchboard.Core;
using Switchboard.Protocol.V1;
using Switchboard.Server.Auth;
using QueueMessage = Switchboard.Protocol.V1.QueueMessage;
using Switchboard.Server.Connections;
using Switchboard.Server.Sessions;
using Switchboard.Server.Observability;

namespace Switchboard.Server.Grpc;

/// <summary>
/// <c>switchboard.v1.Switchboard</c>: a thin adapter like every transport — decode (protobuf), ask the hub, encode.
/// Streams run on the same connection model as WebSockets (bounded outbox, slow-consumer cut, drain).
/// </summary>
internal sealed partial class SwitchboardGrpcService(Hub hub, ConnectionRegistry registry, ServerOptions options, Authenticator authenticator)
{
    public async Task<PublishReply> Publish(PublishRequest request, ServerCallContext context)
    {
        try
        {
            var command = ProtoFrameCodec.Publish(null, request);
            Demand(context, Permission.Publish, command.Topic);
            registry.RateLimits.AdmitMessages(context.GetHttpContext(), command.Messages.Count);
            var result = await hub.PublishAsync(command.Topic, command.Messages, command.IdempotencyKey, context.GetHttpContext().Grants().Owner, context.CancellationToken);
            hub.Meters.CountPublished(result, Core.Observability.Protocols.GrpcTag);
            return ProtoFrameCodec.ToReply(result, command.IsBatch);
        }
        catch (SwitchboardException ex)
        {
            throw GrpcErrors.ToRpc(ex);
        }
    }

    public async Task<PublishSummary> PublishStream(IAsyncStreamReader<PublishRequest> requests, ServerCallContext context)
    {
        // Publishes are handed to the hub in arrival order without waiting for each commit (they share group
        // commits and keep their order); at most this many are awaited at once.
        const int InFlight = 256;
        var pending = new Queue<Task<Core.Engines.AppendResult>>();
        var summary = new PublishSummary();
        async Task Settle(Task<Core.Engines.AppendResult> task)
        {
            var result = await task;
            hub.Meters.CountPublished(result, Core.Observability.Protocols.GrpcTag);
            summary.Count += result.Count;
            summary.Last[result.Topic] = new TopicPosition { Epoch = result.Epoch, Offset = result.LastOffset };
        }
        using var held = Hold(context);
        using var expiry = CredentialExpiry(context);
        using var reading = CancellationTokenSource.CreateLinkedTokenSource(context.CancellationToken, expiry?.Token ?? CancellationToken.None);
        try
        {
            await foreach (var request in requests.ReadAllAsync(reading.Token))
            {
                var command = ProtoFrameCodec.Publish(null, request);
                context.GetHttpContext().Grants().Demand(Permission.Publish, command.Topic);
                registry.RateLimits.AdmitMessages(context.GetHttpContext(), command.Messages.Count);
                pending.Enqueue(hub.PublishAsync(command.Topic, command.Messages, command.IdempotencyKey, context.GetHttpContext().Grants().Owner, CancellationToken.None));
                if (pending.Count >= InFlight)
                {
                    await Settle(pending.Dequeue());
                }
            }
            while (pending.Count > 0)
            {
                await Settle(pending.Dequeue());
            }
            return summary;
        }
        // A request that is not a PublishRequest at all (refused by its marshaller, GrpcMethods) or is over the receive
        // limit (refused by the framework) is a refused message like any other: answered with how many were stored before it.
        catch (Exception ex) when (ex is SwitchboardException || ex is RpcException { StatusCode: StatusCode.InvalidArgument or StatusCode.ResourceExhausted }
            || (ex is OperationCanceledException && expiry?.IsCancellationRequested == true && !context.CancellationToken.IsCancellationRequested))
        {
            // What was accepted before the refusal (or the credential's expiry) stays stored: say how much.
            foreach (var task in pending)
            {
                try
                {
                    await Settle(task);
                }
                catch (SwitchboardException)
                {
                }
            }
            var status = ex is RpcException unread ? GrpcErrors.Unread(unread, GrpcHosting.ReceiveLimit(options)) : GrpcErrors.ToRpc(ex as SwitchboardException ?? Expired(context));
            status.Trailers.Add("switchboard-count", summary.Count.ToString(System.Globalization.CultureInfo.InvariantCulture));
            throw status;
        }
        catch (Exception ex) when (ex is IOException || (ex is OperationCanceledException && context.CancellationToken.IsCancellationRequested))
        {
            // The client abandoned (reset) the stream: what it sent before is committed in order (the pending publishes
            // complete on their own); there is no one to answer.
            throw new RpcException(new Status(StatusCode.Cancelled, "The client abandoned the stream."));
        }
    }

    /// <summary>
    /// Cancelled when the caller's credential expires (a JWT's exp), for the long calls that are not connections of
    /// the registry (Receive, PublishStream): they end then with UNAUTHENTICATED, as connections are ended by
    /// <see cref="ConnectionRegistry"/>. Null for credentials that do not expire.
    /// </summary>
    /// <summary>
    /// A connection's slot for the calls that stay open but are not connections of the registry (Receive, PublishStream,
    /// a Request waiting for its reply): RESOURCE_EXHAUSTED over the Switchboard:Connections caps, as for Subscribe.
    /// </summary>
    private ConnectionRegistry.Waiting Hold(ServerCallContext context)
    {
        try
        {
            return registry.Hold(context.GetHttpContext());
        }
        catch (SwitchboardException ex)
        {
            throw GrpcErrors.ToRpc(ex);
        }
    }

    private static CancellationTokenSource? CredentialExpiry(ServerCallContext context) => Auth.CredentialExpiry.Watch(context.GetHttpContext().Caller());

    private static SwitchboardException Expired(ServerCallContext context) => Auth.CredentialExpiry.Expired(context.GetHttpContext().Caller(), "Call again with a fresh one.");
}
