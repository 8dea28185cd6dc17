using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using Google.Protobuf;
using Grpc.Core;
using Grpc.Net.Client;
using NATS.Client.Core;
using Switchboard.Bench.Peers;
using Switchboard.Protocol.V1;
using GrpcClient = Switchboard.Protocol.V1.Switchboard.SwitchboardClient;

namespace Switchboard.Bench.Scenarios;

/// <summary>
/// Request/reply over one transport: requesters (one connection each, one request at a time) and, where the system
/// has one, a responder running meanwhile. <see cref="CallAsync"/> sends one request and waits for its reply, which must
/// echo the request's payload (its sequence number).
/// </summary>
internal interface IRoundTrip : IAsyncDisposable
{
    Task CallAsync(int requester, long sequence);
}

/// <summary>The hub over REST: POST …/requests (held until the reply); the responder long-polls receive and replies with the request's lease (one commit).</summary>
internal sealed class RestRoundTrip : IRoundTrip
{
    private readonly HubQueuePeer _peer;
    private readonly string _queue;
    private readonly CancellationTokenSource _stop = new();
    private Task _responder = Task.CompletedTask;

    private RestRoundTrip(HubQueuePeer peer, string queue) => (_peer, _queue) = (peer, queue);

    public static async Task<RestRoundTrip> StartAsync(HttpClient http, string queue)
    {
        var trip = new RestRoundTrip(new HubQueuePeer("hub", http), queue);
        await trip._peer.CreateAsync(queue);
        trip._responder = Task.Run(() => trip._peer.RespondAsync(queue, () => { }, trip._stop.Token));
        return trip;
    }

    public Task CallAsync(int requester, long sequence)
        => _responder.IsFaulted ? _responder : _peer.RequestAsync(_queue, sequence);

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        await _responder.WaitAsync(TimeSpan.FromSeconds(70));
        _stop.Dispose();
    }
}

/// <summary>
/// The hub over its multiplexed WebSocket (JSON frames): a requester sends <c>request</c> and reads until the <c>reply</c>
/// with its id; the responder holds a <c>receive</c> (up to 50 leased) and answers each <c>queueMessage</c> with a
/// <c>reply</c> carrying the request's lease (acked in the same step), without waiting for the <c>responded</c> frames.
/// </summary>
internal sealed class WebSocketRoundTrip : IRoundTrip
{
    private readonly ClientWebSocket[] _requesters;
    private readonly byte[][] _buffers; // a requester's, reused by each of its calls
    private readonly ClientWebSocket _responder;
    private readonly string _queue;
    private Task _responding = Task.CompletedTask;

    private WebSocketRoundTrip(ClientWebSocket[] requesters, ClientWebSocket responder, string queue)
        => (_requesters, _buffers, _responder, _queue) = (requesters, [.. requesters.Select(_ => new byte[16 * 1024])], responder, queue);

    public static async Task<WebSocketRoundTrip> StartAsync(Uri hub, HttpClient http, string queue, int requesters)
    {
        await new HubQueuePeer("hub", http).CreateAsync(queue);
        var sockets = new ClientWebSocket[requesters];
        for (var i = 0; i < requesters; i++)
        {
            sockets[i] = await HubSocket.ConnectAsync(hub);
        }
        var trip = new WebSocketRoundTrip(sockets, await HubSocket.ConnectAsync(hub), queue);
        await HubSocket.SendAsync(trip._responder, "{\"id\":\"c\",\"receive\":{\"queue\":\"" + queue + "\",\"max\":50,\"leaseSeconds\":60}}");
        trip._responding = Task.Run(trip.RespondAsync);
        return trip;
    }

