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
        var answering = AnswerReplyAsync(request, replying);
        lock (_consumers)
        {
            _background.RemoveAll(t => t.IsCompleted);
            _background.Add(answering);
            _requests.RemoveAll(t => t.IsCompleted);
            _requests.Add(answering);
        }
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
}
