using System.Diagnostics;
using System.Net;
using Switchboard.Server.Tests.Support;

namespace Switchboard.Server.Tests;

/// <summary>History, polling and long polling: after/limit/next, missed ranges, waits woken by publishes and timeouts.</summary>
public sealed class HistoryTests
{
    // Far below the 30 s the long polls ask for, far above any honest wake-up on a loaded machine.
    private static readonly TimeSpan Prompt = TimeSpan.FromSeconds(5);

    [Theory]
    [MemberData(nameof(Engines.Both), MemberType = typeof(Engines))]
    public async Task History_pages_with_after_and_limit_and_continues_from_next(string engine)
    {
        await using var hub = await TestHub.StartAsync(engine);
        var topic = Names.Unique("orders");
        var epoch = (await hub.Http.PublishManyAsync(topic, 5)).GetProperty("epoch").GetString();

        using var firstResponse = await hub.Http.GetAsync($"{Http.MessagesPath(topic)}?after=0&limit=2");
        Assert.Equal(HttpStatusCode.OK, firstResponse.StatusCode);
        var first = await firstResponse.ReadJsonAsync();
        Assert.Equal([1L, 2L], first.Offsets());
        Assert.Equal($"{epoch}:2", first.GetProperty("next").GetString());
        Assert.Equal(epoch, first.GetProperty("epoch").GetString());
        Assert.Equal(1, first.GetProperty("firstOffset").GetInt64());
        Assert.Equal(5, first.GetProperty("lastOffset").GetInt64());
        Assert.Equal("no-store", firstResponse.Headers.CacheControl?.ToString());
        var link = firstResponse.Header("Link");
        Assert.NotNull(link);
        Assert.Contains("rel=\"next\"", link);
        Assert.Contains("limit=2", link);

        // Follow the Link header as a client that knows nothing else would.
        var nextPath = link[(link.IndexOf('<') + 1)..link.IndexOf('>')];
        var second = await hub.Http.GetJsonOkAsync(nextPath);
        Assert.Equal([3L, 4L], second.Offsets());

        var third = await hub.Http.GetJsonOkAsync($"{Http.MessagesPath(topic)}?after={Uri.EscapeDataString(second.GetProperty("next").GetString()!)}&limit=2");
        Assert.Equal([5L], third.Offsets());
        Assert.Equal($"{epoch}:5", third.GetProperty("next").GetString());

        var end = await hub.Http.GetJsonOkAsync($"{Http.MessagesPath(topic)}?after={epoch}:5");
        Assert.Empty(end.GetProperty("messages").EnumerateArray());
        Assert.Equal($"{epoch}:5", end.GetProperty("next").GetString());
    }

    [Theory]
    [MemberData(nameof(Engines.Both), MemberType = typeof(Engines))]
    public async Task History_without_after_starts_at_the_oldest_retained_message(string engine)
    {
        await using var hub = await TestHub.StartAsync(engine);
        var topic = Names.Unique("orders");
        await hub.Http.PublishManyAsync(topic, 3);

        var page = await hub.Http.GetJsonOkAsync(Http.MessagesPath(topic));

        Assert.Equal([1L, 2L, 3L], page.Offsets());
        Assert.Equal(1, page.GetProperty("messages")[0].GetProperty("payload").GetProperty("n").GetInt32());
    }

    [Theory]
    [MemberData(nameof(Engines.Both), MemberType = typeof(Engines))]
    public async Task Messages_removed_by_retention_are_reported_as_missed(string engine)
    {
        await using var hub = await TestHub.StartAsync(engine);
        var topic = Names.Unique("ticks");
        await hub.Http.PutTopicOkAsync(topic, """{"retention": {"maxMessages": 2}}""");
        var epoch = (await hub.Http.PublishManyAsync(topic, 5)).GetProperty("epoch").GetString();

        var page = await hub.Http.GetJsonOkAsync($"{Http.MessagesPath(topic)}?after={epoch}:1");

        var missed = page.GetProperty("missed");
        Assert.Equal(2, missed.GetProperty("fromOffset").GetInt64());
        Assert.Equal(3, missed.GetProperty("toOffset").GetInt64());
        Assert.Equal("retention", missed.GetProperty("reason").GetString());
        Assert.Equal([4L, 5L], page.Offsets());
        Assert.Equal(4, page.GetProperty("firstOffset").GetInt64());

        var current = await hub.Http.GetJsonOkAsync($"{Http.MessagesPath(topic)}?after={epoch}:4");
        Assert.False(current.TryGetProperty("missed", out _), "nothing was missed after offset 4");
        Assert.Equal([5L], current.Offsets());
    }

    [Theory]
    [MemberData(nameof(Engines.Both), MemberType = typeof(Engines))]
    public async Task A_long_poll_answers_at_once_when_messages_are_already_there(string engine)
    {
        await using var hub = await TestHub.StartAsync(engine);
        var topic = Names.Unique("orders");
        await hub.Http.PublishManyAsync(topic, 2);
        var clock = Stopwatch.StartNew();

        var page = await hub.Http.GetJsonOkAsync($"{Http.MessagesPath(topic)}?after=1&wait=30");

        Assert.True(clock.Elapsed < Prompt, $"took {clock.Elapsed}");
        Assert.Equal([2L], page.Offsets());
    }

