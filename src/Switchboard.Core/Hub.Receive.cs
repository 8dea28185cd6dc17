using Switchboard.Core.Delivery;
using Switchboard.Core.Engines;

namespace Switchboard.Core;

// Receiving from a queue: one look, or a wait parked with the engine; and what a cancelled receive gives back.
public sealed partial class Hub
{
    /// <summary>
    /// Leases up to <paramref name="max"/> messages. With a <paramref name="wait"/>, an empty queue is waited on until a
    /// message becomes visible (woken by the send itself), the wait ends, or the hub drains.
    /// </summary>
    /// <remarks>
    /// <paramref name="cancellationToken"/> stands for the caller (an HTTP request, a consume stream): once it is
    /// cancelled, the receive returns no messages. Whatever it leased by then it gives back — what a send handed the
    /// waiting receive before it throws <see cref="OperationCanceledException"/>, what a look leased after the
    /// cancellation as soon as the engine answers — the way a broker requeues a closed channel's unacked deliveries: the
    /// messages are ready again at once, in their place, and the release does <b>not</b> count as a delivery attempt
    /// (they reached no client: their attempts are what they were, no step closer to the dead letters). The release is
    /// best effort: if it fails (the engine stopping), the leases simply run out as they would have. A caller that
    /// goes away after this returns still holds the leases; those run out.
    /// </remarks>
    public async Task<IReadOnlyList<QueueMessage>> ReceiveAsync(string queue, int max, TimeSpan? lease, TimeSpan wait, CancellationToken cancellationToken = default)
    {
        var messages = await ReceiveCoreAsync(queue, max, lease, wait, cancellationToken);
        if (messages.Count > 0 && cancellationToken.IsCancellationRequested)
        {
            await GiveBackAsync(queue, messages);
            cancellationToken.ThrowIfCancellationRequested();
        }
        if (messages.Count > 0)
        {
            Meters.QueueReceived.Add(messages.Count);
            var again = 0;
            foreach (var message in messages)
            {
                again += message.Attempts > 1 ? 1 : 0;
            }
            if (again > 0)
            {
                Meters.Redelivered.Add(again);
            }
            Observability.HubTracing.Received(queue, messages);
        }
        return messages;
    }

