using System.Text.Json;
using Switchboard.Client;

namespace Switchboard.Samples.Orders;

/// <summary>
/// The responder of request/reply: answers price-and-stock questions from the queue <c>stock</c>. The client's
/// <see cref="SwitchboardClient.Respond"/> does the rest: it long-polls the queue under leases, posts what the handler
/// returns as the reply (acking the request in the same step), and nacks a request the handler throws on.
/// </summary>
internal sealed class StockService(SwitchboardClient client, Action<string> log)
{
    private static readonly Dictionary<string, (decimal Price, int Available)> Catalog = new(StringComparer.Ordinal)
    {
        ["A-1"] = (9.50m, 100),
        ["B-2"] = (24.00m, 5),
        ["Z-9"] = (99.00m, 0),
    };

    /// <summary>Answers until <paramref name="cancellationToken"/> is cancelled.</summary>
    public async Task RunAsync(CancellationToken cancellationToken)
    {
        await using var responder = client.Respond(Names.StockQueue, (request, _) => Task.FromResult(Answer(request)),
            new RespondOptions { Concurrency = 4, Lease = TimeSpan.FromSeconds(30) });
        log($"answering price and stock requests on queue '{Names.StockQueue}'");
        try
        {
            await Task.Delay(Timeout.InfiniteTimeSpan, cancellationToken);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // stopping: disposing the responder waits for the answers under way
        }
    }

    private StockAnswer Answer(QueueMessage request)
    {
        StockQuery? query;
        try
        {
            query = request.GetPayload<StockQuery>();
        }
        catch (JsonException)
        {
            query = null;
        }
        if (query?.Sku is null)
        {
            // A throw nacks the request: it comes back after the queue's backoff, and after maxAttempts it is a dead letter.
            log($"request #{request.Id} is not a stock question; nacked");
            throw new InvalidDataException("not a stock question: expected {\"sku\": \"…\", \"quantity\": n}");
        }
        var (price, available) = Catalog.TryGetValue(query.Sku, out var item) ? item : (0m, 0);
        var answer = new StockAnswer(query.Sku, available >= query.Quantity && query.Quantity > 0, available, price);
        log($"{query.Sku} x{query.Quantity}: {(answer.InStock ? $"in stock at {price:0.00}" : $"only {available} left")}");
        return answer;
    }
}
