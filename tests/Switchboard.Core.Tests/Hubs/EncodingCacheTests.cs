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
        var epoch = (await hub.PublishAsync("t", Batch(300))).Epoch;
        var messages = (await hub.ReadAsync("t", new Position(epoch, 0), 300, TimeSpan.Zero)).Messages;
        Assert.Equal(300, messages.Count);

        // The newest message: encoded once, then the same bytes for every caller (as fan-out hands them out).
        var newest = messages[^1];
        var before = Counting.Calls;
        var first = newest.EncodedAs(Counting);
        var second = newest.EncodedAs(Counting);
        Assert.Equal(before + 1, Counting.Calls);
        Assert.True(first.Span == second.Span, "a recent message's callers share one encoding");

        // The oldest is more than the window behind the newest: each caller encodes for itself, and the bytes are equal.
        var oldest = messages[0];
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

        await hub.PublishAsync("t", Batch(300));
        var before = Counting.Calls;
        var again = message.EncodedAs(Counting);
        Assert.Equal(before + 1, Counting.Calls);
        Assert.False(cached.Span == again.Span);
        Assert.True(cached.Span.SequenceEqual(again.Span));
    }

    [Fact]
    public async Task A_batch_larger_than_the_window_is_encoded_once_per_message_for_all_its_subscribers()
    {
        await using var hub = await TestHubs.StartAsync();
        var sinks = new[] { new EncodingSink(), new EncodingSink(), new EncodingSink() };
        var subscriptions = new List<IAsyncDisposable>();
        foreach (var sink in sinks)
        {
            subscriptions.Add(await hub.SubscribeAsync(["batch"], SubscribeStart.Now, sink));
        }
        try
        {
            var before = Counting.Calls;
            await hub.PublishAsync("batch", Batch(600));
            Assert.All(sinks, sink => Assert.Equal(600, sink.Count));
            Assert.Equal(before + 600, Counting.Calls); // once per message, not once per message and subscriber
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
