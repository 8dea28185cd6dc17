using System.Net;
using Switchboard.Server.Tests.Support;

namespace Switchboard.Server.Tests;

/// <summary>Single messages: immutable caching (strong ETag, 304), and the 404 / 409 / 410 answers.</summary>
public sealed class MessageReadTests
{
    [Theory]
    [MemberData(nameof(Engines.Both), MemberType = typeof(Engines))]
    public async Task A_message_has_a_strong_ETag_and_an_immutable_Cache_Control_and_answers_304_to_If_None_Match(string engine)
    {
        await using var hub = await TestHub.StartAsync(engine);
        var topic = Names.Unique("orders");
        var published = await hub.Http.PublishOkAsync(topic, """{"id": 1}""");
        // The address that names the incarnation (as a publish's Location does): that message never changes.
        var path = Http.MessagesPath(topic) + "/1?epoch=" + published.GetProperty("epoch").GetString();

        using var first = await hub.Http.GetAsync(path);
        Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        var etag = first.Headers.ETag;
        Assert.NotNull(etag);
        Assert.False(etag.IsWeak, "a message never changes: its validator is strong");
        var cache = first.Headers.CacheControl;
        Assert.NotNull(cache);
        Assert.True(cache.Public);
        Assert.True(cache.MaxAge >= TimeSpan.FromDays(365), $"max-age is {cache.MaxAge}");
        Assert.Contains(cache.Extensions, e => e.Name == "immutable");

        var request = new HttpRequestMessage(HttpMethod.Get, path);
        request.Headers.IfNoneMatch.Add(etag);
        using var cached = await hub.Http.SendAsync(request);
        Assert.Equal(HttpStatusCode.NotModified, cached.StatusCode);
        Assert.Equal(etag, cached.Headers.ETag);
        Assert.Empty(await cached.Content.ReadAsByteArrayAsync());

        // A publish changes the topic, not message 1: its validator still holds.
        await hub.Http.PublishOkAsync(topic, """{"id": 2}""");
        var again = new HttpRequestMessage(HttpMethod.Get, path);
        again.Headers.IfNoneMatch.Add(etag);
        using var stillCached = await hub.Http.SendAsync(again);
        Assert.Equal(HttpStatusCode.NotModified, stillCached.StatusCode);

        // Another message has another validator.
        using var second = await hub.Http.GetAsync(Http.MessagesPath(topic) + "/2");
        Assert.NotEqual(etag, second.Headers.ETag);
    }

    [Theory]
    [MemberData(nameof(Engines.Both), MemberType = typeof(Engines))]
    public async Task The_payload_resource_is_cacheable_the_same_way(string engine)
    {
        await using var hub = await TestHub.StartAsync(engine);
        var topic = Names.Unique("orders");
        var published = await hub.Http.PublishOkAsync(topic, "42");
        var path = Http.MessagesPath(topic) + "/1/payload?epoch=" + published.GetProperty("epoch").GetString();

        using var first = await hub.Http.GetAsync(path);
        Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        Assert.NotNull(first.Headers.ETag);
        Assert.False(first.Headers.ETag.IsWeak);
        Assert.Contains(first.Headers.CacheControl!.Extensions, e => e.Name == "immutable");

        var request = new HttpRequestMessage(HttpMethod.Get, path);
        request.Headers.IfNoneMatch.Add(first.Headers.ETag);
        using var cached = await hub.Http.SendAsync(request);
        Assert.Equal(HttpStatusCode.NotModified, cached.StatusCode);
    }

    [Theory]
    [MemberData(nameof(Engines.Both), MemberType = typeof(Engines))]
    public async Task A_missing_topic_or_message_answers_404_naming_it(string engine)
    {
        await using var hub = await TestHub.StartAsync(engine);
        var topic = Names.Unique("orders");
        var missing = Names.Unique("missing");
        await hub.Http.PublishManyAsync(topic, 2);

        using var noTopic = await hub.Http.GetAsync(Http.MessagesPath(missing) + "/1");
        await Problem.AssertAsync(noTopic, 404, "topic-not-found", missing);

        using var noMessage = await hub.Http.GetAsync(Http.MessagesPath(topic) + "/99");
        var problem = await Problem.AssertAsync(noMessage, 404, "message-not-found", "99", topic);
        Assert.Equal(2, problem.GetProperty("lastOffset").GetInt64());

        using var noPayload = await hub.Http.GetAsync(Http.MessagesPath(topic) + "/3/payload");
        await Problem.AssertAsync(noPayload, 404, "message-not-found", "3");
    }

