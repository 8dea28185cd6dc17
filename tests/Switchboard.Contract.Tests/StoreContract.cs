using System.Collections.Concurrent;
using System.Text;
using Switchboard.Core;
using Switchboard.Core.Engines;

namespace Switchboard.Contract.Tests;

/// <summary>
/// What every engine's store must do, asserted the same way for each (Memory, SQLite; Redis later). A new engine
/// subclasses this (and <see cref="DurableStoreContract"/> if it keeps data across a restart).
/// </summary>
public abstract partial class StoreContract : IAsyncLifetime
{
    private readonly List<IStore> _stores = [];
    // A little ahead of the wall clock: engines apply age limits with their own clock when a config changes.
    protected static readonly DateTimeOffset T0 = new(DateTimeOffset.UtcNow.AddHours(1).UtcTicks / TimeSpan.TicksPerSecond * TimeSpan.TicksPerSecond, TimeSpan.Zero);
    protected static readonly TopicConfig Defaults = new(RetentionPolicy.Unlimited);

    /// <summary>A new, empty, opened store.</summary>
    protected abstract Task<IStore> CreateAsync();

    protected RecordingListener Listener { get; } = new();
    protected IStore Store { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        Store = await Track(CreateAsync());
    }

    protected async Task<IStore> Track(Task<IStore> opening)
    {
        var store = await opening;
        _stores.Add(store);
        return store;
    }

    public virtual async Task DisposeAsync()
    {
        foreach (var store in _stores)
        {
            await store.DisposeAsync();
        }
    }

    protected static MessageDraft Draft(string text, string? key = null, IReadOnlyDictionary<string, string>? headers = null) => new()
    {
        Payload = Encoding.UTF8.GetBytes($"\"{text}\""),
        Key = key,
        Headers = headers ?? new Dictionary<string, string>(),
    };

    protected static AppendRequest Append(string topic, params MessageDraft[] drafts) => new(topic, drafts) { CreateTopic = Defaults, Timestamp = T0 };

    protected static string Text(Message message) => Encoding.UTF8.GetString(message.Payload.Span).Trim('"');

    [Fact]
    public async Task Appends_get_consecutive_offsets_from_1_and_read_back_whole()
    {
        var first = await Store.AppendAsync(Append("t", Draft("a", "k1", new Dictionary<string, string> { ["h"] = "v" })), default);
        var second = await Store.AppendAsync(Append("t", Draft("b"), Draft("c")), default);
        Assert.Equal((1, 1), (first.FirstOffset, first.Count));
        Assert.Equal((2, 3), (second.FirstOffset, second.LastOffset));
        Assert.True(first.CreatedTopic);
        Assert.False(second.CreatedTopic);
        Assert.Equal(first.Epoch, second.Epoch);

        var read = await Store.ReadAsync("t", 0, 10, default);
        Assert.Equal(["a", "b", "c"], read.Messages.Select(Text));
        Assert.Equal([1L, 2L, 3L], read.Messages.Select(m => m.Offset));
        var one = read.Messages[0];
        Assert.Equal("k1", one.Key);
        Assert.Equal("v", one.Headers["h"]);
        Assert.Equal(T0, one.Timestamp);
        Assert.Equal("application/json", one.ContentType);
        Assert.Equal(first.Epoch, one.Epoch);
        Assert.Equal(3, read.Topic!.LastOffset);
        Assert.Equal(3, read.Topic.MessageCount);
    }

    [Fact]
    public async Task Reads_start_after_the_offset_and_respect_the_limit()
    {
        await Store.AppendAsync(Append("t", Draft("1"), Draft("2"), Draft("3"), Draft("4"), Draft("5")), default);
        Assert.Equal([3L, 4L], (await Store.ReadAsync("t", 2, 2, default)).Messages.Select(m => m.Offset));
        Assert.Empty((await Store.ReadAsync("t", 5, 10, default)).Messages);
        Assert.Null((await Store.ReadAsync("missing", 0, 10, default)).Topic);
    }

