using System.Collections.Concurrent;
using System.Text;
using Microsoft.Extensions.Logging.Abstractions;
using StackExchange.Redis;
using Switchboard.Core;
using Switchboard.Core.Engines;
using Switchboard.Redis;

namespace Switchboard.Redis.Tests;

/// <summary>Two nodes' backplanes on one real Redis: what one publishes, the other hears, only for what it listens to.</summary>
public sealed class BackplaneTests : IAsyncLifetime
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(10);
    private RedisServer _redis = null!;
    private readonly List<IAsyncDisposable> _owned = [];

    public async Task InitializeAsync() => _redis = await RedisServer.StartAsync();

    public async Task DisposeAsync()
    {
        foreach (var owned in Enumerable.Reverse(_owned))
        {
            await owned.DisposeAsync();
        }
        await _redis.DisposeAsync();
    }

    private readonly Dictionary<RedisBackplane, IConnectionMultiplexer> _connections = [];

    // A's fire-and-forget publishes go out on its connection in order: a PING answered on it means Redis has them.
    private Task FlushAsync(RedisBackplane node) => _connections[node].GetDatabase().PingAsync();

    private async Task<(RedisBackplane Backplane, Recorder Heard)> NodeAsync(string prefix = "bp")
    {
        var connection = RedisConnection.Connect(new RedisOptions { Configuration = _redis.Configuration, Prefix = prefix }, NullLoggerFactory.Instance);
        _owned.Add(connection);
        var backplane = new RedisBackplane(connection, new RedisOptions { Configuration = _redis.Configuration, Prefix = prefix }, Guid.NewGuid(), NullLoggerFactory.Instance);
        _owned.Add(backplane);
        _connections[backplane] = connection;
        var heard = new Recorder();
        // As the hub's lifetime does: a connection still coming up (a loaded machine can take longer than the connect
        // timeout) is "unavailable, retry shortly", not a failure — retried here for up to 20 s.
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        while (true)
        {
            try
            {
                await backplane.StartAsync(heard, default);
                return (backplane, heard);
            }
            catch (SwitchboardException ex) when (ex.Code == ErrorCode.StorageUnavailable && DateTime.UtcNow < deadline)
            {
                await Task.Delay(200);
            }
        }
    }

    private static Message Message(string topic, long offset, string text, string? key = null, IReadOnlyDictionary<string, string>? headers = null, byte[]? payload = null) => new()
    {
        Topic = topic,
        Epoch = "e1",
        Offset = offset,
        Timestamp = new DateTimeOffset(2026, 11, 29, 12, 0, 0, 123, TimeSpan.Zero),
        ContentType = "application/octet-stream",
        Key = key,
        Headers = headers ?? new Dictionary<string, string>(),
        Payload = payload ?? Encoding.UTF8.GetBytes(text),
    };

    [Fact]
    public async Task An_append_reaches_a_listening_node_whole_and_the_publisher_hears_it_once()
    {
        var (a, heardOnA) = await NodeAsync();
        var (b, heardOnB) = await NodeAsync();
        await b.ListenAsync(new BackplaneSubject(BackplaneSubjectKind.Topic, "orders"), default);
        await a.ListenAsync(new BackplaneSubject(BackplaneSubjectKind.Topic, "orders"), default);

        var binary = new byte[] { 0, 255, 1, 254, 0x1e };
        var sent = new MessagesAppended("orders", "e1",
        [
            Message("orders", 41, "first", key: "k", headers: new Dictionary<string, string> { ["traceparent"] = "00-abc-01", ["ünï"] = "çödé" }),
            Message("orders", 42, "second", payload: binary),
        ]);
        a.Publish(sent);

        var got = Assert.IsType<MessagesAppended>(await heardOnB.NextAsync());
        Assert.Equal(("orders", "e1", 2), (got.Topic, got.Epoch, got.Messages.Count));
        Assert.Equal([41L, 42L], got.Messages.Select(m => m.Offset));
        Assert.Equal("first", Encoding.UTF8.GetString(got.Messages[0].Payload.Span));
        Assert.Equal(binary, got.Messages[1].Payload.ToArray());
        Assert.Equal("k", got.Messages[0].Key);
        Assert.Null(got.Messages[1].Key);
        Assert.Equal("çödé", got.Messages[0].Headers["ünï"]);
        Assert.Equal(sent.Messages[0].Timestamp, got.Messages[0].Timestamp);
        Assert.Equal("application/octet-stream", got.Messages[0].ContentType);

        // The publisher got it once, directly; Redis's echo of its own event is dropped. A third node's event on the
        // same channel comes after a's echoes (Redis keeps a channel's order), so once a hears it, any echo would be in.
        a.Publish(new TopicDeleted("orders", "e1"));
        Assert.IsType<TopicDeleted>(await heardOnB.NextAsync());
        var (c, _) = await NodeAsync();
        c.Publish(new TopicDeleted("orders", "e2"));
        await heardOnA.WaitForCountAsync(3);
        Assert.Equal([new TopicDeleted("orders", "e1"), new TopicDeleted("orders", "e2")], heardOnA.All.Skip(1));
        Assert.IsType<MessagesAppended>(heardOnA.All[0]);
    }

    [Fact]
    public async Task A_node_hears_only_the_subjects_it_listens_to_and_stops_when_it_forgets()
    {
        var (a, _) = await NodeAsync();
        var (b, heardOnB) = await NodeAsync();
        var jobs = new BackplaneSubject(BackplaneSubjectKind.Queue, "jobs");
        await b.ListenAsync(jobs, default);

        a.Publish(new QueueReady("other"));
        a.Publish(new QueueReady("jobs"));
        Assert.Equal(new QueueReady("jobs"), await heardOnB.NextAsync());

        b.Forget(jobs);
        Assert.DoesNotContain(jobs, b.Subjects);
        // Forgetting is fire-and-forget: Redis soon counts no subscriber on the channel, so nothing more can reach b.
        await WaitForSubscribersAsync("bp:q:jobs", 0);
        a.Publish(new QueueReady("jobs"));
        await FlushAsync(a); // published while nobody listened: Redis dropped it before b listens again
        var marker = new BackplaneSubject(BackplaneSubjectKind.Queue, "jobs");
        await b.ListenAsync(marker, default); // listening again works, and hears only what comes after
        a.Publish(new QueueReady("jobs"));
        Assert.Equal(new QueueReady("jobs"), await heardOnB.NextAsync());
        Assert.Empty(heardOnB.Pending);
    }

    private async Task WaitForSubscribersAsync(string channel, long count)
    {
        await using var admin = await StackExchange.Redis.ConnectionMultiplexer.ConnectAsync(_redis.Configuration);
        var server = admin.GetServer(admin.GetEndPoints()[0]);
        var deadline = DateTime.UtcNow + Patience;
        while (await server.SubscriptionSubscriberCountAsync(RedisChannel.Literal(channel)) != count)
        {
            Assert.True(DateTime.UtcNow < deadline, $"{channel} never had {count} subscribers");
            await Task.Delay(20); // Redis's count is the signal; poll it, bounded
        }
    }

    [Fact]
    public async Task A_pattern_listens_to_every_topic_under_its_literal_prefix()
    {
        var (a, _) = await NodeAsync();
        var (b, heardOnB) = await NodeAsync();
        await b.ListenAsync(new BackplaneSubject(BackplaneSubjectKind.Pattern, "orders.*.paid"), default);

        a.Publish(new TopicDeleted("invoices.eu", "e1"));
        a.Publish(new TopicDeleted("orders.eu.paid", "e1"));
        Assert.Equal(new TopicDeleted("orders.eu.paid", "e1"), await heardOnB.NextAsync());
        a.Publish(new TopicDeleted("orders.us.paid", "e2"));
        Assert.Equal(new TopicDeleted("orders.us.paid", "e2"), await heardOnB.NextAsync());
    }

    [Fact]
    public async Task Hubs_with_different_prefixes_on_one_Redis_do_not_hear_each_other()
    {
        var (a, _) = await NodeAsync("one");
        var (b, heardOnB) = await NodeAsync("two");
        await b.ListenAsync(new BackplaneSubject(BackplaneSubjectKind.Queue, "jobs"), default);

        // b's interest is in its own prefix's channel only: nobody listens where a publishes.
        await WaitForSubscribersAsync("two:q:jobs", 1);
        await WaitForSubscribersAsync("one:q:jobs", 0);
        a.Publish(new QueueReady("jobs"));
        await FlushAsync(a);
        var (c, _) = await NodeAsync("two");
        c.Publish(new QueueReady("jobs"));
        Assert.Equal(new QueueReady("jobs"), await heardOnB.NextAsync());
        Assert.Empty(heardOnB.Pending);
    }

    [Fact]
    public async Task The_registry_lists_the_nodes_that_beat_and_drops_a_silent_one()
    {
        var (a, _) = await NodeAsync();
        var (b, _) = await NodeAsync();
        var now = DateTimeOffset.UtcNow;
        NodeReport Report(string id, string name, int ws) => new()
        {
            Id = id, Name = name, Addresses = ["http://127.0.0.1:1"], StartedAt = now, HeartbeatAt = now,
            Connections = new Dictionary<string, int> { ["websocket"] = ws }, Subscriptions = ws, State = "ready",
        };
        await a.ReportAsync(Report("id-a", "node-a", 3), default);
        await b.ReportAsync(Report("id-b", "node-b", 5), default);

        var listed = await b.ListNodesAsync(TimeSpan.FromSeconds(30), default);
        Assert.Equal(["node-a", "node-b"], listed.Select(n => n.Name));
        Assert.Equal(5, listed[1].Connections["websocket"]);

        // a stops beating; b goes on. With a 600 ms expiry, a drops out once its last beat is older than that.
        var deadline = DateTime.UtcNow + Patience;
        IReadOnlyList<NodeReport> alive;
        do
        {
            await b.ReportAsync(Report("id-b", "node-b", 6), default);
            alive = await a.ListNodesAsync(TimeSpan.FromMilliseconds(600), default);
            await Task.Delay(100);
        }
        while (alive.Count > 1 && DateTime.UtcNow < deadline);
        var only = Assert.Single(alive);
        Assert.Equal(("node-b", 6), (only.Name, only.Connections["websocket"]));
        // Dropped for good: a long expiry does not bring the dead node back.
        Assert.Single(await a.ListNodesAsync(TimeSpan.FromMinutes(5), default));
    }

    [Fact]
    public async Task Listening_while_Redis_is_down_fails_as_storage_unavailable_and_works_once_it_is_back()
    {
        var (b, heardOnB) = await NodeAsync();
        await _redis.KillAsync();
        var refused = await Assert.ThrowsAsync<SwitchboardException>(() => b.ListenAsync(new BackplaneSubject(BackplaneSubjectKind.Queue, "jobs"), default));
        Assert.Equal(ErrorCode.StorageUnavailable, refused.Code);
        Assert.Contains("Redis", refused.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(_redis.Port.ToString(System.Globalization.CultureInfo.InvariantCulture), refused.Message, StringComparison.Ordinal); // clients never see where Redis is
        var report = await Assert.ThrowsAsync<SwitchboardException>(() => b.ListNodesAsync(TimeSpan.FromSeconds(10), default));
        Assert.Equal(ErrorCode.StorageUnavailable, report.Code);

        await _redis.RestartAsync();
        var (a, _) = await NodeAsync();
        var deadline = DateTime.UtcNow + Patience;
        while (true)
        {
            try
            {
                await b.ListenAsync(new BackplaneSubject(BackplaneSubjectKind.Queue, "jobs"), default);
                break;
            }
            catch (SwitchboardException) when (DateTime.UtcNow < deadline)
            {
                await Task.Delay(100); // b's connection reconnects by itself, with backoff
            }
        }
        a.Publish(new QueueReady("jobs"));
        // b also says its connection came back, so the hub reads back what it may have missed while Redis was away.
        var heard = new List<BackplaneEvent> { await heardOnB.NextAsync() };
        while (!heard.OfType<QueueReady>().Any() || !heard.OfType<BackplaneResync>().Any())
        {
            heard.Add(await heardOnB.NextAsync());
        }
        Assert.Equal([new QueueReady("jobs")], heard.OfType<QueueReady>());
    }

    private sealed class Recorder : IBackplaneReceiver
    {
        private readonly ConcurrentQueue<BackplaneEvent> _pending = new();
        private readonly ConcurrentQueue<BackplaneEvent> _all = new();
        private readonly SemaphoreSlim _signal = new(0);

        public IReadOnlyCollection<BackplaneEvent> Pending => _pending;
        public IReadOnlyList<BackplaneEvent> All => [.. _all];

        public void OnEvent(BackplaneEvent backplaneEvent)
        {
            _all.Enqueue(backplaneEvent);
            _pending.Enqueue(backplaneEvent);
            _signal.Release();
        }

        public async Task<BackplaneEvent> NextAsync()
        {
            Assert.True(await _signal.WaitAsync(Patience), "no backplane event arrived");
            Assert.True(_pending.TryDequeue(out var next));
            return next;
        }

        public async Task WaitForCountAsync(int count)
        {
            var deadline = DateTime.UtcNow + Patience;
            while (_all.Count < count && DateTime.UtcNow < deadline)
            {
                await _signal.WaitAsync(TimeSpan.FromMilliseconds(100));
            }
        }
    }
}
