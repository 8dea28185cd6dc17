using Google.Protobuf;
using Grpc.Core;
using Grpc.Net.Client;
using Switchboard.Bench.Peers;
using Switchboard.Protocol.V1;
using GrpcClient = Switchboard.Protocol.V1.Switchboard.SwitchboardClient;

namespace Switchboard.Bench.Scenarios;

/// <summary>
/// The hub over gRPC's bidirectional <c>Connect</c> call (protobuf <c>ClientFrame</c> / <c>ServerFrame</c>, the frames of
/// the WebSocket's <c>switchboard.v1.proto</c> subprotocol), held once per process as a service that cares for speed
/// would: a requester holds its own call on its own channel, sends <c>request</c> and reads until the <c>reply</c> with
/// its id; the responder holds one call with a <c>receive</c> (up to 50 leased) and answers each <c>queueMessage</c> with
/// a <c>reply</c> carrying the request's lease (acked in the same step), without waiting for the <c>responded</c> frames.
/// A call has one writer: each requester sends one request at a time, the responder writes from its read loop.
/// </summary>
internal sealed class ConnectRoundTrip : IRoundTrip
{
    /// <summary>How long a request may wait for its reply at the hub: far above any round trip, so a lost one fails the run.</summary>
    private const int RequestTimeoutSeconds = 30;

    /// <summary>How many requests the responder holds leased at once: as many as the other contenders' responders.</summary>
    private const int ReceiveMax = 50;

    /// <summary>The lease on a request: longer than any run, so a request is never redelivered while it is being answered.</summary>
    private const int LeaseSeconds = 60;

    private readonly GrpcChannel[] _channels;
    private readonly AsyncDuplexStreamingCall<ClientFrame, ServerFrame>[] _requesters;
    private readonly GrpcChannel _responderChannel;
    private readonly AsyncDuplexStreamingCall<ClientFrame, ServerFrame> _responder;
    private readonly string _queue;
    private readonly CancellationTokenSource _stop;

    // Held by the responder loop around each of its writes, and by DisposeAsync to complete the call's request stream:
    // completing while a write is in flight is refused by grpc-dotnet, and the loop may be mid-reply when a run fails.
    private readonly SemaphoreSlim _responderWriting = new(1, 1);
    private Task _responding = Task.CompletedTask;
    private Exception? _respondFailed;

    private ConnectRoundTrip(GrpcChannel[] channels, GrpcChannel responderChannel, string queue, CancellationTokenSource stop)
    {
        (_channels, _responderChannel, _queue, _stop) = (channels, responderChannel, queue, stop);
        _requesters = [.. channels.Select(channel => new GrpcClient(channel).Connect(cancellationToken: stop.Token))];
        _responder = new GrpcClient(responderChannel).Connect(cancellationToken: stop.Token);
    }

    public static async Task<ConnectRoundTrip> StartAsync(Uri hub, HttpClient http, string queue, int requesters)
    {
        await new HubQueuePeer("hub", http).CreateAsync(queue);
        var trip = new ConnectRoundTrip([.. Enumerable.Range(0, requesters).Select(_ => GrpcChannel.ForAddress(hub))], GrpcChannel.ForAddress(hub), queue, new CancellationTokenSource());
        try
        {
            await trip._responder.RequestStream.WriteAsync(new ClientFrame { Id = "c", Receive = new ReceiveRequest { Queue = queue, Max = ReceiveMax, LeaseSeconds = LeaseSeconds } });
        }
        catch
        {
            await trip.DisposeAsync(); // its calls and channels, which nobody else would close
            throw;
        }
        trip._responding = Task.Run(trip.RespondAsync);
        return trip;
    }

