using System.Collections.Concurrent;
using System.Text;
using Switchboard.Core;
using Switchboard.Core.Engines;
using Switchboard.Redis;

namespace Switchboard.Contract.Tests;

/// <summary>Several nodes (RedisStore instances, each with its own connection) sharing one Redis.</summary>
public sealed class RedisNodesTests(RedisFixture redis) : IClassFixture<RedisFixture>, IAsyncLifetime
{
    private static readonly DateTimeOffset T0 = DateTimeOffset.UtcNow.AddHours(1);
    private readonly string _prefix = RedisFixture.NewPrefix();
    private readonly Announcements _heardByA = new();
    private readonly Announcements _heardByB = new();
    private RedisStore _a = null!;
    private RedisStore _b = null!;

    public async Task InitializeAsync()
    {
        _a = await RedisFixture.OpenAsync(redis.Server, _prefix, _heardByA);
        _b = await RedisFixture.OpenAsync(redis.Server, _prefix, _heardByB);
    }

    public async Task DisposeAsync()
    {
        await _a.DisposeAsync();
        await _b.DisposeAsync();
    }

    private static AppendRequest Append(string topic, string text) => new(topic, [new MessageDraft { Payload = Encoding.UTF8.GetBytes($"\"{text}\"") }])
    {
        CreateTopic = new TopicConfig(RetentionPolicy.Unlimited),
        Timestamp = T0,
    };

    private static EnqueueRequest Send(string queue, string text) => new(queue, [new QueueDraft { Message = new MessageDraft { Payload = Encoding.UTF8.GetBytes($"\"{text}\"") } }])
    {
        Timestamp = T0,
        CreateQueue = new QueueConfig(TimeSpan.FromSeconds(30), 5, TimeSpan.Zero, TimeSpan.Zero),
    };

    [Fact]
    public async Task Two_nodes_appending_to_one_topic_at_once_get_distinct_consecutive_offsets_and_each_announces_its_own_in_order()
    {
        var appends = Enumerable.Range(0, 300)
            .Select(i => Task.Run(() => (i % 2 == 0 ? _a : _b).AppendAsync(Append("shared", $"m{i}"), default)))
            .ToList();
        var results = await Task.WhenAll(appends);

        Assert.Equal(Enumerable.Range(1, 300).Select(i => (long)i), results.Select(r => r.FirstOffset).Order());
        Assert.Single(results.Select(r => r.Epoch).Distinct());
        var read = await _b.ReadAsync("shared", 0, 1000, default);
        Assert.Equal(Enumerable.Range(1, 300).Select(i => (long)i), read.Messages.Select(m => m.Offset));
        Assert.Equal(300, read.Topic!.MessageCount);

        // Each node announces exactly its own commits, in offset order (the other node's leave gaps).
        var fromA = results.Where((_, i) => i % 2 == 0).Select(r => r.FirstOffset).Order().ToList();
        Assert.Equal(fromA, _heardByA.Offsets("shared"));
        Assert.Equal(results.Where((_, i) => i % 2 == 1).Select(r => r.FirstOffset).Order(), _heardByB.Offsets("shared"));
    }

    [Fact]
    public async Task A_binding_made_on_one_node_enqueues_each_message_once_whichever_node_publishes()
    {
        Assert.True(await _a.Queues.PutBindingAsync(new QueueBinding("orders.*", "audit"), T0, default));
        Assert.False(await _b.Queues.PutBindingAsync(new QueueBinding("orders.*", "audit"), T0, default));
        Assert.True(await _b.Queues.PutBindingAsync(new QueueBinding("orders.>", "audit"), T0, default)); // overlaps: still once per message
        var appends = Enumerable.Range(0, 100)
            .Select(i => Task.Run(() => (i % 2 == 0 ? _a : _b).AppendAsync(Append(i % 4 < 2 ? "orders.eu" : "orders.us", $"o{i}"), default)))
            .ToList();
        await Task.WhenAll(appends);
        await _a.AppendAsync(Append("invoices.eu", "not bound"), default);

        var leased = (await _b.Queues.LeaseAsync("audit", 1000, null, T0, default)).Messages;
        Assert.Equal(100, leased.Count);
        Assert.Equal(100, leased.Select(m => (m.Headers["sb-topic"], m.Headers["sb-offset"])).Distinct().Count());
        Assert.Equal(Enumerable.Range(1, 100).Select(i => (long)i), leased.Select(m => m.Id)); // ids in order, no gap
        Assert.Equal(50, leased.Count(m => m.Headers["sb-topic"] == "orders.eu"));
        Assert.Contains("audit", _heardByA.Enqueued);
        Assert.Contains("audit", _heardByB.Enqueued);
    }

