using Google.Protobuf;
using Grpc.Core;
using Switchboard.Core;
using Switchboard.Protocol.V1;
using Switchboard.Server.Auth;
using Switchboard.Server.Connections;
using Switchboard.Server.Observability;
using Switchboard.Server.Sessions;

namespace Switchboard.Server.Grpc;

internal sealed partial class SwitchboardGrpcService
{
    /// <summary>Subscribe: messages as protobuf Message, encoded once per message and shared by every gRPC subscriber.</summary>
    public async Task Subscribe(SubscribeRequest request, IServerStreamWriter<Encoded> responses, ServerCallContext context)
    {
        foreach (var topic in request.Topics)
        {
            Demand(context, Permission.Subscribe, topic);
        }
        await ServeAsync(context, async connection =>
        {
            var sink = new OutboxSink(connection.Outbox, MessageOnly, FrameKind.Binary,
                notice => new OutboundFrame(new Protocol.V1.Message { Topic = notice.Topic, Notice = ProtoFrameCodec.ToNotice("", notice) }.ToByteArray(), FrameKind.Binary),
                connection.SubscriptionFailed);
            try
            {
                var start = ProtoFrameCodec.Start(request);
                if (ProtoFrameCodec.Snapshot(request) is { } resume)
                {
                    start = await ProtoFrameCodec.ResumeAsync(hub, resume, context.CancellationToken);
                }
                var subscription = await hub.SubscribeAsync(request.Topics, start, sink, connection.AsSubscriber(), context.CancellationToken);
                connection.Subscriptions.TryAdd("grpc", subscription);
            }
            catch (SwitchboardException ex)
            {
                throw GrpcErrors.ToRpc(ex);
            }
            sink.Open();
            await WriteAsync(connection, responses, context, options.CloseGrace);
        });
    }

    /// <summary>Connect: the multiplexed protocol (the frames of switchboard.v1.proto), the same session as the WebSocket.</summary>
    public Task Connect(IAsyncStreamReader<Raw> requests, IServerStreamWriter<Encoded> responses, ServerCallContext context)
        => ServeAsync(context, async connection =>
        {
            var writing = WriteAsync(connection, responses, context, options.CloseGrace);
            await using (var session = new FrameSession(hub, connection, ProtoFrameCodec.Instance, authenticator, registry))
            {
                try
                {
                    await foreach (var frame in requests.ReadAllAsync(connection.Closing))
                    {
                        await session.HandleAsync(frame.Bytes, connection.Closing);
                    }
                }
                catch (OperationCanceledException) when (connection.Closing.IsCancellationRequested)
                {
                    // ended by the hub (reported below) or by the client
                }
                catch (RpcException ex) when (ex.StatusCode == StatusCode.ResourceExhausted && !context.CancellationToken.IsCancellationRequested)
                {
                    // A frame over the receive limit: the framework cannot read on past it, so the call ends saying why (the
                    // limit, and the hub's code in the trailer) like the hub's other refusals, not in the framework's words.
                    var refused = GrpcErrors.Unread(ex, GrpcHosting.ReceiveLimit(options));
                    connection.Abort(ErrorCode.RequestTooLarge, refused.Status.Detail);
                }
                // A client that half-closed still reads: its requests' replies go out when they come (each request
                // waits at most its timeout, and not at all once the connection ends).
                await session.RequestsAnsweredAsync();
            }
            // The client finished sending: the answers still queued go out, then the call ends. When the hub ended the
            // connection (expired credential, drain), the writer ends the call with the status that says why; a
            // completed outbox would end it with OK instead (the writer sees "completed" before "cancelled").
            if (connection.CloseReason is null)
            {
                connection.Outbox.Complete();
            }
            await writing;
        });

    /// <summary>
    /// Serves one stream on a connection of its own: opened here, out of the HTTP request's span, in the connection's log
    /// scope, and closed with why it ended (the hub's reason, what was thrown, or the client's going) in its log.
    /// </summary>
    private async Task ServeAsync(ServerCallContext context, Func<Connection, Task> serve)
    {
        var connection = Open(context);
        RequestSpan.Leave();
        using var scope = registry.LogScope(connection);
        Exception? failure = null;
        try
        {
            await serve(connection);
        }
        catch (Exception ex) when ((failure = ex) is null)
        {
            // never taken: the filter only notes what ended the call, for the log below
        }
        finally
        {
            registry.LogClosed(connection, EndedBy(connection, context, failure));
            await registry.CloseAsync(connection);
        }
    }

    /// <summary>Why a stream ended, for the connection's log: the hub's reason, the client's going, or what was thrown.</summary>
    private static string EndedBy(Connection connection, ServerCallContext context, Exception? failure)
        => connection.CloseReason is var (code, detail) ? $"{code}: {detail}"
            : failure is not null ? $"{failure.GetType().Name}: {failure.Message}"
            : context.CancellationToken.IsCancellationRequested ? "the client ended the call (cancelled, reset or gone)"
            : "the call completed";

