using System.Globalization;
using System.Runtime.InteropServices;
using Switchboard.Client;
using Switchboard.Samples.Orders;

// Order processing with an e-mail worker, with the .NET client (src/Switchboard.Client): a desk takes orders, asks the
// stock service for price and stock by request/reply, and publishes each accepted order to the topic orders.placed;
// the topic is bound to the queue emails, which an e-mail worker consumes under leases. Bad messages end in the dead
// letters after maxAttempts; fixed, they are redriven. The parts talk only to the hub: run them in one process (the
// default) or each in its own terminal with --role.
//
//   dotnet run --project samples/orders                       (everything; the hub: SWITCHBOARD_SERVER)
//   dotnet run --project samples/orders -- --role stock       (one terminal each: stock, worker, then service)

const string Usage = """
    usage: dotnet run --project samples/orders [-- [--role all|service|stock|worker] [--version 1|2] [--timeout SECONDS]]

      --role all          the desk, the stock service and the e-mail worker in one process, each with its own
                          connection (default)
      --role service      the order desk and operations: places the orders, lists the dead letters, redrives
      --role stock        the stock service: answers price and stock requests
      --role worker       the e-mail worker; --version 2 is the fixed one that accepts '+' in addresses (default 1)
      --timeout SECONDS   all, service: give up (exit 1) when the story has not ended by then (default 60);
                          stock, worker: stop after that long (default: run until Ctrl-C)

    The hub: SWITCHBOARD_SERVER (or SWITCHBOARD_URL), default http://127.0.0.1:7070; with authentication on,
    SWITCHBOARD_API_KEY (or SWITCHBOARD_TOKEN), an API key or a JWT. The same names as the switchboard command line.
    """;

string role = "all";
var version = 1;
TimeSpan? timeout = null;
for (var i = 0; i < args.Length; i++)
{
    var value = i + 1 < args.Length ? args[i + 1] : null;
    switch (args[i])
    {
        case "-h" or "--help":
            Console.WriteLine(Usage);
            return 0;
        case "--role" when value is "all" or "service" or "stock" or "worker":
            role = value;
            i++;
            continue;
        case "--version" when value is "1" or "2":
            version = int.Parse(value, CultureInfo.InvariantCulture);
            i++;
            continue;
        case "--timeout" when int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var seconds) && seconds is > 0 and <= 3600:
            timeout = TimeSpan.FromSeconds(seconds);
            i++;
            continue;
        default:
            Console.Error.WriteLine($"orders: unexpected argument '{args[i]}' (--role takes all, service, stock or worker; --version 1 or 2; "
                + $"--timeout a number of seconds from 1 to 3600).\n{Usage}");
            return 2;
    }
}
if (version != 1 && role != "worker")
{
    Console.Error.WriteLine($"orders: --version is for --role worker (all starts with version 1 and deploys version 2 itself).\n{Usage}");
    return 2;
}
if (!HubSettings.TryRead(out var hub, out var error))
{
    Console.Error.WriteLine($"orders: {error}");
    return 2;
}

// The story (all, service) is bounded by default; the long-running parts only when asked.
var story = role is "all" or "service";
timeout ??= story ? TimeSpan.FromSeconds(60) : null;
using var deadline = timeout is { } limit ? new CancellationTokenSource(limit) : new CancellationTokenSource();
using var stop = CancellationTokenSource.CreateLinkedTokenSource(deadline.Token);
Console.CancelKeyPress += (_, e) =>
{
    e.Cancel = true;
    stop.Cancel();
};
using var terminate = PosixSignalRegistration.Create(PosixSignal.SIGTERM, context =>
{
    context.Cancel = true;
    stop.Cancel();
});
try
{
    return role switch
    {
        "stock" => await Parts.StockAsync(hub, stop.Token),
        "worker" => await Parts.WorkerAsync(hub, version, stop.Token),
        "service" => await Parts.ServiceAsync(hub, stop.Token),
        _ => await Parts.AllAsync(hub, stop.Token),
    };
}
catch (Exception ex) when (ex is HttpRequestException || ex is SwitchboardException { Code: ClientErrorCodes.Unavailable })
{
    Console.Error.WriteLine($"orders: cannot reach the hub at {hub.Address} ({ex.Message.ReplaceLineEndings(" ")}). "
        + $"Start one with: dotnet run --project src/Switchboard.Cli -- serve (or set {hub.AddressVariable}).");
    return 1;
}
catch (SwitchboardException ex)
{
    Console.Error.WriteLine($"orders: a call to the hub failed ({ex.Code}): {ex.Message}");
    return 1;
}
catch (OperationCanceledException) when (stop.IsCancellationRequested)
{
    if (!story)
    {
        return 0; // Ctrl-C, SIGTERM or the end of --timeout: how a long-running part stops
    }
    Console.Error.WriteLine(deadline.IsCancellationRequested
        ? $"orders: the story did not end within {timeout!.Value.TotalSeconds:0} s (is another e-mail worker consuming the queue '{Names.EmailQueue}'?)."
        : "orders: interrupted.");
    return 1;
}