    [Fact]
    public async Task A_lease_taken_through_one_node_is_acked_nacked_and_extended_through_the_other()
    {
        await _a.Queues.EnqueueAsync(Send("jobs", "one"), default);
        await _a.Queues.EnqueueAsync(Send("jobs", "two"), default);
        var leased = (await _a.Queues.LeaseAsync("jobs", 2, null, T0, default)).Messages;
        Assert.Equal(2, leased.Count);

        Assert.Equal(T0.AddMinutes(2), await _b.Queues.ExtendAsync("jobs", leased[0].Id, leased[0].Lease!, TimeSpan.FromMinutes(2), T0, default), TimeSpan.FromMilliseconds(1));
        await _b.Queues.AckAsync("jobs", leased[0].Id, leased[0].Lease!, T0.AddMinutes(1), default);
        var again = await Assert.ThrowsAsync<SwitchboardException>(() => _a.Queues.AckAsync("jobs", leased[0].Id, leased[0].Lease!, T0.AddMinutes(1), default));
        Assert.Equal(ErrorCode.LeaseMismatch, again.Code);

        var nack = await _b.Queues.NackAsync("jobs", leased[1].Id, leased[1].Lease!, TimeSpan.Zero, "retry me", T0, default);
        Assert.False(nack.DeadLettered);
        var redelivered = Assert.Single((await _a.Queues.LeaseAsync("jobs", 5, null, T0, default)).Messages);
        Assert.Equal(("two", 2, "retry me"), (Encoding.UTF8.GetString(redelivered.Payload.Span).Trim('"'), redelivered.Attempts, redelivered.LastError));
        var stale = await Assert.ThrowsAsync<SwitchboardException>(() => _b.Queues.AckAsync("jobs", leased[1].Id, leased[1].Lease!, T0, default));
        Assert.Equal(ErrorCode.LeaseMismatch, stale.Code);
        await _b.Queues.AckAsync("jobs", redelivered.Id, redelivered.Lease!, T0, default);
        Assert.Equal(new QueueStats(0, 0, 0, 0), (await _a.Queues.GetQueueAsync("jobs", T0, default))!.Stats);
    }

    [Fact]
    public async Task Competing_receives_on_two_nodes_lease_each_message_exactly_once()
    {
        for (var i = 0; i < 20; i++)
        {
            await (i % 2 == 0 ? _a : _b).Queues.EnqueueAsync(Send("work", $"w{i}") with { Messages = [.. Enumerable.Range(0, 10).Select(j => new QueueDraft { Message = new MessageDraft { Payload = Encoding.UTF8.GetBytes($"\"w{i}.{j}\"") } })] }, default);
        }
        var taken = new ConcurrentBag<long>();
        var receivers = Enumerable.Range(0, 8).Select(r => Task.Run(async () =>
        {
            var node = r % 2 == 0 ? _a : _b;
            while (true)
            {
                var got = (await node.Queues.LeaseAsync("work", 7, null, T0, default)).Messages;
                if (got.Count == 0)
                {
                    return;
                }
                foreach (var message in got)
                {
                    taken.Add(message.Id);
                }
            }
        }));
        await Task.WhenAll(receivers);

        Assert.Equal(Enumerable.Range(1, 200).Select(i => (long)i), taken.Order());
    }

    [Fact]
    public async Task A_request_sent_through_one_node_is_answered_through_the_other_and_the_answer_acks_it()
    {
        await _a.Queues.EnqueueAsync(Send("rpc", "ping") with { Reply = ("req-1", T0.AddSeconds(30)) }, default);
        var request = Assert.Single((await _b.Queues.LeaseAsync("rpc", 1, null, T0, default)).Messages);
        await _b.Queues.PostReplyAsync("req-1", new MessageDraft { Payload = "\"pong\""u8.ToArray() }, request.Lease, T0.AddSeconds(1), default);

        var slot = await _a.Queues.GetReplyAsync("req-1", default);
        Assert.Equal("\"pong\"", Encoding.UTF8.GetString(slot!.Reply!.Payload.Span));
        Assert.Contains("req-1", _heardByB.Replied);
        Assert.Equal(new QueueStats(0, 0, 0, 0), (await _a.Queues.GetQueueAsync("rpc", T0.AddHours(1), default))!.Stats);
    }

