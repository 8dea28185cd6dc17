using System.Diagnostics;
using System.Net;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using static Switchboard.Rest.Tests.Http;

namespace Switchboard.Rest.Tests;

/// <summary>GET /v1/messages?topic=…: several topics and patterns polled and long-polled with one position token.</summary>
public sealed class PatternPollTests
{
    public static TheoryData<bool> Engines => new() { false, true };

    private static async Task PublishAsync(TestHub hub, string topic, int value)
    {
        using var response = await hub.Http.PostAsync($"/v1/topics/{topic}/messages", Json($$"""{"payload":{{value}}}"""));
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
    }

    private static async Task<JsonElement> PollAsync(TestHub hub, string query)
    {
        using var response = await hub.Http.GetAsync("/v1/messages?" + query);
        var body = await response.BodyAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, body.ToString());
        return body;
    }

    private static string[] Seen(JsonElement page)
        => [.. page.GetProperty("messages").EnumerateArray().Select(m => $"{m.GetProperty("topic").GetString()}:{m.GetProperty("offset").GetInt64()}")];

    [Theory]
    [MemberData(nameof(Engines))]
    public async Task History_of_every_matching_topic_is_read_page_by_page_and_the_token_continues_exactly(bool sqlite)
    {
        await using var hub = await TestHub.StartAsync(sqlite);
        await PublishAsync(hub, "pp.a", 1);
        await PublishAsync(hub, "pp.a", 2);
        await PublishAsync(hub, "pp.b", 3);
        await PublishAsync(hub, "other", 4);

        var first = await PollAsync(hub, "topic=pp.*&after=0&limit=2");
        Assert.Equal(2, first.GetProperty("messages").GetArrayLength());
        var second = await PollAsync(hub, $"topic=pp.*&after={first.GetProperty("next").GetString()}&limit=2");
        Assert.Equal(["pp.a:1", "pp.a:2", "pp.b:1"], Seen(first).Concat(Seen(second)).Order());
        var third = await PollAsync(hub, $"topic=pp.*&after={second.GetProperty("next").GetString()}");
        Assert.Empty(Seen(third)); // nothing new: an empty page at once (no wait=)
        Assert.Empty(third.GetProperty("notices").EnumerateArray());
    }

    [Theory]
    [MemberData(nameof(Engines))]
    public async Task A_page_that_catches_up_on_several_topics_holds_them_in_publish_order(bool sqlite)
    {
        await using var hub = await TestHub.StartAsync(sqlite);
        // Topics are read back one after another; the page interleaves them again as they were published.
        await PublishAsync(hub, "ord.a", 1);
        await PublishAsync(hub, "ord.b", 2);
        await PublishAsync(hub, "ord.a", 3);
        await PublishAsync(hub, "ord.c", 4);
        await PublishAsync(hub, "ord.b", 5);

        var page = await PollAsync(hub, "topic=ord.*&after=0");
        Assert.Equal([1, 2, 3, 4, 5], page.GetProperty("messages").EnumerateArray().Select(m => m.GetProperty("payload").GetInt32()));
        Assert.Equal(["ord.a:1", "ord.b:1", "ord.a:2", "ord.c:1", "ord.b:2"], Seen(page));
    }

    [Theory]
    [MemberData(nameof(Engines))]
    public async Task A_clock_that_steps_back_between_publishes_does_not_reorder_a_topic_within_a_page(bool sqlite)
    {
        var clock = new SteppingClock();
        await using var hub = await TestHub.StartAsync(sqlite, services: s => s.AddSingleton<TimeProvider>(clock));
        await PublishAsync(hub, "back.a", 1);
        clock.Back = TimeSpan.FromHours(1); // e.g. the host's clock corrected: later messages carry earlier times
        await PublishAsync(hub, "back.a", 2);
        await PublishAsync(hub, "back.b", 3);

        var page = await PollAsync(hub, "topic=back.*&after=0");
        var seen = Seen(page);
        Assert.Equal(["back.a:1", "back.a:2", "back.b:1"], seen.Order());
        Assert.True(Array.IndexOf(seen, "back.a:1") < Array.IndexOf(seen, "back.a:2"), string.Join(", ", seen));
        Assert.True(page.GetProperty("messages").EnumerateArray().First(m => m.GetProperty("offset").GetInt64() == 2).GetProperty("timestamp").GetDateTimeOffset()
            < DateTimeOffset.UtcNow - TimeSpan.FromMinutes(30), "the hub did not take its time from the registered clock");
    }

    /// <summary>The system's clock, set back by <see cref="Back"/> (timers run on the system's).</summary>
    private sealed class SteppingClock : TimeProvider
    {
        public TimeSpan Back { get; set; }

        public override DateTimeOffset GetUtcNow() => base.GetUtcNow() - Back;
    }

    [Fact]
    public async Task A_parked_long_poll_is_answered_by_a_publish_to_a_topic_created_after_it_parked()
    {
        await using var hub = await TestHub.StartAsync();
        var now = await PollAsync(hub, "topic=lp.*&topic=exact");
        Assert.Empty(Seen(now));
        var parked = PollAsync(hub, $"topic=lp.*&topic=exact&after={now.GetProperty("next").GetString()}&wait=30");
        await Task.Delay(50); // let it park; answering early could only make the assertion below fail
        Assert.False(parked.IsCompleted, "the poll answered before anything was published");
        var clock = Stopwatch.StartNew();
        await PublishAsync(hub, "lp.new", 7);
        var page = await parked.WaitAsync(TimeSpan.FromSeconds(20));
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(5), $"answered after {clock.Elapsed}");
        Assert.Equal(["lp.new:1"], Seen(page));
        Assert.Equal(7, page.GetProperty("messages")[0].GetProperty("payload").GetInt32());

        await PublishAsync(hub, "exact", 8);
        var next = await PollAsync(hub, $"topic=lp.*&topic=exact&after={page.GetProperty("next").GetString()}&wait=30");
        Assert.Equal(["exact:1"], Seen(next));
    }

    [Theory]
    [MemberData(nameof(Engines))]
    public async Task A_topic_deleted_between_polls_and_created_again_while_one_is_parked_is_announced_as_a_new_incarnation(bool sqlite)
    {
        await using var hub = await TestHub.StartAsync(sqlite);
        await PublishAsync(hub, "again.t", 1);
        var before = await PollAsync(hub, "topic=again.*&after=0");
        var oldEpoch = before.GetProperty("messages")[0].GetProperty("epoch").GetString();
        Assert.Equal(HttpStatusCode.NoContent, (await hub.Http.DeleteAsync("/v1/topics/again.t")).StatusCode);

        // The token still holds the old incarnation's position; the topic does not exist when the poll starts.
        var parked = PollAsync(hub, $"topic=again.*&after={before.GetProperty("next").GetString()}&wait=30");
        await Task.Delay(50); // let it park (if it has not, the topic exists by the time it starts: announced all the same)
        await PublishAsync(hub, "again.t", 2);
        var page = await parked.WaitAsync(TimeSpan.FromSeconds(20));

        Assert.Equal(["again.t:1"], Seen(page));
        var notice = Assert.Single(page.GetProperty("notices").EnumerateArray());
        Assert.Equal("epoch-changed", notice.GetProperty("kind").GetString());
        Assert.Equal(oldEpoch, notice.GetProperty("previousEpoch").GetString());
        Assert.Equal(page.GetProperty("messages")[0].GetProperty("epoch").GetString(), notice.GetProperty("epoch").GetString());
    }

    [Fact]
    public async Task No_after_means_from_now_and_its_token_pins_that_point()
    {
        await using var hub = await TestHub.StartAsync();
        await PublishAsync(hub, "nw.a", 1);
        var now = await PollAsync(hub, "topic=nw.*");
        Assert.Empty(Seen(now));
        await PublishAsync(hub, "nw.a", 2);
        var page = await PollAsync(hub, $"topic=nw.*&after={now.GetProperty("next").GetString()}");
        Assert.Equal(["nw.a:2"], Seen(page));
    }

    [Fact]
    public async Task Messages_removed_by_retention_are_reported_as_a_missed_notice_and_the_token_moves_past_them()
    {
        await using var hub = await TestHub.StartAsync();
        using (var created = await hub.Http.PutAsync("/v1/topics/rt.a", Json("""{"retention":{"maxMessages":2}}""")))
        {
            Assert.True(created.IsSuccessStatusCode);
        }
        await PublishAsync(hub, "rt.a", 1);
        var start = await PollAsync(hub, "topic=rt.*&after=0");
        Assert.Equal(["rt.a:1"], Seen(start));
        for (var i = 2; i <= 5; i++)
        {
            await PublishAsync(hub, "rt.a", i);
        }
        var page = await PollAsync(hub, $"topic=rt.*&after={start.GetProperty("next").GetString()}");
        var notice = Assert.Single(page.GetProperty("notices").EnumerateArray());
        Assert.Equal(("missed", "rt.a", 2L, 3L), (notice.GetProperty("kind").GetString(), notice.GetProperty("topic").GetString(), notice.GetProperty("fromOffset").GetInt64(), notice.GetProperty("toOffset").GetInt64()));
        Assert.Equal(["rt.a:4", "rt.a:5"], Seen(page));
        var again = await PollAsync(hub, $"topic=rt.*&after={page.GetProperty("next").GetString()}");
        Assert.Empty(again.GetProperty("notices").EnumerateArray()); // told once
        Assert.Empty(Seen(again));
    }

    [Fact]
    public async Task A_HEAD_answers_the_headers_of_the_page_there_is_now_without_holding_the_request()
    {
        await using var hub = await TestHub.StartAsync();
        await PublishAsync(hub, "pp.head", 1);
        var clock = Stopwatch.StartNew();
        // A HEAD is what a GET would answer now: a long poll's wait= is not held (as for one topic's history).
        using var head = await hub.Http.SendAsync(new HttpRequestMessage(HttpMethod.Head, "/v1/messages?topic=pp.*&wait=30"));
        Assert.Equal(HttpStatusCode.OK, head.StatusCode);
        Assert.Equal("application/json", head.Content.Headers.ContentType?.MediaType);
        Assert.True(head.Content.Headers.ContentLength > 0);
        Assert.Empty(await head.Content.ReadAsByteArrayAsync());
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(20), $"held for {clock.Elapsed}");
        using var bad = await hub.Http.SendAsync(new HttpRequestMessage(HttpMethod.Head, "/v1/messages?topic=pp.*&wait=99"));
        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode); // the wait is still checked
        Assert.Equal("application/problem+json", bad.Content.Headers.ContentType?.MediaType);
    }

    [Theory]
    [InlineData("", "invalid-request", "topic")]
    [InlineData("topic=a..b", "invalid-topic-name", "")]
    [InlineData("topic=a.*&after=p1.%21%21", "invalid-position", "after='p1.!!' is not a position of a multi-topic read")]
    [InlineData("topic=a.*&after=abc", "invalid-position", "")]
    [InlineData("topic=a.*&wait=9999", "invalid-request", "wait")]
    [InlineData("topic=a.*&limit=0", "invalid-request", "limit")]
    public async Task Bad_requests_are_refused_with_a_problem_that_says_what_to_fix(string query, string code, string word)
    {
        await using var hub = await TestHub.StartAsync();
        using var response = await hub.Http.GetAsync("/v1/messages?" + query);
        var body = await response.Content.ReadAsStringAsync();
        Assert.True((int)response.StatusCode is >= 400 and < 500, $"{(int)response.StatusCode}: {body}");
        var problem = JsonDocument.Parse(body).RootElement;
        Assert.Equal(code, problem.GetProperty("code").GetString());
        Assert.Contains(word, problem.GetProperty("detail").GetString(), StringComparison.OrdinalIgnoreCase);
    }
}
