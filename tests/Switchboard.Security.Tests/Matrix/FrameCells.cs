using Switchboard.Security.Tests.Support;
using static Switchboard.Security.Tests.Matrix.MatrixHub;

namespace Switchboard.Security.Tests.Matrix;

/// <summary>
/// The multiplexed protocol's frames as matrix cells, over any link (WebSocket JSON or proto, gRPC Connect). Each
/// principal keeps one connection while it stays open, as a real client would: a refused frame is answered with an
/// error frame and the connection goes on; a connection the hub closes (4401, UNAUTHENTICATED) is opened anew.
/// </summary>
internal sealed class FrameCells(MatrixHub hub, Func<Principal, CancellationToken, Task<FrameLink>> connect) : IAsyncDisposable
{
    private readonly Dictionary<string, FrameLink> _links = new(StringComparer.Ordinal);
    private int _ids;

    public IReadOnlyList<Cell> All()
    {
        var cells = new List<Cell>();
        foreach (var topic in Topics)
        {
            cells.Add(new("publish", topic, new Requirement(Need.Publish, topic), async (p, ct) =>
                (await ExchangeAsync(p, new PublishCommand(topic, Cells.Marker()), "published", ct)).Verdict));
        }
        foreach (var topics in Subscriptions)
        {
            cells.Add(new("subscribe", string.Join(" + ", topics), [.. topics.Select(t => new Requirement(Need.Subscribe, t))], (p, ct) => SubscribeAsync(p, topics, ct)));
        }
        foreach (var queue in Queues)
        {
            var publish = new Requirement(Need.Publish, queue);
            var consume = new Requirement(Need.Consume, queue);
            cells.Add(new("send", queue, publish, async (p, ct) => (await ExchangeAsync(p, new SendCommand(queue), "sent", ct)).Verdict));
            cells.Add(new("receive", queue, consume, (p, ct) => ReceiveAsync(p, queue, ct)));
            foreach (var kind in (string[])["ack", "nack", "extend"])
            {
                cells.Add(new(kind, queue, consume, async (p, ct) =>
                {
                    var (id, lease) = await hub.LeaseAsync(queue);
                    return (await ExchangeAsync(p, new SettleCommand(kind, queue, id, lease), "lease", ct)).Verdict;
                }));
            }
            cells.Add(new("ackBatch", queue, consume, async (p, ct) =>
            {
                var (id, lease) = await hub.LeaseAsync(queue);
                var (verdict, answer) = await ExchangeAsync(p, new AckBatchCommand(queue, id, lease), "ackedBatch", ct);
                return answer is null || answer.MessageId == id ? verdict : Observed.Broken($"ackedBatch did not ack message {id}");
            }));
            cells.Add(new("request", queue, publish, (p, ct) => RequestAsync(p, queue, ct)));
            cells.Add(new("reply", queue, consume, async (p, ct) =>
            {
                var id = await hub.RequestAsync(queue);
                return (await ExchangeAsync(p, new ReplyCommand(id), "responded", ct)).Verdict;
            }));
        }
        return cells;
    }

    /// <summary>An allowed subscription must deliver (history from offset 0), and is then unsubscribed.</summary>
    private async Task<Observed> SubscribeAsync(Principal principal, string[] topics, CancellationToken cancellationToken)
    {
        var (verdict, subscribed) = await ExchangeAsync(principal, new SubscribeCommand(topics), "subscribed", cancellationToken);
        if (subscribed is null)
        {
            return verdict;
        }
        var link = _links[principal.Name];
        while (true)
        {
            var answer = await link.NextAsync(cancellationToken);
            if (answer.Kind == "closed")
            {
                return Observed.Broken($"subscribed, then closed {answer.Code}: {answer.Text}");
            }
            if (answer.Kind == "message" && answer.Text is { } delivered && topics.Any(t => Policy.Covers(t, delivered)))
            {
                break;
            }
        }
        var (_, unsubscribed) = await ExchangeAsync(principal, new UnsubscribeCommand(subscribed.Text!), "unsubscribed", cancellationToken);
        return unsubscribed is null ? Observed.Broken("the unsubscribe was not answered") : Observed.Allowed;
    }

