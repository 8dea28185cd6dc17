using System.Net.WebSockets;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Logging;
using Switchboard.Core;
using Switchboard.Core.Delivery;
using Switchboard.Server.Auth;
using Switchboard.Server.Connections;
using Switchboard.Server.Rest.Parsing;
using Switchboard.Server.Sessions;
using Switchboard.Server.Observability;

namespace Switchboard.Server.WebSockets;

/// <summary>
/// <c>GET /v1/ws</c>: the multiplexed protocol (subprotocols switchboard.v1.json and switchboard.v1.proto);
/// <c>GET /v1/topics/{topic}/ws</c>: plain mode, one message per frame both ways. Thin: accept, pump bytes,
/// hand frames to the session.
/// </summary>
internal static class WebSocketEndpoints
{
    public static void Map(RouteGroupBuilder v1)
    {
        // Anonymous upgrades are let through: the socket is accepted so that a refusal can be a close code with its
        // reason (browsers cannot read a 401), and so that browsers can send their credential in the first frame.
        v1.MapGet("/ws", Multiplexed).AllowAnonymous().WithTags("WebSocket").WithName("WebSocket")
            .WithSummary("WebSocket, multiplexed: subscribe, unsubscribe, publish, ping on one connection (see /asyncapi.json)")
            .ProducesProblem(400).ProducesProblem(503);
        v1.MapGet("/topics/{topic}/ws", Plain).AllowAnonymous().WithTags("WebSocket").WithName("WebSocketPlain")
            .WithSummary("WebSocket, plain: each text frame sent is published; each message arrives as one frame. ?after= resumes.")
            .ProducesProblem(400).ProducesProblem(503);
    }

    private static async Task Multiplexed(HttpContext context, Hub hub, ServerOptions options, ConnectionRegistry registry, Authenticator authenticator, ILogger<Connection> logger)
    {
        if (!context.WebSockets.IsWebSocketRequest)
        {
            throw new SwitchboardException(ErrorCode.InvalidRequest, "This endpoint speaks WebSocket: connect with ws:// (or wss://) and the subprotocol switchboard.v1.json or switchboard.v1.proto.");
        }
        var offered = context.WebSockets.WebSocketRequestedProtocols;
        IFrameCodec codec;
        if (offered.Count == 0 || offered.Contains(JsonFrameCodec.Instance.Name))
        {
            codec = JsonFrameCodec.Instance; // no subprotocol: JSON, so any WebSocket tool can talk to the hub
        }
        else if (offered.Contains(ProtoFrameCodec.Instance.Name))
        {
            codec = ProtoFrameCodec.Instance;
        }
        else
        {
            throw new SwitchboardException(ErrorCode.InvalidRequest, $"None of the offered subprotocols ({string.Join(", ", offered)}) is spoken here; offer switchboard.v1.json or switchboard.v1.proto.");
        }
        var batched = context.Request.Query["batch"].ToString() switch
        {
            "" or "false" => false,
            "true" => true,
            var other => throw new SwitchboardException(ErrorCode.InvalidRequest, $"batch is '{other}'; use batch=true to get several frames per WebSocket message (or leave it out)."),
        };
        EnsureReady(hub);

        var (caller, refusal) = await CallerOf(context, authenticator, options);
        using var socket = await context.WebSockets.AcceptWebSocketAsync(Accept(context, options, offered.Count == 0 ? null : codec.Name));
        if (await OpenAsync(context, socket, registry, options, codec == JsonFrameCodec.Instance ? "ws-json" : "ws-proto", caller) is not { } connection)
        {
            return;
        }
        await RunAsync(context, socket, connection, hub, options, registry, logger, async pump =>
        {
            if (refusal is not null)
            {
                return WebSocketPump.CloseFor(ErrorCode.Unauthorized, refusal);
            }
            await using var session = new FrameSession(hub, connection, codec, authenticator, registry);
            return await pump.ReceiveAsync(async (frame, type) =>
            {
                if (type != (codec.Kind == FrameKind.Text ? WebSocketMessageType.Text : WebSocketMessageType.Binary))
                {
                    return (WebSocketCloseStatus.InvalidMessageType, codec.Kind == FrameKind.Text
                        ? "This connection speaks switchboard.v1.json: send text frames."
                        : "This connection speaks switchboard.v1.proto: send binary frames.");
                }
                await session.HandleAsync(frame, connection.Closing);
                return null;
            });
        }, batched ? (codec.Kind == FrameKind.Text ? FrameBatching.Lines : FrameBatching.Delimited) : FrameBatching.None);
    }

