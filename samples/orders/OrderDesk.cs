using System.Text.Json;
using Switchboard.Client;

namespace Switchboard.Samples.Orders;

/// <summary>
/// The order desk and operations, step by step; each step prints what it did and what the hub answered. It learns what
/// became of each e-mail from the workers' reports (the topics <c>emails.*</c>), never from the worker itself.
/// <paramref name="deployFix"/> replaces the e-mail worker with version 2 when the desk runs with it in one process;
/// alone, the desk asks a person to do that and waits for the new worker to announce itself.
/// </summary>
internal sealed class OrderDesk(SwitchboardClient client, Func<CancellationToken, Task>? deployFix)
{
    public async Task<int> RunAsync(CancellationToken cancellationToken)
    {
        // 1. Follow the workers' reports before the first order goes out: from now, so every report of this run is heard.
        await using var reports = client.Subscribe(Names.WorkerEvents);
        await reports.Ready.WaitAsync(cancellationToken);
        var outcomes = new Outcomes();
        using var stopListening = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var listening = ListenAsync(reports, outcomes, stopListening.Token);
        try
        {
            return await TellAsync(outcomes, cancellationToken);
        }
        finally
        {
            await stopListening.CancelAsync();
            await listening;
        }
    }

    private async Task<int> TellAsync(Outcomes outcomes, CancellationToken cancellationToken)
    {
        // 2. The desk takes four orders. Ids carry this run's prefix, so leftovers of an earlier run are told apart.
        var run = Guid.NewGuid().ToString("N")[..4];
        Order[] orders =
        [
            new($"{run}-1", "ann", "ann@example.com", "A-1", 2),
            new($"{run}-2", "bob", "bob+shop@example.com", "B-2", 1), // a valid address that worker version 1 refuses
            new($"{run}-3", "carol", "carol-at-example.com", "A-1", 1), // not an address at all
            new($"{run}-4", "dave", "dave@example.com", "Z-9", 1), // out of stock
        ];
        var placed = new List<Order>();
        foreach (var draft in orders)
        {
            var stock = await AskStockAsync(new StockQuery(draft.Sku, draft.Quantity), cancellationToken);
            if (!stock.InStock)
            {
                Log("desk", $"order {draft.Id}: {draft.Quantity} x {draft.Sku} for {draft.Customer}: rejected, out of stock ({stock.Available} left)");
                continue;
            }
            var order = draft with { Price = stock.Price, Total = stock.Price * draft.Quantity };
            // Returns once the order is durable; the binding has put it on the queue 'emails' in the same transaction.
            var stored = await client.PublishAsync(Names.OrdersTopic, order, new PublishOptions { Key = order.Id }, cancellationToken);
            Log("desk", $"order {order.Id}: {order.Quantity} x {order.Sku} for {order.Customer} = {order.Total:0.00}: placed on {Names.OrdersTopic} at offset {stored.Offset}");
            placed.Add(order);
        }

        // 3. The worker handles them: ann's goes out; carol's is refused until it dies; bob's too, by worker version 1.
        var ann = placed.Single(o => o.Customer == "ann");
        var bob = placed.Single(o => o.Customer == "bob");
        var carol = placed.Single(o => o.Customer == "carol");
        await outcomes.WhenAsync(ann.Id, EmailOutcome.Sent, cancellationToken);
        await outcomes.WhenAsync(carol.Id, EmailOutcome.DeadLettered, cancellationToken);
        var bobs = await outcomes.WhenSettledAsync(bob.Id, cancellationToken);

        // 4. Operations looks at the dead letters: each says why it died.
        var dead = await DeadLettersAsync(cancellationToken);
        var ours = dead.Where(d => OrderId(d)?.StartsWith(run + "-", StringComparison.Ordinal) == true).ToList();
        Log("ops", $"dead letters of '{Names.EmailQueue}': {ours.Count} from this run{(dead.Count > ours.Count ? $" ({dead.Count - ours.Count} older)" : "")}");
        foreach (var letter in ours)
        {
            Log("ops", $"  #{letter.Id} order {OrderId(letter)}: reason {letter.Reason} after {letter.Attempts} attempts, last error \"{letter.LastError}\"");
        }

        // 5. The bug is fixed (version 2 accepts '+'); once it runs, bob's e-mail is redriven: back in the queue, delivered.
        if (bobs == EmailOutcome.DeadLettered)
        {
            var fixedWorker = outcomes.WhenWorkerAsync(2, cancellationToken);
            if (deployFix is not null)
            {
                Log("ops", "deploying e-mail worker version 2 (accepts '+' in addresses)");
                await deployFix(cancellationToken);
            }
            else if (!fixedWorker.IsCompleted)
            {
                Log("ops", "bob's e-mail needs worker version 2: stop version 1 and start "
                    + "'dotnet run --project samples/orders -- --role worker --version 2'; waiting for it to announce itself");
            }
            await fixedWorker;
            var letter = ours.Single(d => OrderId(d) == bob.Id);
            outcomes.Forget(bob.Id, EmailOutcome.DeadLettered);
            // Said before the call: the worker may take the redriven message before RedriveAsync returns.
            Log("ops", $"worker version 2 accepts '+' in addresses; redriving #{letter.Id} (order {bob.Id})");
            await client.RedriveAsync(Names.EmailQueue, letter.Id, cancellationToken);
            if (await outcomes.WhenSettledAsync(bob.Id, cancellationToken) != EmailOutcome.Sent)
            {
                Log("ops", $"order {bob.Id}: dead again: is an e-mail worker of version 1 still consuming '{Names.EmailQueue}'?");
                return 1;
            }
        }
        else
        {
            Log("desk", $"order {bob.Id}: the e-mail went out at once (an e-mail worker of version 2 was already running)");
        }

        // carol's address is wrong for good: her e-mail stays in the dead letters for a person to look at.
        Log("done", $"{placed.Count} orders placed, {orders.Length - placed.Count} rejected; e-mails sent to ann and bob; "
            + $"carol's stays in the dead letters (see: switchboard dlq {Names.EmailQueue})");
        return 0;
    }

