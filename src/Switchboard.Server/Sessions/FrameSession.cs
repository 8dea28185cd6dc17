using System.Threading.Channels;
using Switchboard.Core;
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
internal sealed partial class FrameSession : IAsyncDisposable
{
    /// <summary>
    /// Operations in flight per connection before the reader waits. 1,024 keeps a pipelining client busy across
    /// several group commits while bounding what one connection can have queued in the engine.
    /// </summary>
    private const int MaxPending = 1024;

    /// <summary>
    /// Topics and patterns one connection subscribes to, all its subscriptions together: far more than a UI needs, few
    /// enough that one client cannot pin the hub. Counted by topic, not by subscription: the dispatcher matches every
    /// publish against each wildcard subscription's patterns, and 1,024 subscriptions of 256 patterns each (what a count of
    /// subscriptions let one connection hold) made every publish of the hub try 262,144 patterns.
    /// </summary>
    public const int MaxSubscribedTopics = 1024;

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
        connection.Answered = AnsweredAsync;
    }

    // Frames being handled plus operations taken and not answered yet: what a drain waits for before it closes.
    private readonly Lock _busyGate = new();
    private int _busy;
    private TaskCompletionSource? _idle;

    /// <summary>
    /// Completes once no frame is being handled and every operation taken so far has its answer queued on the outbox. Once
    /// the connection is closing no frame is taken, so after this the client has been told of all it will be told of.
    /// </summary>
    private Task AnsweredAsync()
    {
        lock (_busyGate)
        {
            return _busy == 0 ? Task.CompletedTask : (_idle ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).Task;
        }
    }

    private void Busy()
    {
        lock (_busyGate)
        {
            _busy++;
        }
    }

    private void Done()
    {
        TaskCompletionSource? idle = null;
        lock (_busyGate)
        {
            if (--_busy == 0)
            {
                (idle, _idle) = (_idle, null);
            }
        }
        idle?.TrySetResult();
    }

    /// <summary>Handles one complete client frame.</summary>
    public async ValueTask HandleAsync(ReadOnlyMemory<byte> frame, CancellationToken cancellationToken)
    {
        // Counted before the check below: a drain that finds nothing busy knows no frame can still be taken.
        Busy();
        try
        {
            if (_connection.Closing.IsCancellationRequested)
            {
                return; // the connection is ending: a frame that comes now is not taken, so not answering it is the truth
            }
            await HandleCoreAsync(frame, cancellationToken);
        }
        finally
        {
            Done();
        }
    }

    private async ValueTask HandleCoreAsync(ReadOnlyMemory<byte> frame, CancellationToken cancellationToken)
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
                await RoomAsync(cancellationToken);
                Queue(new Pending(ex.Id, null, false, Task.FromException<OutboundFrame?>(ex.Error)));
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
                    await RoomAsync(cancellationToken);
                    Queue(new Pending(send.Id, null, false, SendAsync(send, grants)));
                    break;
                case ReceiveCommand receive:
                    grants.Demand(Permission.Consume, receive.Queue);
                    StartConsumer(receive);
                    break;
                case SettleCommand { Kind: "extend" } extend:
                    // Answered in order like the other settles, but awaited before the next frame is taken: an ack or nack
                    // of the same message in the next frame must find it extended.
                    await RoomAsync(cancellationToken);
                    var extending = ExtendAsync(extend, grants);
                    Queue(new Pending(extend.Id, null, false, extending));
                    await ((Task)extending).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
                    break;
                case SettleCommand settle:
                    await RoomAsync(cancellationToken);
                    Queue(new Pending(settle.Id, null, false, SettleAsync(settle, grants)));
                    break;
                case AckBatchCommand acks:
                    await RoomAsync(cancellationToken);
                    Queue(new Pending(acks.Id, null, false, AckBatchAsync(acks, grants)));
                    break;
                case RequestCommand request:
                    await RoomAsync(cancellationToken);
                    Queue(Request(request, grants));
                    break;
                case ReplyCommand reply:
                    await RoomAsync(cancellationToken);
                    Queue(new Pending(reply.Id, null, false, ReplyAsync(reply, grants)));
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
                $"This connection acts as {Who(_connection.Caller)}; a refresh must be for the same principal (this credential is {Who(caller)}). Open another connection to act as someone else.")));
            return;
        }
        if (!pending && Uncovered(caller.Grants) is { } narrowed)
        {
            Answer(_codec.Error(auth.Id, narrowed));
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

    /// <summary>A principal as a refused refresh names it: the name alone does not tell a key from a token, or two issuers' subjects apart.</summary>
    private static string Who(Caller caller) => caller.Method == "api_key" ? $"API key '{caller.Name}'"
        : caller.Issuer is { } issuer ? $"'{caller.Name}' of {issuer}" : $"token subject '{caller.Name}'";

    /// <summary>
    /// The refusal of a refresh whose scopes no longer cover a subscription or a consumer the connection holds, naming the
    /// first one; null when they cover all of them. Scopes are checked when a subscription or consumer starts, so without
    /// this a refresh that took a topic away (the identity provider revoked it) would leave it readable for as long as the
    /// client keeps refreshing. Refused, the connection keeps its current credential and ends when that expires.
    /// </summary>
    private SwitchboardException? Uncovered(Grants grants)
    {
        const string Keeps = "refresh with a credential that allows it; until then the connection keeps its current credential, and ends when that expires.";
        foreach (var (id, subscription) in _connection.Subscriptions.Snapshot())
        {
            if (subscription.Patterns.FirstOrDefault(p => !grants.Allows(Permission.Subscribe, p.Text)) is { } lost)
            {
                return new SwitchboardException(ErrorCode.Forbidden,
                    $"{grants.Refusal(Permission.Subscribe, lost.Text).Message} This connection's subscription '{id}' follows it: unsubscribe first, or {Keeps}");
            }
        }
        string[] queues;
        lock (_consumers)
        {
            queues = [.. _consumers.Keys];
        }
        return queues.FirstOrDefault(q => !grants.Allows(Permission.Consume, q)) is { } queue
            ? new SwitchboardException(ErrorCode.Forbidden,
                $"{grants.Refusal(Permission.Consume, queue).Message} This connection consumes it: stop with a receive of max 0 first, or {Keeps}")
            : null;
    }

    private async ValueTask PublishAsync(PublishCommand publish, CancellationToken cancellationToken)
    {
        await RoomAsync(cancellationToken);
        Task<AppendResult> result;
        try
        {
            // Refusals go through the pending queue too, so answers keep the order of the publishes.
            _connection.Caller.Grants.Demand(Permission.Publish, publish.Topic);
            AdmitMessages(publish.Messages.Count);
            // Not awaited: the hub has copied the payloads once this returns, so the frame buffer can be reused.
            result = _hub.PublishAsync(publish.Topic, publish.Messages, publish.IdempotencyKey, _connection.Caller.Grants.Owner, CancellationToken.None);
        }
        catch (SwitchboardException ex)
        {
            result = Task.FromException<AppendResult>(ex);
        }
        Queue(new Pending(publish.Id, result, publish.IsBatch, null));
    }

    /// <summary>
    /// Waits (cancellably) for room for one more answer, before the operation is started: once the hub has taken an
    /// operation (a publish may commit) its answer must have its place in the queue, or a connection closing while the
    /// queue was full would leave a stored message unacknowledged and the client unable to tell it from one refused.
    /// </summary>
    private ValueTask<bool> RoomAsync(CancellationToken cancellationToken)
    {
        if (_pending is null)
        {
            _pending = Channel.CreateBounded<Pending>(new BoundedChannelOptions(MaxPending) { SingleReader = true, SingleWriter = true });
            _acknowledger = Task.Run(AcknowledgeAsync, CancellationToken.None);
        }
        return _pending.Writer.WaitToWriteAsync(cancellationToken);
    }

    /// <summary>
    /// Queues the answer of an operation the hub has taken (started in frame order, not yet committed): it is sent once
    /// the operation completes, after the answers of the frames before it. Refusals come back the same way (as a failed
    /// task), so they keep their place too. Called after <see cref="RoomAsync"/> (this session is the only writer, so the room is still there).
    /// </summary>
    private void Queue(Pending pending)
    {
        Busy();
        if (!_pending!.Writer.TryWrite(pending))
        {
            Done();
            throw new InvalidOperationException("An answer was queued without room; RoomAsync comes first.");
        }
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
            finally
            {
                pending.Answered?.TrySetResult();
                Done();
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
        var held = _connection.Subscriptions.TopicCount;
        var asked = subscribe.Topics.Distinct(StringComparer.Ordinal).Count();
        if (held + asked > MaxSubscribedTopics)
        {
            throw new SwitchboardException(ErrorCode.LimitReached,
                $"This connection subscribes to {held} topics and patterns; {asked} more would pass {MaxSubscribedTopics}, the most one connection may hold. " +
                "Unsubscribe from some, or subscribe to one pattern that covers several topics.")
            {
                Extensions = new Dictionary<string, object?> { ["limit"] = MaxSubscribedTopics },
            };
        }
        OutboxSink sink;
        if (subscribe.Compact)
        {
            var compact = _codec.Compact ?? throw new SwitchboardException(ErrorCode.InvalidRequest, $"{_codec.Name} has no compact envelope; its frames are compact already.");
            _epochs ??= new EpochAnnouncer(_connection.Outbox, compact.Announce); // one per connection: compact frames name no subscription
            sink = new OutboxSink(_connection.Outbox, compact.Messages, _codec.Kind, notice => _codec.Notice(id, notice), _connection.SubscriptionFailed, _epochs);
        }
        else
        {
            sink = new OutboxSink(_connection.Outbox, _codec.Messages, _codec.Kind, notice => _codec.Notice(id, notice), _connection.SubscriptionFailed);
        }
        var start = subscribe.Resume is { } resume ? await ProtoFrameCodec.ResumeAsync(_hub, resume, cancellationToken) : subscribe.Start;
        var subscription = await _hub.SubscribeAsync(subscribe.Topics, start, sink, _connection.AsSubscriber(), cancellationToken);
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

    /// <summary>
    /// An operation in flight: a publish (its answer is built from its result), or another whose task builds its own answer
    /// (null: none). <see cref="Answered"/>, when given, is completed once its place in the order is passed: what answers
    /// it later (a request's reply) waits for that, so it cannot overtake the answers of the frames before it.
    /// </summary>
    private readonly record struct Pending(string? Id, Task<AppendResult>? Publish, bool Batch, Task<OutboundFrame?>? Other, TaskCompletionSource? Answered = null);
}
