using System.Collections.Concurrent;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using System.Threading.Channels;

namespace Switchboard.Bench.Scenarios;

/// <summary>
/// The hub's durable queues over its multiplexed WebSocket (JSON frames), the way a service that holds a connection
/// uses them — as AMQP clients hold theirs. Each producer, consumer, requester and the responder has a socket of its
/// own, opened before the clock starts. A producer sends one <c>send</c> frame at a time and waits for its <c>sent</c>
/// answer (given once the message is durable), as RabbitMQ's producer waits for each publisher confirm. A consumer
/// holds a <c>receive</c> with a window of 50 (RabbitMQ's prefetch) and acks what has arrived without waiting for
/// earlier acks to be answered: one <c>ack</c> frame, or one <c>ackBatch</c> for all that came while the last was being
/// written. A message counts once the hub has answered its ack, i.e. once the ack is durable (AMQP acks are not
/// answered). Request/reply: <see cref="WebSocketRoundTrip"/>, one responder on its own socket.
/// </summary>
internal sealed class HubWebSocketQueuePeer(string label, Uri hub, HttpClient http) : IQueuePeer
{
    private const int Window = 50;
    private readonly HubQueuePeer _rest = new(label, http);

    public string Name => label;

    public async Task<Throughput> EndToEndAsync(string queue, int producers, int consumers, TimeSpan length)
    {
        await _rest.CreateAsync(queue);
        var run = new EndToEndRun();
        var sockets = new List<ClientWebSocket>();
        var consuming = new List<Task>();
        try
        {
            for (var c = 0; c < consumers; c++)
            {
                var socket = await HubSocket.ConnectAsync(hub);
                sockets.Add(socket);
                await HubSocket.SendAsync(socket, "{\"id\":\"c\",\"receive\":{\"queue\":\"" + queue + "\",\"max\":" + Window + ",\"leaseSeconds\":60}}");
                consuming.Add(Task.Run(() => ConsumeAsync(socket, queue, run)));
            }
            var senders = new ClientWebSocket[producers];
            for (var p = 0; p < producers; p++)
            {
                sockets.Add(senders[p] = await HubSocket.ConnectAsync(hub));
            }
            var buffers = Enumerable.Range(0, producers).Select(_ => new byte[16 * 1024]).ToArray();
            await run.ProduceAsync(producers, length, (worker, sequence) => SendAsync(senders[worker], buffers[worker], queue, sequence));
            return await run.FinishAsync(Name, queue);
        }
        finally
        {
            // Every message is acked by now (or the run failed): closing ends each consumer's read loop.
            await HubSocket.CloseAllAsync(sockets);
            await Task.WhenAll(consuming).WaitAsync(TimeSpan.FromSeconds(10)).ContinueWith(_ => { }, TaskScheduler.Default);
            HubSocket.DisposeAll(sockets);
        }
    }

    /// <summary>One confirmed send: the <c>send</c> frame, then frames until its <c>sent</c> answer.</summary>
    private static async Task SendAsync(ClientWebSocket socket, byte[] buffer, string queue, long sequence)
    {
        var id = "s" + sequence;
        using var answer = await HubSocket.AskAsync(socket, buffer, id, "{\"id\":\"" + id + "\",\"send\":{\"queue\":\"" + queue + "\",\"payload\":" + QueuePayload.Json(sequence) + "}}", "sent", $"send {sequence}");
        if (!answer.RootElement.GetProperty("sent").TryGetProperty("id", out var stored) || stored.GetInt64() < 1)
        {
            throw new InvalidOperationException($"send {sequence} over WebSocket was answered {answer.RootElement.GetRawText()} (expected a sent frame with the message's id)");
        }
    }

    /// <summary>
    /// Reads the consumer's socket: each <c>queueMessage</c> goes to the acker; each answered ack counts its message.
    /// Ends when the socket closes (the run is over); any error frame or refused ack fails the run.
    /// </summary>
    private static async Task ConsumeAsync(ClientWebSocket socket, string queue, EndToEndRun run)
    {
        var received = new ConcurrentDictionary<long, long>(); // message id → sequence, until its ack is answered
        var toAck = Channel.CreateUnbounded<(long Id, string Lease)>(new UnboundedChannelOptions { SingleReader = true, SingleWriter = true });
        var acking = Task.Run(() => AckAsync(socket, queue, toAck.Reader, run));
        var buffer = new byte[64 * 1024];
        try
        {
            while (await HubSocket.ReadAsync(socket, buffer) is { } frame)
            {
                using (frame)
                {
                    var root = frame.RootElement;
                    if (root.TryGetProperty("queueMessage", out var message))
                    {
                        var id = message.GetProperty("id").GetInt64();
                        received[id] = QueuePayload.TrySequence(message.GetProperty("payload"))
                            ?? throw new InvalidOperationException($"a message received from '{queue}' that is not one of the bench's: {message.GetRawText()}");
                        toAck.Writer.TryWrite((id, message.GetProperty("lease").GetString()!));
                    }
                    else if (root.TryGetProperty("ackedBatch", out var batch))
                    {
                        if (batch.GetProperty("failed").GetArrayLength() != 0)
                        {
                            throw new InvalidOperationException($"acks refused on '{queue}': {batch.GetRawText()}");
                        }
                        foreach (var acked in batch.GetProperty("acked").EnumerateArray())
                        {
                            run.Acked(received.TryRemove(acked.GetInt64(), out var sequence) ? sequence : throw new InvalidOperationException($"an ack answered for message {acked} that was not received"));
                        }
                    }
                    else if (root.TryGetProperty("lease", out var lease))
                    {
                        var acked = lease.GetProperty("id").GetInt64();
                        run.Acked(received.TryRemove(acked, out var sequence) ? sequence : throw new InvalidOperationException($"an ack answered for message {acked} that was not received"));
                    }
                    else if (root.TryGetProperty("error", out var error))
                    {
                        throw new InvalidOperationException($"the consumer of '{queue}' got an error frame: {error.GetRawText()}");
                    }
                }
            }
        }
        catch (Exception ex) when (ex is not WebSocketException)
        {
            run.Fail(ex);
        }
        catch (WebSocketException)
        {
            // closed under the read at the end of the run
        }
        finally
        {
            toAck.Writer.TryComplete();
            await acking;
        }
    }

