using StackExchange.Redis;

namespace Switchboard.Redis;

/// <summary>
/// Announces this node's commits to each topic in commit order. The scripts of one topic are sent in the order their
/// tickets are issued (issuing sends the command under the stripe's lock, and the multiplexer writes one connection in
/// order), and Redis runs them in that order, so ticket order is offset order; but the replies' continuations run on
/// the thread pool in any order. Each reply therefore waits, in its ticket, for every earlier ticket of its stripe to be
/// settled (announced, refused or failed) before it is announced. Another node's appends in between leave a gap in
/// what this node announces, which subscribers recover by reading back from the store.
/// </summary>
internal sealed class AppendSequencer
{
    // 64 stripes: topics share a stripe only for ordering their announcements, which costs nothing beyond a reply
    // waiting for an earlier reply that arrives microseconds before it on the same connection anyway; a stripe per
    // topic would need a dictionary that grows with every topic ever written.
    private const int StripeCount = 64;

    private readonly Stripe[] _stripes = [.. Enumerable.Range(0, StripeCount).Select(_ => new Stripe())];
    private readonly Action<Exception> _announceFailed;

    public AppendSequencer(Action<Exception> announceFailed) => _announceFailed = announceFailed;

    /// <summary>Sends a topic's script now, under its stripe's lock, and returns the ticket that orders its announcement.</summary>
    public Ticket Issue(string topic, Func<Task<RedisResult>> send)
    {
        var stripe = _stripes[(StringComparer.Ordinal.GetHashCode(topic) & int.MaxValue) % StripeCount];
        lock (stripe)
        {
            var ticket = new Ticket(stripe);
            try
            {
                ticket.Call = send();
            }
            catch (Exception ex)
            {
                // Failed before anything was sent (the store is closing): a failed call, never a ticket that blocks the
                // stripe because nobody settles it.
                ticket.Call = Task.FromException<RedisResult>(ex);
            }
            stripe.Pending.Enqueue(ticket);
            return ticket;
        }
    }

    /// <summary>
    /// Settles a ticket with what to announce (null: nothing, the script refused or failed) and announces every settled
    /// ticket at the head of its stripe, in order. <see cref="Ticket.Announced"/> completes once this ticket's turn came.
    /// </summary>
    public void Settle(Ticket ticket, Action? announce)
    {
        var stripe = ticket.Stripe;
        lock (stripe)
        {
            ticket.Announce = announce;
            ticket.Settled = true;
            while (stripe.Pending.TryPeek(out var head) && head.Settled)
            {
                stripe.Pending.Dequeue();
                try
                {
                    head.Announce?.Invoke();
                }
                catch (Exception ex)
                {
                    _announceFailed(ex); // the commit stands; subscribers recover by offset
                }
                head.Done.TrySetResult();
            }
        }
    }

    internal sealed class Stripe
    {
        public Queue<Ticket> Pending { get; } = new();
    }

    /// <summary>One script's place in its stripe's order.</summary>
    internal sealed class Ticket
    {
        internal Ticket(Stripe stripe) => Stripe = stripe;

        internal Stripe Stripe { get; }

        /// <summary>The script's reply.</summary>
        public Task<RedisResult> Call { get; internal set; } = null!;

        /// <summary>Completes once the ticket was announced (or skipped) in order.</summary>
        public Task Announced => Done.Task;

        internal TaskCompletionSource Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        internal Action? Announce { get; set; }

        internal bool Settled { get; set; }
    }
}