    private async Task<IReadOnlyList<QueueMessage>> ReceiveCoreAsync(string queue, int max, TimeSpan? lease, TimeSpan wait, CancellationToken cancellationToken)
    {
        EnsureServing();
        QueueName.Validate(queue);
        if (max is < 1 or > MaxReceive)
        {
            throw new SwitchboardException(ErrorCode.InvalidRequest, $"max is {max}; receive 1 to {MaxReceive} messages at a time.");
        }
        if (lease is { } l)
        {
            QueueConfig.CheckLease(l, "lease");
        }
        if (wait < TimeSpan.Zero || wait > Options.MaxWait)
        {
            throw new SwitchboardException(ErrorCode.ValidationFailed, $"wait is {DurationText.Format(wait)}; use 0s to {DurationText.Format(Options.MaxWait)}.");
        }
        var deadline = _time.GetUtcNow() + wait;
        var subject = new BackplaneSubject(BackplaneSubjectKind.Queue, queue);
        var listening = false;
        try
        {
            while (true)
            {
                // Register first, then look: a send between the two is not missed.
                var waiter = wait > TimeSpan.Zero ? _queueWaiters.Register(queue, -1) : null;
                ParkedLease? parked = null;
                try
                {
                    var result = await LeaseAsync(queue, max, lease, cancellationToken);
                    var now = _time.GetUtcNow();
                    if (result.Messages.Count > 0 || waiter is null || now >= deadline || _state != HubState.Ready)
                    {
                        return result.Messages;
                    }
                    if (!listening)
                    {
                        // About to wait: listen for other nodes' sends (once per receive, only when it has to wait). On a
                        // backplane that brings only what is listened to, look again, so a send on another node between
                        // the look and the listen is not missed; one that brings every event needs no second look (the
                        // waiter, registered before the first, catches it) — one commit fewer per receive that waits.
                        listening = true;
                        await _interests.AcquireAsync(subject, cancellationToken);
                        if (_interests.Selective)
                        {
                            continue;
                        }
                    }
                    // Parked, the next send leases to this receive in its own commit; the waiter still catches whatever
                    // else makes a message visible (a nack, a redrive, a delay or lease running out, another node).
                    parked = Queues.Park(queue, max, lease);
                    var until = result.NextVisibleAt is { } next && next < deadline ? next : deadline;
                    var sleep = until - now;
                    if (sleep > TimeSpan.Zero)
                    {
                        // Woken by a send, a visibility change, the time or the caller going away, whichever is first;
                        // none of them thrown here (a cancellation is acted on below, once the parked receive is
                        // withdrawn or its messages taken). WaitAsync drops its timer when woken otherwise: a busy
                        // consumer leaves no timer of up to a minute behind for every message it was handed.
                        var woken = parked is null ? waiter.Signaled : Task.WhenAny(waiter.Signaled, parked.Taken);
                        await woken.WaitAsync(sleep, _time, cancellationToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
                    }
                    if (parked is not null && !parked.TryWithdraw())
                    {
                        // A send claimed it: its messages are leased to us once their commit is written.
                        var taken = await parked.Taken;
                        if (taken.Count > 0)
                        {
                            return taken;
                        }
                    }
                    cancellationToken.ThrowIfCancellationRequested();
                }
                finally
                {
                    parked?.TryWithdraw();
                    if (waiter is not null)
                    {
                        _queueWaiters.Remove(waiter);
                    }
                }
            }
        }
        finally
        {
            if (listening)
            {
                _interests.Release(subject);
            }
        }
    }

    /// <summary>
    /// One look. The engine is not asked to cancel it (an engine may lease and then drop the answer of a cancelled
    /// call); only this wait is cancelled, and what the look leases after that is given back.
    /// </summary>
    private async Task<LeaseResult> LeaseAsync(string queue, int max, TimeSpan? lease, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested(); // nothing to lease for a caller already gone
        var leasing = Queues.LeaseAsync(queue, max, lease, _time.GetUtcNow(), CancellationToken.None);
        try
        {
            return await leasing.WaitAsync(cancellationToken);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            _ = GiveBackWhenLeasedAsync(queue, leasing);
            throw;
        }
    }

    private async Task GiveBackWhenLeasedAsync(string queue, Task<LeaseResult> leasing)
    {
        LeaseResult result;
        try
        {
            result = await leasing;
        }
        catch (Exception)
        {
            return; // the look failed: it leased nothing
        }
        if (result.Messages.Count > 0)
        {
            await GiveBackAsync(queue, result.Messages);
        }
    }

    /// <summary>
    /// Releases messages leased to a receive whose caller went away (<see cref="IQueueStore.ReleaseAsync"/>). Never
    /// throws: if the engine cannot take it (stopping, unavailable), the leases run out as they would have.
    /// </summary>
    private async Task GiveBackAsync(string queue, IReadOnlyList<QueueMessage> messages)
    {
        try
        {
            var leases = new (long Id, string Lease)[messages.Count];
            for (var i = 0; i < messages.Count; i++)
            {
                leases[i] = (messages[i].Id, messages[i].Lease!);
            }
            var released = await Queues.ReleaseAsync(queue, leases, _time.GetUtcNow(), CancellationToken.None);
            HubLog.GaveBack(_logger, queue, released, messages.Count);
        }
        catch (Exception ex) when (_state != HubState.Stopped)
        {
            // Best effort: whatever went wrong, the leases' expiry is the fallback.
            HubLog.GiveBackFailed(_logger, queue, messages.Count, ex);
        }
        catch (Exception)
        {
            // A late look answered after the hub stopped: its store is closed, and the leases run out with it (no warning).
        }
    }
}
