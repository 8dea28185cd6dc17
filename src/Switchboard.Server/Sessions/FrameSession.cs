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
/// decode a frame, ask the hub, queue the answer. Whatever waits for a commit — publishes, queue sends, acks and nacks,
/// replies, requests — is handed to the hub in arrival order without waiting for that commit (so one connection's
/// stream of operations shares group commits and keeps its order: the hub has taken each one before the next frame is
/// read), and the answers are sent in that same order.
/// </summary>
internal sealed class FrameSession : IAsyncDisposable
{
    /// <summary>
    /// Operations in flight per connection before the reader waits. 1,024 keeps a pipelining client busy across
    /// several group commits while bounding what one connection can have queued in the engine.
    /// </summary>
    private const int MaxPending = 1024;

    /// <summary>Subscriptions per connection: far more than a UI needs, few enough that one client cannot pin the hub.</summary>
    public const int MaxSubscriptions = 1024;

    private readonly Hub _hub;
    private readonly Connection _connection;
    private readonly IFrameCodec _codec;
    private readonly Authenticator _authenticator;
    private readonly ConnectionRegistry _registry;
    private EpochAnnouncer? _epochs; // the compact envelope's, made by the first compact subscribe (frames are handled one at a time)
    // Created on the first operation that commits: a connection that only subscribes (most of them) never pays for it.
    private Channel<Pending>? _pending;
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
        if (_connection.Outbox.OverCapacity)
        {
            // Answers are queued past the outbox's size, so a client that sends frames and never reads would have the hub
            // hold every answer: its next frame waits for room instead (its sends back up in TCP), and the slow-consumer
            // cut ends the connection if the outbox stays full.
            await _connection.Outbox.WaitForRoomAsync(0, cancellationToken);
        }
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
            if (_pending is not null)
            {
                // Operations are in flight: the refusal is answered after them, so answers keep the order of the frames
                // (a client that sends frames without ids matches answers by their order).
                await PendingAsync(new Pending(ex.Id, null, false, Task.FromException<OutboundFrame?>(ex.Error)), cancellationToken);
            }
            else
            {
                Answer(_codec.Error(ex.Id, ex.Error));
            }
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
                    await PipelineAsync(send.Id, SendAsync(send, grants), cancellationToken);
                    break;
                case ReceiveCommand receive:
                    grants.Demand(Permission.Consume, receive.Queue);
                    StartConsumer(receive);
                    break;
                case SettleCommand { Kind: "extend" } extend:
                    // Awaited here, not pipelined: an ack or nack of the same message in the next frame must find it extended.
                    grants.Demand(Permission.Consume, extend.Queue);
                    Answer(_codec.Settled(extend.Id, extend.MessageId, await _hub.ExtendAsync(extend.Queue, extend.MessageId, extend.Lease, extend.Duration, CancellationToken.None)));
                    break;
                case SettleCommand settle:
                    await PipelineAsync(settle.Id, SettleAsync(settle, grants), cancellationToken);
                    break;
                case AckBatchCommand acks:
                    await PipelineAsync(acks.Id, AckBatchAsync(acks, grants), cancellationToken);
                    break;
                case RequestCommand request:
                    await PipelineAsync(request.Id, RequestAsync(request, grants), cancellationToken);
                    break;
                case ReplyCommand reply:
                    await PipelineAsync(reply.Id, ReplyAsync(reply, grants), cancellationToken);
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
        await PendingAsync(new Pending(publish.Id, result, publish.IsBatch, null), cancellationToken);
    }

    /// <summary>
    /// Queues the answer of an operation the hub has taken (started in frame order, not yet committed): it is sent once
    /// the operation completes, after the answers of the frames before it. Refusals come back the same way (as a failed
    /// task), so they keep their place too.
    /// </summary>
    private ValueTask PipelineAsync(string? id, Task<OutboundFrame?> answer, CancellationToken cancellationToken)
        => PendingAsync(new Pending(id, null, false, answer), cancellationToken);

    private ValueTask PendingAsync(Pending pending, CancellationToken cancellationToken)
    {
        if (_pending is null)
        {
            _pending = Channel.CreateBounded<Pending>(new BoundedChannelOptions(MaxPending) { SingleReader = true, SingleWriter = true });
            _acknowledger = Task.Run(AcknowledgeAsync, CancellationToken.None);
        }
        return _pending.Writer.WriteAsync(pending, cancellationToken);
    }

    private async Task AcknowledgeAsync()
    {
        await foreach (var pending in _pending!.Reader.ReadAllAsync())
        {
            try
            {
                if (pending.Publish is { } publish)
                {
                    var result = await publish;
                    _hub.Meters.CountPublished(result, Core.Observability.Protocols.TagOfTransport(_connection.Transport));
                    Answer(_codec.Published(pending.Id, result, pending.Batch));
                }
                else if (await pending.Other! is { } answer)
                {
                    Answer(answer);
                }
            }
            catch (SwitchboardException ex)
            {
                Answer(_codec.Error(pending.Id, ex));
            }
            catch (OperationCanceledException) when (pending.Publish is null)
            {
                // The operation was called off on the hub's side (it is stopping): the loop goes on to answer the rest.
                Answer(_codec.Error(pending.Id, new SwitchboardException(ErrorCode.ShuttingDown, "The hub stopped before this operation completed; retry it (on another node).")));
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                Answer(_codec.Error(pending.Id, new SwitchboardException(ErrorCode.Internal, pending.Publish is not null
                    ? "The hub failed to store this message because of a fault on its side; it was not stored."
                    : "The hub failed to complete this operation because of a fault on its side; retry it.")));
            }
        }
    }

    private async ValueTask SubscribeAsync(SubscribeCommand subscribe, CancellationToken cancellationToken)
    {
        var id = subscribe.Id ?? _connection.NextSubscriptionId();
        while (subscribe.Id is null && _connection.Subscriptions.ContainsKey(id))
        {
            id = _connection.NextSubscriptionId(); // the client named one of its own subscriptions like this: the hub picks another
        }
        if (_connection.Subscriptions.ContainsKey(id))
        {
            throw new SwitchboardException(ErrorCode.InvalidRequest, $"This connection already has a subscription '{id}'; give each subscribe frame its own id.");
        }
        if (_connection.Subscriptions.Count >= MaxSubscriptions)
        {
            throw new SwitchboardException(ErrorCode.ValidationFailed, $"This connection has {MaxSubscriptions} subscriptions, the most one connection may hold; unsubscribe from some, or use a wildcard.");
        }
        OutboxSink sink;
        if (subscribe.Compact)
        {
            var compact = _codec.Compact ?? throw new SwitchboardException(ErrorCode.InvalidRequest, $"{_codec.Name} has no compact envelope; its frames are compact already.");
            _epochs ??= new EpochAnnouncer(_connection.Outbox, compact.Announce); // one per connection: compact frames name no subscription
            sink = new OutboxSink(_connection.Outbox, compact.Messages, _codec.Kind, notice => _codec.Notice(id, notice), _epochs);
        }
        else
        {
            sink = new OutboxSink(_connection.Outbox, _codec.Messages, _codec.Kind, notice => _codec.Notice(id, notice));
        }
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
            QueueConfig.CheckLease(lease, "receive.leaseSeconds");
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
            // replaced, stopped, or the connection ended: what was sent comes back when its lease runs out (a receive cut
            // short gives back at once what it held: Hub.ReceiveAsync)
        }
        catch (SwitchboardException ex)
        {
            Answer(_codec.Error(receive.Id, ex));
        }
    }

    // The pipelined operations: each runs synchronously until the hub has taken it (so frame order is the hub's order),
    // and its checks throw into the task it returns.

    private async Task<OutboundFrame?> SendAsync(SendCommand send, Grants grants)
    {
        grants.Demand(Permission.Publish, send.Queue);
        AdmitMessages(1);
        return _codec.Sent(send.Id, await _hub.SendAsync(send.Queue, [send.Message], send.Delay, send.IdempotencyKey, CancellationToken.None));
    }

    private async Task<OutboundFrame?> SettleAsync(SettleCommand settle, Grants grants)
    {
        grants.Demand(Permission.Consume, settle.Queue);
        if (settle.Kind == "ack")
        {
            await _hub.AckAsync(settle.Queue, settle.MessageId, settle.Lease, CancellationToken.None);
            return _codec.Settled(settle.Id, settle.MessageId, null);
        }
        var nacked = await _hub.NackAsync(settle.Queue, settle.MessageId, settle.Lease, settle.Duration, settle.Error, CancellationToken.None);
        return _codec.Settled(settle.Id, settle.MessageId, null, nacked);
    }

    private async Task<OutboundFrame?> AckBatchAsync(AckBatchCommand acks, Grants grants)
    {
        grants.Demand(Permission.Consume, acks.Queue);
        return _codec.AckedBatch(acks.Id, acks.Queue, await _hub.AckManyAsync(acks.Queue, acks.Acks, CancellationToken.None));
    }

    private async Task<OutboundFrame?> ReplyAsync(ReplyCommand reply, Grants grants)
    {
        await grants.DemandReplyAsync(_hub, reply.RequestId, Permission.Consume);
        await _hub.ReplyAsync(reply.RequestId, reply.Message, reply.Lease, CancellationToken.None);
        return _codec.Responded(reply.Id, reply.RequestId);
    }

    /// <summary>
    /// Sends the request and waits for its reply in the background (<see cref="Hub.RequestAndAwaitAsync"/>), answering
    /// with the reply or the time-out. Nothing is answered for the send itself unless it fails.
    /// </summary>
    private Task<OutboundFrame?> RequestAsync(RequestCommand request, Grants grants)
    {
        try
        {
            grants.Demand(Permission.Publish, request.Queue);
            AdmitMessages(1);
            _hub.CheckRequestWait(request.Timeout, _codec.Kind == FrameKind.Text ? "request.timeoutSeconds" : "request.timeout_seconds");
        }
        catch (SwitchboardException ex)
        {
            return Task.FromException<OutboundFrame?>(ex); // answered by the pipeline, like any refused frame
        }
        AwaitReply(request, System.Diagnostics.Stopwatch.GetTimestamp());
        return Task.FromResult<OutboundFrame?>(null);
    }

    private void AwaitReply(RequestCommand request, long requestedAt)
    {
        // Called inline, so the send is queued in the order of the connection's frames; only the wait is in the background.
        var replying = _hub.RequestAndAwaitAsync(request.Queue, new QueueDraft { Message = request.Message }, request.Timeout, null, requestedAt, _connection.Closing);
        lock (_consumers)
        {
            _background.RemoveAll(t => t.IsCompleted);
            _background.Add(AnswerReplyAsync(request, replying));
        }
    }

    private async Task AnswerReplyAsync(RequestCommand request, Task<ReplyRecord> replying)
    {
        try
        {
            var slot = await replying;
            Answer(slot.Reply is not null
                ? _codec.Reply(request.Id, slot)
                : _codec.Error(request.Id, new SwitchboardException(ErrorCode.Timeout, $"No reply came within {request.Timeout.TotalSeconds:0.#} s (request {slot.Id}).")));
        }
        catch (OperationCanceledException)
        {
            // the connection ended
        }
        catch (SwitchboardException ex)
        {
            Answer(_codec.Error(request.Id, ex));
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

    /// <summary>An operation in flight: a publish (its answer is built from its result), or another whose task builds its own answer (null: none).</summary>
    private readonly record struct Pending(string? Id, Task<AppendResult>? Publish, bool Batch, Task<OutboundFrame?>? Other);
}
