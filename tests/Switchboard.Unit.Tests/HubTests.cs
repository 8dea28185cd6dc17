using System.Collections.Concurrent;
using System.Text;
using Microsoft.Extensions.Logging.Abstractions;
using Switchboard.Core;
using Switchboard.Core.Delivery;
using Switchboard.Core.Engines.Memory;

namespace Switchboard.Unit.Tests;

/// <summary>The hub over the memory engine: publishing rules, idempotency, long polling and subscriptions.</summary>
public sealed class HubTests : IAsyncLifetime
{
    private Hub _hub = null!;

    public async Task InitializeAsync() => _hub = await StartAsync(new HubOptions());

    public async Task DisposeAsync() => await _hub.DisposeAsync();

    private static async Task<Hub> StartAsync(HubOptions options)
    {
        var hub = new Hub(new MemoryStore(), new LocalBackplane(), options, NullLoggerFactory.Instance);
        await hub.StartAsync(default);
        return hub;
    }

    private static MessageDraft Json(object value) => new() { Payload = Encoding.UTF8.GetBytes(System.Text.Json.JsonSerializer.Serialize(value)) };

    private Task Publish(string topic, int first, int last) => _hub.PublishAsync(topic, [.. Enumerable.Range(first, last - first + 1).Select(i => Json(i))]);

    [Fact]
    public async Task Publishing_validates_names_limits_and_json_before_storing_anything()
    {
        Assert.Equal(ErrorCode.InvalidTopicName, (await Assert.ThrowsAsync<SwitchboardException>(() => _hub.PublishAsync("a..b", [Json(1)]))).Code);
        Assert.Equal(ErrorCode.ValidationFailed, (await Assert.ThrowsAsync<SwitchboardException>(() => _hub.PublishAsync("t", []))).Code);
        var notJson = new MessageDraft { Payload = "{nope"u8.ToArray() };
        Assert.Equal(ErrorCode.InvalidJson, (await Assert.ThrowsAsync<SwitchboardException>(() => _hub.PublishAsync("t", [Json(1), notJson]))).Code);
        var big = new MessageDraft { Payload = new byte[2 * 1024 * 1024], ContentType = "application/octet-stream" };
        Assert.Equal(ErrorCode.MessageTooLarge, (await Assert.ThrowsAsync<SwitchboardException>(() => _hub.PublishAsync("t", [big]))).Code);
        var badHeader = new MessageDraft { Payload = "1"u8.ToArray(), Headers = new Dictionary<string, string> { ["x"] = "line\nbreak" } };
        Assert.Equal(ErrorCode.ValidationFailed, (await Assert.ThrowsAsync<SwitchboardException>(() => _hub.PublishAsync("t", [badHeader]))).Code);
        Assert.Equal(ErrorCode.ValidationFailed, (await Assert.ThrowsAsync<SwitchboardException>(() => _hub.PublishAsync("t", [Json(1)], "key with spaces"))).Code);
        await Assert.ThrowsAsync<TopicNotFoundException>(() => _hub.GetTopicAsync("t"));
    }

    [Fact]
    public async Task Idempotency_keys_are_fingerprinted_by_content()
    {
        var first = await _hub.PublishAsync("i", [Json(1), Json(2)], "k");
        var retry = await _hub.PublishAsync("i", [Json(1), Json(2)], "k");
        Assert.True(retry.Replayed);
        Assert.Equal(first.FirstOffset, retry.FirstOffset);
        var reordered = await Assert.ThrowsAsync<SwitchboardException>(() => _hub.PublishAsync("i", [Json(2), Json(1)], "k"));
        Assert.Equal(ErrorCode.IdempotencyKeyReused, reordered.Code);
        var keyed = await Assert.ThrowsAsync<SwitchboardException>(() => _hub.PublishAsync("i", [new MessageDraft { Payload = "1"u8.ToArray(), Key = "other" }, Json(2)], "k"));
        Assert.Equal(ErrorCode.IdempotencyKeyReused, keyed.Code); // the key is part of what a retry must repeat
        Assert.Equal(2, (await _hub.GetTopicAsync("i")).MessageCount);
    }