    /// <summary>Request/reply: waits (up to 10 s) for the stock service's answer, whichever process runs it.</summary>
    private async Task<StockAnswer> AskStockAsync(StockQuery query, CancellationToken cancellationToken)
    {
        try
        {
            var reply = await client.RequestAsync(Names.StockQueue, query, new RequestOptions { Timeout = TimeSpan.FromSeconds(10) }, cancellationToken);
            return reply.GetPayload<StockAnswer>() ?? throw new InvalidDataException("The stock service answered with an empty reply.");
        }
        catch (SwitchboardException ex) when (ex.Code == ClientErrorCodes.Timeout)
        {
            throw new SwitchboardException(ex.Code, $"no stock service answered within 10 s (is one running? dotnet run --project samples/orders -- --role stock): {ex.Message}", ex);
        }
    }

    /// <summary>Every dead letter of the e-mail queue, page by page.</summary>
    private async Task<List<DeadLetter>> DeadLettersAsync(CancellationToken cancellationToken)
    {
        var all = new List<DeadLetter>();
        string? after = null;
        // Bounded: 100 pages of 100, far more than a sample's queue ever holds.
        for (var page = 0; page < 100; page++)
        {
            var letters = await client.GetDeadLettersAsync(Names.EmailQueue, after, 100, cancellationToken);
            all.AddRange(letters.Messages);
            if (letters.Next is null)
            {
                break;
            }
            after = letters.Next;
        }
        return all;
    }

    /// <summary>The workers' reports and announcements, as they come, into <paramref name="outcomes"/>.</summary>
    private static async Task ListenAsync(Subscription reports, Outcomes outcomes, CancellationToken cancellationToken)
    {
        try
        {
            await foreach (var message in reports.WithCancellation(cancellationToken))
            {
                try
                {
                    if (message.Topic == Names.ReportsTopic && message.GetPayload<EmailReport>() is { Order: not null } report
                        && Enum.TryParse<EmailOutcome>(report.Outcome, out var outcome))
                    {
                        outcomes.Record(report.Order, outcome);
                    }
                    else if (message.Topic == Names.WorkersTopic && message.GetPayload<WorkerStarted>() is { } worker)
                    {
                        outcomes.WorkerStarted(worker.Version);
                    }
                }
                catch (JsonException)
                {
                    // somebody else's message on these topics: not ours to read
                }
            }
            outcomes.Fail(new InvalidOperationException($"the subscription to {Names.WorkerEvents} ended"));
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // the story is over
        }
        catch (SwitchboardException ex)
        {
            outcomes.Fail(ex);
        }
    }

    private static string? OrderId(DeadLetter letter)
    {
        try
        {
            return letter.Payload.Deserialize<Order>(JsonSerializerOptions.Web)?.Id;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    public static void Log(string role, string text) => Console.WriteLine($"{"[" + role + "]",-7} {text}");
}
