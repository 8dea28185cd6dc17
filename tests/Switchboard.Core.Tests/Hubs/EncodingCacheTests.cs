using Switchboard.Core.Delivery;
using Switchboard.Core.Tests.Support;
using static Switchboard.Core.Tests.Support.Drafts;

namespace Switchboard.Core.Tests.Hubs;

public sealed class EncodingCacheTests
{
    // One instance per format for the process, as MessageEncoding asks.
    private static readonly CountingEncoding Counting = new();

    [Fact]
    public async Task The_memory_engine_keeps_a_message_s_encodings_while_it_is_recent_and_forgets_them_once_it_is_history()
    {
        await using var hub = await TestHubs.StartAsync();
        // The memory engine keeps the encodings of a topic's newest 1,024 messages.
        var epoch = (await hub.PublishAsync("t", Batch(1000))).Epoch;
        await hub.PublishAsync("t", Batch(100));
        var messages = new List<Message>();
        for (var after = 0L; messages.Count < 1100; after = messages[^1].Offset)
        {
            messages.AddRange((await hub.ReadAsync("t", new Position(epoch, after), 1000, TimeSpan.Zero)).Messages);
        }

        // The newest message: encoded once, then the same bytes for every caller (as fan-out hands them out).
        var newest = messages[^1];
        var before = Counting.Calls;
        var first = newest.EncodedAs(Counting);
        var second = newest.EncodedAs(Counting);
        Assert.Equal(before + 1, Counting.Calls);
        Assert.True(first.Span == second.Span, "a recent message's callers share one encoding");

        // The last still kept (1,024th from the newest) shares its encoding; the one before it no longer does.
        var lastKept = messages[1100 - 1024];
        before = Counting.Calls;
        Assert.True(lastKept.EncodedAs(Counting).Span == lastKept.EncodedAs(Counting).Span);
        Assert.Equal(before + 1, Counting.Calls);

        // Further back than the window: each caller encodes for itself, and the bytes are equal.
        var oldest = messages[1100 - 1024 - 1];
        before = Counting.Calls;
        var a = oldest.EncodedAs(Counting);
        var b = oldest.EncodedAs(Counting);
        Assert.Equal(before + 2, Counting.Calls);
        Assert.False(a.Span == b.Span, "history caches no encoding");
        Assert.True(a.Span.SequenceEqual(b.Span));
        Assert.Equal($"1:{oldest.Offset}", System.Text.Encoding.UTF8.GetString(a.Span));
    }

    [Fact]
    public async Task A_message_that_was_encoded_during_fan_out_forgets_that_encoding_once_enough_newer_ones_arrive()
    {
        await using var hub = await TestHubs.StartAsync();
        var epoch = (await hub.PublishAsync("t", Batch(1))).Epoch;
        var message = (await hub.ReadAsync("t", new Position(epoch, 0), 1, TimeSpan.Zero)).Messages[0];
        var cached = message.EncodedAs(Counting);
        Assert.True(cached.Span == message.EncodedAs(Counting).Span);

        await hub.PublishAsync("t", Batch(1000));
        await hub.PublishAsync("t", Batch(23));
        Assert.True(cached.Span == message.EncodedAs(Counting).Span, "still among the newest 1,024");
        await hub.PublishAsync("t", Batch(1));
        var before = Counting.Calls;
        var again = message.EncodedAs(Counting);
        Assert.Equal(before + 1, Counting.Calls);
        Assert.False(cached.Span == again.Span);
        Assert.True(cached.Span.SequenceEqual(again.Span));
    }

    [Fact]
    public async Task A_batch_larger_than_the_window_is_encoded_once_per_message_for_all_its_subscribers()
    {
        await using var hub = await TestHubs.StartAsync(new HubOptions { MaxBatchMessages = 3000 });
        var sinks = new[] { new EncodingSink(), new EncodingSink(), new EncodingSink() };
        var subscriptions = new List<IAsyncDisposable>();
        foreach (var sink in sinks)
        {
            subscriptions.Add(await hub.SubscribeAsync(["batch"], SubscribeStart.Now, sink));
        }
        try
        {
            var before = Counting.Calls;
            await hub.PublishAsync("batch", Batch(3000));
            Assert.All(sinks, sink => Assert.Equal(3000, sink.Count));
            Assert.Equal(before + 3000, Counting.Calls); // once per message, not once per message and subscriber
        }
        finally
        {
            foreach (var subscription in subscriptions)
            {
                await subscription.DisposeAsync();
            }
        }
    }

    // Encodes as it accepts, as a transport's sink does (the memory engine fans out inside the append).
    private sealed class EncodingSink : IMessageSink
    {
        public void Fail(SwitchboardException error) => throw new InvalidOperationException("The store failed a read.", error);

        private int _count;

        public int Count => Volatile.Read(ref _count);

        public bool TryWrite(Message message)
        {
            message.EncodedAs(Counting);
            Interlocked.Increment(ref _count);
            return true;
        }

        public ValueTask WriteAsync(Message message, CancellationToken cancellationToken)
        {
            TryWrite(message);
            return ValueTask.CompletedTask;
        }

        public ValueTask WriteNoticeAsync(SubscriptionNotice notice, CancellationToken cancellationToken) => ValueTask.CompletedTask;
    }

    private sealed class CountingEncoding : MessageEncoding
    {
        private int _calls;

        public int Calls => Volatile.Read(ref _calls);

        protected override byte[] Encode(Message message)
        {
            Interlocked.Increment(ref _calls);
            return System.Text.Encoding.UTF8.GetBytes($"1:{message.Offset}");
        }
    }
}
