using System.Threading.Channels;
using Switchboard.Core;
using Switchboard.Core.Delivery;
using Switchboard.Core.Engines;
using Switchboard.Server.Auth;
using Switchboard.Server.Connections;
using Switchboard.Server.Observability;

namespace Switchboard.Server.Sessions;

/// <summary>
/// The multiplexed protocol over one connection, whatever carries it (WebSocket now, gRPC Connect later):
/// decode a frame, ask the hub, queue the answer. Publishes are handed to the hub in arrival order without
/// waiting for each commit (so one connection's stream of publishes shares group commits and keeps its
/// order), and their answers are sent in that same order.
/// </summary>
internal sealed class FrameSession : IAsyncDisposable
{
    /// <summary>
    /// Publishes in flight per connection before the reader waits. 1,024 keeps a pipelining client busy across
    /// several group commits while bounding what one connection can have queued in the engine.
    /// </summary>
    private const int MaxPendingPublishes = 1024;

    /// <summary>Subscriptions per connection: far more than a UI needs, few enough that one client cannot pin the hub.</summary>
    public const int MaxSubscriptions = 1024;

    private readonly Hub _hub;
    private readonly Connection _connection;
    private readonly IFrameCodec _codec;
    private readonly Authenticator _authenticator;
    private readonly ConnectionRegistry _registry;
    // Created on the first publish: a connection that only subscribes (most of them) never pays for it.
    private Channel<PendingPublish>? _pending;
    private Task _acknowledger = Task.CompletedTask;

    public FrameSession(Hub hub, Connection connection, IFrameCodec codec, Authenticator authenticator, ConnectionRegistry registry)
    {
        _hub = hub;
        _connection = connection;
        _codec = codec;
        _authenticator = authenticator;
        _registry = registry;
    }

    /// <summary>Handles one complete client frame.</summary>
    public async ValueTask HandleAsync(ReadOnlyMemory<byte> frame, CancellationToken cancellationToken)
    {
        // Each frame is an operation of its own: the connection's upgrade request is not the parent of what it publishes
        // (a message brings its own context in its traceparent header).
        System.Diagnostics.Activity.Current = null;
        ClientCommand command;
        try
        {
            command = _codec.Decode(frame);
        }
        catch (FrameException ex)
        {
            Answer(_codec.Error(ex.Id, ex.Error));
            return;
        }
        if (command is AuthCommand auth)
        {
            await AuthenticateAsync(auth);
            return;
        }
        var grants = _connection.Caller.Grants;
        if (_connection.Caller.IsPending)
        {
            _connection.Abort(ErrorCode.Unauthorized, "This hub requires credentials: send {\"auth\": {\"token\": \"<API key or JWT>\"}} as the first frame, or connect with ?access_token= or an Authorization header.");
            return;
        }
        try
        {
            switch (command)
            {
                case PublishCommand publish:
                    await PublishAsync(publish, cancellationToken);
                    break;
                case SubscribeCommand subscribe:
                    foreach (var topic in subscribe.Topics)
                    {
                        grants.Demand(Permission.Subscribe, topic);
                    }
                    await SubscribeAsync(subscribe, cancellationToken);
                    break;
                case UnsubscribeCommand unsubscribe:
                    await UnsubscribeAsync(unsubscribe);
                    break;
                case PingCommand ping:
                    Answer(_codec.Pong(ping.Id));
                    break;
                case UnsupportedCommand unsupported:
                    Answer(_codec.Error(unsupported.Id, new SwitchboardException(ErrorCode.Unsupported, $"'{unsupported.Kind}' frames are not offered by this hub.")));
                    break;
                case SendCommand send:
                    grants.Demand(Permission.Publish, send.Queue);
                    AdmitMessages(1);
                    Answer(_codec.Sent(send.Id, await _hub.SendAsync(send.Queue, [send.Message], send.Delay, send.IdempotencyKey, CancellationToken.None)));
                    break;
                case ReceiveCommand receive:
                    grants.Demand(Permission.Consume, receive.Queue);
                    StartConsumer(receive);
                    break;
                case SettleCommand settle:
                    grants.Demand(Permission.Consume, settle.Queue);
                    await SettleAsync(settle);
                    break;
                case RequestCommand request:
                    grants.Demand(Permission.Publish, request.Queue);
                    AdmitMessages(1);
                    await RequestAsync(request);
                    break;
                case ReplyCommand reply:
                    await grants.DemandReplyAsync(_hub, reply.RequestId, Permission.Consume);
                    await _hub.ReplyAsync(reply.RequestId, reply.Message, reply.Lease, CancellationToken.None);
                    Answer(_codec.Responded(reply.Id, reply.RequestId));
                    break;
            }
        }
        catch (SwitchboardException ex)
        {
            Answer(_codec.Error(command.Id, ex));
        }
    }