    /// <summary>Acks what the reader handed over: all that is waiting in one frame (up to 1,000), without waiting for answers.</summary>
    private static async Task AckAsync(ClientWebSocket socket, string queue, ChannelReader<(long Id, string Lease)> reader, EndToEndRun run)
    {
        var batch = new List<(long Id, string Lease)>();
        long frames = 0;
        try
        {
            while (await reader.WaitToReadAsync())
            {
                batch.Clear();
                while (batch.Count < 1000 && reader.TryRead(out var item))
                {
                    batch.Add(item);
                }
                var id = "a" + ++frames;
                var frame = batch.Count == 1
                    ? "{\"id\":\"" + id + "\",\"ack\":{\"queue\":\"" + queue + "\",\"id\":" + batch[0].Id + ",\"lease\":" + JsonSerializer.Serialize(batch[0].Lease) + "}}"
                    : "{\"id\":\"" + id + "\",\"ackBatch\":{\"queue\":\"" + queue + "\",\"messages\":["
                        + string.Join(",", batch.Select(m => "{\"id\":" + m.Id + ",\"lease\":" + JsonSerializer.Serialize(m.Lease) + "}")) + "]}}";
                await HubSocket.SendAsync(socket, frame);
            }
        }
        catch (Exception ex) when (ex is WebSocketException && socket.State != WebSocketState.Open)
        {
            // the socket closed at the end of the run
        }
        catch (Exception ex)
        {
            run.Fail(ex);
        }
    }

    public async Task<Throughput> RequestReplyAsync(string queue, int requesters, TimeSpan length)
    {
        await using var trip = await WebSocketRoundTrip.StartAsync(hub, http, queue, requesters);
        long sequence = 0;
        return await Load.RunAsync(requesters, length, async worker =>
        {
            await trip.CallAsync(worker, Interlocked.Increment(ref sequence));
            return 1;
        });
    }

    public Task CheckEmptyAsync(string queue) => _rest.CheckEmptyAsync(queue);
}

/// <summary>The hub's multiplexed WebSocket from a bench client: connect, send a text frame, read one whole frame as JSON.</summary>
internal static class HubSocket
{
    public static async Task<ClientWebSocket> ConnectAsync(Uri hub)
    {
        var socket = new ClientWebSocket();
        socket.Options.AddSubProtocol("switchboard.v1.json");
        await socket.ConnectAsync(new Uri(new UriBuilder(hub) { Scheme = "ws" }.Uri, "/v1/ws"), CancellationToken.None);
        return socket;
    }

    public static Task SendAsync(ClientWebSocket socket, string frame)
        => socket.SendAsync(Encoding.UTF8.GetBytes(frame), WebSocketMessageType.Text, true, CancellationToken.None);

    /// <summary>One whole frame (null once the socket closed).</summary>
    public static async Task<JsonDocument?> ReadAsync(ClientWebSocket socket, byte[] buffer)
    {
        var count = 0;
        while (true)
        {
            var result = await socket.ReceiveAsync(buffer.AsMemory(count), CancellationToken.None);
            if (result.MessageType == WebSocketMessageType.Close)
            {
                return null;
            }
            count += result.Count;
            if (result.EndOfMessage)
            {
                return JsonDocument.Parse(buffer.AsMemory(0, count));
            }
            if (count == buffer.Length)
            {
                throw new InvalidOperationException($"a frame larger than {buffer.Length} bytes");
            }
        }
    }

    /// <summary>
    /// Sends <paramref name="frame"/> (whose id is <paramref name="id"/>) and reads until the frame with that id and an
    /// <paramref name="answer"/> field, which the caller disposes; an error frame, or the socket closing first, throws
    /// naming <paramref name="what"/>.
    /// </summary>
    public static async Task<JsonDocument> AskAsync(ClientWebSocket socket, byte[] buffer, string id, string frame, string answer, string what)
    {
        await SendAsync(socket, frame);
        while (await ReadAsync(socket, buffer) is { } read)
        {
            var root = read.RootElement;
            if (root.TryGetProperty("error", out var error))
            {
                read.Dispose();
                throw new InvalidOperationException($"{what} over WebSocket: {error.GetRawText()}");
            }
            if (root.TryGetProperty("id", out var answered) && answered.GetString() == id && root.TryGetProperty(answer, out _))
            {
                return read;
            }
            read.Dispose();
        }
        throw new InvalidOperationException($"the hub closed the WebSocket before answering {what}");
    }

    /// <summary>Closes each socket (bounded: 5 s each).</summary>
    public static async Task CloseAllAsync(IEnumerable<ClientWebSocket> sockets)
    {
        foreach (var socket in sockets)
        {
            try
            {
                using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
                await socket.CloseAsync(WebSocketCloseStatus.NormalClosure, "done", timeout.Token);
            }
            catch (Exception ex) when (ex is WebSocketException or OperationCanceledException)
            {
            }
        }
    }

    public static void DisposeAll(IEnumerable<ClientWebSocket> sockets)
    {
        foreach (var socket in sockets)
        {
            socket.Dispose();
        }
    }
}