    [Fact]
    public async Task Long_histories_read_back_whole_from_any_position()
    {
        // More than any in-memory tail an engine keeps: old reads come from storage, recent ones may not.
        for (var i = 0; i < 12; i++)
        {
            await Store.AppendAsync(Append("long", [.. Enumerable.Range(i * 50, 50).Select(n => Draft($"m{n}"))]), default);
        }
        foreach (var after in new long[] { 0, 1, 299, 343, 344, 345, 590, 599 })
        {
            var read = await Store.ReadAsync("long", after, 1000, default);
            Assert.Equal(Enumerable.Range((int)after + 1, 600 - (int)after).Select(n => (long)n), read.Messages.Select(m => m.Offset));
            Assert.All(read.Messages, m => Assert.Equal($"m{m.Offset - 1}", Text(m)));
            Assert.Equal(600, read.Topic!.LastOffset);
        }
        Assert.Equal([101L, 102L, 103L], (await Store.ReadAsync("long", 100, 3, default)).Messages.Select(m => m.Offset));
        Assert.Equal([599L, 600L], (await Store.ReadAsync("long", 598, 3, default)).Messages.Select(m => m.Offset));
    }

    [Fact]
    public async Task A_missing_topic_is_an_error_when_creation_is_not_allowed()
    {
        var request = new AppendRequest("nope", [Draft("x")]) { Timestamp = T0 };
        await Assert.ThrowsAsync<TopicNotFoundException>(() => Store.AppendAsync(request, default));
        Assert.Null(await Store.GetTopicAsync("nope", default));
    }

    [Fact]
    public async Task The_listener_hears_every_commit_in_order_before_the_append_completes()
    {
        var results = new List<AppendResult>();
        for (var i = 0; i < 5; i++)
        {
            var result = await Store.AppendAsync(Append("ordered", Draft($"m{i}")), default);
            Assert.Contains(Listener.Appended, a => a.FirstOffset == result.FirstOffset && a.Topic == "ordered");
            results.Add(result);
        }
        Assert.Equal([1L, 2L, 3L, 4L, 5L], Listener.Appended.Where(a => a.Topic == "ordered").Select(a => a.FirstOffset));
        Assert.All(Listener.Appended, a => Assert.Equal(a.Count, a.Messages.Count));
    }

    [Fact]
    public async Task Concurrent_appends_to_one_topic_get_unique_consecutive_offsets_and_the_listener_hears_them_in_order()
    {
        var tasks = Enumerable.Range(0, 400).Select(i => Task.Run(() => Store.AppendAsync(Append("busy", Draft($"m{i}")), default))).ToList();
        var offsets = (await Task.WhenAll(tasks)).Select(r => r.FirstOffset).Order().ToList();
        Assert.Equal(Enumerable.Range(1, 400).Select(i => (long)i), offsets);
        Assert.Equal(Enumerable.Range(1, 400).Select(i => (long)i), Listener.Appended.Where(a => a.Topic == "busy").Select(a => a.FirstOffset));
        Assert.Equal(400, (await Store.GetTopicAsync("busy", default))!.MessageCount);
    }

    [Fact]
    public async Task An_idempotency_key_replays_the_first_result_and_stores_nothing_new()
    {
        var token = new IdempotencyToken("key-1", "fp-1", T0.AddMinutes(2));
        var first = await Store.AppendAsync(Append("idem", Draft("a"), Draft("b")) with { Idempotency = token }, default);
        var again = await Store.AppendAsync(Append("idem", Draft("a"), Draft("b")) with { Idempotency = token, Timestamp = T0.AddSeconds(30) }, default);
        Assert.True(again.Replayed);
        Assert.Equal((first.FirstOffset, first.Count, first.Epoch, first.Timestamp), (again.FirstOffset, again.Count, again.Epoch, again.Timestamp));
        Assert.Empty(again.Messages);
        Assert.Equal(2, (await Store.GetTopicAsync("idem", default))!.MessageCount);
        Assert.Single(Listener.Appended, a => a.Topic == "idem");

        var reused = await Assert.ThrowsAsync<SwitchboardException>(() => Store.AppendAsync(Append("idem", Draft("other")) with { Idempotency = token with { Fingerprint = "fp-2" } }, default));
        Assert.Equal(ErrorCode.IdempotencyKeyReused, reused.Code);
        Assert.Equal(2, (await Store.GetTopicAsync("idem", default))!.MessageCount);
    }