    /// <summary>
    /// The credential over the connection: the first frame of a client that could not send it with the upgrade, or a
    /// refresh before the current one expires. A bad first credential ends the connection (4401); a bad refresh is
    /// answered with an error and the connection keeps its current one until it expires.
    /// </summary>
    private async ValueTask AuthenticateAsync(AuthCommand auth)
    {
        if (!_authenticator.Enabled)
        {
            Answer(_codec.Authenticated(auth.Id, Caller.Anonymous));
            return;
        }
        var pending = _connection.Caller.IsPending;
        var outcome = await _authenticator.AuthenticateAsync(auth.Token);
        if (outcome.Caller is not { } caller)
        {
            if (pending)
            {
                _connection.Abort(ErrorCode.Unauthorized, outcome.Failure!);
            }
            else
            {
                Answer(_codec.Error(auth.Id, new SwitchboardException(ErrorCode.Unauthorized, outcome.Failure! + " The connection keeps its current credential until it expires.")));
            }
            return;
        }
        if (!pending && caller.Identity != _connection.Caller.Identity)
        {
            Answer(_codec.Error(auth.Id, new SwitchboardException(ErrorCode.Forbidden,
                $"This connection acts as '{_connection.Caller.Name}'; a refresh must be for the same principal (this credential is '{caller.Name}'). Open another connection to act as someone else.")));
            return;
        }
        try
        {
            _registry.Authenticate(_connection, caller);
        }
        catch (SwitchboardException ex)
        {
            _connection.Abort(ex.Code, ex.Message);
            return;
        }
        Answer(_codec.Authenticated(auth.Id, caller));
    }

    private async ValueTask PublishAsync(PublishCommand publish, CancellationToken cancellationToken)
    {
        Task<AppendResult> result;
        try
        {
            // Refusals go through the pending queue too, so answers keep the order of the publishes.
            _connection.Caller.Grants.Demand(Permission.Publish, publish.Topic);
            AdmitMessages(publish.Messages.Count);
            // Not awaited: the hub has copied the payloads once this returns, so the frame buffer can be reused.
            result = _hub.PublishAsync(publish.Topic, publish.Messages, publish.IdempotencyKey, CancellationToken.None);
        }
        catch (SwitchboardException ex)
        {
            result = Task.FromException<AppendResult>(ex);
        }
        if (_pending is null)
        {
            _pending = Channel.CreateBounded<PendingPublish>(new BoundedChannelOptions(MaxPendingPublishes) { SingleReader = true, SingleWriter = true });
            _acknowledger = Task.Run(AcknowledgeAsync, CancellationToken.None);
        }
        await _pending.Writer.WriteAsync(new PendingPublish(publish.Id, result, publish.IsBatch), cancellationToken);
    }

    private async Task AcknowledgeAsync()
    {
        await foreach (var pending in _pending!.Reader.ReadAllAsync())
        {
            try
            {
                var result = await pending.Result;
                _hub.Meters.CountPublished(result, Core.Observability.Protocols.TagOfTransport(_connection.Transport));
                Answer(_codec.Published(pending.Id, result, pending.Batch));
            }
            catch (SwitchboardException ex)
            {
                Answer(_codec.Error(pending.Id, ex));
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                Answer(_codec.Error(pending.Id, new SwitchboardException(ErrorCode.Internal, "The hub failed to store this message because of a fault on its side; it was not stored.")));
            }
        }
    }

