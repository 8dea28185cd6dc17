using System.Text;
using Microsoft.AspNetCore.Http.Connections;
using Microsoft.AspNetCore.SignalR.Client;
using NATS.Client.Core;
using StackExchange.Redis;
using Switchboard.Bench.Peers;

namespace Switchboard.Bench.Scenarios;

/// <summary>A SignalR subscriber: one HubConnection on the given transport, joined to the topic's group.</summary>
internal sealed class SignalRClient(Uri server, HttpTransportType transport) : FanOutClient
{
    private HubConnection? _connection;

    public override async Task StartAsync(string topic, CancellationToken cancellationToken)
    {
        _connection = new HubConnectionBuilder()
            .WithUrl(new Uri(server, "/hub"), transport, o => o.SkipNegotiation = transport == HttpTransportType.WebSockets)
            .Build();
        _connection.On<string>("message", payload => OnPayload(Encoding.UTF8.GetBytes(payload)));
        await _connection.StartAsync(cancellationToken);
        await _connection.InvokeAsync("Subscribe", topic, cancellationToken);
    }

    public override async ValueTask DisposeAsync()
    {
        if (_connection is not null)
        {
            await _connection.DisposeAsync();
        }
    }
}

/// <summary>A NATS core subscriber: a connection of its own, subscribed to the topic as a subject (confirmed with a PING).</summary>
internal sealed class NatsSubscriberClient(NatsServer server) : FanOutClient
{
    private NatsConnection? _connection;
    private INatsSub<byte[]>? _subscription;
    private Task _loop = Task.CompletedTask;

    public override async Task StartAsync(string topic, CancellationToken cancellationToken)
    {
        _connection = server.Connect("fan-out subscriber");
        await _connection.ConnectAsync();
        _subscription = await _connection.SubscribeCoreAsync<byte[]>(topic, cancellationToken: cancellationToken);
        await _connection.PingAsync(cancellationToken); // the server has the subscription once it answers
        var messages = _subscription.Msgs;
        _loop = Task.Run(async () =>
        {
            try
            {
                while (await messages.WaitToReadAsync())
                {
                    while (messages.TryRead(out var message))
                    {
                        OnPayload(message.Data);
                    }
                }
            }
            catch (Exception ex) when (ex is NatsException or OperationCanceledException)
            {
            }
        }, CancellationToken.None);
    }

    public override async ValueTask DisposeAsync()
    {
        if (_subscription is not null)
        {
            await _subscription.DisposeAsync();
        }
        if (_connection is not null)
        {
            await _connection.DisposeAsync();
        }
        await _loop;
    }
}

/// <summary>A Redis pub/sub subscriber with StackExchange.Redis: a multiplexer of its own, SUBSCRIBE to the topic as a channel.</summary>
internal sealed class RedisSubscriberClient(string configuration) : FanOutClient
{
    private ConnectionMultiplexer? _redis;

    public override async Task StartAsync(string topic, CancellationToken cancellationToken)
    {
        _redis = await ConnectionMultiplexer.ConnectAsync(RedisPeer.Options(configuration, "fan-out subscriber"));
        // Awaited until Redis confirms the subscription.
        await _redis.GetSubscriber().SubscribeAsync(RedisChannel.Literal(topic), (_, value) => OnPayload((byte[])value!));
    }

    public override async ValueTask DisposeAsync()
    {
        if (_redis is not null)
        {
            await _redis.CloseAsync(allowCommandsToComplete: false);
            await _redis.DisposeAsync();
        }
    }
}

/// <summary>Publishes on a NATS connection (fire and forget, as core NATS is); a flush is a PING round trip.</summary>
internal sealed class NatsPublisher(NatsConnection connection, string subject) : IFanOutPublisher
{
    public static async Task<NatsPublisher> ConnectAsync(NatsServer server, string subject)
    {
        var connection = server.Connect("fan-out publisher");
        await connection.ConnectAsync();
        return new NatsPublisher(connection, subject);
    }

    public Task PublishAsync(string payload) => connection.PublishAsync(subject, Encoding.UTF8.GetBytes(payload)).AsTask();

    public Task FlushAsync() => connection.PingAsync().AsTask();

    public ValueTask DisposeAsync() => connection.DisposeAsync();
}

/// <summary>Publishes with Redis PUBLISH, pipelined with a bounded window of unanswered commands (as the hub's publisher).</summary>
internal sealed class RedisPublisher : IFanOutPublisher
{
    // 512 commands in flight, as the hub's publisher: bounded so the publisher cannot run away.
    private const int Window = 512;
    private readonly SemaphoreSlim _window = new(Window);
    private readonly ConnectionMultiplexer _redis;
    private readonly RedisChannel _channel;
    private Exception? _error;

    private RedisPublisher(ConnectionMultiplexer redis, string topic)
    {
        _redis = redis;
        _channel = RedisChannel.Literal(topic);
    }

    public static async Task<RedisPublisher> ConnectAsync(string configuration, string topic)
        => new(await ConnectionMultiplexer.ConnectAsync(RedisPeer.Options(configuration, "fan-out publisher")), topic);

    public async Task PublishAsync(string payload)
    {
        if (_error is not null)
        {
            throw new InvalidOperationException("a Redis PUBLISH failed: " + _error.Message, _error);
        }
        await _window.WaitAsync();
        _ = _redis.GetDatabase().PublishAsync(_channel, Encoding.UTF8.GetBytes(payload)).ContinueWith(t =>
        {
            _error ??= t.Exception?.InnerException;
            _window.Release();
        }, TaskScheduler.Default);
    }

    public async Task FlushAsync()
    {
        for (var i = 0; i < Window; i++)
        {
            await _window.WaitAsync();
        }
        _window.Release(Window);
    }

    public async ValueTask DisposeAsync()
    {
        await FlushAsync();
        await _redis.DisposeAsync();
        _window.Dispose();
    }
}
