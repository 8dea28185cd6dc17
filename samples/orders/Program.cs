using System.Globalization;
using System.Text.Json;
using Switchboard.Samples.Orders;

// Order processing with an e-mail worker, over the hub's REST API: a desk takes orders, asks the stock service for
// price and stock by request/reply, and publishes each accepted order to the topic orders.placed; the topic is bound
// to the queue emails, which an e-mail worker consumes under leases. Bad messages end in the dead letters after
// maxAttempts; fixed, they are redriven. Everything runs in this one process, each part only through the hub.
//
//   dotnet run --project samples/orders            (the hub: SWITCHBOARD_URL, default http://127.0.0.1:7070)

const string Usage = """
    usage: dotnet run --project samples/orders [-- --timeout SECONDS]

      --timeout SECONDS   give up (exit 1) when the demo has not finished by then (default 60)

    The hub: SWITCHBOARD_URL (default http://127.0.0.1:7070); with authentication on, SWITCHBOARD_TOKEN.
    """;

var timeout = TimeSpan.FromSeconds(60);
for (var i = 0; i < args.Length; i++)
{
    if (args[i] is "-h" or "--help")
    {
        Console.WriteLine(Usage);
        return 0;
    }
    if (args[i] == "--timeout" && i + 1 < args.Length && int.TryParse(args[i + 1], NumberStyles.None, CultureInfo.InvariantCulture, out var seconds) && seconds is > 0 and <= 3600)
    {
        timeout = TimeSpan.FromSeconds(seconds);
        i++;
        continue;
    }
    Console.Error.WriteLine($"orders: unexpected argument '{args[i]}' (--timeout takes a number of seconds from 1 to 3600).\n{Usage}");
    return 2;
}

var url = Environment.GetEnvironmentVariable("SWITCHBOARD_URL") is { Length: > 0 } configured ? configured : "http://127.0.0.1:7070";
if (!Uri.TryCreate(url, UriKind.Absolute, out var hubAddress) || hubAddress.Scheme is not ("http" or "https"))
{
    Console.Error.WriteLine($"orders: SWITCHBOARD_URL '{url}' is not an http:// or https:// address (e.g. http://127.0.0.1:7070).");
    return 2;
}

using var deadline = new CancellationTokenSource(timeout);
using var stop = CancellationTokenSource.CreateLinkedTokenSource(deadline.Token);
Console.CancelKeyPress += (_, e) =>
{
    e.Cancel = true;
    stop.Cancel();
};
var hub = HubRest.Create(hubAddress, Environment.GetEnvironmentVariable("SWITCHBOARD_TOKEN"));
try
{
    return await new OrdersDemo(hub).RunAsync(stop.Token);
}
catch (HttpRequestException ex)
{
    Console.Error.WriteLine($"orders: cannot reach the hub at {hubAddress} ({ex.Message}). Start one with: dotnet run --project src/Switchboard.Cli -- serve (or set SWITCHBOARD_URL).");
    return 1;
}
catch (HubException ex)
{
    Console.Error.WriteLine($"orders: the hub refused a call: {ex.Message}");
    return 1;
}
catch (OperationCanceledException) when (stop.IsCancellationRequested)
{
    Console.Error.WriteLine(deadline.IsCancellationRequested
        ? $"orders: the demo did not finish within {timeout.TotalSeconds:0} s (is another worker consuming the queue '{EmailWorker.Queue}'?)."
        : "orders: interrupted.");
    return 1;
}

namespace Switchboard.Samples.Orders
{
    /// <summary>The story, step by step; each step prints what it did and what the hub answered.</summary>
    internal sealed class OrdersDemo(HubRest hub)
    {
        private const string Topic = "orders.placed";
        private const int MaxAttempts = 3;
        private readonly Outcomes _outcomes = new();