    [Fact]
    public async Task An_idempotency_key_is_forgotten_after_its_window()
    {
        var token = new IdempotencyToken("key-2", "fp", T0.AddMinutes(2));
        await Store.AppendAsync(Append("idem2", Draft("a")) with { Idempotency = token }, default);
        // Past the window the key no longer matches, swept or not.
        var late = await Store.AppendAsync(Append("idem2", Draft("a")) with { Idempotency = token with { ExpiresAt = T0.AddMinutes(5) }, Timestamp = T0.AddMinutes(3) }, default);
        Assert.False(late.Replayed);
        Assert.Equal(2, late.FirstOffset);
        await Store.SweepAsync(T0.AddMinutes(10), default);
        var afterSweep = await Store.AppendAsync(Append("idem2", Draft("a")) with { Idempotency = token with { ExpiresAt = T0.AddMinutes(15) }, Timestamp = T0.AddMinutes(10) }, default);
        Assert.False(afterSweep.Replayed);
    }

    [Fact]
    public async Task Topics_are_listed_in_name_order_with_prefix_and_paging()
    {
        foreach (var name in new[] { "b.2", "a.1", "b.1", "c", "b.10" })
        {
            await Store.AppendAsync(Append(name, Draft("x")), default);
        }
        var all = await Store.ListTopicsAsync(null, null, 10, default);
        Assert.Equal(["a.1", "b.1", "b.10", "b.2", "c"], all.Topics.Select(t => t.Name));
        Assert.Null(all.NextAfterName);

        var page1 = await Store.ListTopicsAsync("b.", null, 2, default);
        Assert.Equal(["b.1", "b.10"], page1.Topics.Select(t => t.Name));
        Assert.Equal("b.10", page1.NextAfterName);
        var page2 = await Store.ListTopicsAsync("b.", page1.NextAfterName, 2, default);
        Assert.Equal(["b.2"], page2.Topics.Select(t => t.Name));
        Assert.Null(page2.NextAfterName);
    }

    [Fact]
    public async Task Put_creates_then_replaces_and_honours_the_expected_version()
    {
        var created = await Store.PutTopicAsync("cfg", Defaults, expectedConfigVersion: 0, default);
        Assert.True(created.Created);
        Assert.Equal(0, created.Topic.LastOffset);
        Assert.Equal(1, created.Topic.FirstOffset);

        var again = await Assert.ThrowsAsync<SwitchboardException>(() => Store.PutTopicAsync("cfg", Defaults, 0, default));
        Assert.Equal(ErrorCode.PreconditionFailed, again.Code);

        var replaced = await Store.PutTopicAsync("cfg", Defaults with { Description = "d" }, created.Topic.ConfigVersion, default);
        Assert.False(replaced.Created);
        Assert.Equal("d", replaced.Topic.Config.Description);
        Assert.Equal(created.Topic.Epoch, replaced.Topic.Epoch);
        Assert.True(replaced.Topic.ConfigVersion > created.Topic.ConfigVersion);

        var stale = await Assert.ThrowsAsync<SwitchboardException>(() => Store.PutTopicAsync("cfg", Defaults, created.Topic.ConfigVersion, default));
        Assert.Equal(ErrorCode.PreconditionFailed, stale.Code);
        var missing = await Assert.ThrowsAsync<SwitchboardException>(() => Store.PutTopicAsync("absent", Defaults, 3, default));
        Assert.Equal(ErrorCode.PreconditionFailed, missing.Code);
    }

