using System.Collections.Concurrent;
using System.Globalization;
using RabbitMQ.Client;
using RabbitMQ.Client.Events;
using Switchboard.Bench.Peers;

namespace Switchboard.Bench.Scenarios;

/// <summary>
/// RabbitMQ the way a durable queue is used with it: a durable queue (classic, or quorum with x-queue-type),
/// persistent messages, publisher confirms (each publish awaited until confirmed, one at a time per producer, as the
/// hub's one confirmed send per request), consumers with manual acks and a prefetch of 50. Every producer, consumer,
/// requester and the responder has a connection of its own, opened before the clock starts. Request/reply is the
/// direct reply-to pattern: the request (persistent, confirmed) goes to a durable queue with ReplyTo
/// "amq.rabbitmq.reply-to"; the responder publishes the reply to that name, then acks; a round trip ends when the
/// requester has both the publish confirm and the reply.
/// Note: AMQP acks are not answered by the broker; an ack counts once the client has written it.
/// </summary>
internal sealed class RabbitQueuePeer(string label, RabbitMqServer server, bool quorum) : IQueuePeer, IAsyncDisposable
{
    private const ushort Prefetch = 50;
    private const string DirectReplyTo = "amq.rabbitmq.reply-to";
    private static readonly TimeSpan ReplyTimeout = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan ConfirmTimeout = TimeSpan.FromSeconds(30);
    private readonly HashSet<string> _declared = [];
    private IConnection? _admin;

    public string Name => label;

    private string QueueName(string queue) => (quorum ? "quorum-" : "classic-") + queue;

    public async Task<Throughput> EndToEndAsync(string queue, int producers, int consumers, TimeSpan length)
    {
        var name = await DeclareAsync(queue);
        var run = new EndToEndRun();
        var connections = new List<IConnection>();
        try
        {
            for (var c = 0; c < consumers; c++)
            {
                var connection = await Connect(connections, $"consumer {c}");
                var channel = await connection.CreateChannelAsync();
                await channel.BasicQosAsync(0, Prefetch, false);
                Watch(channel, run.Fail);
                var consumer = new AsyncEventingBasicConsumer(channel);
                consumer.ReceivedAsync += async (_, delivery) =>
                {
                    try
                    {
                        var sequence = QueuePayload.Sequence(delivery.Body.Span);
                        await channel.BasicAckAsync(delivery.DeliveryTag, multiple: false);
                        run.Acked(sequence);
                    }
                    catch (Exception ex)
                    {
                        run.Fail(ex);
                    }
                };
                await channel.BasicConsumeAsync(name, autoAck: false, consumer);
            }
            var channels = new IChannel[producers];
            for (var p = 0; p < producers; p++)
            {
                var connection = await Connect(connections, $"producer {p}");
                channels[p] = await connection.CreateChannelAsync(new CreateChannelOptions(publisherConfirmationsEnabled: true, publisherConfirmationTrackingEnabled: true));
            }
            var persistent = new BasicProperties { DeliveryMode = DeliveryModes.Persistent };
            // BasicPublishAsync on a channel with confirm tracking completes when the broker confirms (and throws on a nack or a return).
            await run.ProduceAsync(producers, length, (worker, sequence)
                => channels[worker].BasicPublishAsync("", name, mandatory: true, persistent, QueuePayload.Utf8(sequence)).AsTask().WaitAsync(ConfirmTimeout));
            return await run.FinishAsync(Name, name);
        }
        finally
        {
            await CloseAsync(connections);
        }
    }