    [Theory]
    [MemberData(nameof(Engines.Both), MemberType = typeof(Engines))]
    public async Task A_message_removed_by_retention_answers_410_with_the_oldest_retained_offset(string engine)
    {
        await using var hub = await TestHub.StartAsync(engine);
        var topic = Names.Unique("ticks");
        await hub.Http.PutTopicOkAsync(topic, """{"retention": {"maxMessages": 2}}""");
        await hub.Http.PublishManyAsync(topic, 5);

        using var gone = await hub.Http.GetAsync(Http.MessagesPath(topic) + "/1");
        var problem = await Problem.AssertAsync(gone, 410, "message-expired", "retention", "4");
        Assert.Equal(4, problem.GetProperty("firstOffset").GetInt64());

        using var gonePayload = await hub.Http.GetAsync(Http.MessagesPath(topic) + "/3/payload");
        await Problem.AssertAsync(gonePayload, 410, "message-expired", "retention");

        using var kept = await hub.Http.GetAsync(Http.MessagesPath(topic) + "/4");
        Assert.Equal(HttpStatusCode.OK, kept.StatusCode);
    }

    [Theory]
    [MemberData(nameof(Engines.Both), MemberType = typeof(Engines))]
    public async Task A_position_from_a_deleted_and_recreated_topic_answers_409_epoch_mismatch(string engine)
    {
        await using var hub = await TestHub.StartAsync(engine);
        var topic = Names.Unique("orders");
        var oldEpoch = (await hub.Http.PublishManyAsync(topic, 3)).GetProperty("epoch").GetString();
        using (var deleted = await hub.Http.DeleteAsync($"/v1/topics/{topic}"))
        {
            Assert.Equal(HttpStatusCode.NoContent, deleted.StatusCode);
        }
        var newEpoch = (await hub.Http.PublishOkAsync(topic, "\"again\"")).GetProperty("epoch").GetString();
        Assert.NotEqual(oldEpoch, newEpoch);

        using var history = await hub.Http.GetAsync($"{Http.MessagesPath(topic)}?after={oldEpoch}:1");
        var problem = await Problem.AssertAsync(history, 409, "epoch-mismatch", oldEpoch!, newEpoch!, "incarnation");
        Assert.Equal(newEpoch, problem.GetProperty("epoch").GetString());
        Assert.Equal(1, problem.GetProperty("firstOffset").GetInt64());

        // The Location of the old publish pins the old incarnation: following it is refused, never answered with the new message 1.
        using var message = await hub.Http.GetAsync($"{Http.MessagesPath(topic)}/1?epoch={oldEpoch}");
        await Problem.AssertAsync(message, 409, "epoch-mismatch", oldEpoch!);

        using var current = await hub.Http.GetAsync($"{Http.MessagesPath(topic)}/1?epoch={newEpoch}");
        Assert.Equal(HttpStatusCode.OK, current.StatusCode);
    }

    [Theory]
    [MemberData(nameof(Engines.Both), MemberType = typeof(Engines))]
    public async Task A_position_beyond_the_end_of_the_topic_answers_409_position_out_of_range(string engine)
    {
        await using var hub = await TestHub.StartAsync(engine);
        var topic = Names.Unique("orders");
        var epoch = (await hub.Http.PublishManyAsync(topic, 2)).GetProperty("epoch").GetString();

        using var plain = await hub.Http.GetAsync($"{Http.MessagesPath(topic)}?after=5");
        var problem = await Problem.AssertAsync(plain, 409, "position-out-of-range", "after=5", "beyond the last offset");
        Assert.Equal(2, problem.GetProperty("lastOffset").GetInt64());
        Assert.Equal(epoch, problem.GetProperty("epoch").GetString());

        using var withEpoch = await hub.Http.GetAsync($"{Http.MessagesPath(topic)}?after={epoch}:3&wait=1");
        await Problem.AssertAsync(withEpoch, 409, "position-out-of-range", "beyond");
    }
}
