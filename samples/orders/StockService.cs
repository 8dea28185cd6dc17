using System.Net;
using System.Text.Json;

namespace Switchboard.Samples.Orders;

/// <summary>
/// The responder of request/reply: takes price-and-stock questions from the queue <c>stock</c> and answers each on
/// its <c>replyTo</c>, acking the request in the same step (<c>POST /v1/replies/{id}?lease=</c>).
/// </summary>
internal sealed class StockService(HubRest hub, Action<string> log)
{
    public const string Queue = "stock";

    private static readonly Dictionary<string, (decimal Price, int Available)> Catalog = new(StringComparer.Ordinal)
    {
        ["A-1"] = (9.50m, 100),
        ["B-2"] = (24.00m, 5),
        ["Z-9"] = (99.00m, 0),
    };

    public async Task RunAsync(CancellationToken cancellationToken)
    {
        log($"answering price and stock requests on queue '{Queue}'");
        while (!cancellationToken.IsCancellationRequested)
        {
            IReadOnlyList<QueueMessage> requests;
            try
            {
                requests = await hub.ReceiveAsync(Queue, max: 10, wait: TimeSpan.FromSeconds(2), lease: TimeSpan.FromSeconds(30), cancellationToken);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return;
            }
            foreach (var request in requests)
            {
                await AnswerAsync(request, cancellationToken);
            }
        }
    }

    private async Task AnswerAsync(QueueMessage request, CancellationToken cancellationToken)
    {
        var query = request.Payload.ValueKind == JsonValueKind.Object ? request.Payload.Deserialize<StockQuery>(HubRest.Json) : null;
        if (request.ReplyTo is null || query?.Sku is null)
        {
            log($"request #{request.Id} is not a stock question; dropped");
            await hub.AckAsync(Queue, request, cancellationToken);
            return;
        }
        var (price, available) = Catalog.TryGetValue(query.Sku, out var item) ? item : (0m, 0);
        var answer = new StockAnswer(query.Sku, available >= query.Quantity && query.Quantity > 0, available, price);
        try
        {
            await hub.ReplyAsync(request, answer, cancellationToken);
            log($"{query.Sku} x{query.Quantity}: {(answer.InStock ? $"in stock at {price:0.00}" : $"only {available} left")}");
        }
        catch (HubException ex) when (ex.Status is HttpStatusCode.Gone or HttpStatusCode.NotFound or HttpStatusCode.Conflict)
        {
            // The requester stopped waiting (410), or the request was already answered (409): nobody needs this reply.
            log($"request #{request.Id} needs no answer any more ({ex.Code}); dropped");
            await hub.AckAsync(Queue, request, cancellationToken);
        }
    }
}
