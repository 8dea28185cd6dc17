using Switchboard.Core;
using Switchboard.Server.Auth;
using Switchboard.Server.Connections;

namespace Switchboard.Server.Sessions;

/// <summary>The queue frames of the multiplexed protocol: consumers with a credit window, sends, settles, replies, requests.</summary>
internal sealed partial class FrameSession
{
    private readonly Dictionary<string, CancellationTokenSource> _consumers = new(StringComparer.Ordinal);
    private readonly List<Task> _background = [];
    private readonly List<Task> _requests = []; // also in _background; kept apart for RequestsAnsweredAsync

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
            QueueConfig.CheckLease(lease, Field("receive", "leaseSeconds", "lease_seconds"));
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
            Forget(receive.Queue, cancellationToken);
        }
    }

    /// <summary>
    /// A consumer that ended on its own (its queue was deleted, the hub refused it) is no longer held, so a refresh need
    /// not allow it; its waits for the settling of what it handed out end with it.
    /// </summary>
    private void Forget(string queue, CancellationToken consumer)
    {
        lock (_consumers)
        {
            if (_consumers.TryGetValue(queue, out var own) && own.Token == consumer)
            {
                _consumers.Remove(queue);
                own.Cancel();
                own.Dispose();
            }
        }
    }

    /// <summary>
    /// A frame's field as this connection's codec spells it (<c>send.delaySeconds</c> in JSON, <c>send.delay_seconds</c>
    /// in protobuf): handed to the hub, whose range checks then name what the client wrote rather than its own spelling.
    /// </summary>
    private string Field(string frame, string json, string proto) => frame + "." + (_codec.Kind == FrameKind.Text ? json : proto);

    // The pipelined operations: each runs synchronously until the hub has taken it (so frame order is the hub's order),
    // and its checks throw into the task it returns.

    private async Task<OutboundFrame?> SendAsync(SendCommand send, Grants grants)
    {
        grants.Demand(Permission.Publish, send.Queue);
        AdmitMessages(1);
        return _codec.Sent(send.Id, await _hub.SendAsync(send.Queue, [send.Message], send.Delay, Field("send", "delaySeconds", "delay_seconds"), send.IdempotencyKey, grants.Owner, CancellationToken.None));
    }

    private async Task<OutboundFrame?> SettleAsync(SettleCommand settle, Grants grants)
    {
        grants.Demand(Permission.Consume, settle.Queue);
        if (settle.Kind == "ack")
        {
            await _hub.AckAsync(settle.Queue, settle.MessageId, settle.Lease, CancellationToken.None);
            return _codec.Settled(settle.Id, settle.MessageId, null);
        }
        var nacked = await _hub.NackAsync(settle.Queue, settle.MessageId, settle.Lease, settle.Duration, Field("nack", "delaySeconds", "delay_seconds"), settle.Error, CancellationToken.None);
        return _codec.Settled(settle.Id, settle.MessageId, null, nacked);
    }

    private async Task<OutboundFrame?> ExtendAsync(SettleCommand extend, Grants grants)
    {
        grants.Demand(Permission.Consume, extend.Queue);
        return _codec.Settled(extend.Id, extend.MessageId, await _hub.ExtendAsync(extend.Queue, extend.MessageId, extend.Lease, extend.Duration, Field("extend", "leaseSeconds", "lease_seconds"), CancellationToken.None));
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
    /// Sends the request and waits for its reply in the background (<see cref="Hub.RequestAndAwaitAsync(string, QueueDraft, TimeSpan, string?, string?, long, TaskCompletionSource?, CancellationToken)"/>).
    /// Its place in the order of answers is held until the send is stored or refused: a refusal or a failed send is
    /// answered there, after the frames before it (nothing is answered for a send that went well), and the reply (or
    /// the time-out) only once that place is passed.
    /// </summary>
    private Pending Request(RequestCommand request, Grants grants)
    {
        try
        {
            grants.Demand(Permission.Publish, request.Queue);
            AdmitMessages(1);
            _hub.CheckRequestWait(request.Timeout, Field("request", "timeoutSeconds", "timeout_seconds"));
        }
        catch (SwitchboardException ex)
        {
            return new Pending(request.Id, null, false, Task.FromException<OutboundFrame?>(ex)); // answered by the pipeline, like any refused frame
        }
        // Called inline, so the send is queued in the order of the connection's frames; only the wait is in the background.
        var sent = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var replying = _hub.RequestAndAwaitAsync(request.Queue, new QueueDraft { Message = request.Message }, request.Timeout, null, grants.Owner,
            System.Diagnostics.Stopwatch.GetTimestamp(), sent, _connection.Closing);
        var taken = TakenAsync(sent.Task, replying);
        var answered = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var answering = AnswerReplyAsync(request, taken, answered.Task, replying);
        lock (_consumers)
        {
            _background.RemoveAll(t => t.IsCompleted);
            _background.Add(answering);
            _requests.RemoveAll(t => t.IsCompleted);
            _requests.Add(answering);
        }
        return new Pending(request.Id, null, false, taken, answered);
    }

    /// <summary>
    /// The request's answer in the order of the frames: none once its send is stored or its reply came (whichever is
    /// first), the error when it was refused or its send failed.
    /// </summary>
    private async Task<OutboundFrame?> TakenAsync(Task sent, Task<ReplyRecord> replying)
    {
        var first = sent.IsCompleted ? sent : await Task.WhenAny(sent, replying); // stored already, as in memory
        try
        {
            await first;
        }
        catch (OperationCanceledException) when (_connection.Closing.IsCancellationRequested)
        {
            // the connection ended: no one is left to tell
        }
        return null;
    }

    /// <summary>
    /// Completes once every request sent on this connection so far is answered: with its reply, its time-out, or not at
    /// all when the connection ends first (each wait is bounded by its own timeout). For a client that stopped sending
    /// but reads on (a half-closed gRPC Connect call): its requests are answered whenever their replies come, not cut
    /// off by the few seconds <see cref="DisposeAsync"/> gives work in flight.
    /// </summary>
    public Task RequestsAnsweredAsync()
    {
        lock (_consumers)
        {
            // Only waited for: AnswerReplyAsync answers the failures it knows, and the call must not end with another.
            return Task.WhenAll(_requests.Select(t => t.ContinueWith(static _ => { }, TaskScheduler.Default)));
        }
    }

    private async Task AnswerReplyAsync(RequestCommand request, Task<OutboundFrame?> taken, Task answered, Task<ReplyRecord> replying)
    {
        await ((Task)taken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        if (!taken.IsCompletedSuccessfully)
        {
            return; // refused, or its send failed: answered in its place
        }
        await answered;
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
}
