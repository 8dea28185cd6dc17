using System.Text.Json;
using System.Text.RegularExpressions;

namespace Switchboard.Samples.Orders;

/// <summary>
/// The e-mail worker: consumes the queue <c>emails</c> (fed by the binding from <c>orders.placed</c>) under leases,
/// "sends" the confirmation and acks it, or nacks it with the reason. A message nacked on its last attempt goes to the
/// queue's dead letters. Version 1 has a bug: it refuses addresses with a '+'. <see cref="AcceptsPlusAddresses"/> is
/// the fixed version 2.
/// </summary>
internal sealed partial class EmailWorker(HubRest hub, int maxAttempts, Outcomes outcomes, Action<string> log)
{
    public const string Queue = "emails";

    public bool AcceptsPlusAddresses { get; set; }

    public async Task RunAsync(CancellationToken cancellationToken)
    {
        log($"consuming queue '{Queue}' with leases (version 1: refuses '+' in addresses)");
        while (!cancellationToken.IsCancellationRequested)
        {
            IReadOnlyList<QueueMessage> messages;
            try
            {
                messages = await hub.ReceiveAsync(Queue, max: 10, wait: TimeSpan.FromSeconds(2), lease: TimeSpan.FromSeconds(30), cancellationToken);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return;
            }
            foreach (var message in messages)
            {
                await HandleAsync(message, cancellationToken);
            }
        }
    }

    private async Task HandleAsync(QueueMessage message, CancellationToken cancellationToken)
    {
        var order = message.Payload.ValueKind == JsonValueKind.Object ? message.Payload.Deserialize<Order>(HubRest.Json) : null;
        var problem = order?.Email is null ? "not an order"
            : !(AcceptsPlusAddresses ? Address() : AddressWithoutPlus()).IsMatch(order.Email) ? $"invalid address '{order.Email}'"
            : null;
        var name = order?.Id is null ? $"message #{message.Id}" : $"order {order.Id}";
        if (problem is null)
        {
            // A real worker would talk to an SMTP server here, within the lease (extend it for slow work).
            await hub.AckAsync(Queue, message, cancellationToken);
            log($"{name}: confirmation sent to {order!.Email} (attempt {message.Attempts}), acked");
            outcomes.Record(order.Id, EmailOutcome.Sent);
            return;
        }
        var dead = await hub.NackAsync(Queue, message, problem, cancellationToken);
        log($"{name}: {problem} (attempt {message.Attempts} of {maxAttempts}), nacked: {(dead ? "dead-lettered" : "comes back after the backoff")}");
        if (order?.Id is not null)
        {
            outcomes.Record(order.Id, dead ? EmailOutcome.DeadLettered : EmailOutcome.Retrying);
        }
    }

    [GeneratedRegex(@"^[^@\s+]+@[^@\s]+\.[A-Za-z]{2,}$")]
    private static partial Regex AddressWithoutPlus();

    [GeneratedRegex(@"^[^@\s]+@[^@\s]+\.[A-Za-z]{2,}$")]
    private static partial Regex Address();
}
