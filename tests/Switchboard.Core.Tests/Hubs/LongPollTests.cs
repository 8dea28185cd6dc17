using System.Diagnostics;
using Switchboard.Core.Tests.Support;
using static Switchboard.Core.Tests.Support.Drafts;

namespace Switchboard.Core.Tests.Hubs;

/// <summary>
/// Long polls wait 30 s (far longer than any test should take) inside a bounded overall timeout, so a test that
/// passes shows the poll was answered by an event, not by its wait running out.
/// </summary>
public sealed class LongPollTests
{
    private static readonly TimeSpan LongWait = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task A_long_poll_answers_at_once_when_messages_are_already_there()
    {
        await using var hub = await TestHubs.StartAsync();
        await hub.PublishAsync("t", Batch(3));
        var clock = Stopwatch.StartNew();
        var page = await hub.ReadAsync("t", new Position(null, 1), 10, LongWait).WaitAsync(Bounds.Expected);
        Assert.Equal([2L, 3], page.Messages.Select(m => m.Offset));
        Assert.True(clock.Elapsed < LongWait / 2, $"took {clock.Elapsed}");
    }

    [Fact]
    public async Task A_long_poll_is_answered_by_the_next_publish()
    {
        await using var hub = await TestHubs.StartAsync();
        var epoch = (await hub.PublishAsync("t", Batch(2))).Epoch;
        var clock = Stopwatch.StartNew();
        var poll = hub.ReadAsync("t", new Position(epoch, 2), 10, LongWait);
        // The memory engine answers reads synchronously, so the poll is registered and waiting by now.
        Assert.False(poll.IsCompleted);

        await hub.PublishAsync("t", Batch(2, firstValue: 3));
        var page = await poll.WaitAsync(Bounds.Expected);
        Assert.Equal([3L, 4], page.Messages.Select(m => m.Offset));
        Assert.Equal(new Position(epoch, 4), page.Next);
        Assert.True(clock.Elapsed < LongWait / 2, $"took {clock.Elapsed}");
    }

    [Fact]
    public async Task Many_long_polls_are_all_answered_by_one_publish()
    {
        await using var hub = await TestHubs.StartAsync();
        await hub.PublishAsync("t", [Json(1)]);
        var polls = Enumerable.Range(0, 50).Select(_ => hub.ReadAsync("t", new Position(null, 1), 10, LongWait)).ToList();
        Assert.All(polls, p => Assert.False(p.IsCompleted));
        await hub.PublishAsync("t", [Json(2)]);
        var pages = await Task.WhenAll(polls).WaitAsync(Bounds.Expected);
        Assert.All(pages, p => Assert.Equal([2L], p.Messages.Select(m => m.Offset)));
    }

    [Fact]
    public async Task A_publish_to_another_topic_does_not_answer_a_long_poll()
    {
        await using var hub = await TestHubs.StartAsync();
        await hub.PublishAsync("t", [Json(1)]);
        var poll = hub.ReadAsync("t", new Position(null, 1), 10, TimeSpan.FromMilliseconds(300));
        await hub.PublishAsync("other", [Json(1)]);
        var page = await poll.WaitAsync(Bounds.Expected);
        Assert.Empty(page.Messages);
    }

    [Fact]
    public async Task A_long_poll_with_nothing_new_answers_an_empty_page_when_its_wait_ends()
    {
        await using var hub = await TestHubs.StartAsync();
        var epoch = (await hub.PublishAsync("t", Batch(2))).Epoch;
        var clock = Stopwatch.StartNew();
        var page = await hub.ReadAsync("t", new Position(null, 2), 10, TimeSpan.FromMilliseconds(250)).WaitAsync(Bounds.Expected);
        Assert.Empty(page.Messages);
        Assert.Equal(new Position(epoch, 2), page.Next);
        Assert.True(clock.Elapsed >= TimeSpan.FromMilliseconds(200), $"answered after {clock.Elapsed}, before its wait ended");
    }

    [Fact]
    public async Task Draining_answers_waiting_long_polls_at_once_and_new_ones_do_not_wait()
    {
        await using var hub = await TestHubs.StartAsync();
        await hub.PublishAsync("t", [Json(1)]);
        var poll = hub.ReadAsync("t", new Position(null, 1), 10, LongWait);
        Assert.False(poll.IsCompleted);
        Assert.False(hub.Stopping.IsCancellationRequested);

        hub.BeginDrain();
        Assert.Equal(HubState.Draining, hub.State);
        Assert.True(hub.Stopping.IsCancellationRequested);
        Assert.Empty((await poll.WaitAsync(Bounds.Expected)).Messages);

        var late = hub.ReadAsync("t", new Position(null, 1), 10, LongWait);
        Assert.Empty((await late.WaitAsync(Bounds.Expected)).Messages);

        // Requests still work while draining.
        Assert.Equal(2, (await hub.PublishAsync("t", [Json(2)])).FirstOffset);
    }

    [Fact]
    public async Task Deleting_the_topic_answers_its_long_polls_with_TopicNotFound()
    {
        await using var hub = await TestHubs.StartAsync();
        await hub.PublishAsync("t", [Json(1)]);
        var poll = hub.ReadAsync("t", new Position(null, 1), 10, LongWait);
        Assert.False(poll.IsCompleted);
        await hub.DeleteTopicAsync("t");
        await Assert.ThrowsAsync<TopicNotFoundException>(() => poll.WaitAsync(Bounds.Expected));
    }

    [Fact]
    public async Task Cancelling_a_long_poll_ends_it_with_OperationCanceled()
    {
        await using var hub = await TestHubs.StartAsync();
        await hub.PublishAsync("t", [Json(1)]);
        using var cts = new CancellationTokenSource();
        var poll = hub.ReadAsync("t", new Position(null, 1), 10, LongWait, cts.Token);
        Assert.False(poll.IsCompleted);
        await cts.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => poll.WaitAsync(Bounds.Expected));

        // The cancelled waiter is gone: the next publish still answers a new poll.
        var next = hub.ReadAsync("t", new Position(null, 1), 10, LongWait);
        await hub.PublishAsync("t", [Json(2)]);
        Assert.Equal([2L], (await next.WaitAsync(Bounds.Expected)).Messages.Select(m => m.Offset));
    }
}
