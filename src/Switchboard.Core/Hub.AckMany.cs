namespace Switchboard.Core;

/// <summary>One acknowledgement of a batch: the message and its lease token.</summary>
public readonly record struct LeaseAck(long Id, string Lease);

/// <summary>How one acknowledgement of a batch ended: <see cref="Error"/> is null when the message was acked.</summary>
public readonly record struct AckOutcome(long Id, SwitchboardException? Error);

public sealed partial class Hub
{
    /// <summary>
    /// Acknowledges several leased messages of one queue in one call (a consumer that took a batch settles it with one
    /// request, not one per message). The batch is checked whole first — 1 to <see cref="MaxReceive"/> acks, each with a
    /// lease token, no message twice — so a malformed batch acks nothing. Then each ack stands alone, as if sent by itself:
    /// they reach the store at once (one commit, as a rule), and one whose lease is wrong or expired fails (in its
    /// <see cref="AckOutcome"/>) without holding back the others. A failure that is no one message's (a missing queue, the store down) fails the call;
    /// acks committed before it stay committed, and acking them again answers lease-mismatch.
    /// </summary>
    public async Task<IReadOnlyList<AckOutcome>> AckManyAsync(string queue, IReadOnlyList<LeaseAck> acks, CancellationToken cancellationToken = default)
    {
        EnsureServing();
        QueueName.Validate(queue);
        ArgumentNullException.ThrowIfNull(acks);
        if (acks.Count is < 1 or > MaxReceive)
        {
            throw new SwitchboardException(ErrorCode.ValidationFailed, $"The batch has {acks.Count} acks; ack 1 to {MaxReceive} messages at a time.");
        }
        var seen = new HashSet<long>(acks.Count);
        for (var i = 0; i < acks.Count; i++)
        {
            CheckLeaseToken(acks[i].Lease, $"The ack at {i} (message {acks[i].Id}): ");
            if (!seen.Add(acks[i].Id))
            {
                throw new SwitchboardException(ErrorCode.ValidationFailed, $"Message {acks[i].Id} is in the batch twice (at {i}); ack each message once.");
            }
        }
        // A failure that is not one message's own (the queue is missing, the store is down) fails the call.
        return await Task.WhenAll(acks.Select(ack => AckOneAsync(queue, ack, cancellationToken)));
    }

    private async Task<AckOutcome> AckOneAsync(string queue, LeaseAck ack, CancellationToken cancellationToken)
    {
        try
        {
            await AckCoreAsync(queue, ack.Id, ack.Lease, cancellationToken);
            return new AckOutcome(ack.Id, null);
        }
        catch (SwitchboardException ex) when (ex.Code is ErrorCode.LeaseMismatch or ErrorCode.LeaseExpired or ErrorCode.MessageNotFound)
        {
            return new AckOutcome(ack.Id, ex);
        }
    }
}
