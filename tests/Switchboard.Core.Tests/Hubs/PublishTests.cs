using Switchboard.Core.Tests.Support;
using static Switchboard.Core.Tests.Support.Drafts;

namespace Switchboard.Core.Tests.Hubs;

public sealed class PublishTests
{
    [Fact]
    public async Task Publishing_assigns_offsets_from_one_without_gaps()
    {
        await using var hub = await TestHubs.StartAsync();
        var first = await hub.PublishAsync("orders", [Json(1)]);
        var second = await hub.PublishAsync("orders", [Json(2)]);
        var batch = await hub.PublishAsync("orders", Batch(4, firstValue: 3));

        Assert.Equal((1, 1), (first.FirstOffset, first.LastOffset));
        Assert.Equal((2, 2), (second.FirstOffset, second.LastOffset));
        Assert.Equal((3, 6), (batch.FirstOffset, batch.LastOffset));
        Assert.Equal([3L, 4, 5, 6], batch.Messages.Select(m => m.Offset));
        Assert.All([first, second, batch], r => Assert.Equal(first.Epoch, r.Epoch));

        var page = await hub.ReadAsync("orders", new Position(null, 0), 100, TimeSpan.Zero);
        Assert.Equal([1L, 2, 3, 4, 5, 6], page.Messages.Select(m => m.Offset));
        Assert.Equal(["1", "2", "3", "4", "5", "6"], page.Messages.Select(PayloadText));
        Assert.Equal(6, page.Topic.LastOffset);
        Assert.Equal(6, page.Topic.MessageCount);
    }

    [Fact]
    public async Task A_published_message_keeps_its_headers_key_content_type_and_the_hub_timestamp()
    {
        var time = new Microsoft.Extensions.Time.Testing.FakeTimeProvider(new DateTimeOffset(2030, 1, 2, 3, 4, 5, TimeSpan.Zero));
        await using var hub = await TestHubs.StartAsync(time: time);
        var draft = new MessageDraft
        {
            Payload = "hello"u8.ToArray(),
            ContentType = "text/plain; charset=utf-8",
            Key = "customer-7",
            Headers = new Dictionary<string, string> { ["trace"] = "abc" },
        };
        var result = await hub.PublishAsync("t", [draft]);

        var message = await hub.GetMessageAsync("t", 1, result.Epoch);
        Assert.Equal("hello", PayloadText(message));
        Assert.Equal("text/plain; charset=utf-8", message.ContentType);
        Assert.Equal("customer-7", message.Key);
        Assert.Equal("abc", message.Headers["trace"]);
        Assert.Equal(time.GetUtcNow(), message.Timestamp);
        Assert.Equal(time.GetUtcNow(), result.Timestamp);
        Assert.Equal(new Position(result.Epoch, 1), message.Position);
    }

    [Fact]
    public async Task A_batch_with_one_bad_message_stores_none_of_it()
    {
        await using var hub = await TestHubs.StartAsync(new HubOptions { MaxMessageBytes = 100 });
        await hub.PublishAsync("t", [Json(1)]);

        var notJson = new MessageDraft { Payload = "{nope"u8.ToArray() };
        var badJson = await Assert.ThrowsAsync<SwitchboardException>(() => hub.PublishAsync("t", [Json(2), Json(3), notJson]));
        Assert.Equal(ErrorCode.InvalidJson, badJson.Code);
        Assert.Contains("messages[2]", badJson.Message, StringComparison.Ordinal);

        var tooBig = await Assert.ThrowsAsync<SwitchboardException>(() => hub.PublishAsync("t", [Json(2), Text(101)]));
        Assert.Equal(ErrorCode.MessageTooLarge, tooBig.Code);
        Assert.Equal(1, tooBig.Extensions["index"]);

        var badHeader = new MessageDraft { Payload = "1"u8.ToArray(), Headers = new Dictionary<string, string> { ["x"] = "a\nb" } };
        Assert.Equal(ErrorCode.ValidationFailed, (await Assert.ThrowsAsync<SwitchboardException>(() => hub.PublishAsync("t", [Json(2), badHeader]))).Code);

        var topic = await hub.GetTopicAsync("t");
        Assert.Equal(1, topic.LastOffset);
        Assert.Equal(1, topic.MessageCount);
        Assert.Equal(2, (await hub.PublishAsync("t", [Json(2)])).FirstOffset); // no offset was burnt
    }