    private static async Task Plain(HttpContext context, Hub hub, ServerOptions options, ConnectionRegistry registry, Authenticator authenticator, ILogger<Connection> logger, string topic, string? after)
    {
        if (!context.WebSockets.IsWebSocketRequest)
        {
            throw new SwitchboardException(ErrorCode.InvalidRequest, "This endpoint speaks WebSocket: connect with ws:// (or wss://). Each text frame you send is published to the topic; each message arrives as one frame.");
        }
        TopicName.Validate(topic, allowSystem: true); // a presence topic is followed; a frame sent to it is refused as a publish
        var start = after is null ? SubscribeStart.Now : SubscribeStart.AfterPosition(QueryValues.After(after, null));
        EnsureReady(hub);

        var (caller, refusal) = await CallerOf(context, authenticator, options);
        using var socket = await context.WebSockets.AcceptWebSocketAsync(Accept(context, options, null));
        if (await OpenAsync(context, socket, registry, options, "ws-plain", caller) is not { } connection)
        {
            return;
        }
        await RunAsync(context, socket, connection, hub, options, registry, logger, async pump =>
        {
            if (refusal is not null || caller.IsPending)
            {
                // Every frame of plain mode is a message, so there is no auth frame: the credential comes with the upgrade.
                return WebSocketPump.CloseFor(ErrorCode.Unauthorized, refusal ?? "Plain mode needs credentials with the upgrade: ?access_token=<token> or an Authorization header.");
            }
            if (!caller.Grants.Allows(Permission.Subscribe, topic))
            {
                return WebSocketPump.CloseFor(ErrorCode.Forbidden, caller.Grants.Refusal(Permission.Subscribe, topic).Message);
            }
            var sink = new PlainSink(connection);
            try
            {
                var subscription = await hub.SubscribeAsync([topic], start, sink, connection.AsSubscriber(), connection.Closing);
                connection.Subscriptions.TryAdd("plain", subscription);
            }
            catch (SwitchboardException ex)
            {
                return WebSocketPump.CloseFor(ex.Code, ex.Message);
            }
            sink.Open();
            return await pump.ReceiveAsync(async (frame, type) =>
            {
                var draft = new MessageDraft
                {
                    Payload = frame,
                    ContentType = type == WebSocketMessageType.Binary ? "application/octet-stream" : LooksLikeJson(frame.Span) ? MessageDraft.JsonContentType : "text/plain; charset=utf-8",
                };
                try
                {
                    // Plain mode has no answer frames: a refused message ends the connection with the reason (4429
                    // over the client's publish rate, which holds here as on every other way to publish).
                    caller.Grants.Demand(Permission.Publish, topic);
                    registry.RateLimits.AdmitMessages(caller, connection.RemoteAddress, 1);
                    var published = await hub.PublishAsync(topic, [draft], null, CancellationToken.None);
                    hub.Meters.CountPublished(published, Core.Observability.Protocols.WebSocketTag);
                    return null;
                }
                catch (SwitchboardException ex)
                {
                    return WebSocketPump.CloseFor(ex.Code, ex.Message);
                }
            });
        });
    }

    private static async Task RunAsync(HttpContext context, WebSocket socket, Connection connection, Hub hub, ServerOptions options, ConnectionRegistry registry, ILogger logger,
        Func<WebSocketPump, Task<(WebSocketCloseStatus, string)?>> receive, FrameBatching batching = FrameBatching.None)
    {
        try
        {
            await ServeAsync(context, socket, connection, hub, options, registry, logger, receive, batching);
        }
        catch
        {
            // ServeAsync closes the connection in order (after telling the client why); if it threw before that, the
            // connection still leaves the registry and frees its per-address and per-principal slots.
            await registry.CloseAsync(connection);
            throw;
        }
    }

