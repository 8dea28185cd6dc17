using System.Text;
using Microsoft.Extensions.Logging.Abstractions;
using Switchboard.Core;
using Switchboard.Core.Engines;
using Switchboard.Core.Engines.Memory;

namespace Switchboard.Core.Tests.Hubs;

/// <summary>
/// A backplane that lost events (its connection to the other nodes was down) says so with a resync: subscriptions read
/// back what they missed and waits look again — without waiting for the topic's next message to reveal the gap.
/// </summary>
public sealed class BackplaneResyncTests
{
    /// <summary>The local backplane with a switch that loses events, as a Redis connection does while it is down.</summary>
    private sealed class LossyBackplane : IBackplane
    {
        private readonly LocalBackplane _inner = new();
        private IBackplaneReceiver? _receiver;

        public bool Losing { get; set; }

        public Task StartAsync(IBackplaneReceiver receiver, CancellationToken cancellationToken)
        {
            _receiver = receiver;
            return _inner.StartAsync(receiver, cancellationToken);
        }

        public void Publish(BackplaneEvent backplaneEvent)
        {
            if (!Losing)
            {
                _inner.Publish(backplaneEvent);
            }
        }

        public void Reconnected() => _receiver!.OnEvent(new BackplaneResync());

        public Task ReportAsync(NodeReport report, CancellationToken cancellationToken) => _inner.ReportAsync(report, cancellationToken);
        public Task<IReadOnlyList<NodeReport>> ListNodesAsync(TimeSpan expiry, CancellationToken cancellationToken) => _inner.ListNodesAsync(expiry, cancellationToken);
        public void SetResponder(Func<NodeQuestion, CancellationToken, Task<byte[]>> responder) => _inner.SetResponder(responder);
        public Task<NodeAnswers> AskNodesAsync(NodeQuestion question, TimeSpan nodeExpiry, TimeSpan timeout, CancellationToken cancellationToken) => _inner.AskNodesAsync(question, nodeExpiry, timeout, cancellationToken);
        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }

    private sealed class Sink : Delivery.IMessageSink
    {
        public void Fail(SwitchboardException error) => Messages.Writer.TryComplete(error); // a reader sees it
        public System.Threading.Channels.Channel<Message> Messages { get; } = System.Threading.Channels.Channel.CreateUnbounded<Message>();
        public bool TryWrite(Message message) => Messages.Writer.TryWrite(message);
        public ValueTask WriteAsync(Message message, CancellationToken cancellationToken) => Messages.Writer.WriteAsync(message, cancellationToken);
        public ValueTask WriteNoticeAsync(Delivery.SubscriptionNotice notice, CancellationToken cancellationToken) => ValueTask.CompletedTask;
    }

    [Fact]
    public async Task Messages_whose_events_were_lost_reach_subscribers_and_long_polls_after_a_resync()
    {
        var backplane = new LossyBackplane();
        await using var hub = new Hub(new MemoryStore(), backplane, new HubOptions(), NullLoggerFactory.Instance);
        await hub.StartAsync(default);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var sink = new Sink();
        await using var subscription = await hub.SubscribeAsync(["lossy"], Delivery.SubscribeStart.AfterPosition(new Position(null, 0)), sink, timeout.Token);
        await Publish(hub, "1", timeout.Token);
        Assert.Equal(1, (await sink.Messages.Reader.ReadAsync(timeout.Token)).Offset);
        var poll = hub.ReadAsync("lossy", new Position(null, 1), 10, TimeSpan.FromSeconds(20), timeout.Token);

        // The connection to the other nodes is down: these commits' events never arrive.
        backplane.Losing = true;
        await Publish(hub, "2", timeout.Token);
        await Publish(hub, "3", timeout.Token);

        backplane.Losing = false;
        backplane.Reconnected();
        var caught = new[] { await sink.Messages.Reader.ReadAsync(timeout.Token), await sink.Messages.Reader.ReadAsync(timeout.Token) };
        Assert.Equal([(2L, "2"), (3L, "3")], caught.Select(m => (m.Offset, Encoding.UTF8.GetString(m.Payload.Span))));
        // Without the resync the poll would sleep its 20 s and answer empty.
        var page = await poll.WaitAsync(TimeSpan.FromSeconds(10), timeout.Token);
        Assert.Equal([2L, 3L], page.Messages.Select(m => m.Offset));

        // Live again afterwards, with nothing repeated.
        await Publish(hub, "4", timeout.Token);
        Assert.Equal(4, (await sink.Messages.Reader.ReadAsync(timeout.Token)).Offset);
        Assert.False(sink.Messages.Reader.TryPeek(out _));
    }

