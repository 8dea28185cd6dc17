using System.Text.Json;
using System.Text.RegularExpressions;
using Switchboard.Client;

namespace Switchboard.Samples.Orders;

/// <summary>
/// The e-mail worker: consumes the queue <c>emails</c> (fed by the binding from <c>orders.placed</c>) under leases,
/// "sends" the confirmation and acks it, or nacks it with the reason. A message nacked on its last attempt goes to the
/// queue's dead letters. Version 1 has a bug: it refuses addresses with a '+'; version 2 is the fix. It reports each
/// outcome on the topic <c>emails.reports</c>, and announces itself on <c>emails.workers</c>, for whoever follows them.
/// </summary>
internal sealed partial class EmailWorker(SwitchboardClient client, int version, Action<string> log)
{
    public bool AcceptsPlusAddresses => version >= 2;

    /// <summary>Works until <paramref name="cancellationToken"/> is cancelled.</summary>
    public async Task RunAsync(CancellationToken cancellationToken)
    {
        // Said first, then announced: whoever acts on the announcement (the desk's redrive) logs after this line.
        log($"version {version} consuming queue '{Names.EmailQueue}' with leases ({(AcceptsPlusAddresses ? "accepts" : "refuses")} '+' in addresses)");
        await client.PublishAsync(Names.WorkersTopic, new WorkerStarted(version, AcceptsPlusAddresses, Environment.ProcessId), cancellationToken: cancellationToken);
        // Prefetch 1: one e-mail at a time, so a worker that stops leaves nothing leased behind it (start several
        // workers to go faster: the queue spreads the e-mails among them). Cancelling ends the loop.
        var consume = new ConsumeOptions { Prefetch = 1, Lease = TimeSpan.FromSeconds(30), Wait = TimeSpan.FromSeconds(30) };
        await foreach (var message in client.ConsumeAsync(Names.EmailQueue, consume, cancellationToken))
        {
            await HandleAsync(message);
        }
        log($"version {version} stopped");
    }

    private async Task HandleAsync(QueueMessage message)
    {
        Order? order;
        try
        {
            order = message.GetPayload<Order>();
        }
        catch (JsonException)
        {
            order = null;
        }
        var problem = order?.Email is null ? "not an order"
            : !(AcceptsPlusAddresses ? Address() : AddressWithoutPlus()).IsMatch(order.Email) ? $"invalid address '{order.Email}'"
            : null;
        var name = order?.Id is null ? $"message #{message.Id}" : $"order {order.Id}";
        // Settled and reported even while stopping (no token): the work is done, and the client bounds each call
        // (PublishTimeout) across reconnects.
        if (problem is null)
        {
            // A real worker would talk to an SMTP server here, within the lease (ExtendAsync for slow work).
            await message.AckAsync(CancellationToken.None);
            log($"{name}: confirmation sent to {order!.Email} (attempt {message.Attempts}), acked");
            await ReportAsync(order.Id, EmailOutcome.Sent, message.Attempts);
            return;
        }
        // True when this nack was the message's last attempt and moved it to the dead letters.
        var dead = await message.NackAsync(error: problem, cancellationToken: CancellationToken.None);
        log($"{name}: {problem} (attempt {message.Attempts} of {Names.EmailMaxAttempts}), nacked: {(dead ? "dead-lettered" : "comes back after the backoff")}");
        if (order?.Id is not null)
        {
            await ReportAsync(order.Id, dead ? EmailOutcome.DeadLettered : EmailOutcome.Retrying, message.Attempts);
        }
    }

    private async Task ReportAsync(string order, EmailOutcome outcome, int attempt) =>
        await client.PublishAsync(Names.ReportsTopic, new EmailReport(order, outcome.ToString(), attempt, version), new PublishOptions { Key = order });

    [GeneratedRegex(@"^[^@\s+]+@[^@\s]+\.[A-Za-z]{2,}$")]
    private static partial Regex AddressWithoutPlus();

    [GeneratedRegex(@"^[^@\s]+@[^@\s]+\.[A-Za-z]{2,}$")]
    private static partial Regex Address();
}