namespace Switchboard.Samples.Orders
{
    /// <summary>The roles: each part with a client of its own, as if in a process of its own.</summary>
    internal static class Parts
    {
        public static async Task<int> StockAsync(HubSettings hub, CancellationToken cancellationToken)
        {
            await using var client = await ConnectAsync(hub, "stock", cancellationToken);
            await SetUpAsync(hub, cancellationToken);
            await new StockService(client, text => OrderDesk.Log("stock", text)).RunAsync(cancellationToken);
            return 0;
        }

        public static async Task<int> WorkerAsync(HubSettings hub, int version, CancellationToken cancellationToken)
        {
            await using var client = await ConnectAsync(hub, "email", cancellationToken);
            await SetUpAsync(hub, cancellationToken);
            await new EmailWorker(client, version, text => OrderDesk.Log("email", text)).RunAsync(cancellationToken);
            return 0;
        }

        public static async Task<int> ServiceAsync(HubSettings hub, CancellationToken cancellationToken)
        {
            await using var client = await ConnectAsync(hub, "desk", cancellationToken);
            await SetUpAsync(hub, cancellationToken);
            return await new OrderDesk(client, deployFix: null).RunAsync(cancellationToken);
        }

        /// <summary>Everything in one process: the stock service and worker version 1 in the background, then the story.</summary>
        public static async Task<int> AllAsync(HubSettings hub, CancellationToken cancellationToken)
        {
            await using var stockClient = await ConnectAsync(hub, "stock", cancellationToken);
            await using var workerClient = await ConnectAsync(hub, "email", cancellationToken);
            await using var deskClient = await ConnectAsync(hub, "desk", cancellationToken);
            await SetUpAsync(hub, cancellationToken);

            // A part that fails (the hub refused it) ends the story at once instead of leaving it waiting.
            var failed = new TaskCompletionSource<Exception>(TaskCreationOptions.RunContinuationsAsynchronously);
            void Watch(Task part) => part.ContinueWith(t => failed.TrySetResult(t.Exception!.GetBaseException()),
                CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted, TaskScheduler.Default);
            using var services = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            using var version1 = CancellationTokenSource.CreateLinkedTokenSource(services.Token);
            var stock = new StockService(stockClient, text => OrderDesk.Log("stock", text)).RunAsync(services.Token);
            var worker = new EmailWorker(workerClient, 1, text => OrderDesk.Log("email", text)).RunAsync(version1.Token);
            var fixedWorker = Task.CompletedTask;
            Watch(stock);
            Watch(worker);

            // The redeploy: version 1 stops (after the e-mail in hand), version 2 takes over the queue.
            async Task DeployFixAsync(CancellationToken _)
            {
                await version1.CancelAsync();
                await worker;
                fixedWorker = new EmailWorker(workerClient, 2, text => OrderDesk.Log("email", text)).RunAsync(services.Token);
                Watch(fixedWorker);
            }
            try
            {
                var desk = new OrderDesk(deskClient, DeployFixAsync).RunAsync(cancellationToken);
                if (await Task.WhenAny(desk, failed.Task) == desk)
                {
                    return await desk;
                }
                System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(await failed.Task);
                return 1;
            }
            finally
            {
                await services.CancelAsync();
                await Task.WhenAll(new[] { stock, worker, fixedWorker }.Select(t => t.ContinueWith(_ => { }, TaskScheduler.Default)));
            }
        }

        private static async Task<SwitchboardClient> ConnectAsync(HubSettings hub, string part, CancellationToken cancellationToken)
        {
            var client = await hub.ConnectAsync(cancellationToken);
            // What the client does by itself (reconnects, a reply that could not be posted) goes to standard error.
            client.StateChanged += (_, e) =>
            {
                if (e.State is ConnectionState.Reconnecting or ConnectionState.Closed && e.Error is { } lost)
                {
                    Console.Error.WriteLine($"orders: [{part}] {e.State}: {lost.Message}");
                }
            };
            client.Error += (_, e) => Console.Error.WriteLine($"orders: [{part}] {e.Error.Code}: {e.Error.Message}");
            return client;
        }

        /// <summary>The queues and the binding (idempotent, so each part sets up what the others need too).</summary>
        private static async Task SetUpAsync(HubSettings hub, CancellationToken cancellationToken)
        {
            await HubSetup.EnsureAsync(hub, cancellationToken);
            OrderDesk.Log("setup", $"queue '{Names.EmailQueue}' (maxAttempts {Names.EmailMaxAttempts}) bound to topic '{Names.OrdersTopic}'; "
                + $"queue '{Names.StockQueue}' for requests");
        }
    }
}