    private async ValueTask SubscribeAsync(SubscribeCommand subscribe, CancellationToken cancellationToken)
    {
        var id = subscribe.Id ?? _connection.NextSubscriptionId();
        if (_connection.Subscriptions.ContainsKey(id))
        {
            throw new SwitchboardException(ErrorCode.InvalidRequest, $"This connection already has a subscription '{id}'; give each subscribe frame its own id.");
        }
        if (_connection.Subscriptions.Count >= MaxSubscriptions)
        {
            throw new SwitchboardException(ErrorCode.ValidationFailed, $"This connection has {MaxSubscriptions} subscriptions, the most one connection may hold; unsubscribe from some, or use a wildcard.");
        }
        var sink = new OutboxSink(_connection.Outbox, _codec.Messages, _codec.Kind, notice => _codec.Notice(id, notice));
        var subscription = await _hub.SubscribeAsync(subscribe.Topics, subscribe.Start, sink, _connection.AsSubscriber(), cancellationToken);
        if (!_connection.Subscriptions.TryAdd(id, subscription))
        {
            await subscription.DisposeAsync();
            throw new SwitchboardException(ErrorCode.InvalidRequest, $"This connection already has a subscription '{id}'.");
        }
        // The answer goes out before the first message: the sink takes none until it is opened.
        Answer(_codec.Subscribed(subscribe.Id, id, subscribe.Topics));
        sink.Open();
    }

    private async ValueTask UnsubscribeAsync(UnsubscribeCommand unsubscribe)
    {
        var ids = unsubscribe.SubscriptionId is { } id
            ? [id]
            : _connection.Subscriptions.Snapshot().Where(s => s.Value.Patterns.Select(p => p.Text).Order(StringComparer.Ordinal).SequenceEqual(unsubscribe.Topics.Order(StringComparer.Ordinal)))
                .Select(s => s.Key).ToList();
        if (ids.Count == 0 || (unsubscribe.SubscriptionId is not null && !_connection.Subscriptions.ContainsKey(ids[0])))
        {
            throw new SwitchboardException(ErrorCode.InvalidRequest, unsubscribe.SubscriptionId is not null
                ? $"This connection has no subscription '{unsubscribe.SubscriptionId}'."
                : $"This connection has no subscription to exactly [{string.Join(", ", unsubscribe.Topics)}]; unsubscribe by subscriptionId, or with the topics the subscription was made with.");
        }
        foreach (var subscriptionId in ids)
        {
            if (_connection.Subscriptions.TryRemove(subscriptionId, out var subscription))
            {
                await subscription.DisposeAsync();
                Answer(_codec.Unsubscribed(unsubscribe.Id, subscriptionId));
            }
        }
    }

    private readonly Dictionary<string, CancellationTokenSource> _consumers = new(StringComparer.Ordinal);
    private readonly List<Task> _background = [];

    /// <summary>
    /// Consumes a queue on this connection: messages arrive as queueMessage frames (with the receive frame's id), at
    /// most max leased at once; an ack or nack frees a slot. A new receive on the same queue replaces the old one;
    /// max 0 stops.
    /// </summary>
    private void StartConsumer(ReceiveCommand receive)
    {
        QueueName.Validate(receive.Queue);
        if (receive.Max > Hub.MaxReceive)
        {
            throw new SwitchboardException(ErrorCode.InvalidRequest, $"receive.max is {receive.Max}; a consumer may hold 1 to {Hub.MaxReceive} leased messages at once.");
        }
        if (receive.Lease is { } lease)
        {
            QueueConfig.CheckLease(lease, "receive.lease");
        }
        lock (_consumers)
        {
            if (_consumers.Remove(receive.Queue, out var previous))
            {
                previous.Cancel();
                previous.Dispose();
            }
            if (receive.Max == 0)
            {
                return;
            }
            var cancel = CancellationTokenSource.CreateLinkedTokenSource(_connection.Closing);
            _consumers[receive.Queue] = cancel;
            _background.RemoveAll(t => t.IsCompleted);
            _background.Add(Task.Run(() => ConsumeAsync(receive, cancel.Token), CancellationToken.None));
        }
    }

