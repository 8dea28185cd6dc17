using System.Collections.Concurrent;
using StackExchange.Redis;
using Switchboard.Bench.Peers;

namespace Switchboard.Bench.Scenarios;

/// <summary>
/// Redis Streams as a work queue, the way it is documented: XADD to a stream (answered after the AOF is fsync'd, with
/// appendfsync always, as durable as the hub's SQLite), one consumer group, workers reading with XREADGROUP … COUNT 50
/// BLOCK and acknowledging each entry with XACK (awaited). Request/reply: the request is a stream entry naming the
/// requester's pub/sub channel; the responder PUBLISHes the reply there and XACKs the request. StackExchange.Redis has
/// no blocking read (it multiplexes one connection), so each worker has a multiplexer of its own and sends
/// XREADGROUP … BLOCK itself; every producer, consumer and requester has its own.
/// </summary>
internal sealed class RedisStreamQueuePeer(string label, string configuration) : IQueuePeer, IAsyncDisposable
{
    private const int Batch = 50;
    private const int BlockMilliseconds = 250; // short: a worker notices the end of a run within a quarter second
    private const string Group = "workers";
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);
    private readonly HashSet<string> _created = [];
    private ConnectionMultiplexer? _admin;

    public string Name => label;

    private static RedisKey Key(string queue) => "bench:queue:" + queue;

    public async Task<Throughput> EndToEndAsync(string queue, int producers, int consumers, TimeSpan length)
    {
        await CreateAsync(queue);
        var run = new EndToEndRun();
        var connections = new List<ConnectionMultiplexer>();
        using var stop = new CancellationTokenSource();
        try
        {
            var consuming = new List<Task>();
            for (var c = 0; c < consumers; c++)
            {
                var db = (await ConnectAsync(connections, $"consumer {c}")).GetDatabase();
                var name = $"consumer-{c}";
                consuming.Add(Task.Run(() => ConsumeAsync(db, queue, name, async entry =>
                {
                    await db.StreamAcknowledgeAsync(Key(queue), Group, entry.Id);
                    run.Acked(QueuePayload.Sequence((byte[])entry.Payload!));
                }, run.Fail, stop.Token)));
            }
            var databases = new IDatabase[producers];
            for (var p = 0; p < producers; p++)
            {
                databases[p] = (await ConnectAsync(connections, $"producer {p}")).GetDatabase();
            }
            await run.ProduceAsync(producers, length, (worker, sequence)
                => databases[worker].StreamAddAsync(Key(queue), "p", QueuePayload.Utf8(sequence)).WaitAsync(Timeout));
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
        var connections = new List<ConnectionMultiplexer>();
        var failure = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var stop = new CancellationTokenSource();
        long answered = 0;
        try
        {
            var responder = await ConnectAsync(connections, "responder");
            var publisher = (await ConnectAsync(connections, "responder replies")).GetSubscriber();
            var responding = Task.Run(() => ConsumeAsync(responder.GetDatabase(), queue, "responder", async entry =>
            {
                await publisher.PublishAsync(RedisChannel.Literal(entry.ReplyTo!), entry.Payload);
                await responder.GetDatabase().StreamAcknowledgeAsync(Key(queue), Group, entry.Id);
                Interlocked.Increment(ref answered);
            }, ex => failure.TrySetException(ex), stop.Token));

            // Each requester: its own multiplexer and reply channel; replies matched to requests by the payload's sequence number.
            var pending = new ConcurrentDictionary<long, TaskCompletionSource>();
            var requesterDatabases = new (IDatabase Db, string Channel)[requesters];
            for (var r = 0; r < requesters; r++)
            {
                var redis = await ConnectAsync(connections, $"requester {r}");
                var channel = $"bench:replies:{Guid.NewGuid():N}";
                await redis.GetSubscriber().SubscribeAsync(RedisChannel.Literal(channel), (_, value) =>
                {
                    var sequence = QueuePayload.Sequence((byte[])value!);
                    if (pending.TryRemove(sequence, out var waiting))
                    {
                        waiting.TrySetResult();
                    }
                    else
                    {
                        failure.TrySetException(new InvalidOperationException($"a reply to request {sequence}, which nobody waits for"));
                    }
                });
                requesterDatabases[r] = (redis.GetDatabase(), channel);
            }

            long sequence = 0;
            var requesting = Load.RunAsync(requesters, length, async worker =>
            {
                var number = Interlocked.Increment(ref sequence);
                var reply = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                pending[number] = reply;
                var (db, channel) = requesterDatabases[worker];
                await db.StreamAddAsync(Key(queue), [new NameValueEntry("p", QueuePayload.Utf8(number)), new NameValueEntry("r", channel)]).WaitAsync(Timeout);
                await reply.Task.WaitAsync(Timeout);
                return 1;
            });
            if (await Task.WhenAny(requesting, failure.Task) == failure.Task)
            {
                await failure.Task;
            }
            var result = await requesting;
            for (var i = 0; i < 600 && Interlocked.Read(ref answered) < result.Operations; i++)
            {
                await Task.Delay(50);
            }
            if (Interlocked.Read(ref answered) != result.Operations)
            {
                throw new InvalidOperationException($"{Name}, queue '{queue}': {result.Operations:N0} requests got their replies but the responder acked {Interlocked.Read(ref answered):N0}");
            }
            await stop.CancelAsync();
            await responding;
            return result;
        }
        finally
        {
            await stop.CancelAsync();
            await CloseAsync(connections);
        }
    }

    private sealed record Entry(RedisValue Id, RedisValue Payload, string? ReplyTo);

    /// <summary>XREADGROUP … COUNT 50 BLOCK 250 in a loop (bounded in count), handing each entry on, until <paramref name="stop"/>.</summary>
    private static async Task ConsumeAsync(IDatabase db, string queue, string consumer, Func<Entry, Task> handle, Action<Exception> fail, CancellationToken stop)
    {
        try
        {
            for (var i = 0; i < Load.MaxOperations && !stop.IsCancellationRequested; i++)
            {
                var result = await db.ExecuteAsync("XREADGROUP", "GROUP", Group, consumer, "COUNT", Batch, "BLOCK", BlockMilliseconds, "STREAMS", Key(queue), ">");
                if (result.IsNull)
                {
                    continue; // nothing within the block time
                }
                // RESP2 answers [[key, entries]]; RESP3 a map {key: entries}, which reads as [key, entries].
                var top = (RedisResult[])result!;
                var entries = (RedisResult[])(top[0].Resp3Type == ResultType.Array ? ((RedisResult[])top[0]!)[1] : top[1])!;
                await Task.WhenAll(entries.Select(raw =>
                {
                    var parts = (RedisResult[])raw!;
                    var fields = (RedisResult[])parts[1]!;
                    RedisValue payload = default;
                    string? replyTo = null;
                    for (var f = 0; f + 1 < fields.Length; f += 2)
                    {
                        if ((string?)fields[f] == "p")
                        {
                            payload = (RedisValue)fields[f + 1];
                        }
                        else if ((string?)fields[f] == "r")
                        {
                            replyTo = (string?)fields[f + 1];
                        }
                    }
                    return handle(new Entry((RedisValue)parts[0], payload, replyTo));
                }));
            }
        }
        catch (Exception ex) when (!stop.IsCancellationRequested)
        {
            fail(ex);
        }
        catch (Exception) when (stop.IsCancellationRequested)
        {
            // the run is over: the blocked read in flight is abandoned with its connection
        }
    }

    public async Task CheckEmptyAsync(string queue)
    {
        await CreateAsync(queue);
        var db = _admin!.GetDatabase();
        var group = (await db.StreamGroupInfoAsync(Key(queue))).Single(g => g.Name == Group);
        if (group.PendingMessageCount != 0 || group.Lag is > 0)
        {
            throw new InvalidOperationException($"{Name}: stream {Key(queue)} should have nothing left for group {Group}, but {group.PendingMessageCount} entries are unacked and {group.Lag} not delivered");
        }
    }

    /// <summary>The stream and its consumer group (from the stream's end), once per queue.</summary>
    private async Task CreateAsync(string queue)
    {
        if (!_created.Add(queue))
        {
            return;
        }
        _admin ??= await ConnectionMultiplexer.ConnectAsync(RedisPeer.Options(configuration, "bench admin"));
        var db = _admin.GetDatabase();
        await db.KeyDeleteAsync(Key(queue));
        await db.StreamCreateConsumerGroupAsync(Key(queue), Group, StreamPosition.NewMessages, createStream: true);
    }

    private async Task<ConnectionMultiplexer> ConnectAsync(List<ConnectionMultiplexer> connections, string role)
    {
        var redis = await ConnectionMultiplexer.ConnectAsync(RedisPeer.Options(configuration, $"bench {role}"));
        connections.Add(redis);
        return redis;
    }

    private static async Task CloseAsync(List<ConnectionMultiplexer> connections)
    {
        foreach (var redis in connections)
        {
            await redis.CloseAsync(allowCommandsToComplete: false);
            await redis.DisposeAsync();
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