    [Fact]
    public async Task An_empty_batch_is_refused()
    {
        await using var hub = await TestHubs.StartAsync();
        var ex = await Assert.ThrowsAsync<SwitchboardException>(() => hub.PublishAsync("t", []));
        Assert.Equal(ErrorCode.ValidationFailed, ex.Code);
        await Assert.ThrowsAsync<TopicNotFoundException>(() => hub.GetTopicAsync("t"));
    }

    [Fact]
    public async Task Publishing_to_a_missing_topic_creates_it_with_the_default_retention_when_auto_create_is_on()
    {
        var options = new HubOptions { DefaultRetention = new RetentionPolicy(50, TimeSpan.FromHours(1), 4096) };
        await using var hub = await TestHubs.StartAsync(options);
        var first = await hub.PublishAsync("fresh", [Json(1)]);
        var second = await hub.PublishAsync("fresh", [Json(2)]);

        Assert.True(first.CreatedTopic);
        Assert.False(second.CreatedTopic);
        var topic = await hub.GetTopicAsync("fresh");
        Assert.Equal(options.DefaultRetention, topic.Config.Retention);
        Assert.Equal(first.Epoch, topic.Epoch);
        Assert.True(Epoch.IsWellFormed(topic.Epoch));
    }

    [Fact]
    public async Task Publishing_to_a_missing_topic_is_refused_when_auto_create_is_off()
    {
        await using var hub = await TestHubs.StartAsync(new HubOptions { AutoCreateTopics = false });
        var ex = await Assert.ThrowsAsync<TopicNotFoundException>(() => hub.PublishAsync("absent", [Json(1)]));
        Assert.Equal("absent", ex.Topic);
        Assert.Contains("PUT /v1/topics/absent", ex.Message, StringComparison.Ordinal);
        Assert.Empty((await hub.ListTopicsAsync(null, null, 10)).Topics);

        var created = await hub.PutTopicAsync("absent", new TopicConfig(RetentionPolicy.Unlimited));
        Assert.True(created.Created);
        var result = await hub.PublishAsync("absent", [Json(1)]);
        Assert.Equal(1, result.FirstOffset);
        Assert.False(result.CreatedTopic);
    }

    [Theory]
    [InlineData("a..b")]
    [InlineData("orders.*")]
    [InlineData("orders.>")]
    [InlineData("$sys.x")]
    [InlineData("")]
    public async Task Publishing_to_a_name_that_is_not_a_topic_name_is_refused(string topic)
    {
        await using var hub = await TestHubs.StartAsync();
        var ex = await Assert.ThrowsAsync<SwitchboardException>(() => hub.PublishAsync(topic, [Json(1)]));
        Assert.Equal(ErrorCode.InvalidTopicName, ex.Code);
        Assert.Empty((await hub.ListTopicsAsync(null, null, 10)).Topics);
    }