    public async Task<Throughput> RequestReplyAsync(string queue, int requesters, TimeSpan length)
    {
        var name = await DeclareAsync(queue);
        var connections = new List<IConnection>();
        var failure = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        try
        {
            // The responder: echo the payload to ReplyTo with the CorrelationId, then ack the request.
            long answered = 0;
            var responder = await (await Connect(connections, "responder")).CreateChannelAsync();
            await responder.BasicQosAsync(0, Prefetch, false);
            Watch(responder, ex => failure.TrySetException(ex));
            var serving = new AsyncEventingBasicConsumer(responder);
            serving.ReceivedAsync += async (_, delivery) =>
            {
                try
                {
                    var reply = new BasicProperties { CorrelationId = delivery.BasicProperties.CorrelationId };
                    await responder.BasicPublishAsync("", delivery.BasicProperties.ReplyTo ?? throw new InvalidOperationException("a request without ReplyTo"), false, reply, delivery.Body);
                    await responder.BasicAckAsync(delivery.DeliveryTag, multiple: false);
                    Interlocked.Increment(ref answered);
                }
                catch (Exception ex)
                {
                    failure.TrySetException(ex);
                }
            };
            await responder.BasicConsumeAsync(name, autoAck: false, serving);

            // The requesters: each its own connection, confirms on, consuming its replies on the pseudo-queue (no-ack, as direct reply-to requires).
            var channels = new IChannel[requesters];
            var pending = new ConcurrentDictionary<string, TaskCompletionSource<long>>();
            for (var r = 0; r < requesters; r++)
            {
                var channel = channels[r] = await (await Connect(connections, $"requester {r}")).CreateChannelAsync(
                    new CreateChannelOptions(publisherConfirmationsEnabled: true, publisherConfirmationTrackingEnabled: true));
                Watch(channel, ex => failure.TrySetException(ex));
                var replies = new AsyncEventingBasicConsumer(channel);
                replies.ReceivedAsync += (_, delivery) =>
                {
                    if (delivery.BasicProperties.CorrelationId is { } id && pending.TryRemove(id, out var waiting))
                    {
                        waiting.TrySetResult(QueuePayload.Sequence(delivery.Body.Span));
                    }
                    else
                    {
                        failure.TrySetException(new InvalidOperationException($"a reply with no request waiting for it (correlation id '{delivery.BasicProperties.CorrelationId}')"));
                    }
                    return Task.CompletedTask;
                };
                await channel.BasicConsumeAsync(DirectReplyTo, autoAck: true, replies);
            }

            long sequence = 0;
            var requesting = Load.RunAsync(requesters, length, async worker =>
            {
                var number = Interlocked.Increment(ref sequence);
                var id = number.ToString(CultureInfo.InvariantCulture);
                var reply = new TaskCompletionSource<long>(TaskCreationOptions.RunContinuationsAsynchronously);
                pending[id] = reply;
                var request = new BasicProperties { DeliveryMode = DeliveryModes.Persistent, ReplyTo = DirectReplyTo, CorrelationId = id };
                await channels[worker].BasicPublishAsync("", name, mandatory: true, request, QueuePayload.Utf8(number)).AsTask().WaitAsync(ConfirmTimeout);
                var echoed = await reply.Task.WaitAsync(ReplyTimeout);
                return echoed == number ? 1 : throw new InvalidOperationException($"request {number} got the reply to {echoed}");
            });
            if (await Task.WhenAny(requesting, failure.Task) == failure.Task)
            {
                await failure.Task;
            }
            var result = await requesting;
            // A reply can arrive before the responder's ack is written: wait for those acks (bounded) before closing its channel.
            for (var i = 0; i < 600 && Interlocked.Read(ref answered) < result.Operations; i++)
            {
                await Task.Delay(50);
            }
            if (Interlocked.Read(ref answered) != result.Operations)
            {
                throw new InvalidOperationException($"{Name}, queue '{name}': {result.Operations:N0} requests got their replies but the responder acked {Interlocked.Read(ref answered):N0} of them");
            }
            return result;
        }
        finally
        {
            await CloseAsync(connections);
        }
    }

    public async Task CheckEmptyAsync(string queue)
    {
        var name = await DeclareAsync(queue);
        await using var channel = await _admin!.CreateChannelAsync();
        // The closed consumers go away asynchronously (a quorum queue applies it through its log); once they are gone,
        // anything they had not acked would be ready again, so "nothing ready" then means nothing is left.
        var state = await channel.QueueDeclarePassiveAsync(name);
        for (var i = 0; i < 200 && state.ConsumerCount != 0; i++)
        {
            await Task.Delay(50);
            state = await channel.QueueDeclarePassiveAsync(name);
        }
        if (state.MessageCount != 0 || state.ConsumerCount != 0)
        {
            throw new InvalidOperationException($"{Name}: queue '{name}' should be empty after the run, but has {state.MessageCount} messages ready and {state.ConsumerCount} consumers");
        }
    }

    /// <summary>Declares the queue once (durable; quorum or classic) on a connection kept for the scenario.</summary>
    private async Task<string> DeclareAsync(string queue)
    {
        var name = QueueName(queue);
        if (!_declared.Add(name))
        {
            return name;
        }
        _admin ??= await server.Factory("bench admin").CreateConnectionAsync();
        await using var channel = await _admin.CreateChannelAsync();
        var arguments = quorum ? new Dictionary<string, object?> { ["x-queue-type"] = "quorum" } : null;
        await channel.QueueDeclareAsync(name, durable: true, exclusive: false, autoDelete: false, arguments: arguments);
        return name;
    }

    private async Task<IConnection> Connect(List<IConnection> connections, string role)
    {
        var connection = await server.Factory($"bench {role}").CreateConnectionAsync();
        connections.Add(connection);
        return connection;
    }

    /// <summary>A channel the broker closes (an error) fails the run at once, with the broker's reason.</summary>
    private static void Watch(IChannel channel, Action<Exception> fail)
        => channel.ChannelShutdownAsync += (_, reason) =>
        {
            if (reason.Initiator != ShutdownInitiator.Application)
            {
                fail(new InvalidOperationException($"RabbitMQ closed a channel: {reason.ReplyCode} {reason.ReplyText}"));
            }
            return Task.CompletedTask;
        };

    private static async Task CloseAsync(List<IConnection> connections)
    {
        foreach (var connection in connections)
        {
            await connection.CloseAsync(TimeSpan.FromSeconds(10));
            await connection.DisposeAsync();
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_admin is not null)
        {
            await _admin.CloseAsync(TimeSpan.FromSeconds(10));
            await _admin.DisposeAsync();
        }
    }
}