    [Fact]
    public async Task A_publish_retried_through_the_other_node_with_its_idempotency_key_replays_the_first_result()
    {
        var token = new IdempotencyToken("retry-1", "fp", T0.AddMinutes(2));
        var first = await _a.AppendAsync(Append("idem", "x") with { Idempotency = token }, default);
        var retried = await _b.AppendAsync(Append("idem", "x") with { Idempotency = token, Timestamp = T0.AddSeconds(5) }, default);
        Assert.True(retried.Replayed);
        Assert.Equal((first.Epoch, first.FirstOffset, first.Timestamp), (retried.Epoch, retried.FirstOffset, retried.Timestamp));
        Assert.Equal(1, (await _a.GetTopicAsync("idem", default))!.MessageCount);
        Assert.Empty(_heardByB.Offsets("idem"));

        var sent = await _b.Queues.EnqueueAsync(Send("idem-q", "y") with { Idempotency = token }, default);
        var resent = await _a.Queues.EnqueueAsync(Send("idem-q", "y") with { Idempotency = token, Timestamp = T0.AddSeconds(5) }, default);
        Assert.Equal((sent.FirstId, true), (resent.FirstId, resent.Replayed));
    }

    [Fact]
    public async Task Payloads_headers_and_keys_round_trip_byte_for_byte()
    {
        var payload = Enumerable.Range(0, 256).Select(i => (byte)i).Concat(new byte[] { 0xC3, 0x28, 0xFF, 0, 0 }).ToArray(); // NULs, invalid UTF-8
        var headers = new Dictionary<string, string> { ["emoji"] = "🚀 ünïcödé", ["empty"] = "", ["line"] = "a\r\nb\0c" };
        var draft = new MessageDraft { Payload = payload, Headers = headers, Key = "kéy\n", ContentType = "application/octet-stream" };
        await _a.AppendAsync(new AppendRequest("bin", [draft]) { CreateTopic = new TopicConfig(RetentionPolicy.Unlimited), Timestamp = T0 }, default);
        var read = Assert.Single((await _b.ReadAsync("bin", 0, 10, default)).Messages);
        Assert.Equal(payload, read.Payload.ToArray());
        Assert.Equal(headers, read.Headers);
        Assert.Equal(("kéy\n", "application/octet-stream", T0), (read.Key, read.ContentType, read.Timestamp));

        await _a.Queues.EnqueueAsync(new EnqueueRequest("binq", [new QueueDraft { Message = draft, ReplyTo = "r", CorrelationId = "c\0" }]) { Timestamp = T0, CreateQueue = QueueConfig.Default }, default);
        var leased = Assert.Single((await _b.Queues.LeaseAsync("binq", 1, null, T0, default)).Messages);
        Assert.Equal(payload, leased.Payload.ToArray());
        Assert.Equal((headers.Count, "kéy\n", "r", "c\0", T0), (leased.Headers.Count, leased.Key, leased.ReplyTo, leased.CorrelationId, leased.EnqueuedAt));
    }

    /// <summary>What one node announced.</summary>
    private sealed class Announcements : IStoreListener
    {
        private readonly ConcurrentQueue<AppendResult> _appended = new();

        public ConcurrentQueue<string> Enqueued { get; } = new();

        public ConcurrentQueue<string> Replied { get; } = new();

        public List<long> Offsets(string topic) => [.. _appended.Where(a => a.Topic == topic).Select(a => a.FirstOffset)];

        public void OnAppended(AppendResult result) => _appended.Enqueue(result);

        public void OnTopicDeleted(string topic, string epoch)
        {
        }

        public void OnEnqueued(string queue) => Enqueued.Enqueue(queue);

        public void OnReplied(string replyId) => Replied.Enqueue(replyId);
    }
}
