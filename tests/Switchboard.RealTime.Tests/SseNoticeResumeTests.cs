using System.Net;
using System.Text;
using System.Text.Json;

namespace Switchboard.RealTime.Tests;

/// <summary>
/// Notices and resume ids: a notice moves its topic's position as a message does, so a reconnect right after it is not
/// told it again; a resume onto a topic deleted while the client was away is told so, not left silent.
/// </summary>
public sealed class SseNoticeResumeTests
{
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(30);

    private static Task PublishAsync(TestHub hub, string topic, int value) => SseStreams.PublishAsync(hub, topic, value);

    private static Task<(HttpResponseMessage Response, IAsyncEnumerator<SseEvent> Events)> OpenAsync(TestHub hub, string path, string? lastEventId = null)
        => SseStreams.OpenAsync(hub, path, lastEventId, Limit);

    /// <summary>The next event that is a message or a notice (the opening block, heartbeats and id-only blocks skipped).</summary>
    private static async Task<SseEvent> NextEventAsync(IAsyncEnumerator<SseEvent> events)
    {
        while (await events.MoveNextAsync())
        {
            if (events.Current.Data.Length > 0)
            {
                return events.Current;
            }
        }
        throw new InvalidOperationException("the stream ended");
    }

    /// <summary>The id the opening block tells (the stream's position before any event).</summary>
    private static async Task<string> FirstIdAsync(IAsyncEnumerator<SseEvent> events)
    {
        Assert.True(await events.MoveNextAsync(), "the stream ended");
        return events.Current.Id ?? throw new InvalidOperationException("the opening block has no id");
    }

    private static string Kind(SseEvent e) => JsonDocument.Parse(e.Data).RootElement.GetProperty("kind").GetString()!;

    private static (string Topic, long Offset) Message(SseEvent e)
    {
        using var body = JsonDocument.Parse(e.Data);
        return (body.RootElement.GetProperty("topic").GetString()!, body.RootElement.GetProperty("offset").GetInt64());
    }

    private static async Task<string> EpochAsync(TestHub hub, string topic)
        => JsonDocument.Parse(await hub.Http.GetStringAsync($"/v1/topics/{topic}")).RootElement.GetProperty("epoch").GetString()!;

    [Fact]
    public async Task A_multi_topic_streams_missed_notice_carries_an_id_a_reconnect_goes_on_from()
    {
        await using var hub = await TestHub.StartAsync();
        using (var created = await hub.Http.PutAsync("/v1/topics/notice.short", new StringContent("""{"retention":{"maxMessages":2}}""", Encoding.UTF8, "application/json")))
        {
            Assert.True(created.IsSuccessStatusCode);
        }
        const string path = "/v1/events?topic=notice.short&topic=notice.other";
        string start;
        var (response, events) = await OpenAsync(hub, path);
        using (response)
        {
            start = await FirstIdAsync(events);
        }
        for (var i = 1; i <= 5; i++)
        {
            await PublishAsync(hub, "notice.short", i); // retention keeps 4 and 5: 1 to 3 are gone before the resume
        }

        string afterNotice;
        (response, events) = await OpenAsync(hub, path, start);
        using (response)
        {
            var notice = await NextEventAsync(events);
            Assert.Equal("notice", notice.Event);
            Assert.Equal("missed", Kind(notice));
            afterNotice = notice.Id ?? throw new Xunit.Sdk.XunitException("the notice carries no id: a reconnect after it is told it again");
        }
        // Reconnecting right after the notice goes on with the first message kept, not with the notice again.
        (response, events) = await OpenAsync(hub, path, afterNotice);
        using (response)
        {
            var next = await NextEventAsync(events);
            Assert.Null(next.Event);
            Assert.Equal(("notice.short", 4L), Message(next));
        }
    }

