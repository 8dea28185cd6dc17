using System.Collections.Concurrent;
using System.Globalization;
using NATS.Client.Core;
using NATS.Client.JetStream;
using NATS.Client.JetStream.Models;
using NATS.Net;
using Switchboard.Bench.Peers;

namespace Switchboard.Bench.Scenarios;

/// <summary>
/// NATS JetStream as a work queue, the way its documentation sets one up: a stream with work-queue retention and file
/// storage, one durable pull consumer shared by the workers, explicit acks, each publish awaited until JetStream
/// acknowledges it (stored). Workers fetch up to 50 at a time (as the hub's consumers and RabbitMQ's prefetch).
/// Request/reply: the request is a JetStream message carrying the requester's inbox in a header; the responder
/// publishes the reply there (core NATS) and acks the request; a round trip ends when the requester has the publish
/// acknowledgement and the reply. Every producer, consumer, requester and the responder has a connection of its own.
/// Note: JetStream writes to its store at once but syncs it to disk on an interval (2 min by default), not per message.
/// </summary>
internal sealed class NatsQueuePeer(string label, NatsServer server) : IQueuePeer, IAsyncDisposable
{
    private const int Batch = 50;
    private const string Consumer = "workers";
    private const string ReplyHeader = "bench-reply-to";
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);
    private readonly HashSet<string> _created = [];
    private NatsConnection? _admin;

    public string Name => label;

    private static string Stream(string queue) => "Q_" + queue.Replace('-', '_').ToUpperInvariant();

    private static string Subject(string queue) => "queue." + queue;

    public async Task<Throughput> EndToEndAsync(string queue, int producers, int consumers, TimeSpan length)
    {
        await CreateAsync(queue);
        var run = new EndToEndRun();
        var connections = new List<NatsConnection>();
        using var stop = new CancellationTokenSource();
        try
        {
            var consuming = new List<Task>();
            for (var c = 0; c < consumers; c++)
            {
                var js = (await ConnectAsync(connections, $"consumer {c}")).CreateJetStreamContext();
                var consumer = await js.GetConsumerAsync(Stream(queue), Consumer);
                consuming.Add(Task.Run(async () =>
                {
                    try
                    {
                        await foreach (var message in consumer.ConsumeAsync<byte[]>(opts: new NatsJSConsumeOpts { MaxMsgs = Batch }, cancellationToken: stop.Token))
                        {
                            var sequence = QueuePayload.Sequence(message.Data);
                            await message.AckAsync(cancellationToken: stop.Token);
                            run.Acked(sequence);
                        }
                    }
                    catch (OperationCanceledException) when (stop.IsCancellationRequested)
                    {
                    }
                    catch (Exception ex)
                    {
                        run.Fail(ex);
                    }
                }));
            }
            var contexts = new INatsJSContext[producers];
            for (var p = 0; p < producers; p++)
            {
                contexts[p] = (await ConnectAsync(connections, $"producer {p}")).CreateJetStreamContext();
            }
            await run.ProduceAsync(producers, length, async (worker, sequence) =>
            {
                var ack = await contexts[worker].PublishAsync(Subject(queue), QueuePayload.Utf8(sequence)).AsTask().WaitAsync(Timeout);
                ack.EnsureSuccess();
            });
            var result = await run.FinishAsync(Name, queue);
            await stop.CancelAsync();
            await Task.WhenAll(consuming);
            return result;
        }
        finally
        {
            await stop.CancelAsync();
            await CloseAsync(connections);
        }
    }

    public async Task<Throughput> RequestReplyAsync(string queue, int requesters, TimeSpan length)
    {
        await CreateAsync(queue);
        var connections = new List<NatsConnection>();
        var failure = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var stop = new CancellationTokenSource();
        long answered = 0;
        try
        {
            var responderConnection = await ConnectAsync(connections, "responder");
            var consumer = await responderConnection.CreateJetStreamContext().GetConsumerAsync(Stream(queue), Consumer);
            var responder = Task.Run(async () =>
            {
                try
                {
                    await foreach (var request in consumer.ConsumeAsync<byte[]>(opts: new NatsJSConsumeOpts { MaxMsgs = Batch }, cancellationToken: stop.Token))
                    {
                        var inbox = request.Headers?[ReplyHeader].ToString() ?? throw new InvalidOperationException("a request without its reply subject");
                        await responderConnection.PublishAsync(inbox, request.Data, cancellationToken: stop.Token);
                        await request.AckAsync(cancellationToken: stop.Token);
                        Interlocked.Increment(ref answered);
                    }
                }
                catch (OperationCanceledException) when (stop.IsCancellationRequested)
                {
                }
                catch (Exception ex)
                {
                    failure.TrySetException(ex);
                }
            });

            // Each requester: its own connection and inbox; replies matched to requests by the payload's sequence number.
            var pending = new ConcurrentDictionary<long, TaskCompletionSource>();
            var requesterContexts = new (INatsJSContext Js, string Inbox)[requesters];
            var replyLoops = new List<Task>();
            for (var r = 0; r < requesters; r++)
            {
                var connection = await ConnectAsync(connections, $"requester {r}");
                var inbox = connection.NewInbox();
                var replies = await connection.SubscribeCoreAsync<byte[]>(inbox, cancellationToken: stop.Token);
                await connection.PingAsync();
                requesterContexts[r] = (connection.CreateJetStreamContext(), inbox);
                replyLoops.Add(Task.Run(async () =>
                {
                    try
                    {
                        await foreach (var reply in replies.Msgs.ReadAllAsync(stop.Token))
                        {
                            var sequence = QueuePayload.Sequence(reply.Data);
                            if (!pending.TryRemove(sequence, out var waiting))
                            {
                                throw new InvalidOperationException($"a reply to request {sequence}, which nobody waits for");
                            }
                            waiting.TrySetResult();
                        }
                    }
                    catch (OperationCanceledException) when (stop.IsCancellationRequested)
                    {
                    }
                    catch (Exception ex)
                    {
                        failure.TrySetException(ex);
                    }
                }));
            }

            long sequence = 0;
            var requesting = Load.RunAsync(requesters, length, async worker =>
            {
                var number = Interlocked.Increment(ref sequence);
                var reply = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                pending[number] = reply;
                var (js, inbox) = requesterContexts[worker];
                var headers = new NatsHeaders { [ReplyHeader] = inbox };
                var ack = await js.PublishAsync(Subject(queue), QueuePayload.Utf8(number), headers: headers).AsTask().WaitAsync(Timeout);
                ack.EnsureSuccess();
                await reply.Task.WaitAsync(Timeout);
                return 1;
            });
            if (await Task.WhenAny(requesting, failure.Task) == failure.Task)
            {
                await failure.Task;
            }
            var result = await requesting;
            // A reply can arrive before the responder's ack is sent: wait for those acks (bounded).
            for (var i = 0; i < 600 && Interlocked.Read(ref answered) < result.Operations; i++)
            {
                await Task.Delay(50);
            }
            if (Interlocked.Read(ref answered) != result.Operations)
            {
                throw new InvalidOperationException($"{Name}, queue '{queue}': {result.Operations:N0} requests got their replies but the responder acked {Interlocked.Read(ref answered):N0}");
            }
            await stop.CancelAsync();
            await Task.WhenAll(replyLoops.Append(responder));
            return result;
        }
        finally
        {
            await stop.CancelAsync();
            await CloseAsync(connections);
        }
    }

    public async Task CheckEmptyAsync(string queue)
    {
        await CreateAsync(queue);
        var js = _admin!.CreateJetStreamContext();
        // The connections were flushed by a ping before they closed; still, give the server a moment (bounded).
        for (var i = 0; ; i++)
        {
            var stream = await js.GetStreamAsync(Stream(queue));
            var consumer = await js.GetConsumerAsync(Stream(queue), Consumer);
            var (messages, ackPending, waiting) = (stream.Info.State.Messages, consumer.Info.NumAckPending, consumer.Info.NumPending);
            if (messages == 0 && ackPending == 0 && waiting == 0)
            {
                return;
            }
            if (i == 200)
            {
                throw new InvalidOperationException(string.Create(CultureInfo.InvariantCulture,
                    $"{Name}: stream {Stream(queue)} should be empty after the run, but holds {messages} messages ({ackPending} unacked, {waiting} not delivered)"));
            }
            await Task.Delay(50);
        }
    }

    /// <summary>The stream (work-queue retention, file storage) and its durable pull consumer, once per queue.</summary>
    private async Task CreateAsync(string queue)
    {
        if (!_created.Add(queue))
        {
            return;
        }
        if (_admin is null)
        {
            _admin = server.Connect("bench admin");
            await _admin.ConnectAsync();
        }
        var js = _admin.CreateJetStreamContext();
        await js.CreateStreamAsync(new StreamConfig(Stream(queue), [Subject(queue)])
        {
            Retention = StreamConfigRetention.Workqueue,
            Storage = StreamConfigStorage.File,
        });
        await js.CreateOrUpdateConsumerAsync(Stream(queue), new ConsumerConfig(Consumer)
        {
            AckPolicy = ConsumerConfigAckPolicy.Explicit,
            AckWait = TimeSpan.FromSeconds(60),
            MaxAckPending = 10_000,
        });
    }

    private async Task<NatsConnection> ConnectAsync(List<NatsConnection> connections, string role)
    {
        var connection = server.Connect($"bench {role}");
        connections.Add(connection);
        await connection.ConnectAsync();
        return connection;
    }

    /// <summary>
    /// An ack is only written to the connection's buffer when <c>AckAsync</c> returns; disposing the connection may
    /// drop what is still buffered. A ping is answered after everything sent before it, so it flushes them.
    /// </summary>
    private static async Task CloseAsync(List<NatsConnection> connections)
    {
        foreach (var connection in connections)
        {
            if (connection.ConnectionState == NatsConnectionState.Open)
            {
                await connection.PingAsync().AsTask().WaitAsync(Timeout);
            }
            await connection.DisposeAsync();
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_admin is not null)
        {
            await _admin.DisposeAsync();
        }
    }
}
