using Switchboard.Core.Tests.Support;
using static Switchboard.Core.Tests.Support.Drafts;

namespace Switchboard.Core.Tests.Hubs;

public sealed class ReadTests
{
    [Fact]
    public async Task A_read_returns_up_to_limit_messages_after_the_position_and_where_to_continue()
    {
        await using var hub = await TestHubs.StartAsync();
        var epoch = (await hub.PublishAsync("t", Batch(10))).Epoch;

        var page = await hub.ReadAsync("t", new Position(null, 3), 4, TimeSpan.Zero);
        Assert.Equal([4L, 5, 6, 7], page.Messages.Select(m => m.Offset));
        Assert.Equal(new Position(epoch, 7), page.Next);
        Assert.Null(page.Missed);
        Assert.Equal(10, page.Topic.LastOffset);

        var rest = await hub.ReadAsync("t", page.Next, 100, TimeSpan.Zero);
        Assert.Equal([8L, 9, 10], rest.Messages.Select(m => m.Offset));
        Assert.Equal(new Position(epoch, 10), rest.Next);
    }

    [Fact]
    public async Task A_read_at_the_end_is_an_empty_page_that_stays_at_the_same_position()
    {
        await using var hub = await TestHubs.StartAsync();
        var epoch = (await hub.PublishAsync("t", Batch(3))).Epoch;
        var page = await hub.ReadAsync("t", new Position(epoch, 3), 10, TimeSpan.Zero);
        Assert.Empty(page.Messages);
        Assert.Equal(new Position(epoch, 3), page.Next);
        Assert.Null(page.Missed);
    }

    [Fact]
    public async Task A_read_of_an_empty_topic_from_zero_is_an_empty_page()
    {
        await using var hub = await TestHubs.StartAsync();
        var put = await hub.PutTopicAsync("t", new TopicConfig(RetentionPolicy.Unlimited));
        var page = await hub.ReadAsync("t", new Position(null, 0), 10, TimeSpan.Zero);
        Assert.Empty(page.Messages);
        Assert.Equal(new Position(put.Topic.Epoch, 0), page.Next);
        Assert.Null(page.Missed);
    }

    [Fact]
    public async Task Messages_removed_by_retention_are_reported_as_a_missed_range_not_skipped_silently()
    {
        await using var hub = await TestHubs.StartAsync();
        await hub.PutTopicAsync("t", new TopicConfig(new RetentionPolicy(3, null, null)));
        var epoch = (await hub.PublishAsync("t", Batch(8))).Epoch;

        var page = await hub.ReadAsync("t", new Position(epoch, 2), 2, TimeSpan.Zero);
        Assert.Equal((3L, 5L), page.Missed);
        Assert.Equal([6L, 7], page.Messages.Select(m => m.Offset));
        Assert.Equal(new Position(epoch, 7), page.Next);

        // From inside the retained range nothing is missed.
        Assert.Null((await hub.ReadAsync("t", new Position(epoch, 5), 10, TimeSpan.Zero)).Missed);
    }

    [Fact]
    public async Task When_retention_removed_everything_the_missed_range_ends_at_the_last_offset()
    {
        await using var hub = await TestHubs.StartAsync();
        await hub.PutTopicAsync("t", new TopicConfig(new RetentionPolicy(null, null, 4)));
        var epoch = (await hub.PublishAsync("t", [Text(3), Text(3), Text(5)])).Epoch;

        var page = await hub.ReadAsync("t", new Position(null, 0), 10, TimeSpan.Zero);
        Assert.Empty(page.Messages);
        Assert.Equal((1L, 3L), page.Missed);
        Assert.Equal(new Position(epoch, 3), page.Next); // continue after the gap, not before it
    }

    [Fact]
    public async Task A_position_from_another_incarnation_is_EpochMismatch_with_where_to_resume()
    {
        await using var hub = await TestHubs.StartAsync();
        var old = (await hub.PublishAsync("t", Batch(5))).Epoch;
        await hub.DeleteTopicAsync("t");
        var current = (await hub.PublishAsync("t", Batch(2))).Epoch;
        Assert.NotEqual(old, current);

        var ex = await Assert.ThrowsAsync<EpochMismatchException>(() => hub.ReadAsync("t", new Position(old, 1), 10, TimeSpan.Zero));
        Assert.Equal(current, ex.CurrentEpoch);
        Assert.Equal(1, ex.FirstOffset);
        Assert.Contains($"{current}:0", ex.Message, StringComparison.Ordinal);
        Assert.Equal(409, ex.Info.HttpStatus);

        // Even a long poll answers the mismatch at once.
        await Assert.ThrowsAsync<EpochMismatchException>(() => hub.ReadAsync("t", new Position(old, 1), 10, TimeSpan.FromSeconds(30)).WaitAsync(Bounds.Expected));
    }