    /// <summary>An allowed receive must lease the message just sent; the consumer is then stopped (max 0).</summary>
    private async Task<Observed> ReceiveAsync(Principal principal, string queue, CancellationToken cancellationToken)
    {
        await hub.SendAsync(queue);
        var (verdict, received) = await ExchangeAsync(principal, new ReceiveCommand(queue, 1), "queueMessage", cancellationToken);
        if (received is not null)
        {
            await _links[principal.Name].SendAsync(NextId(), new ReceiveCommand(queue, 0), cancellationToken);
            if (received.Lease is null)
            {
                return Observed.Broken("the queue message has no lease");
            }
        }
        return verdict;
    }

    /// <summary>An allowed request must get its reply: the admin answers it while the frame waits.</summary>
    private async Task<Observed> RequestAsync(Principal principal, string queue, CancellationToken cancellationToken)
    {
        var marker = Cells.Marker();
        using var responderStop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var responder = Task.Run(() => hub.AnswerAsync(queue, marker, responderStop.Token), CancellationToken.None);
        try
        {
            return (await ExchangeAsync(principal, new RequestCommand(queue, marker), "reply", cancellationToken)).Verdict;
        }
        finally
        {
            await responderStop.CancelAsync();
            await responder.ContinueWith(static _ => { }, TaskScheduler.Default);
        }
    }

    /// <summary>
    /// Sends a frame and reads until its answer (frames for other ids are skipped): <paramref name="success"/> →
    /// allowed (with the answer); an error frame → its verdict; the end of the connection → its close code's verdict.
    /// </summary>
    private async Task<(Observed Verdict, Answer? Answer)> ExchangeAsync(Principal principal, Command command, string success, CancellationToken cancellationToken)
    {
        var link = await LinkAsync(principal, cancellationToken);
        var id = NextId();
        await link.SendAsync(id, command, cancellationToken);
        while (true)
        {
            var answer = await link.NextAsync(cancellationToken);
            if (answer.Kind == "closed")
            {
                return (FromEnd(answer), null);
            }
            if (answer.Id != id)
            {
                continue;
            }
            if (answer.Kind == success)
            {
                return (Observed.Allowed, answer);
            }
            return answer.Kind != "error" ? (Observed.Broken($"answered {answer.Kind}"), null) : answer.Code switch
            {
                "forbidden" => (new Observed(Verdict.Forbidden, answer.Text ?? ""), null),
                "unauthorized" => (new Observed(Verdict.Unauthenticated, answer.Text ?? ""), null),
                _ => (Observed.Broken($"error {answer.Code}: {answer.Text}"), null),
            };
        }
    }

    /// <summary>How a connection ended, as a verdict: 4401 / UNAUTHENTICATED, 4403 / PERMISSION_DENIED, or broken.</summary>
    public static Observed FromEnd(Answer closed) => closed.Code switch
    {
        "4401" or "Unauthenticated" => new Observed(Verdict.Unauthenticated, closed.Text ?? ""),
        "4403" or "PermissionDenied" => new Observed(Verdict.Forbidden, closed.Text ?? ""),
        _ => Observed.Broken($"closed {closed.Code}: {closed.Text}"),
    };

    private async Task<FrameLink> LinkAsync(Principal principal, CancellationToken cancellationToken)
    {
        if (_links.TryGetValue(principal.Name, out var link))
        {
            if (link.Closed is null)
            {
                return link;
            }
            await link.DisposeAsync();
        }
        link = await connect(principal, cancellationToken);
        _links[principal.Name] = link;
        return link;
    }

    private string NextId() => "c" + Interlocked.Increment(ref _ids).ToString(System.Globalization.CultureInfo.InvariantCulture);

    public async ValueTask DisposeAsync()
    {
        foreach (var link in _links.Values)
        {
            await link.DisposeAsync();
        }
        _links.Clear();
    }
}