    [Fact]
    public async Task Retention_by_count_and_bytes_drops_the_oldest_on_append()
    {
        await Store.PutTopicAsync("count", new TopicConfig(new RetentionPolicy(3, null, null)), null, default);
        for (var i = 1; i <= 5; i++)
        {
            await Store.AppendAsync(Append("count", Draft($"m{i}")), default);
        }
        var read = await Store.ReadAsync("count", 0, 10, default);
        Assert.Equal([3L, 4L, 5L], read.Messages.Select(m => m.Offset));
        Assert.Equal((3, 5, 3), (read.Topic!.FirstOffset, read.Topic.LastOffset, read.Topic.MessageCount));

        // Each message is 12 bytes ("\"aaaaaaaaaa\""); 30 bytes keep two of them.
        await Store.PutTopicAsync("bytes", new TopicConfig(new RetentionPolicy(null, null, 30)), null, default);
        for (var i = 0; i < 4; i++)
        {
            await Store.AppendAsync(Append("bytes", Draft("aaaaaaaaaa")), default);
        }
        var bytes = await Store.GetTopicAsync("bytes", default);
        Assert.Equal((3, 4, 2, 24), (bytes!.FirstOffset, bytes.LastOffset, bytes.MessageCount, bytes.Bytes));
    }

    [Fact]
    public async Task Tightening_retention_applies_at_once_and_age_applies_on_sweep()
    {
        for (var i = 0; i < 5; i++)
        {
            await Store.AppendAsync(Append("tight", Draft($"m{i}")) with { Timestamp = T0.AddMinutes(i) }, default);
        }
        await Store.PutTopicAsync("tight", new TopicConfig(new RetentionPolicy(4, null, null)), null, default);
        Assert.Equal(2, (await Store.GetTopicAsync("tight", default))!.FirstOffset);

        await Store.PutTopicAsync("tight", new TopicConfig(new RetentionPolicy(null, TimeSpan.FromMinutes(10), null)), null, default);
        Assert.Equal(0, await Store.SweepAsync(T0.AddMinutes(5), default));
        var dropped = await Store.SweepAsync(T0.AddMinutes(12.5), default); // older than 12.5 - 10 = 2.5 min: offsets 2 and 3
        Assert.Equal(2, dropped);
        var info = await Store.GetTopicAsync("tight", default);
        Assert.Equal((4, 5, 2), (info!.FirstOffset, info.LastOffset, info.MessageCount));
        await Store.SweepAsync(T0.AddDays(1), default);
        info = await Store.GetTopicAsync("tight", default);
        Assert.Equal((6, 5, 0, 0L), (info!.FirstOffset, info.LastOffset, info.MessageCount, info.Bytes));
        // Offsets continue after everything was dropped.
        Assert.Equal(6, (await Store.AppendAsync(Append("tight", Draft("next")) with { Timestamp = T0.AddDays(1) }, default)).FirstOffset);
    }

    [Fact]
    public async Task Delete_removes_everything_and_a_recreated_topic_is_a_new_incarnation()
    {
        var first = await Store.AppendAsync(Append("gone", Draft("a")) with { Idempotency = new IdempotencyToken("k", "f", T0.AddMinutes(2)) }, default);
        var deleted = await Store.DeleteTopicAsync("gone", null, default);
        Assert.NotNull(deleted);
        Assert.Equal(first.Epoch, deleted.Epoch);
        Assert.Contains(Listener.Deleted, d => d == ("gone", first.Epoch));
        Assert.Null(await Store.DeleteTopicAsync("gone", null, default));
        Assert.Null(await Store.GetTopicAsync("gone", default));

        var reborn = await Store.AppendAsync(Append("gone", Draft("b")) with { Idempotency = new IdempotencyToken("k", "f", T0.AddMinutes(2)) }, default);
        Assert.False(reborn.Replayed); // the key went with the old incarnation
        Assert.Equal(1, reborn.FirstOffset);
        Assert.NotEqual(first.Epoch, reborn.Epoch);
        Assert.Equal(["b"], (await Store.ReadAsync("gone", 0, 10, default)).Messages.Select(Text));
    }