    public async Task CallAsync(int requester, long sequence)
    {
        var id = "r" + sequence;
        using var answer = await HubSocket.AskAsync(_requesters[requester], _buffers[requester], id,
            "{\"id\":\"" + id + "\",\"request\":{\"queue\":\"" + _queue + "\",\"payload\":" + QueuePayload.Json(sequence) + ",\"timeoutSeconds\":30}}", "reply", $"request {sequence}");
        var reply = answer.RootElement.GetProperty("reply");
        if (QueuePayload.TrySequence(reply.GetProperty("payload")) != sequence)
        {
            throw new InvalidOperationException($"request {sequence} over WebSocket got {reply.GetRawText()}");
        }
    }

    private async Task RespondAsync()
    {
        var buffer = new byte[64 * 1024];
        long replies = 0;
        while (await HubSocket.ReadAsync(_responder, buffer) is { } frame)
        {
            using (frame)
            {
                var root = frame.RootElement;
                if (root.TryGetProperty("error", out var error))
                {
                    throw new InvalidOperationException("the WebSocket responder got an error: " + error.GetRawText());
                }
                if (root.TryGetProperty("queueMessage", out var message))
                {
                    var reply = "{\"id\":\"p" + ++replies + "\",\"reply\":{\"requestId\":" + JsonSerializer.Serialize(message.GetProperty("replyTo").GetString())
                        + ",\"lease\":" + JsonSerializer.Serialize(message.GetProperty("lease").GetString()) + ",\"payload\":" + message.GetProperty("payload").GetRawText() + "}}";
                    await HubSocket.SendAsync(_responder, reply);
                }
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        await HubSocket.CloseAllAsync(_requesters.Append(_responder));
        try
        {
            await _responding.WaitAsync(TimeSpan.FromSeconds(10));
        }
        catch (Exception ex) when (ex is WebSocketException or TimeoutException)
        {
        }
        HubSocket.DisposeAll(_requesters.Append(_responder));
    }
}

/// <summary>
/// The hub over gRPC: a requester calls unary <c>Request</c> on its own channel; the responder holds a <c>Receive</c>
/// stream (50 leased at once) and answers each request with <c>Respond</c> carrying its lease, up to 50 in flight.
/// </summary>
internal sealed class GrpcRoundTrip : IRoundTrip
{
    private readonly GrpcChannel[] _channels;
    private readonly GrpcChannel _responder;
    private readonly string _queue;
    private readonly CancellationTokenSource _stop = new();
    private Task _responding = Task.CompletedTask;
    private Exception? _respondFailed;

    private GrpcRoundTrip(GrpcChannel[] channels, GrpcChannel responder, string queue) => (_channels, _responder, _queue) = (channels, responder, queue);

    /// <summary><paramref name="withResponder"/> false: a server that answers Request itself (the bare grpc-dotnet echo).</summary>
    public static async Task<GrpcRoundTrip> StartAsync(Uri server, HttpClient? http, string queue, int requesters, bool withResponder)
    {
        if (http is not null)
        {
            await new HubQueuePeer("hub", http).CreateAsync(queue);
        }
        var trip = new GrpcRoundTrip([.. Enumerable.Range(0, requesters).Select(_ => GrpcChannel.ForAddress(server))], GrpcChannel.ForAddress(server), queue);
        if (withResponder)
        {
            trip._responding = Task.Run(trip.RespondAsync);
        }
        return trip;
    }

    public async Task CallAsync(int requester, long sequence)
    {
        if (_respondFailed is { } failed)
        {
            throw new InvalidOperationException("the gRPC responder's Respond failed: " + failed.Message, failed);
        }
        var reply = await new GrpcClient(_channels[requester]).RequestAsync(new RequestRequest { Queue = _queue, Payload = ByteString.CopyFrom(QueuePayload.Utf8(sequence)), TimeoutSeconds = 30 });
        if (QueuePayload.Sequence(reply.Payload.Span) != sequence)
        {
            throw new InvalidOperationException($"request {sequence} over gRPC got the reply to {QueuePayload.Sequence(reply.Payload.Span)}");
        }
    }

    private async Task RespondAsync()
    {
        var client = new GrpcClient(_responder);
        using var window = new SemaphoreSlim(50);
        using var call = client.Receive(new ReceiveRequest { Queue = _queue, Max = 50, LeaseSeconds = 60 }, cancellationToken: _stop.Token);
        try
        {
            while (await call.ResponseStream.MoveNext(_stop.Token))
            {
                var message = call.ResponseStream.Current;
                await window.WaitAsync(_stop.Token);
                _ = client.RespondAsync(new ReplyRequest { RequestId = message.ReplyTo, Lease = message.Lease, Payload = message.Payload }).ResponseAsync
                    .ContinueWith(t =>
                    {
                        _respondFailed ??= t.Exception?.InnerException; // surfaced by the next call, not swallowed
                        window.Release();
                    }, TaskScheduler.Default);
            }
        }
        catch (Exception ex) when ((ex is RpcException or OperationCanceledException) && _stop.IsCancellationRequested)
        {
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        await _responding.WaitAsync(TimeSpan.FromSeconds(30));
        foreach (var channel in _channels.Append(_responder))
        {
            channel.Dispose();
        }
        _stop.Dispose();
    }
}

/// <summary>NATS core request/reply (in memory, at most once): requests to a subject served by a queue-group responder that echoes.</summary>
internal sealed class NatsRoundTrip : IRoundTrip
{
    private readonly NatsConnection[] _requesters;
    private readonly NatsConnection _responder;
    private readonly string _subject;
    private Task _responding = Task.CompletedTask;
    private INatsSub<byte[]>? _subscription;

    private NatsRoundTrip(NatsConnection[] requesters, NatsConnection responder, string subject) => (_requesters, _responder, _subject) = (requesters, responder, subject);

    public static async Task<NatsRoundTrip> StartAsync(NatsServer server, string subject, int requesters)
    {
        var trip = new NatsRoundTrip([.. Enumerable.Range(0, requesters).Select(i => server.Connect($"requester {i}"))], server.Connect("responder"), subject);
        foreach (var connection in trip._requesters.Append(trip._responder))
        {
            await connection.ConnectAsync();
        }
        trip._subscription = await trip._responder.SubscribeCoreAsync<byte[]>(subject, queueGroup: "workers");
        await trip._responder.PingAsync();
        var messages = trip._subscription.Msgs;
        trip._responding = Task.Run(async () =>
        {
            await foreach (var request in messages.ReadAllAsync())
            {
                await request.ReplyAsync(request.Data);
            }
        });
        return trip;
    }

    public async Task CallAsync(int requester, long sequence)
    {
        var reply = await _requesters[requester].RequestAsync<byte[], byte[]>(_subject, QueuePayload.Utf8(sequence));
        if (QueuePayload.Sequence(reply.Data) != sequence)
        {
            throw new InvalidOperationException($"request {sequence} over NATS got the reply to {QueuePayload.Sequence(reply.Data)}");
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_subscription is not null)
        {
            await _subscription.DisposeAsync();
        }
        foreach (var connection in _requesters.Append(_responder))
        {
            await connection.DisposeAsync();
        }
        await _responding.WaitAsync(TimeSpan.FromSeconds(10));
    }
}

/// <summary>The bare ASP.NET Core endpoint that echoes a request's body: the ceiling of an HTTP round trip.</summary>
internal sealed class EchoRoundTrip(HttpClient http) : IRoundTrip
{
    public async Task CallAsync(int requester, long sequence)
    {
        using var response = await http.PostAsync("/v1/queues/echo/requests", Load.Json(QueuePayload.Json(sequence)));
        var body = await response.Content.ReadAsByteArrayAsync();
        if (!response.IsSuccessStatusCode || QueuePayload.Sequence(body) != sequence)
        {
            throw new InvalidOperationException($"the echo answered {(int)response.StatusCode} {Encoding.UTF8.GetString(body)}");
        }
    }

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;
}