    private static async Task ServeAsync(HttpContext context, WebSocket socket, Connection connection, Hub hub, ServerOptions options, ConnectionRegistry registry, ILogger logger,
        Func<WebSocketPump, Task<(WebSocketCloseStatus, string)?>> receive, FrameBatching batching)
    {
        RequestSpan.Leave();
        using var scope = ConnectionLog.Scope(logger, connection);
        ConnectionLog.Opened(logger, connection.Id, connection.Transport, connection.RemoteAddress);
        var coalescing = WriteCoalescing.For(context);
        var pump = new WebSocketPump(socket, connection, (int)Math.Min(int.MaxValue - 1, options.Hub.MaxMessageBytes + FrameOverheadBytes), coalescing, batching);
        if (coalescing is not null)
        {
            connection.KeepAlive = new WebSocketKeepAlive(socket, coalescing, options.Heartbeat); // see Accept
        }
        using var draining = hub.Stopping.Register(() => connection.Abort(ErrorCode.ShuttingDown, "The hub is shutting down; reconnect (to another node) and resume from your last position."));
        // Both loops start here and go on when they first wait (no thread-pool hop, and no wrapper task held per connection).
        var sending = pump.SendAsync();
        var receiving = ReceiveAsync();

        // The connection ends when the client closes (or breaks a rule), or when the hub ends it (slow consumer, drain).
        var ended = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using (connection.Closing.Register(() => ended.TrySetResult()))
        {
            await Task.WhenAny(receiving, ended.Task);
        }
        (WebSocketCloseStatus Status, string Reason) close = receiving.IsCompleted && await receiving is { } own
            ? own
            : connection.CloseReason is var (code, detail) ? WebSocketPump.CloseFor(code, detail) : (WebSocketCloseStatus.NormalClosure, "");
        connection.Close(); // the sender stops between frames
        var grace = options.CloseGrace;
        if (connection.CloseReason is { Code: ErrorCode.ShuttingDown } && connection.Answered is { } answered)
        {
            // The hub still serves while it drains: the operations it took (a publish may be committed already) are
            // answered before the close, or a client could not tell a stored message from one never taken. The sender
            // stopped once the outbox ran dry; it goes on once more for those answers.
            if (await Completes(answered(), grace) && await Completes(sending, grace))
            {
                sending = pump.SendAsync();
            }
        }

        // Tell the client why: after the frame in flight (if the client reads again within the grace period),
        // then wait for its answer. A client that neither reads nor answers is reset, not waited for.
        var told = await Completes(sending, grace) && await pump.CloseAsync(close.Status, close.Reason, grace);
        if (socket.State == WebSocketState.Aborted)
        {
            // The WebSocket wrote its close (e.g. 1007) into the transport's output and let go of the stream.
            // Returning now would end the connection at once and could drop that frame before it is sent, so wait
            // for the client to hang up, at most the grace period.
            try
            {
                await Task.Delay(grace, context.RequestAborted);
            }
            catch (OperationCanceledException)
            {
            }
        }
        else if (!told || !await Completes(receiving, grace))
        {
            context.Abort();
        }
        else if (socket.State == WebSocketState.CloseSent)
        {
            // The receive loop stopped taking frames at the hub's close, but what the client sent before it saw that
            // close is still arriving. Ending now would close a connection with unread input, which TCP answers with a
            // reset, and a reset can destroy the close frame before the client reads it: read those frames away until
            // the client's close answers (at most the grace period).
            await WebSocketPump.DrainUntilClosedAsync(socket, grace);
        }
        await registry.CloseAsync(connection); // listed (as closing) until now, so operators see the cut
        ConnectionLog.Closed(logger, connection.Id, connection.Transport, $"{(int)close.Status} {close.Reason}{(told ? "" : " (reset: the client did not read)")}");

        async Task<(WebSocketCloseStatus, string)?> ReceiveAsync()
        {
            try
            {
                return await receive(pump);
            }
            catch (OperationCanceledException) when (connection.Closing.IsCancellationRequested)
            {
                return null; // a frame's handling stopped because the connection is closing: the close says why
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                ConnectionLog.Failed(logger, connection.Id, connection.Transport, ex);
                return (WebSocketCloseStatus.InternalServerError, "The hub failed on its side; reconnect and resume.");
            }
        }
    }

    /// <summary>
    /// Who is upgrading: the caller authenticated with the upgrade; anyone when authentication is off; or, when the
    /// upgrade carried no credential, a pending caller that must send an auth frame within the auth timeout. A
    /// credential that came and was refused gives a pending caller and the refusal, to close with (4401).
    /// </summary>
    private static async Task<(Caller Caller, string? Refusal)> CallerOf(HttpContext context, Authenticator authenticator, ServerOptions options)
    {
        if (context.User.Identity is CallerIdentity || !authenticator.Enabled)
        {
            return (context.Caller(), null);
        }
        var pending = Caller.Pending(DateTimeOffset.UtcNow + options.AuthTimeout);
        // ASP.NET Core keeps the authentication result on the request (IAuthenticateResultFeature) only when it
        // succeeded; a refused credential's reason is asked of the handler again (it answers its cached result).
        var result = await Microsoft.AspNetCore.Authentication.AuthenticationHttpContextExtensions.AuthenticateAsync(context, CredentialAuthenticationHandler.SchemeName);
        return (pending, result.Failure?.Message);
    }

