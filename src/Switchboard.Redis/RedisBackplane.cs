using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using StackExchange.Redis;
using Switchboard.Core;
using Switchboard.Core.Engines;

namespace Switchboard.Redis;

/// <summary>
/// The backplane of many nodes on one Redis: events go to Redis pub/sub channels and a node subscribes only to the
/// subjects its clients want (a topic, a pattern's literal prefix, a queue, a request's reply).
/// </summary>
/// <remarks>
/// <para>Channels are <c>{prefix}:t:{topic}</c>, <c>{prefix}:q:{queue}</c> and <c>{prefix}:r:{reply id}</c>. A wildcard
/// pattern listens with <c>PSUBSCRIBE {prefix}:t:{literal prefix}*</c>; Redis globs are broader than Switchboard's
/// patterns, and the hub's fan-out matches exactly, so the extra events cost only their decoding.</para>
/// <para>An event is delivered to this node's receiver directly, in commit order, and published to Redis for the
/// others; a node skips its own events when Redis echoes them. Each channel's messages are handled in order
/// (a <see cref="ChannelMessageQueue"/> per subject). Pub/sub is at most once: a node that misses an event (Redis
/// restarting, a slow node cut by Redis's output-buffer limit) sees a gap at the topic's next event and reads the
/// messages back from the store.</para>
/// </remarks>
public sealed partial class RedisBackplane : IBackplane
{
    private readonly IConnectionMultiplexer _redis;
    private readonly string _prefix;
    private readonly ILogger _logger;
    private readonly ConcurrentDictionary<BackplaneSubject, Listener> _listeners = new();
    private IBackplaneReceiver? _receiver;
    private int _disposed;
    private int _restoreHooked;

    /// <summary>Creates a backplane over a connection the node shares with its store.</summary>
    /// <param name="redis">The node's connection to Redis.</param>
    /// <param name="options">The key and channel prefix.</param>
    /// <param name="nodeId">This node's id: events it sent are not delivered to it twice.</param>
    /// <param name="loggerFactory">Logging.</param>
    public RedisBackplane(IConnectionMultiplexer redis, RedisOptions options, Guid nodeId, ILoggerFactory loggerFactory)
    {
        ArgumentNullException.ThrowIfNull(redis);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(loggerFactory);
        _redis = redis;
        _prefix = options.Prefix;
        NodeId = nodeId;
        _logger = loggerFactory.CreateLogger<RedisBackplane>();
    }

    /// <summary>This node's id on the backplane.</summary>
    public Guid NodeId { get; }

    /// <inheritdoc />
    public bool ListensSelectively => true;

    /// <summary>The subjects this node listens to now (subscribed on Redis, not merely asked for).</summary>
    public IReadOnlyCollection<BackplaneSubject> Subjects => [.. _listeners.Where(l => l.Value.IsActive).Select(l => l.Key)];

    /// <inheritdoc />
    public async Task StartAsync(IBackplaneReceiver receiver, CancellationToken cancellationToken)
    {
        _receiver = receiver;
        if (Interlocked.Exchange(ref _restoreHooked, 1) == 0)
        {
            _redis.ConnectionRestored += OnConnectionRestored; // once, even when a start is retried
        }
        await ListenForQuestionsAsync(cancellationToken);
    }

    // While the subscription connection was down, other nodes' events were lost. Once it is back (and, after a PING
    // on the same connection, its channels are subscribed again), tell the hub to look again rather than leave a
    // subscriber waiting for the next event of a topic to notice the gap.
    private void OnConnectionRestored(object? sender, ConnectionFailedEventArgs e)
    {
        if (e.ConnectionType != ConnectionType.Subscription || Volatile.Read(ref _disposed) == 1)
        {
            return;
        }
        _ = Task.Run(async () =>
        {
            try
            {
                await _redis.GetSubscriber().PingAsync();
            }
            catch (Exception ex) when (ex is RedisException or TimeoutException)
            {
                // Not answering yet: resync anyway (reading back too early costs a read; not reading back at all could
                // strand a subscriber), and a later restore resyncs again.
            }
            _receiver?.OnEvent(new BackplaneResync());
        });
    }

    /// <inheritdoc />
    public void Publish(BackplaneEvent backplaneEvent)
    {
        ArgumentNullException.ThrowIfNull(backplaneEvent);
        _receiver?.OnEvent(backplaneEvent);
        if (Volatile.Read(ref _disposed) == 1)
        {
            return;
        }
        try
        {
            // Fire and forget: the publisher never waits on Redis. Lost events are recovered by offset (see remarks).
            _redis.GetSubscriber().Publish(ChannelOf(backplaneEvent), BackplaneCodec.Encode(NodeId, backplaneEvent), CommandFlags.FireAndForget);
        }
        catch (Exception ex) when (ex is RedisException or ObjectDisposedException)
        {
            BackplaneLog.PublishFailed(_logger, backplaneEvent.GetType().Name, ex);
        }
    }