    [Fact]
    public async Task Delete_with_an_expected_version_deletes_only_while_the_configuration_is_that_version()
    {
        var created = await Store.PutTopicAsync("held", Defaults, null, default);
        await Store.AppendAsync(Append("held", Draft("a")), default); // a publish does not change the configuration version
        var replaced = await Store.PutTopicAsync("held", Defaults with { Description = "d" }, null, default);

        var stale = await Assert.ThrowsAsync<SwitchboardException>(() => Store.DeleteTopicAsync("held", created.Topic.ConfigVersion, default));
        Assert.Equal(ErrorCode.PreconditionFailed, stale.Code);
        var kept = await Store.GetTopicAsync("held", default);
        Assert.Equal((replaced.Topic.ConfigVersion, 1L), (kept!.ConfigVersion, kept.MessageCount));
        Assert.DoesNotContain(Listener.Deleted, d => d.Item1 == "held");

        var deleted = await Store.DeleteTopicAsync("held", replaced.Topic.ConfigVersion, default);
        Assert.Equal(created.Topic.Epoch, deleted!.Epoch);
        Assert.Null(await Store.GetTopicAsync("held", default));
        Assert.Null(await Store.DeleteTopicAsync("held", replaced.Topic.ConfigVersion, default)); // nothing to delete: null, as without a version
    }

    [Fact]
    public async Task Payloads_are_copied_before_append_returns()
    {
        var buffer = Encoding.UTF8.GetBytes("\"original\"");
        var pending = Store.AppendAsync(Append("copy", new MessageDraft { Payload = buffer }), default);
        Array.Fill(buffer, (byte)'x'); // the caller reuses its buffer at once
        await pending;
        Assert.Equal("original", Text((await Store.ReadAsync("copy", 0, 1, default)).Messages[0]));
    }

    /// <summary>Records what the store announced.</summary>
    protected sealed class RecordingListener : IStoreListener
    {
        private readonly ConcurrentQueue<AppendResult> _appended = new();
        private readonly ConcurrentQueue<(string, string)> _deleted = new();

        public IReadOnlyList<AppendResult> Appended => [.. _appended];
        public IReadOnlyList<(string Topic, string Epoch)> Deleted => [.. _deleted];

        public void OnAppended(AppendResult result) => _appended.Enqueue(result);

        public void OnTopicDeleted(string topic, string epoch) => _deleted.Enqueue((topic, epoch));

        /// <summary>Each queue announced as having messages to hand out, in order.</summary>
        public System.Threading.Channels.Channel<string> Enqueued { get; } = System.Threading.Channels.Channel.CreateUnbounded<string>();

        public void OnEnqueued(string queue) => Enqueued.Writer.TryWrite(queue);

        private readonly ConcurrentQueue<(string, long, long)> _deadDropped = new();

        /// <summary>Each report of dead letters dropped past maxDeadLetters, in order.</summary>
        public IReadOnlyList<(string Queue, long Dropped, long Total)> DeadDropped => [.. _deadDropped];

        public void OnDeadLettersDropped(string queue, long dropped, long total) => _deadDropped.Enqueue((queue, dropped, total));
    }
}

/// <summary>The contract of engines that keep their data across a restart.</summary>
public abstract partial class DurableStoreContract : StoreContract
{
    /// <summary>Closes <paramref name="store"/> and opens the same data again.</summary>
    protected abstract Task<IStore> ReopenAsync(IStore store);

    [Fact]
    public async Task Everything_committed_is_there_after_a_restart()
    {
        await Store.PutTopicAsync("kept", new TopicConfig(new RetentionPolicy(100, TimeSpan.FromDays(1), null), "desc"), null, default);
        var appended = await Store.AppendAsync(Append("kept", Draft("a", "k"), Draft("b")) with { Idempotency = new IdempotencyToken("key", "fp", T0.AddMinutes(2)) }, default);
        var reopened = await Track(ReopenAsync(Store));

        var info = await reopened.GetTopicAsync("kept", default);
        Assert.Equal((appended.Epoch, 2L, 2L, "desc", 100L), (info!.Epoch, info.LastOffset, info.MessageCount, info.Config.Description, info.Config.Retention.MaxMessages!.Value));
        Assert.Equal(["a", "b"], (await reopened.ReadAsync("kept", 0, 10, default)).Messages.Select(Text));
        var replay = await reopened.AppendAsync(Append("kept", Draft("a", "k"), Draft("b")) with { Idempotency = new IdempotencyToken("key", "fp", T0.AddMinutes(2)), Timestamp = T0.AddSeconds(1) }, default);
        Assert.True(replay.Replayed);
        Assert.Equal(3, (await reopened.AppendAsync(Append("kept", Draft("c")), default)).FirstOffset);
    }
}