    [Fact]
    public async Task A_position_past_the_end_is_PositionOutOfRange_and_says_where_the_end_is()
    {
        await using var hub = await TestHubs.StartAsync();
        var epoch = (await hub.PublishAsync("t", Batch(10))).Epoch;
        var ex = await Assert.ThrowsAsync<SwitchboardException>(() => hub.ReadAsync("t", new Position(null, 11), 10, TimeSpan.Zero));
        Assert.Equal(ErrorCode.PositionOutOfRange, ex.Code);
        Assert.Equal(10L, ex.Extensions["lastOffset"]);
        Assert.Equal(epoch, ex.Extensions["epoch"]);
        Assert.Contains($"{epoch}:10", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Reading_a_topic_that_does_not_exist_is_TopicNotFound()
    {
        await using var hub = await TestHubs.StartAsync();
        var ex = await Assert.ThrowsAsync<TopicNotFoundException>(() => hub.ReadAsync("nope", new Position(null, 0), 10, TimeSpan.Zero));
        Assert.Equal("nope", ex.Topic);
        await Assert.ThrowsAsync<TopicNotFoundException>(() => hub.ReadAsync("nope", new Position(null, 0), 10, TimeSpan.FromSeconds(30)).WaitAsync(Bounds.Expected));
    }

    [Theory]
    [InlineData(0, 0, ErrorCode.ValidationFailed)]
    [InlineData(1001, 0, ErrorCode.ValidationFailed)]
    [InlineData(10, -1, ErrorCode.ValidationFailed)]
    [InlineData(10, 61, ErrorCode.ValidationFailed)]
    public async Task Limits_and_waits_outside_their_ranges_are_refused(int limit, int waitSeconds, ErrorCode code)
    {
        await using var hub = await TestHubs.StartAsync();
        await hub.PublishAsync("t", [Json(1)]);
        var ex = await Assert.ThrowsAsync<SwitchboardException>(() => hub.ReadAsync("t", new Position(null, 0), limit, TimeSpan.FromSeconds(waitSeconds)));
        Assert.Equal(code, ex.Code);
    }

    [Fact]
    public async Task A_negative_offset_is_InvalidPosition()
    {
        await using var hub = await TestHubs.StartAsync();
        await hub.PublishAsync("t", [Json(1)]);
        var ex = await Assert.ThrowsAsync<SwitchboardException>(() => hub.ReadAsync("t", new Position(null, -1), 10, TimeSpan.Zero));
        Assert.Equal(ErrorCode.InvalidPosition, ex.Code);
    }

    [Fact]
    public async Task One_message_by_offset_tells_never_published_from_removed_by_retention()
    {
        await using var hub = await TestHubs.StartAsync();
        await hub.PutTopicAsync("t", new TopicConfig(new RetentionPolicy(2, null, null)));
        var epoch = (await hub.PublishAsync("t", Batch(5))).Epoch;

        Assert.Equal("5", PayloadText(await hub.GetMessageAsync("t", 5, epoch)));
        Assert.Equal(ErrorCode.MessageExpired, (await Assert.ThrowsAsync<SwitchboardException>(() => hub.GetMessageAsync("t", 2, null))).Code);
        Assert.Equal(ErrorCode.MessageNotFound, (await Assert.ThrowsAsync<SwitchboardException>(() => hub.GetMessageAsync("t", 6, null))).Code);
        Assert.Equal(ErrorCode.InvalidPosition, (await Assert.ThrowsAsync<SwitchboardException>(() => hub.GetMessageAsync("t", 0, null))).Code);
        await Assert.ThrowsAsync<EpochMismatchException>(() => hub.GetMessageAsync("t", 5, Epoch.New()));
        await Assert.ThrowsAsync<TopicNotFoundException>(() => hub.GetMessageAsync("other", 1, null));
    }
}
