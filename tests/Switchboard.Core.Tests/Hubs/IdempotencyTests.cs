using Microsoft.Extensions.Time.Testing;
using Switchboard.Core.Tests.Support;
using static Switchboard.Core.Tests.Support.Drafts;

namespace Switchboard.Core.Tests.Hubs;

public sealed class IdempotencyTests
{
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2030, 6, 1, 12, 0, 0, TimeSpan.Zero));

    private Task<Hub> StartAsync() => TestHubs.StartAsync(new HubOptions { IdempotencyWindow = TimeSpan.FromMinutes(2) }, time: _time);

    [Fact]
    public async Task A_retry_with_the_same_key_and_body_replays_the_first_result_and_stores_nothing()
    {
        await using var hub = await StartAsync();
        await hub.PublishAsync("t", [Json(0)]);
        var first = await hub.PublishAsync("t", Batch(3), "key-1");
        _time.Advance(TimeSpan.FromSeconds(30));
        var retry = await hub.PublishAsync("t", Batch(3), "key-1");

        Assert.False(first.Replayed);
        Assert.True(retry.Replayed);
        Assert.Equal((first.Epoch, first.FirstOffset, first.Count, first.LastOffset), (retry.Epoch, retry.FirstOffset, retry.Count, retry.LastOffset));
        Assert.Equal(first.Timestamp, retry.Timestamp); // the first result, not a new one
        Assert.Empty(retry.Messages);

        var topic = await hub.GetTopicAsync("t");
        Assert.Equal(4, topic.LastOffset);
        Assert.Equal(4, topic.MessageCount);
    }

    [Fact]
    public async Task A_replay_is_not_delivered_to_subscribers_again()
    {
        await using var hub = await StartAsync();
        var sink = new RecordingSink();
        await using var subscription = await hub.SubscribeAsync(["t"], Delivery.SubscribeStart.Now, sink);
        await hub.PublishAsync("t", [Json(1)], "k");
        await hub.PublishAsync("t", [Json(1)], "k");
        await hub.PublishAsync("t", [Json(2)]);

        Assert.Equal([1L, 2], await sink.TakeOffsetsAsync(2));
        sink.AssertEmpty();
    }

    [Fact]
    public async Task The_same_key_with_a_different_body_is_IdempotencyKeyReused_and_stores_nothing()
    {
        await using var hub = await StartAsync();
        await hub.PublishAsync("t", [Json(1), Json(2)], "k");

        async Task AssertReused(MessageDraft[] messages)
        {
            var ex = await Assert.ThrowsAsync<SwitchboardException>(() => hub.PublishAsync("t", messages, "k"));
            Assert.Equal(ErrorCode.IdempotencyKeyReused, ex.Code);
            Assert.Contains("'k'", ex.Message, StringComparison.Ordinal);
            Assert.Contains("new key", ex.Message, StringComparison.Ordinal);
        }
        await AssertReused([Json(1), Json(3)]);
        await AssertReused([Json(2), Json(1)]); // order is part of the request
        await AssertReused([Json(1)]);
        await AssertReused([new MessageDraft { Payload = "1"u8.ToArray(), Key = "x" }, Json(2)]);
        await AssertReused([new MessageDraft { Payload = "1"u8.ToArray(), Headers = new Dictionary<string, string> { ["h"] = "v" } }, Json(2)]);
        await AssertReused([new MessageDraft { Payload = "1"u8.ToArray(), ContentType = "text/plain" }, Json(2)]);

        Assert.Equal(2, (await hub.GetTopicAsync("t")).LastOffset);
    }

    [Fact]
    public async Task Header_order_does_not_change_the_fingerprint()
    {
        await using var hub = await StartAsync();
        var a = new MessageDraft { Payload = "1"u8.ToArray(), Headers = new Dictionary<string, string> { ["a"] = "1", ["b"] = "2" } };
        var b = new MessageDraft { Payload = "1"u8.ToArray(), Headers = new Dictionary<string, string> { ["b"] = "2", ["a"] = "1" } };
        await hub.PublishAsync("t", [a], "k");
        Assert.True((await hub.PublishAsync("t", [b], "k")).Replayed);
    }

    [Fact]
    public async Task Keys_are_scoped_to_their_topic()
    {
        await using var hub = await StartAsync();
        var one = await hub.PublishAsync("one", [Json(1)], "k");
        var two = await hub.PublishAsync("two", [Json(9)], "k");
        Assert.False(two.Replayed);
        Assert.Equal("two", two.Topic);
        Assert.Equal(1, two.FirstOffset);
        Assert.False(one.Replayed);
    }

    [Fact]
    public async Task A_key_is_remembered_for_the_window_and_forgotten_after_it()
    {
        await using var hub = await StartAsync();
        var first = await hub.PublishAsync("t", [Json(1)], "k");

        _time.Advance(TimeSpan.FromMinutes(2) - TimeSpan.FromSeconds(1));
        Assert.True((await hub.PublishAsync("t", [Json(1)], "k")).Replayed);
        Assert.Equal(ErrorCode.IdempotencyKeyReused, (await Assert.ThrowsAsync<SwitchboardException>(() => hub.PublishAsync("t", [Json(2)], "k"))).Code);

        _time.Advance(TimeSpan.FromSeconds(2));
        var after = await hub.PublishAsync("t", [Json(1)], "k");
        Assert.False(after.Replayed);
        Assert.Equal(first.LastOffset + 1, after.FirstOffset);

        // The key now guards the new request for a new window.
        Assert.True((await hub.PublishAsync("t", [Json(1)], "k")).Replayed);
        Assert.Equal(2, (await hub.GetTopicAsync("t")).MessageCount);
    }

    [Fact]
    public async Task After_the_window_the_key_may_guard_a_different_request()
    {
        await using var hub = await StartAsync();
        await hub.PublishAsync("t", [Json(1)], "k");
        _time.Advance(TimeSpan.FromMinutes(3));
        var other = await hub.PublishAsync("t", [Json(2)], "k");
        Assert.False(other.Replayed);
        Assert.Equal(2, other.FirstOffset);
    }

    [Fact]
    public async Task Deleting_a_topic_forgets_its_keys()
    {
        await using var hub = await StartAsync();
        await hub.PublishAsync("t", [Json(1), Json(2)], "k");
        await hub.DeleteTopicAsync("t");
        var again = await hub.PublishAsync("t", [Json(1), Json(2)], "k");
        Assert.False(again.Replayed);
        Assert.True(again.CreatedTopic);
        Assert.Equal(1, again.FirstOffset);
    }

    [Theory]
    [InlineData("")]
    [InlineData("has space")]
    [InlineData("tab\tkey")]
    [InlineData("ключ")]
    public async Task Keys_must_be_visible_ascii(string key)
    {
        await using var hub = await StartAsync();
        var ex = await Assert.ThrowsAsync<SwitchboardException>(() => hub.PublishAsync("t", [Json(1)], key));
        Assert.Equal(ErrorCode.ValidationFailed, ex.Code);
        Assert.Contains("idempotency key", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Keys_may_be_up_to_255_characters()
    {
        await using var hub = await StartAsync();
        Assert.False((await hub.PublishAsync("t", [Json(1)], new string('k', 255))).Replayed);
        Assert.Equal(ErrorCode.ValidationFailed, (await Assert.ThrowsAsync<SwitchboardException>(() => hub.PublishAsync("t", [Json(1)], new string('k', 256)))).Code);
    }
}