    [Fact]
    public async Task Auto_create_can_be_turned_off()
    {
        await using var strict = await StartAsync(new HubOptions { AutoCreateTopics = false });
        await Assert.ThrowsAsync<TopicNotFoundException>(() => strict.PublishAsync("x", [Json(1)]));
        await strict.PutTopicAsync("x", new TopicConfig(RetentionPolicy.Unlimited));
        Assert.Equal(1, (await strict.PublishAsync("x", [Json(1)])).FirstOffset);
    }

    [Fact]
    public async Task A_long_poll_is_woken_by_the_publish_not_by_its_timeout()
    {
        await Publish("lp", 1, 1);
        var waiting = _hub.ReadAsync("lp", new Position(null, 1), 10, TimeSpan.FromSeconds(30));
        Assert.False(waiting.IsCompleted);
        var started = DateTime.UtcNow;
        await Publish("lp", 2, 2);
        var page = await waiting.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(2, Assert.Single(page.Messages).Offset);
        Assert.True(DateTime.UtcNow - started < TimeSpan.FromSeconds(10));
    }

    [Fact]
    public async Task Draining_answers_waiting_long_polls_with_what_they_have()
    {
        await Publish("drain", 1, 1);
        var waiting = _hub.ReadAsync("drain", new Position(null, 1), 10, TimeSpan.FromSeconds(30));
        _hub.BeginDrain();
        var page = await waiting.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Empty(page.Messages);
        Assert.Equal(HubState.Draining, _hub.State);
    }

    [Fact]
    public async Task A_subscription_from_a_position_passes_from_history_to_live_without_gap_or_duplicate_under_load()
    {
        const int Total = 5000;
        await Publish("race", 1, 100);
        var sink = new RecordingSink();
        // Publish continuously while the subscription starts from the middle of history.
        var publisher = Task.Run(async () =>
        {
            for (var i = 101; i <= Total; i += 10)
            {
                await Publish("race", i, i + 9);
            }
        });
        await using var subscription = await _hub.SubscribeAsync(["race"], SubscribeStart.AfterPosition(new Position(null, 50)), sink);
        await publisher;
        await sink.WaitForAsync(Total - 50);
        Assert.Equal(Enumerable.Range(51, Total - 50).Select(i => (long)i), sink.Offsets);
    }

    [Fact]
    public async Task A_full_sink_loses_nothing_it_reads_back_from_the_store_once_there_is_room()
    {
        var sink = new RecordingSink { Capacity = 0 }; // refuses every live write
        await using var subscription = await _hub.SubscribeAsync(["full"], SubscribeStart.AfterPosition(new Position(null, 0)), sink);
        for (var i = 1; i <= 1000; i += 100)
        {
            await Publish("full", i, i + 99);
        }
        await sink.WaitForAsync(1000);
        Assert.Equal(Enumerable.Range(1, 1000).Select(i => (long)i), sink.Offsets);
        Assert.Equal(0, sink.LiveWrites);
    }