    private async Task ConsumeAsync(ReceiveCommand receive, CancellationToken cancellationToken)
    {
        var outstanding = new List<Task>();
        try
        {
            while (!cancellationToken.IsCancellationRequested)
            {
                outstanding.RemoveAll(t => t.IsCompleted);
                if (outstanding.Count >= receive.Max)
                {
                    await Task.WhenAny(outstanding).WaitAsync(cancellationToken);
                    continue;
                }
                var messages = await _hub.ReceiveAsync(receive.Queue, receive.Max - outstanding.Count, receive.Lease, _hub.Options.MaxWait, cancellationToken);
                foreach (var message in messages)
                {
                    outstanding.Add(_hub.WhenSettledAsync(message, cancellationToken));
                    Answer(_codec.QueueMessage(receive.Id, message));
                }
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // replaced, stopped, or the connection ended: what is leased comes back when its lease runs out
        }
        catch (SwitchboardException ex)
        {
            Answer(_codec.Error(receive.Id, ex));
        }
    }

    private async ValueTask SettleAsync(SettleCommand settle)
    {
        switch (settle.Kind)
        {
            case "ack":
                await _hub.AckAsync(settle.Queue, settle.MessageId, settle.Lease, CancellationToken.None);
                Answer(_codec.Settled(settle.Id, settle.MessageId, null));
                break;
            case "nack":
                var nacked = await _hub.NackAsync(settle.Queue, settle.MessageId, settle.Lease, settle.Duration, settle.Error, CancellationToken.None);
                Answer(_codec.Settled(settle.Id, settle.MessageId, null, nacked));
                break;
            default:
                Answer(_codec.Settled(settle.Id, settle.MessageId, await _hub.ExtendAsync(settle.Queue, settle.MessageId, settle.Lease, settle.Duration, CancellationToken.None)));
                break;
        }
    }

    /// <summary>Sends the request now; the reply frame follows when it comes (other frames go on meanwhile).</summary>
    private async ValueTask RequestAsync(RequestCommand request)
    {
        _hub.CheckRequestWait(request.Timeout, _codec.Kind == FrameKind.Text ? "request.timeoutSeconds" : "request.timeout_seconds");
        var requestedAt = System.Diagnostics.Stopwatch.GetTimestamp();
        var replyId = (await _hub.RequestAsync(request.Queue, new QueueDraft { Message = request.Message }, request.Timeout, null, CancellationToken.None)).Id;
        var closing = _connection.Closing;
        lock (_consumers)
        {
            _background.RemoveAll(t => t.IsCompleted);
            _background.Add(Task.Run(async () =>
            {
                try
                {
                    var slot = await _hub.AwaitReplyAsync(replyId, request.Timeout, requestedAt, closing);
                    Answer(slot.Reply is not null
                        ? _codec.Reply(request.Id, slot)
                        : _codec.Error(request.Id, new SwitchboardException(ErrorCode.Timeout, $"No reply came within {request.Timeout.TotalSeconds:0.#} s (request {replyId}).")));
                }
                catch (OperationCanceledException)
                {
                    // the connection ended
                }
                catch (SwitchboardException ex)
                {
                    Answer(_codec.Error(request.Id, ex));
                }
            }, CancellationToken.None));
        }
    }

    private void Answer(OutboundFrame frame) => _connection.Outbox.Enqueue(frame);

    private void AdmitMessages(int count) => _registry.RateLimits.AdmitMessages(_connection.Caller, _connection.RemoteAddress, count);

    /// <summary>Stops taking frames and sends the answers of publishes still in flight.</summary>
    public async ValueTask DisposeAsync()
    {
        _pending?.Writer.TryComplete();
        await _acknowledger;
        Task[] background;
        lock (_consumers)
        {
            foreach (var consumer in _consumers.Values)
            {
                consumer.Cancel();
            }
            background = [.. _background];
        }
        // Consumers stop with their tokens; requests in flight end with the connection (or their timeout).
        await Task.WhenAll(background.Select(t => t.WaitAsync(TimeSpan.FromSeconds(5)).ContinueWith(static _ => { }, TaskScheduler.Default)));
        lock (_consumers)
        {
            foreach (var consumer in _consumers.Values)
            {
                consumer.Dispose();
            }
            _consumers.Clear();
        }
    }

    private readonly record struct PendingPublish(string? Id, Task<AppendResult> Result, bool Batch);
}