    private Connection Open(ServerCallContext context)
    {
        if (hub.State != HubState.Ready)
        {
            throw GrpcErrors.ToRpc(hub.State == HubState.Starting ? ErrorCode.NotReady : ErrorCode.ShuttingDown, "The hub is not accepting new streams right now; retry shortly (or on another node).");
        }
        var http = context.GetHttpContext();
        Connection connection;
        try
        {
            connection = registry.Open("grpc", http.Caller(), http.Connection.RemoteIpAddress?.ToString());
        }
        catch (SwitchboardException ex)
        {
            throw GrpcErrors.ToRpc(ex);
        }
        connection.Own(context.CancellationToken.Register(connection.Close));
        connection.Own(hub.Stopping.Register(() => connection.Abort(ErrorCode.ShuttingDown, "The hub is shutting down; reconnect (to another node) and resume from your last position.")));
        return connection;
    }

    /// <summary>
    /// Drains the outbox into the response stream; a burst is written with one flush. Once the hub ends the call it
    /// stops between frames; a write the client does not take within the grace period is abandoned (the stream is
    /// reset), otherwise the call ends with the status that says why.
    /// </summary>
    private static async Task WriteAsync(Connection connection, IServerStreamWriter<Encoded> responses, ServerCallContext context, TimeSpan grace)
    {
        var buffered = new WriteOptions(WriteFlags.BufferHint);
        using var stuck = CancellationTokenSource.CreateLinkedTokenSource(context.CancellationToken);
        var http = context.GetHttpContext();
        using var armed = connection.Closing.Register(() =>
        {
            if (connection.CloseReason?.Code == ErrorCode.SlowConsumer)
            {
                // It has not read for the whole slow-consumer timeout: no grace, and no status (it would queue behind
                // the data it is not taking). Reset the stream now; the client sees the call fail and resumes.
                ResetForOverload(http);
                return;
            }
            stuck.CancelAfter(grace);
        });
        try
        {
            while (true)
            {
                var (ok, frame) = await connection.Outbox.ReadAsync(connection.Closing);
                if (!ok)
                {
                    return;
                }
                // A burst is written without flushing, up to 64 KiB: flushing is where backpressure applies, so a
                // burst with no bound would buffer without bound while producers keep refilling the outbox.
                var burst = 0;
                while (burst < BurstBytes && connection.Outbox.TryRead(out var next))
                {
                    responses.WriteOptions = buffered;
                    await responses.WriteAsync(new Encoded(frame.Data), stuck.Token);
                    burst += frame.Data.Length;
                    frame = next;
                }
                responses.WriteOptions = null;
                await responses.WriteAsync(new Encoded(frame.Data), stuck.Token);
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException or IOException or InvalidOperationException && connection.CloseReason?.Code == ErrorCode.SlowConsumer)
        {
            // the stream was reset when the hub cut it (above)
        }
        catch (OperationCanceledException) when (connection.CloseReason is var (code, detail) && !stuck.IsCancellationRequested)
        {
            if (code == ErrorCode.ShuttingDown && connection.Answered is { } answered)
            {
                // The hub still serves while it drains: the operations it took on this stream (a publish may be committed
                // already) are answered before the status, or the client could not tell a stored message from one never taken.
                await AnswerTakenAsync(connection, answered, responses, grace, stuck.Token);
            }
            // Ended by the hub for another reason (drain): the status says why, so the client resumes knowingly.
            throw GrpcErrors.ToRpc(code, detail);
        }
        catch (OperationCanceledException) when (context.CancellationToken.IsCancellationRequested)
        {
            // the client went away or its deadline passed
        }
        catch (OperationCanceledException) when (stuck.IsCancellationRequested)
        {
            // The client stopped taking frames altogether: even the status would wait behind them, so reset the stream.
            ResetForOverload(http);
        }
    }

    private static async Task AnswerTakenAsync(Connection connection, Func<Task> answered, IServerStreamWriter<Encoded> responses, TimeSpan grace, CancellationToken stuck)
    {
        try
        {
            await answered().WaitAsync(grace, stuck);
            while (connection.Outbox.TryRead(out var frame))
            {
                await responses.WriteAsync(new Encoded(frame.Data), stuck);
            }
        }
        catch (Exception ex) when (ex is TimeoutException or OperationCanceledException or IOException or InvalidOperationException)
        {
            // the client stopped taking frames, or left: the status (or the reset) is all it gets
        }
    }

    // About one HTTP/2 flow-control window's worth: a flush per burst, yet never more than this unflushed.
    private const int BurstBytes = 64 * 1024;

    /// <summary>A stored message as a protobuf Message (the Subscribe stream's element).</summary>
    private static readonly MessageEncoding MessageOnly = new MessageOnlyEncoding();

    private sealed class MessageOnlyEncoding : MessageEncoding
    {
        protected override byte[] Encode(Core.Message message) => ProtoFrameCodec.ToProto(message).ToByteArray();
    }

    /// <summary>
    /// Resets a stream whose client stopped taking what it asked for with HTTP/2's ENHANCE_YOUR_CALM, which gRPC clients
    /// report as RESOURCE_EXHAUSTED (the gRPC HTTP/2 transport's mapping) — not INTERNAL, as a plain abort's
    /// INTERNAL_ERROR would be: the client was too slow, the hub did not fail. HTTP/1.1 (gRPC-Web) has no reset: abort.
    /// </summary>
    private static void ResetForOverload(Microsoft.AspNetCore.Http.HttpContext http)
    {
        const int EnhanceYourCalm = 0xb;
        if (http.Features.Get<Microsoft.AspNetCore.Http.Features.IHttpResetFeature>() is { } reset)
        {
            reset.Reset(EnhanceYourCalm);
        }
        else
        {
            http.Abort();
        }
    }
}