        public async Task<int> RunAsync(CancellationToken cancellationToken)
        {
            if (!await hub.IsReadyAsync(cancellationToken))
            {
                Console.Error.WriteLine($"orders: the hub at {hub.BaseAddress} answers but is not ready (GET /readyz); try again in a moment.");
                return 1;
            }
            // 1. The plumbing: a queue for the e-mails (3 attempts, short backoff so the demo is quick), fed by the topic,
            //    and a queue for the stock questions. PUT is idempotent: a second run finds them as they are.
            await hub.PutQueueAsync(EmailWorker.Queue, new { lease = "30s", maxAttempts = MaxAttempts, backoff = new { initial = "1s", max = "2s" } }, cancellationToken);
            await hub.BindAsync(EmailWorker.Queue, Topic, cancellationToken);
            await hub.PutQueueAsync(StockService.Queue, new { lease = "30s", maxAttempts = 3 }, cancellationToken);
            Log("setup", $"queue '{EmailWorker.Queue}' (maxAttempts {MaxAttempts}) bound to topic '{Topic}'; queue '{StockService.Queue}' for requests");

            using var services = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            var worker = new EmailWorker(hub, MaxAttempts, _outcomes, text => Log("email", text));
            var running = new[]
            {
                new StockService(hub, text => Log("stock", text)).RunAsync(services.Token),
                worker.RunAsync(services.Token),
            };
            try
            {
                var work = RunStoryAsync(worker, cancellationToken);
                // A part that fails (the hub went away) ends the demo at once instead of leaving it waiting.
                var first = await Task.WhenAny([work, .. running]);
                await first;
                if (first != work)
                {
                    throw new InvalidOperationException("a service stopped before the demo finished");
                }
                return await work;
            }
            finally
            {
                await services.CancelAsync();
                await Task.WhenAll(running.Select(task => task.ContinueWith(_ => { }, TaskScheduler.Default)));
            }
        }

        private async Task<int> RunStoryAsync(EmailWorker worker, CancellationToken cancellationToken)
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
                // Request/reply: the desk waits (up to 10 s) for the stock service's answer, whichever process runs it.
                var stock = await hub.RequestAsync<StockAnswer>(StockService.Queue, new StockQuery(draft.Sku, draft.Quantity), TimeSpan.FromSeconds(10), cancellationToken);
                if (!stock.InStock)
                {
                    Log("desk", $"order {draft.Id}: {draft.Quantity} x {draft.Sku} for {draft.Customer}: rejected, out of stock ({stock.Available} left)");
                    continue;
                }
                var order = draft with { Price = stock.Price, Total = stock.Price * draft.Quantity };
                var stored = await hub.PublishAsync(Topic, order, order.Id, cancellationToken);
                Log("desk", $"order {order.Id}: {order.Quantity} x {order.Sku} for {order.Customer} = {order.Total:0.00}: placed on {Topic} at offset {stored.GetProperty("offset").GetInt64()}");
                placed.Add(order);
            }

            // 3. The worker handles them: ann's goes out; bob's and carol's are refused until they die.
            var ann = placed.Single(o => o.Customer == "ann");
            var bob = placed.Single(o => o.Customer == "bob");
            var carol = placed.Single(o => o.Customer == "carol");
            await _outcomes.WhenAsync(ann.Id, EmailOutcome.Sent, cancellationToken);
            await _outcomes.WhenAsync(bob.Id, EmailOutcome.DeadLettered, cancellationToken);
            await _outcomes.WhenAsync(carol.Id, EmailOutcome.DeadLettered, cancellationToken);

            // 4. Operations looks at the dead letters: each says why it died.
            var dead = await hub.DeadLettersAsync(EmailWorker.Queue, cancellationToken);
            var ours = dead.Where(d => OrderId(d) is { } id && id.StartsWith(run + "-", StringComparison.Ordinal)).ToList();
            Log("ops", $"dead letters of '{EmailWorker.Queue}': {ours.Count} from this run{(dead.Count > ours.Count ? $" ({dead.Count - ours.Count} older)" : "")}");
            foreach (var letter in ours)
            {
                Log("ops", $"  #{letter.Id} order {OrderId(letter)}: reason {letter.Reason} after {letter.Attempts} attempts, last error \"{letter.LastError}\"");
            }

            // 5. The bug is fixed (version 2 accepts '+'), and bob's e-mail is redriven: back in the queue, delivered.
            worker.AcceptsPlusAddresses = true;
            var bobs = ours.Single(d => OrderId(d) == bob.Id);
            await hub.RedriveAsync(EmailWorker.Queue, bobs.Id, cancellationToken);
            Log("ops", $"worker version 2 accepts '+' in addresses; redrove #{bobs.Id} (order {bob.Id})");
            await _outcomes.WhenAsync(bob.Id, EmailOutcome.Sent, cancellationToken);

            // carol's address is wrong for good: her e-mail stays in the dead letters for a person to look at.
            Log("done", $"{placed.Count} orders placed, {orders.Length - placed.Count} rejected; e-mails sent to ann and bob; "
                + $"carol's stays in the dead letters (see: switchboard dlq {EmailWorker.Queue})");
            return 0;
        }

        private static string? OrderId(DeadLetter letter) =>
            letter.Payload.ValueKind == JsonValueKind.Object && letter.Payload.TryGetProperty("id", out var id) ? id.GetString() : null;

        private static void Log(string role, string text) => Console.WriteLine($"{"[" + role + "]",-7} {text}");
    }
}