    /// <summary>Registers the connection, or closes the socket saying why it may not (too many connections: 4429).</summary>
    private static async Task<Connection?> OpenAsync(HttpContext context, WebSocket socket, ConnectionRegistry registry, ServerOptions options, string transport, Caller caller)
    {
        SwitchboardException refused;
        try
        {
            return registry.Open(transport, caller, context.Connection.RemoteIpAddress?.ToString());
        }
        catch (SwitchboardException ex)
        {
            refused = ex;
        }
        var (status, reason) = WebSocketPump.CloseFor(refused.Code, refused.Message);
        using var grace = new CancellationTokenSource(options.CloseGrace);
        try
        {
            await socket.CloseAsync(status, reason, grace.Token);
        }
        catch (Exception ex) when (ex is OperationCanceledException or WebSocketException)
        {
            // the client did not answer the close in time: the socket is dropped
        }
        return null;
    }

    private static async Task<bool> Completes(Task task, TimeSpan within)
    {
        try
        {
            await task.WaitAsync(within);
            return true;
        }
        catch (TimeoutException)
        {
            return false;
        }
    }

    // Room for the JSON envelope around a payload of the maximum size (topic, headers, key, base64 growth of small binaries).
    private const long FrameOverheadBytes = 64 * 1024;

    private static WebSocketAcceptContext Accept(HttpContext context, ServerOptions options, string? subProtocol) => new()
    {
        SubProtocol = subProtocol,
        // permessage-deflate stays off (DangerousEnableCompression is false): a client that offers it gets no
        // extension, and a frame with RSV1 (compressed) is a protocol error the WebSocket closes with 1002. So no
        // frame is ever inflated, and a small compressed frame cannot expand past the size limit (a zip bomb).
        // Compression would also cost each subscriber its own deflate state and CPU, undoing encode-once fan-out.
        DangerousEnableCompression = false,
        // A client that answers no ping within two heartbeats is gone (half-open TCP); drop it. Over HTTP/1.1 the
        // registry's sweep does that for every socket (WebSocketKeepAlive); the WebSocket's own keep-alive, a timer per
        // socket, only where the upgrade does not go through a CoalescingStream (WebSockets over HTTP/2).
        KeepAliveInterval = WriteCoalescing.WillCoalesce(context) ? TimeSpan.Zero : options.Heartbeat,
        KeepAliveTimeout = WriteCoalescing.WillCoalesce(context) ? Timeout.InfiniteTimeSpan : options.Heartbeat * 2,
    };

    private static void EnsureReady(Hub hub)
    {
        if (hub.State != HubState.Ready)
        {
            throw new SwitchboardException(hub.State == HubState.Starting ? ErrorCode.NotReady : ErrorCode.ShuttingDown,
                "The hub is not accepting new connections right now; retry shortly (or on another node).") { RetryAfterSeconds = 1 };
        }
    }

    private static bool LooksLikeJson(ReadOnlySpan<byte> text)
    {
        try
        {
            var reader = new System.Text.Json.Utf8JsonReader(text);
            return reader.Read() && reader.TrySkip() && !reader.Read();
        }
        catch (System.Text.Json.JsonException)
        {
            return false;
        }
    }

    /// <summary>Plain mode: each message is its payload alone, as a text frame when it is JSON or UTF-8 text, else binary.</summary>
    private sealed class PlainSink(Connection connection) : IMessageSink
    {
        private readonly Outbox _outbox = connection.Outbox;

        private static readonly PlainEncoding Encoding = new();
        private readonly TaskCompletionSource _open = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public void Open() => _open.TrySetResult();

        public bool TryWrite(Message message) => _open.Task.IsCompleted && _outbox.TryEnqueue(Frame(message, live: true));

        public async ValueTask WriteAsync(Message message, CancellationToken cancellationToken)
        {
            await _open.Task.WaitAsync(cancellationToken);
            await _outbox.EnqueueAsync(Frame(message, live: false), cancellationToken);
        }

        // Plain mode carries payloads only, so it has no frame for notices (gaps, new incarnations); clients that
        // need to be told use the multiplexed protocol or SSE. Documented in docs/websocket-protocol.md.
        public ValueTask WriteNoticeAsync(SubscriptionNotice notice, CancellationToken cancellationToken) => ValueTask.CompletedTask;

        public void Fail(SwitchboardException error) => connection.SubscriptionFailed(error);

        private static OutboundFrame Frame(Message message, bool live)
        {
            var kind = MediaTypes.IsTextual(message.ContentType, message.Payload.Span) ? FrameKind.Text : FrameKind.Binary;
            return OutboundFrame.Of(message, message.EncodedAs(Encoding), kind, live);
        }

        private sealed class PlainEncoding : MessageEncoding
        {
            // Stored payloads are exact arrays: share them rather than copy.
            protected override byte[] Encode(Message message)
                => System.Runtime.InteropServices.MemoryMarshal.TryGetArray(message.Payload, out var segment) && segment.Offset == 0 && segment.Count == segment.Array!.Length
                    ? segment.Array
                    : message.Payload.ToArray();
        }
    }
}