    [Fact]
    public async Task A_resync_while_a_topic_is_catching_up_repeats_nothing_that_arrives_live_meanwhile()
    {
        // The runner is reading topic history when the backplane reconnects: the resync queues the topic for another
        // visit. The first visit ends (the topic goes live), a message arrives live, and the second visit's read returns
        // it too. It must reach the subscriber once (a Redis node whose pub/sub kept dropping once sent an offset twice).
        var backplane = new LossyBackplane();
        var store = new Support.ObservedStore(new MemoryStore());
        await using var hub = new Hub(store, backplane, new HubOptions(), NullLoggerFactory.Instance);
        await hub.StartAsync(default);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await Publish(hub, "1", timeout.Token);
        var reads = 0;
        store.AfterRead = (topic, result) =>
        {
            if (topic == "lossy" && Interlocked.Increment(ref reads) == 1)
            {
                Assert.Equal([1L], result.Messages.Select(m => m.Offset));
                backplane.Reconnected(); // mid catch-up
            }
            return Task.CompletedTask;
        };
        store.BeforeRead = async (topic, after) =>
        {
            if (topic == "lossy" && Volatile.Read(ref reads) == 2)
            {
                // The first visit has read to the end; this is the visit the resync queued. A commit lands (and is
                // announced live) before its read.
                store.BeforeRead = null;
                Assert.Equal(1, after);
                await Publish(hub, "2", timeout.Token);
            }
        };
        var sink = new Support.RecordingSink();
        await using var subscription = await hub.SubscribeAsync(["lossy"], Delivery.SubscribeStart.AfterPosition(new Position(null, 0)), sink, timeout.Token);
        Assert.Equal(1, ((Message)await sink.NextAsync()).Offset);
        Assert.Equal(2, ((Message)await sink.NextAsync()).Offset);
        await subscription.CaughtUpAsync();
        Assert.True(Volatile.Read(ref reads) >= 3, $"the resync's visit read the store ({reads} reads)");

        await Publish(hub, "3", timeout.Token);
        Assert.Equal(3, ((Message)await sink.NextAsync()).Offset);
        Assert.False(sink.TryRead(out var extra), $"nothing repeated, got {extra}");
    }

    [Fact]
    public async Task A_long_poll_woken_by_a_resync_that_finds_nothing_waits_on_for_the_next_message()
    {
        // A link reconnecting wakes every long poll to read again; one that finds nothing new was not answered by it.
        var backplane = new LossyBackplane();
        var store = new Support.ObservedStore(new MemoryStore());
        await using var hub = new Hub(store, backplane, new HubOptions(), NullLoggerFactory.Instance);
        await hub.StartAsync(default);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await Publish(hub, "1", timeout.Token);
        var waiting = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var reread = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var reads = 0;
        store.AfterRead = (topic, result) =>
        {
            Assert.Empty(result.Messages);
            // The poll's first look, its look once registered (it waits after that), then the resync's look.
            switch (Interlocked.Increment(ref reads))
            {
                case 2:
                    waiting.TrySetResult();
                    break;
                case 3:
                    reread.TrySetResult();
                    break;
            }
            return Task.CompletedTask;
        };
        var poll = hub.ReadAsync("lossy", new Position(null, 1), 10, TimeSpan.FromSeconds(20), timeout.Token);
        await waiting.Task.WaitAsync(timeout.Token);

        backplane.Reconnected();
        await reread.Task.WaitAsync(timeout.Token);
        store.AfterRead = null;
        await Publish(hub, "2", timeout.Token); // without waiting on, the poll answered its resync look's empty page


        var page = await poll.WaitAsync(timeout.Token);
        Assert.Equal([2L], page.Messages.Select(m => m.Offset));
    }

    private static Task Publish(Hub hub, string text, CancellationToken cancellationToken) =>
        hub.PublishAsync("lossy", [new MessageDraft { Payload = Encoding.UTF8.GetBytes(text) }], cancellationToken: cancellationToken);
}
