using System.Net;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;

namespace Switchboard.RealTime.Tests;

/// <summary>Server-Sent Events specifics (headers, resume ids, notices, bad ids) and presence.</summary>
public sealed class SseAndPresenceTests
{
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(30);

    private static async Task Publish(TestHub hub, string topic, params object[] payloads)
    {
        foreach (var payload in payloads)
        {
            using var content = new StringContent(JsonSerializer.Serialize(new { payload }), Encoding.UTF8, "application/json");
            Assert.Equal(HttpStatusCode.Created, (await hub.Http.PostAsync($"/v1/topics/{topic}/messages", content)).StatusCode);
        }
    }

    private static async Task<(HttpResponseMessage Response, IAsyncEnumerator<SseEvent> Events)> OpenAsync(TestHub hub, string path, string? lastEventId = null)
    {
        var request = new HttpRequestMessage(HttpMethod.Get, path);
        if (lastEventId is not null)
        {
            request.Headers.TryAddWithoutValidation("Last-Event-ID", lastEventId);
        }
        var response = await hub.Http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        var reader = new StreamReader(await response.Content.ReadAsStreamAsync());
        return (response, SseParser.ReadAsync(reader, new CancellationTokenSource(Limit).Token).GetAsyncEnumerator());
    }

    private static async Task<SseEvent> NextAsync(IAsyncEnumerator<SseEvent> events, Func<SseEvent, bool> until)
    {
        while (await events.MoveNextAsync())
        {
            if (until(events.Current))
            {
                return events.Current;
            }
        }
        throw new InvalidOperationException("the stream ended");
    }

    [Fact]
    public async Task A_stream_sends_no_cache_headers_retry_and_a_first_id_then_events_with_positions()
    {
        await using var hub = await TestHub.StartAsync();
        await Publish(hub, "sse.h", "before");
        var (response, events) = await OpenAsync(hub, "/v1/topics/sse.h/events");
        using (response)
        {
            Assert.Equal("text/event-stream", response.Content.Headers.ContentType?.MediaType);
            Assert.Contains("no-cache", response.Headers.CacheControl?.ToString(), StringComparison.Ordinal);
            Assert.Equal("no", response.Headers.GetValues("X-Accel-Buffering").Single());
            var epoch = JsonDocument.Parse(await hub.Http.GetStringAsync("/v1/topics/sse.h")).RootElement.GetProperty("epoch").GetString();
            var first = await NextAsync(events, _ => true);
            Assert.Equal($"{epoch}:1", first.Id); // "now" is pinned to the current end: a reconnect resumes exactly
            await Publish(hub, "sse.h", new { multi = "line\nbreaks\r\ninside" });
            var message = await NextAsync(events, e => e.Event is null && e.Data.Length > 0);
            Assert.Equal($"{epoch}:2", message.Id);
            Assert.Equal("line\nbreaks\r\ninside", JsonDocument.Parse(message.Data).RootElement.GetProperty("payload").GetProperty("multi").GetString());
        }
    }

    [Fact]
    public async Task A_stream_opened_before_its_topic_exists_misses_nothing_published_while_it_reconnects()
    {
        await using var hub = await TestHub.StartAsync();
        // An EventSource follows a topic nobody has published to yet; its connection drops before any message came.
        // What it reconnects with is the last id it saw, or none: read the opening block as it would.
        string? lastId = null;
        using (var first = await hub.Http.SendAsync(new HttpRequestMessage(HttpMethod.Get, "/v1/topics/sse.later/events"), HttpCompletionOption.ResponseHeadersRead))
        {
            using var reader = new StreamReader(await first.Content.ReadAsStreamAsync());
            using var timeout = new CancellationTokenSource(Limit);
            while (await reader.ReadLineAsync(timeout.Token) is { Length: > 0 } line)
            {
                lastId = line.StartsWith("id: ", StringComparison.Ordinal) ? line[4..] : lastId;
            }
        }
        await Publish(hub, "sse.later", 1, 2); // the topic is created while the client is away

        var (response, events) = await OpenAsync(hub, "/v1/topics/sse.later/events", lastId);
        using (response)
        {
            await NextAsync(events, _ => true); // the opening block: subscribed
            await Publish(hub, "sse.later", 3);
            for (var expected = 1L; expected <= 3; expected++)
            {
                var e = await NextAsync(events, x => x.Event is null && x.Data.Length > 0);
                Assert.Equal(expected, JsonDocument.Parse(e.Data).RootElement.GetProperty("offset").GetInt64());
            }
        }
    }