    /// <inheritdoc />
    public async Task ListenAsync(BackplaneSubject subject, CancellationToken cancellationToken)
    {
        var listener = new Listener();
        _listeners[subject] = listener;
        ChannelMessageQueue queue;
        try
        {
            queue = await _redis.GetSubscriber().SubscribeAsync(ChannelOf(subject)).WaitAsync(cancellationToken);
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException)
        {
            _listeners.TryRemove(new KeyValuePair<BackplaneSubject, Listener>(subject, listener));
            throw Unavailable(ex);
        }
        queue.OnMessage(OnMessage);
        if (!listener.Attach(queue))
        {
            await queue.UnsubscribeAsync(CommandFlags.FireAndForget); // forgotten while subscribing
        }
    }

    /// <inheritdoc />
    public void Forget(BackplaneSubject subject)
    {
        if (_listeners.TryRemove(subject, out var listener) && listener.Detach() is { } queue)
        {
            _ = queue.UnsubscribeAsync(CommandFlags.FireAndForget);
        }
    }

    private void OnMessage(ChannelMessage message)
    {
        BackplaneEvent? backplaneEvent;
        try
        {
            if (!BackplaneCodec.TryDecode((byte[])message.Message!, NodeId, out backplaneEvent))
            {
                return; // our own: delivered locally when published
            }
        }
        catch (InvalidDataException ex)
        {
            BackplaneLog.UndecodableEvent(_logger, message.Channel.ToString(), ex);
            return;
        }
        _receiver?.OnEvent(backplaneEvent!);
    }

    private RedisChannel ChannelOf(BackplaneEvent backplaneEvent) => backplaneEvent switch
    {
        TopicEvent topicEvent => RedisChannel.Literal($"{_prefix}:t:{topicEvent.Topic}"),
        QueueReady ready => RedisChannel.Literal($"{_prefix}:q:{ready.Queue}"),
        ReplyPosted replied => RedisChannel.Literal($"{_prefix}:r:{replied.ReplyId}"),
        _ => throw new ArgumentException($"The backplane cannot carry a {backplaneEvent.GetType().Name}.", nameof(backplaneEvent)),
    };

    private RedisChannel ChannelOf(BackplaneSubject subject) => subject.Kind switch
    {
        BackplaneSubjectKind.Topic => RedisChannel.Literal($"{_prefix}:t:{subject.Name}"),
        BackplaneSubjectKind.Pattern => RedisChannel.Pattern($"{_prefix}:t:{EscapeGlob(TopicPattern.Parse(subject.Name, allowSystem: true).LiteralPrefix)}*"),
        BackplaneSubjectKind.Queue => RedisChannel.Literal($"{_prefix}:q:{subject.Name}"),
        BackplaneSubjectKind.Reply => RedisChannel.Literal($"{_prefix}:r:{subject.Name}"),
        _ => throw new ArgumentOutOfRangeException(nameof(subject), subject.Kind, "unknown subject kind"),
    };

    // Topic names cannot hold glob characters today; escaping keeps that an assumption rather than a hole.
    private static string EscapeGlob(string literal) =>
        literal.IndexOfAny(['*', '?', '[', ']', '\\']) < 0 ? literal
            : string.Concat(literal.Select(c => c is '*' or '?' or '[' or ']' or '\\' ? "\\" + c : c.ToString()));

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
        {
            return;
        }
        _redis.ConnectionRestored -= OnConnectionRestored;
        foreach (var subject in _listeners.Keys)
        {
            if (_listeners.TryRemove(subject, out var listener) && listener.Detach() is { } queue)
            {
                try
                {
                    await queue.UnsubscribeAsync();
                }
                catch (Exception ex) when (ex is RedisException or ObjectDisposedException)
                {
                    // the connection is going too
                }
            }
        }
    }

    /// <summary>One subject's subscription; forgetting may come before subscribing has finished.</summary>
    private sealed class Listener
    {
        private readonly Lock _gate = new();
        private ChannelMessageQueue? _queue;
        private bool _forgotten;

        public bool IsActive
        {
            get
            {
                lock (_gate)
                {
                    return _queue is not null && !_forgotten;
                }
            }
        }

        public bool Attach(ChannelMessageQueue queue)
        {
            lock (_gate)
            {
                if (_forgotten)
                {
                    return false;
                }
                _queue = queue;
                return true;
            }
        }

        public ChannelMessageQueue? Detach()
        {
            lock (_gate)
            {
                _forgotten = true;
                return _queue;
            }
        }
    }
}