    [Fact]
    public async Task A_multi_topic_stream_resumed_onto_a_deleted_topic_is_told_once_and_takes_its_next_incarnation_from_the_start()
    {
        await using var hub = await TestHub.StartAsync();
        await PublishAsync(hub, "notice.gone", 1);
        await PublishAsync(hub, "notice.kept", 1);
        const string path = "/v1/events?topic=notice.gone&topic=notice.kept";
        string start;
        var (response, events) = await OpenAsync(hub, path);
        using (response)
        {
            start = await FirstIdAsync(events);
        }
        var epoch = await EpochAsync(hub, "notice.gone");
        using (var deleted = await hub.Http.DeleteAsync("/v1/topics/notice.gone"))
        {
            Assert.Equal(HttpStatusCode.NoContent, deleted.StatusCode);
        }

        await AssertToldDeletedOnceAsync(hub, path, start, "notice.gone", epoch);
    }

    [Fact]
    public async Task A_single_topic_stream_resumed_onto_a_deleted_topic_is_told_and_its_notice_id_resumes_past_it()
    {
        await using var hub = await TestHub.StartAsync();
        await PublishAsync(hub, "notice.solo", 1);
        await PublishAsync(hub, "notice.solo", 2);
        var epoch = await EpochAsync(hub, "notice.solo");
        using (var deleted = await hub.Http.DeleteAsync("/v1/topics/notice.solo"))
        {
            Assert.Equal(HttpStatusCode.NoContent, deleted.StatusCode);
        }
        // A long poll there answers 404; the stream says the same in its own terms.
        using (var poll = await hub.Http.GetAsync($"/v1/topics/notice.solo/messages?after={epoch}:2&wait=1"))
        {
            Assert.Equal(HttpStatusCode.NotFound, poll.StatusCode);
        }

        await AssertToldDeletedOnceAsync(hub, "/v1/topics/notice.solo/events", $"{epoch}:2", "notice.solo", epoch);
    }

    /// <summary>
    /// A stream at <paramref name="path"/> resumed from <paramref name="start"/> is told <paramref name="topic"/> (of
    /// <paramref name="epoch"/>) was deleted; resumed from that notice's id it is not told again, and the topic made anew
    /// is delivered from its first message.
    /// </summary>
    private static async Task AssertToldDeletedOnceAsync(TestHub hub, string path, string start, string topic, string epoch)
    {
        string afterNotice;
        var (response, events) = await OpenAsync(hub, path, start);
        using (response)
        {
            var notice = await NextEventAsync(events);
            Assert.Equal("notice", notice.Event);
            Assert.Equal("topic-deleted", Kind(notice));
            Assert.Equal(epoch, JsonDocument.Parse(notice.Data).RootElement.GetProperty("epoch").GetString());
            afterNotice = notice.Id ?? throw new Xunit.Sdk.XunitException("the notice carries no id: a reconnect after it is told it again");
        }
        (response, events) = await OpenAsync(hub, path, afterNotice);
        using (response)
        {
            await PublishAsync(hub, topic, 99);
            var next = await NextEventAsync(events);
            Assert.Null(next.Event);
            Assert.Equal((topic, 1L), Message(next));
        }
    }

    [Fact]
    public async Task A_multi_topic_poll_resumed_onto_a_deleted_topic_is_told_once()
    {
        await using var hub = await TestHub.StartAsync();
        await PublishAsync(hub, "notice.polled", 1);
        using var first = JsonDocument.Parse(await hub.Http.GetStringAsync("/v1/messages?topic=notice.polled&after=0"));
        var after = first.RootElement.GetProperty("next").GetString()!;
        using (var deleted = await hub.Http.DeleteAsync("/v1/topics/notice.polled"))
        {
            Assert.Equal(HttpStatusCode.NoContent, deleted.StatusCode);
        }

        using var told = JsonDocument.Parse(await hub.Http.GetStringAsync($"/v1/messages?topic=notice.polled&after={after}"));
        Assert.Equal("topic-deleted", Assert.Single(told.RootElement.GetProperty("notices").EnumerateArray()).GetProperty("kind").GetString());
        using var again = JsonDocument.Parse(await hub.Http.GetStringAsync($"/v1/messages?topic=notice.polled&after={told.RootElement.GetProperty("next").GetString()}"));
        Assert.Empty(again.RootElement.GetProperty("notices").EnumerateArray());
        Assert.Empty(again.RootElement.GetProperty("messages").EnumerateArray());
    }
}