    public async Task CallAsync(int requester, long sequence)
    {
        if (_respondFailed is { } failed)
        {
            throw new InvalidOperationException("the gRPC Connect responder failed: " + failed.Message, failed);
        }
        var call = _requesters[requester];
        var id = "r" + sequence;
        await call.RequestStream.WriteAsync(new ClientFrame
        {
            Id = id,
            Request = new RequestRequest { Queue = _queue, Payload = ByteString.CopyFrom(QueuePayload.Utf8(sequence)), TimeoutSeconds = RequestTimeoutSeconds },
        });
        while (await call.ResponseStream.MoveNext(CancellationToken.None))
        {
            var frame = call.ResponseStream.Current;
            // An error with no id is about the whole call; the requester has nothing else in flight to be answered.
            if (frame.KindCase == ServerFrame.KindOneofCase.Error && (frame.Id == id || frame.Id.Length == 0))
            {
                throw new InvalidOperationException($"request {sequence} over gRPC Connect: {frame.Error.Code}: {frame.Error.Message}");
            }
            if (frame.KindCase == ServerFrame.KindOneofCase.Reply && frame.Id == id)
            {
                if (QueuePayload.Sequence(frame.Reply.Payload.Span) != sequence)
                {
                    throw new InvalidOperationException($"request {sequence} over gRPC Connect got the reply to {QueuePayload.Sequence(frame.Reply.Payload.Span)}");
                }
                return;
            }
        }
        throw new InvalidOperationException($"the hub ended the gRPC Connect call before answering request {sequence}");
    }

    private async Task RespondAsync()
    {
        long replies = 0;
        try
        {
            while (await _responder.ResponseStream.MoveNext(_stop.Token))
            {
                var frame = _responder.ResponseStream.Current;
                if (frame.KindCase == ServerFrame.KindOneofCase.Error)
                {
                    throw new InvalidOperationException($"the gRPC Connect responder got an error for '{frame.Id}': {frame.Error.Code}: {frame.Error.Message}");
                }
                if (frame.KindCase == ServerFrame.KindOneofCase.QueueMessage)
                {
                    var message = frame.QueueMessage;
                    var reply = new ClientFrame { Id = "p" + ++replies, Reply = new ReplyRequest { RequestId = message.ReplyTo, Lease = message.Lease, Payload = message.Payload } };
                    await _responderWriting.WaitAsync(_stop.Token);
                    try
                    {
                        await _responder.RequestStream.WriteAsync(reply, _stop.Token);
                    }
                    finally
                    {
                        _responderWriting.Release();
                    }
                }
            }
            if (!_stop.IsCancellationRequested)
            {
                _respondFailed ??= new InvalidOperationException("the hub ended the responder's Connect call");
            }
        }
        catch (Exception ex) when ((ex is RpcException or OperationCanceledException) && _stop.IsCancellationRequested)
        {
        }
        catch (Exception ex) when (ex is InvalidOperationException or RpcException or IOException or HttpRequestException)
        {
            _respondFailed ??= ex; // surfaced by the next call, not swallowed
        }
    }

    public async ValueTask DisposeAsync()
    {
        // Every requester is done (one call at a time, and the run is over): nothing writes on their calls now.
        foreach (var call in _requesters)
        {
            await CompleteAsync(call);
        }
        if (await _responderWriting.WaitAsync(TimeSpan.FromSeconds(10)))
        {
            await CompleteAsync(_responder);
            _responderWriting.Release();
        }
        await _stop.CancelAsync();
        var stopped = true;
        try
        {
            await _responding.WaitAsync(TimeSpan.FromSeconds(30));
        }
        catch (TimeoutException)
        {
            stopped = false;
            await Console.Error.WriteLineAsync("bench: reqreply, the gRPC Connect responder did not stop within 30 s");
        }
        foreach (var call in _requesters.Append(_responder))
        {
            call.Dispose();
        }
        foreach (var channel in _channels.Append(_responderChannel))
        {
            channel.Dispose();
        }
        if (stopped)
        {
            _responderWriting.Dispose(); // a responder loop still running may yet take it
            _stop.Dispose();
        }
    }

    /// <summary>Half-closes a call (the hub answers what it still owes, then ends it); a call that already broke has nothing to close.</summary>
    private static async Task CompleteAsync(AsyncDuplexStreamingCall<ClientFrame, ServerFrame> call)
    {
        try
        {
            await call.RequestStream.CompleteAsync();
        }
        catch (Exception ex) when (ex is RpcException or InvalidOperationException or OperationCanceledException or IOException)
        {
        }
    }
}