    [Fact]
    public async Task A_garbage_Last_Event_ID_is_refused_with_a_problem()
    {
        await using var hub = await TestHub.StartAsync();
        await Publish(hub, "sse.bad", 1);
        foreach (var path in new[] { "/v1/topics/sse.bad/events", "/v1/events?topic=sse.bad" })
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, path);
            request.Headers.TryAddWithoutValidation("Last-Event-ID", "not-a-position!");
            using var response = await hub.Http.SendAsync(request);
            Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
            Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
            Assert.Contains("Last-Event-ID", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }
        using var badQuery = await hub.Http.GetAsync("/v1/topics/sse.bad/events?lastEventId=zz");
        Assert.Equal(HttpStatusCode.BadRequest, badQuery.StatusCode);
    }

    [Fact]
    public async Task A_resume_from_a_dropped_position_names_what_was_missed()
    {
        await using var hub = await TestHub.StartAsync();
        await hub.Http.PutAsync("/v1/topics/sse.short", new StringContent("""{"retention":{"maxMessages":2}}""", Encoding.UTF8, "application/json"));
        await Publish(hub, "sse.short", 1, 2, 3, 4, 5);
        var epoch = JsonDocument.Parse(await hub.Http.GetStringAsync("/v1/topics/sse.short")).RootElement.GetProperty("epoch").GetString();
        var (response, events) = await OpenAsync(hub, "/v1/topics/sse.short/events", $"{epoch}:1");
        using (response)
        {
            var notice = await NextAsync(events, e => e.Event == "notice");
            using var body = JsonDocument.Parse(notice.Data);
            Assert.Equal("missed", body.RootElement.GetProperty("kind").GetString());
            Assert.Equal(2, body.RootElement.GetProperty("fromOffset").GetInt64());
            Assert.Equal(3, body.RootElement.GetProperty("toOffset").GetInt64());
            Assert.Equal($"{epoch}:4", (await NextAsync(events, e => e.Event is null && e.Data.Length > 0)).Id);
        }
    }

    [Fact]
    public async Task A_multi_topic_stream_resumes_every_topic_from_one_Last_Event_ID()
    {
        await using var hub = await TestHub.StartAsync();
        await Publish(hub, "multi.a", "a1");
        var (response, events) = await OpenAsync(hub, "/v1/events?topic=multi.a&topic=multi.b.*");
        string lastId;
        using (response)
        {
            await Publish(hub, "multi.a", "a2");
            await Publish(hub, "multi.b.x", "bx1");
            var seen = new List<string>();
            lastId = "";
            while (seen.Count < 2)
            {
                var e = await NextAsync(events, x => x.Event is null && x.Data.Length > 0);
                seen.Add(JsonDocument.Parse(e.Data).RootElement.GetProperty("payload").GetString()!);
                lastId = e.Id!;
            }
            Assert.Equal(["a2", "bx1"], seen);
        }
        // While away: one more on each topic, and a topic that did not exist before.
        await Publish(hub, "multi.a", "a3");
        await Publish(hub, "multi.b.x", "bx2");
        await Publish(hub, "multi.b.new", "bnew1");
        var (again, resumed) = await OpenAsync(hub, "/v1/events?topic=multi.a&topic=multi.b.*", lastId);
        using (again)
        {
            var payloads = new List<string>();
            while (payloads.Count < 3)
            {
                var e = await NextAsync(resumed, x => x.Event is null && x.Data.Length > 0);
                payloads.Add(JsonDocument.Parse(e.Data).RootElement.GetProperty("payload").GetString()!);
            }
            Assert.Equal(["a3", "bnew1", "bx2"], payloads.Order(StringComparer.Ordinal));
        }
    }

    [Fact]
    public async Task Presence_lists_subscribers_of_every_transport_and_announces_joins_and_leaves()
    {
        await using var hub = await TestHub.StartAsync();
        await Publish(hub, "room.1", "open");
        using var ws = new ClientWebSocket();
        ws.Options.AddSubProtocol("switchboard.v1.json");
        await ws.ConnectAsync(hub.WebSocketAddress("/v1/ws"), CancellationToken.None);
        await ws.SendAsync(Encoding.UTF8.GetBytes("""{"id":"s","subscribe":{"topics":["room.1"]}}"""), WebSocketMessageType.Text, true, CancellationToken.None);
        using (var timeout = new CancellationTokenSource(Limit))
        {
            await WebSockets.ReceiveAsync(ws, timeout.Token);
        }
        var (sse, _) = await OpenAsync(hub, "/v1/topics/room.1/events");
        using (sse)
        {
            using var wild = new ClientWebSocket();
            await wild.ConnectAsync(hub.WebSocketAddress("/v1/ws"), CancellationToken.None);
            await wild.SendAsync(Encoding.UTF8.GetBytes("""{"id":"w","subscribe":{"topics":["room.*"]}}"""), WebSocketMessageType.Text, true, CancellationToken.None);
            using (var timeout = new CancellationTokenSource(Limit))
            {
                await WebSockets.ReceiveAsync(wild, timeout.Token);
            }

            using var presence = JsonDocument.Parse(await hub.Http.GetStringAsync("/v1/topics/room.1/presence"));
            Assert.Equal(3, presence.RootElement.GetProperty("count").GetInt32());
            Assert.Equal(["sse", "ws-json", "ws-json"], presence.RootElement.GetProperty("subscribers").EnumerateArray().Select(s => s.GetProperty("transport").GetString()).Order(StringComparer.Ordinal));
            using var countOnly = JsonDocument.Parse(await hub.Http.GetStringAsync("/v1/topics/room.1/presence?limit=0"));
            Assert.Equal(3, countOnly.RootElement.GetProperty("count").GetInt32());
            Assert.Empty(countOnly.RootElement.GetProperty("subscribers").EnumerateArray());
            Assert.True(countOnly.RootElement.GetProperty("truncated").GetBoolean());
        }
        await ws.CloseAsync(WebSocketCloseStatus.NormalClosure, "bye", CancellationToken.None);

        // Joins and leaves of the exact-topic subscribers are published on $presence.room.1 (the wildcard one is counted, not announced).
        var events = new List<string>();
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (events.Count(e => e.StartsWith("leave", StringComparison.Ordinal)) < 2)
        {
            Assert.True(DateTime.UtcNow < deadline, "presence events did not arrive: " + string.Join(", ", events));
            using var page = JsonDocument.Parse(await hub.Http.GetStringAsync("/v1/topics/$presence.room.1/messages?after=0&wait=2"));
            events = [.. page.RootElement.GetProperty("messages").EnumerateArray().Select(m => m.GetProperty("payload").GetProperty("event").GetString() + " " + m.GetProperty("payload").GetProperty("transport").GetString())];
        }
        Assert.Equal(["join sse", "join ws-json", "leave sse", "leave ws-json"], events.Order(StringComparer.Ordinal));
        Assert.True(events.IndexOf("join sse") < events.IndexOf("leave sse"));
        Assert.True(events.IndexOf("join ws-json") < events.IndexOf("leave ws-json"));
    }

    [Fact]
    public async Task A_subscription_to_a_topic_that_does_not_exist_is_counted_but_makes_no_presence_topic()
    {
        await using var hub = await TestHub.StartAsync();
        await Publish(hub, "room.real", "open");
        var (ghost, _) = await OpenAsync(hub, "/v1/topics/room.ghost/events");
        using (ghost)
        {
            Assert.Equal(HttpStatusCode.OK, ghost.StatusCode); // the stream answers once it is subscribed (it has no first id to send)
            using var presence = JsonDocument.Parse(await hub.Http.GetStringAsync("/v1/topics/room.ghost/presence?limit=0"));
            Assert.Equal(1, presence.RootElement.GetProperty("count").GetInt32());

            // Announcements are published in the order they are made: once the later join on an existing topic is
            // stored, a join on the missing one would have been too.
            var (real, realEvents) = await OpenAsync(hub, "/v1/topics/room.real/events");
            using (real)
            {
                await NextAsync(realEvents, _ => true);
                using var joins = JsonDocument.Parse(await hub.Http.GetStringAsync("/v1/topics/$presence.room.real/messages?after=0&wait=10"));
                Assert.Equal("join", joins.RootElement.GetProperty("messages")[0].GetProperty("payload").GetProperty("event").GetString());
            }
            using var none = await hub.Http.GetAsync("/v1/topics/$presence.room.ghost");
            Assert.Equal(HttpStatusCode.NotFound, none.StatusCode);
        }
    }

    [Fact]
    public async Task Patterns_that_start_with_a_wildcard_never_match_the_hubs_own_topics()
    {
        await using var hub = await TestHub.StartAsync();
        using (var bind = await hub.Http.PutAsync("/v1/queues/everything/bindings/%3E", null))
        {
            Assert.True(bind.IsSuccessStatusCode, await bind.Content.ReadAsStringAsync());
        }
        await Publish(hub, "room.2", "open");
        var (all, allEvents) = await OpenAsync(hub, "/v1/events?topic=%3E");
        var (named, namedEvents) = await OpenAsync(hub, "/v1/events?topic=$presence.%3E");
        using (all)
        using (named)
        {
            await NextAsync(allEvents, _ => true);
            await NextAsync(namedEvents, _ => true);
            var (member, memberEvents) = await OpenAsync(hub, "/v1/topics/room.2/events"); // announced on $presence.room.2
            using (member)
            {
                await NextAsync(memberEvents, _ => true);
                // The $ pattern named by its prefix hears the join ...
                var join = await NextAsync(namedEvents, e => e.Event is null && e.Data.Contains("\"join\"", StringComparison.Ordinal));
                Assert.Equal("$presence.room.2", JsonDocument.Parse(join.Data).RootElement.GetProperty("topic").GetString());
                await Publish(hub, "room.2", "after");
                // ... while ">" gets the next message of room.2 and nothing of $presence.room.2, which was stored before it.
                var seen = new List<string>();
                await NextAsync(allEvents, e =>
                {
                    if (e.Event is null)
                    {
                        seen.Add(JsonDocument.Parse(e.Data).RootElement.GetProperty("topic").GetString()!);
                    }
                    return e.Data.Contains("\"after\"", StringComparison.Ordinal);
                });
                Assert.Equal(["room.2"], seen.Distinct());
            }
        }
        // The queue bound to ">" took both messages of room.2 and no presence event.
        using var received = await hub.Http.PostAsync("/v1/queues/everything/receive?max=100", null);
        Assert.Equal(HttpStatusCode.OK, received.StatusCode);
        using var page = JsonDocument.Parse(await received.Content.ReadAsStringAsync());
        Assert.Equal(["open", "after"], page.RootElement.GetProperty("messages").EnumerateArray().Select(m => m.GetProperty("payload").GetString()));
    }
}