    [Theory]
    [MemberData(nameof(Engines.Both), MemberType = typeof(Engines))]
    public async Task A_long_poll_is_woken_by_a_publish_from_another_client(string engine)
    {
        await using var hub = await TestHub.StartAsync(engine);
        var topic = Names.Unique("orders");
        var epoch = (await hub.Http.PublishOkAsync(topic, "1")).GetProperty("epoch").GetString();
        var poller = hub.NewClient();
        var publisher = hub.NewClient();
        var clock = Stopwatch.StartNew();

        var poll = poller.GetAsync($"{Http.MessagesPath(topic)}?after={epoch}:1&wait=30");
        // Give the poll a moment to reach the server and start waiting (the server exposes no signal for that).
        // Whether or not it is waiting yet, the answer below must hold the message and come long before 30 s.
        await Task.WhenAny(poll, Task.Delay(TimeSpan.FromMilliseconds(300)));
        Assert.False(poll.IsCompleted, "the poll must wait: there is nothing after offset 1 yet");
        await publisher.PublishOkAsync(topic, """{"wake": true}""");
        using var response = await poll.WaitAsync(TimeSpan.FromSeconds(20));

        Assert.True(clock.Elapsed < Prompt, $"the poll answered after {clock.Elapsed}; a publish must wake it");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var page = await response.ReadJsonAsync();
        Assert.Equal([2L], page.Offsets());
        Assert.True(page.GetProperty("messages")[0].GetProperty("payload").GetProperty("wake").GetBoolean());
        Assert.Equal($"{epoch}:2", page.GetProperty("next").GetString());
    }

    [Theory]
    [MemberData(nameof(Engines.Both), MemberType = typeof(Engines))]
    public async Task A_long_poll_on_a_topic_created_empty_is_woken_by_its_first_publish(string engine)
    {
        await using var hub = await TestHub.StartAsync(engine);
        var topic = Names.Unique("orders");
        await hub.Http.PutTopicOkAsync(topic, "{}");
        var poller = hub.NewClient();
        var clock = Stopwatch.StartNew();

        var poll = poller.GetAsync($"{Http.MessagesPath(topic)}?after=0&wait=30");
        await Task.WhenAny(poll, Task.Delay(TimeSpan.FromMilliseconds(300)));
        Assert.False(poll.IsCompleted, "the poll must wait: the topic is empty");
        await hub.NewClient().PublishOkAsync(topic, "\"first\"");
        using var response = await poll.WaitAsync(TimeSpan.FromSeconds(20));

        Assert.True(clock.Elapsed < Prompt, $"took {clock.Elapsed}");
        Assert.Equal(new long[] { 1L }, (await response.ReadJsonAsync()).Offsets());
    }

    [Theory]
    [MemberData(nameof(Engines.Both), MemberType = typeof(Engines))]
    public async Task A_long_poll_answers_an_empty_page_when_the_wait_ends(string engine)
    {
        await using var hub = await TestHub.StartAsync(engine);
        var topic = Names.Unique("orders");
        var epoch = (await hub.Http.PublishOkAsync(topic, "1")).GetProperty("epoch").GetString();
        var clock = Stopwatch.StartNew();

        using var response = await hub.Http.GetAsync($"{Http.MessagesPath(topic)}?after=1&wait=1");

        var elapsed = clock.Elapsed;
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var page = await response.ReadJsonAsync();
        Assert.Empty(page.GetProperty("messages").EnumerateArray());
        Assert.Equal($"{epoch}:1", page.GetProperty("next").GetString());
        Assert.True(elapsed >= TimeSpan.FromMilliseconds(900), $"answered after {elapsed}, before the wait of 1 s ended");
        Assert.True(elapsed < Prompt, $"answered after {elapsed}");
    }

    [Theory]
    [MemberData(nameof(Engines.Both), MemberType = typeof(Engines))]
    public async Task A_long_poll_on_a_missing_topic_answers_404_at_once(string engine)
    {
        await using var hub = await TestHub.StartAsync(engine);
        var topic = Names.Unique("missing");
        var clock = Stopwatch.StartNew();

        using var response = await hub.Http.GetAsync($"{Http.MessagesPath(topic)}?wait=30");

        await Problem.AssertAsync(response, 404, "topic-not-found", topic);
        Assert.True(clock.Elapsed < Prompt, $"took {clock.Elapsed}");
    }

    [Theory]
    [MemberData(nameof(Engines.Both), MemberType = typeof(Engines))]
    public async Task Many_long_polls_are_all_woken_by_one_publish(string engine)
    {
        await using var hub = await TestHub.StartAsync(engine);
        var topic = Names.Unique("fanout");
        await hub.Http.PutTopicOkAsync(topic, "{}");
        var clock = Stopwatch.StartNew();

        var polls = Enumerable.Range(0, 8).Select(_ => hub.NewClient().GetAsync($"{Http.MessagesPath(topic)}?after=0&wait=30")).ToArray();
        await Task.WhenAny(Task.WhenAny(polls), Task.Delay(TimeSpan.FromMilliseconds(300)));
        Assert.DoesNotContain(polls, p => p.IsCompleted);
        await hub.Http.PublishOkAsync(topic, "1");
        var responses = await Task.WhenAll(polls).WaitAsync(TimeSpan.FromSeconds(20));

        Assert.True(clock.Elapsed < Prompt, $"took {clock.Elapsed}");
        foreach (var response in responses)
        {
            using (response)
            {
                Assert.Equal(new long[] { 1L }, (await response.ReadJsonAsync()).Offsets());
            }
        }
    }
}