    [Fact]
    public async Task A_subscription_from_now_gets_only_new_messages_and_wildcards_span_topics()
    {
        await Publish("w.a", 1, 3);
        var sink = new RecordingSink();
        await using var subscription = await _hub.SubscribeAsync(["w.*"], SubscribeStart.Now, sink);
        await Publish("w.a", 4, 4);
        await Publish("w.b", 1, 1);
        await Publish("x.a", 1, 1);
        await sink.WaitForAsync(2);
        Assert.Equal(["w.a:4", "w.b:1"], sink.Messages.Select(m => $"{m.Topic}:{m.Offset}").Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task Deleting_and_recreating_a_topic_is_announced_and_the_new_incarnation_starts_at_1()
    {
        await Publish("again", 1, 2);
        var sink = new RecordingSink();
        await using var subscription = await _hub.SubscribeAsync(["again"], SubscribeStart.AfterPosition(new Position(null, 0)), sink);
        await sink.WaitForAsync(2);
        var old = (await _hub.GetTopicAsync("again")).Epoch;
        await _hub.DeleteTopicAsync("again");
        await Publish("again", 1, 1);
        await sink.WaitForAsync(3);
        Assert.Contains(sink.Notices, n => n is TopicWasDeleted d && d.Epoch == old);
        Assert.Contains(sink.Notices, n => n is EpochChanged c && c.PreviousEpoch == old);
        var last = sink.Messages[^1];
        Assert.Equal(1, last.Offset);
        Assert.NotEqual(old, last.Epoch);
    }

    [Fact]
    public async Task A_position_past_the_end_of_an_existing_topic_is_refused()
    {
        await Publish("end", 1, 3);
        var error = await Assert.ThrowsAsync<SwitchboardException>(() => _hub.SubscribeAsync(["end"], SubscribeStart.AfterPosition(new Position(null, 9)), new RecordingSink()));
        Assert.Equal(ErrorCode.PositionOutOfRange, error.Code);
    }

    [Fact]
    public async Task Disposing_a_subscription_stops_delivery()
    {
        var sink = new RecordingSink();
        var subscription = await _hub.SubscribeAsync(["stop"], SubscribeStart.Now, sink);
        await Publish("stop", 1, 1);
        await sink.WaitForAsync(1);
        await subscription.DisposeAsync();
        await Publish("stop", 2, 5);
        Assert.Single(sink.Messages);
        Assert.Equal(0, _hub.SubscriptionCount);
    }

    [Fact]
    public async Task Presence_counts_subscribers_and_announces_joins_and_leaves()
    {
        await Publish("room", 1, 1); // joins are announced on topics that exist
        var subscriber = new Subscriber("c1", "alice", "ws-json", DateTimeOffset.UtcNow);
        var subscription = await _hub.SubscribeAsync(["room"], SubscribeStart.Now, new RecordingSink(), subscriber);
        await using (await _hub.SubscribeAsync(["*"], SubscribeStart.Now, new RecordingSink(), subscriber with { ConnectionId = "c2", Principal = "bob" }))
        {
            var presence = _hub.GetPresence("room", 10);
            Assert.Equal(2, presence.Count); // the wildcard subscriber counts too
            Assert.Equal(["alice", "bob"], presence.Subscribers.Select(s => s.Principal).Order(StringComparer.Ordinal));
            var counted = _hub.GetPresence("room", 0);
            Assert.Equal(2, counted.Count);
            Assert.Empty(counted.Subscribers);
        }
        await subscription.DisposeAsync();
        var events = await _hub.ReadAsync(Hub.PresencePrefix + "room", new Position(null, 0), 10, TimeSpan.FromSeconds(5));
        var kinds = events.Messages.Select(m => System.Text.Json.JsonDocument.Parse(m.Payload).RootElement.GetProperty("event").GetString()).ToList();
        Assert.Equal(["join", "leave"], kinds);
    }

    /// <summary>A sink that records what it gets; <see cref="Capacity"/> 0 refuses every live write.</summary>
    private sealed class RecordingSink : IMessageSink
    {
        public void Fail(SwitchboardException error) => throw new InvalidOperationException("The store failed a read.", error);

        private readonly ConcurrentQueue<Message> _messages = new();
        private readonly ConcurrentQueue<SubscriptionNotice> _notices = new();
        private readonly SemaphoreSlim _arrived = new(0);
        private int _live;

        public int? Capacity { get; init; }
        public int LiveWrites => _live;
        public IReadOnlyList<Message> Messages => [.. _messages];
        public IReadOnlyList<long> Offsets => [.. _messages.Select(m => m.Offset)];
        public IReadOnlyList<SubscriptionNotice> Notices => [.. _notices];

        public bool TryWrite(Message message)
        {
            if (Capacity == 0)
            {
                return false;
            }
            Interlocked.Increment(ref _live);
            Add(message);
            return true;
        }

        public ValueTask WriteAsync(Message message, CancellationToken cancellationToken)
        {
            Add(message);
            return ValueTask.CompletedTask;
        }

        public ValueTask WriteNoticeAsync(SubscriptionNotice notice, CancellationToken cancellationToken)
        {
            _notices.Enqueue(notice);
            return ValueTask.CompletedTask;
        }

        private void Add(Message message)
        {
            _messages.Enqueue(message);
            _arrived.Release();
        }

        public async Task WaitForAsync(int count)
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            while (_messages.Count < count)
            {
                await _arrived.WaitAsync(timeout.Token);
            }
        }
    }
}
