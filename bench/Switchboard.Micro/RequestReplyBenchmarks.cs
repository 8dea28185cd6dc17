using BenchmarkDotNet.Attributes;
using Switchboard.Core;

namespace Switchboard.Micro;

/// <summary>
/// One request/reply round trip through the Core alone (in-memory engine, no protocol): a requester waiting on its
/// reply, and a responder consuming as the multiplexed session does — a receive parked with up to 50 credits, each
/// message's settlement awaited for its credit, the reply acking the request with its lease. What the hub's own work
/// costs per round trip, beneath the sockets and frames that <c>bench reqreply</c> measures with them.
/// </summary>
[MemoryDiagnoser]
public class RequestReplyBenchmarks
{
    private const string Queue = "rpc";
    private Hub _hub = null!;
    private CancellationTokenSource _stop = null!;
    private Task _responder = Task.CompletedTask;
    private QueueDraft _request = null!;
    private MessageDraft _reply = null!;

    [GlobalSetup]
    public async Task SetupAsync()
    {
        _hub = await Messages.StartHubAsync();
        await _hub.PutQueueAsync(Queue, QueueConfig.Default);
        _stop = new CancellationTokenSource();
        _request = new QueueDraft { Message = Messages.Draft(64)[0] };
        _reply = Messages.Draft(64)[0];
        _responder = Task.Run(() => RespondAsync(_stop.Token));
    }

    [GlobalCleanup]
    public async Task CleanupAsync()
    {
        await _stop.CancelAsync();
        try
        {
            await _responder;
        }
        catch (OperationCanceledException)
        {
        }
        await _hub.DisposeAsync();
        _stop.Dispose();
    }

    [Benchmark]
    public async Task<ReplyRecord> RoundTrip()
        => await _hub.RequestAndAwaitAsync(Queue, _request, TimeSpan.FromSeconds(30), null, null, 0, CancellationToken.None);

    // The session's consumer (FrameSession.ConsumeAsync) and a responder that replies to each message at once.
    private async Task RespondAsync(CancellationToken stop)
    {
        var outstanding = new List<Task>();
        while (!stop.IsCancellationRequested)
        {
            outstanding.RemoveAll(t => t.IsCompleted);
            if (outstanding.Count >= 50)
            {
                await Task.WhenAny(outstanding).WaitAsync(stop);
                continue;
            }
            foreach (var message in await _hub.ReceiveAsync(Queue, 50 - outstanding.Count, TimeSpan.FromSeconds(60), _hub.Options.MaxWait, stop))
            {
                outstanding.Add(_hub.WhenSettledAsync(message, stop));
                // In memory a reply completes at once; a failed one ends the responder (and the run) instead of leaving
                // its requester to wait out its 30 s.
                await _hub.ReplyAsync(message.ReplyTo!, _reply, message.Lease, CancellationToken.None);
            }
        }
    }
}