    [Fact]
    public async Task A_message_of_exactly_the_size_limit_is_accepted_and_one_byte_more_is_MessageTooLarge()
    {
        await using var hub = await TestHubs.StartAsync(new HubOptions { MaxMessageBytes = 64 });
        Assert.Equal(1, (await hub.PublishAsync("t", [Text(64)])).FirstOffset);

        var ex = await Assert.ThrowsAsync<SwitchboardException>(() => hub.PublishAsync("t", [Text(65)]));
        Assert.Equal(ErrorCode.MessageTooLarge, ex.Code);
        Assert.Equal(413, ex.Info.HttpStatus);
        Assert.Equal(64L, ex.Extensions["limit"]);
        Assert.Equal(65L, ex.Extensions["size"]);
        Assert.Contains("the limit is 64 bytes", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_key_and_headers_count_toward_the_size_limit()
    {
        await using var hub = await TestHubs.StartAsync(new HubOptions { MaxMessageBytes = 64 });
        var withKey = new MessageDraft { Payload = new byte[60], ContentType = "application/octet-stream", Key = "12345" };
        Assert.Equal(ErrorCode.MessageTooLarge, (await Assert.ThrowsAsync<SwitchboardException>(() => hub.PublishAsync("t", [withKey]))).Code);

        var withHeader = new MessageDraft { Payload = new byte[60], ContentType = "application/octet-stream", Headers = new Dictionary<string, string> { ["ab"] = "cde" } };
        Assert.Equal(ErrorCode.MessageTooLarge, (await Assert.ThrowsAsync<SwitchboardException>(() => hub.PublishAsync("t", [withHeader]))).Code);

        var fits = new MessageDraft { Payload = new byte[60], ContentType = "application/octet-stream", Key = "k", Headers = new Dictionary<string, string> { ["a"] = "bc" } };
        Assert.Equal(1, (await hub.PublishAsync("t", [fits])).FirstOffset);
    }

    [Fact]
    public async Task A_batch_over_the_message_limit_is_RequestTooLarge_and_one_at_the_limit_is_accepted()
    {
        await using var hub = await TestHubs.StartAsync(new HubOptions { MaxBatchMessages = 3 });
        var ex = await Assert.ThrowsAsync<SwitchboardException>(() => hub.PublishAsync("t", Batch(4)));
        Assert.Equal(ErrorCode.RequestTooLarge, ex.Code);
        Assert.Equal(3, ex.Extensions["limit"]);
        Assert.Contains("Split it", ex.Message, StringComparison.Ordinal);
        await Assert.ThrowsAsync<TopicNotFoundException>(() => hub.GetTopicAsync("t"));

        var result = await hub.PublishAsync("t", Batch(3));
        Assert.Equal((1, 3), (result.FirstOffset, result.LastOffset));
    }

    [Fact]
    public async Task Concurrent_publishers_get_distinct_consecutive_offsets()
    {
        await using var hub = await TestHubs.StartAsync();
        var results = await Task.WhenAll(Enumerable.Range(0, 32).Select(i => Task.Run(async () =>
        {
            var mine = new List<Engines.AppendResult>();
            for (var j = 0; j < 25; j++)
            {
                mine.Add(await hub.PublishAsync("busy", Batch(1 + (j % 3))));
            }
            return mine;
        }))).WaitAsync(Bounds.Stress);

        var offsets = results.SelectMany(r => r).SelectMany(r => Enumerable.Range(0, r.Count).Select(i => r.FirstOffset + i)).Order().ToList();
        Assert.Equal(Enumerable.Range(1, offsets.Count).Select(i => (long)i), offsets);
        Assert.Equal(offsets.Count, (await hub.GetTopicAsync("busy")).LastOffset);
    }

    [Fact]
    public async Task A_hub_that_has_not_started_or_has_stopped_refuses_work_with_a_retry_hint()
    {
        var hub = new Hub(new Engines.Memory.MemoryStore(), new Engines.Memory.LocalBackplane(), new HubOptions(), Microsoft.Extensions.Logging.Abstractions.NullLoggerFactory.Instance);
        Assert.Equal(HubState.Starting, hub.State);
        var notReady = await Assert.ThrowsAsync<SwitchboardException>(() => hub.PublishAsync("t", [Json(1)]));
        Assert.Equal(ErrorCode.NotReady, notReady.Code);
        Assert.Equal(1, notReady.RetryAfterSeconds);

        await hub.StartAsync(Bounds.Test());
        Assert.Equal(HubState.Ready, hub.State);
        await hub.DisposeAsync();
        Assert.Equal(HubState.Stopped, hub.State);
        var stopped = await Assert.ThrowsAsync<SwitchboardException>(() => hub.PublishAsync("t", [Json(1)]));
        Assert.Equal(ErrorCode.ShuttingDown, stopped.Code);
    }
}
