using System.Net;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;

namespace Switchboard.RealTime.Tests;

/// <summary>
/// Resume ids of multi-topic streams that match many topics: past a few dozen topics the id names a snapshot of the
/// positions in the hub's store plus the topics moved since (<c>p2.</c>), so it stays small while the stream resumes exactly.
/// </summary>
public sealed class SseResumeSnapshotTests
{
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(60);

    // Every id, whole or on a snapshot, stays under this (twice Resume:FullBytes, and one delta line): a browser sends it
    // back as a header. The whole positions of 200 topics would be about 6,000 characters.
    private const int IdBound = 2 * 1024 + 64;

    public static TheoryData<bool> Engines => new() { false, true };

    private static Dictionary<string, string?> Settings(params (string Key, string Value)[] more)
    {
        var settings = new Dictionary<string, string?> { ["Switchboard:Resume:DeltaTopics"] = "16", ["Switchboard:Resume:FullBytes"] = "1024" };
        foreach (var (key, value) in more)
        {
            settings["Switchboard:" + key] = value;
        }
        return settings;
    }

    private static Task PublishAsync(TestHub hub, string topic, int value) => SseStreams.PublishAsync(hub, topic, value);

    private static Task<(HttpResponseMessage Response, IAsyncEnumerator<SseEvent> Events)> OpenAsync(TestHub hub, string path, string? lastEventId = null)
        => SseStreams.OpenAsync(hub, path, lastEventId, Limit);

    /// <summary>Reads as EventSource does: the last id seen (events and id-only blocks alike) and the messages, until <paramref name="count"/> of them.</summary>
    private static async Task<string> ReadAsync(IAsyncEnumerator<SseEvent> events, List<(string Topic, long Offset)> messages, int count, string lastId, List<int> idLengths)
    {
        while (messages.Count < count)
        {
            Assert.True(await events.MoveNextAsync(), "the stream ended");
            var e = events.Current;
            if (e.Id is { } id)
            {
                lastId = id;
                idLengths.Add(id.Length);
            }
            if (e.Event is null && e.Data.Length > 0)
            {
                using var message = JsonDocument.Parse(e.Data);
                messages.Add((message.RootElement.GetProperty("topic").GetString()!, message.RootElement.GetProperty("offset").GetInt64()));
            }
            else
            {
                Assert.True(e.Event is null, $"unexpected {e.Event}: {e.Data}");
            }
        }
        return lastId;
    }

    private static async Task<string> CreateTopicsAsync(TestHub hub, string prefix, int count)
    {
        for (var i = 0; i < count; i++)
        {
            await PublishAsync(hub, $"{prefix}.t{i:D3}", 0);
        }
        return prefix + ".*";
    }

    [Theory]
    [MemberData(nameof(Engines))]
    public async Task A_stream_of_200_topics_keeps_small_ids_and_resumes_every_message_once_in_order(bool sqlite)
    {
        await using var hub = await TestHub.StartAsync(sqlite, Settings());
        var pattern = await CreateTopicsAsync(hub, "many", 200);
        var random = new Random(7);
        var published = new List<(string Topic, long Offset)>();
        var next = new Dictionary<string, long>();
        async Task PublishSomeAsync(int count)
        {
            for (var i = 0; i < count; i++)
            {
                var topic = $"many.t{random.Next(200):D3}";
                next[topic] = next.GetValueOrDefault(topic, 1) + 1;
                await PublishAsync(hub, topic, i);
                published.Add((topic, next[topic]));
            }
        }

        var received = new List<(string Topic, long Offset)>();
        var idLengths = new List<int>();
        var (response, events) = await OpenAsync(hub, $"/v1/events?topic={pattern}");
        string lastId;
        using (response)
        {
            Assert.True(await events.MoveNextAsync());
            lastId = events.Current.Id!;
            Assert.StartsWith("p2.", lastId, StringComparison.Ordinal); // 200 topics: a snapshot from the first id on
            await PublishSomeAsync(300);
            // Away mid-stream: what was sent after the last event read comes again on resume, nothing is lost.
            lastId = await ReadAsync(events, received, 150, lastId, idLengths);
        }
        await PublishSomeAsync(100);
        var (again, resumed) = await OpenAsync(hub, $"/v1/events?topic={pattern}", lastId);
        using (again)
        {
            lastId = await ReadAsync(resumed, received, published.Count, lastId, idLengths);
        }

        Assert.Equal(published.Count, received.Count);
        Assert.Equal(published.Order(), received.Order()); // every message exactly once
        foreach (var topic in received.GroupBy(m => m.Topic))
        {
            Assert.Equal(topic.Select(m => m.Offset).Order(), topic.Select(m => m.Offset)); // each topic in its order
        }
        Assert.True(idLengths.Max() <= IdBound, $"the longest id was {idLengths.Max()} characters");
        Assert.All(idLengths, length => Assert.True(length > 0));
        Assert.StartsWith("p2.", lastId, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_id_with_another_key_or_an_altered_delta_is_refused()
    {
        await using var hub = await TestHub.StartAsync(settings: Settings());
        var pattern = await CreateTopicsAsync(hub, "keyed", 40);
        string id;
        var (response, events) = await OpenAsync(hub, $"/v1/events?topic={pattern}");
        using (response)
        {
            await PublishAsync(hub, "keyed.t001", 1);
            id = await ReadAsync(events, [], 1, "", []);
        }
        var parts = id.Split('.');
        Assert.Equal(4, parts.Length);
        var otherKey = string.Join('.', parts[0], parts[1], System.Buffers.Text.Base64Url.EncodeToString(new byte[16]), parts[3]);
        var delta = System.Buffers.Text.Base64Url.DecodeFromChars(parts[3]);
        var text = Encoding.UTF8.GetString(delta.AsSpan(16));
        Assert.Contains("keyed.t001 ", text, StringComparison.Ordinal);
        var moved = delta[..16].Concat(Encoding.UTF8.GetBytes(text.Replace("keyed.t001 ", "keyed.t002 ", StringComparison.Ordinal))).ToArray();
        var altered = string.Join('.', parts[0], parts[1], parts[2], System.Buffers.Text.Base64Url.EncodeToString(moved));
        foreach (var bad in new[] { otherKey, altered, id[..^3], "p2.x.y.z", $"p2.{parts[1]}9.{parts[2]}.{parts[3]}" })
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, $"/v1/events?topic={pattern}");
            request.Headers.TryAddWithoutValidation("Last-Event-ID", bad);
            using var refused = await hub.Http.SendAsync(request);
            Assert.Equal(HttpStatusCode.BadRequest, refused.StatusCode);
            Assert.Equal("application/problem+json", refused.Content.Headers.ContentType?.MediaType);
            using var problem = JsonDocument.Parse(await refused.Content.ReadAsStringAsync());
            Assert.Equal("invalid-position", problem.RootElement.GetProperty("code").GetString());
            Assert.Contains("Last-Event-ID", problem.RootElement.GetProperty("detail").GetString(), StringComparison.Ordinal);
        }
        var (fine, fineEvents) = await OpenAsync(hub, $"/v1/events?topic={pattern}", id); // the id as issued still resumes
        using (fine)
        {
            Assert.True(await fineEvents.MoveNextAsync());
        }
    }

    [Fact]
    public async Task A_resume_whose_snapshot_expired_is_told_so_and_goes_on_from_now()
    {
        // One snapshot kept: a second stream's snapshot drops the first one's.
        await using var hub = await TestHub.StartAsync(settings: Settings(("Resume:SnapshotMaxCount", "1")));
        var pattern = await CreateTopicsAsync(hub, "gone", 40);
        string id;
        var (first, firstEvents) = await OpenAsync(hub, $"/v1/events?topic={pattern}");
        using (first)
        {
            await PublishAsync(hub, "gone.t005", 1);
            id = await ReadAsync(firstEvents, [], 1, "", []);
        }
        var (second, secondEvents) = await OpenAsync(hub, $"/v1/events?topic={pattern}");
        using (second)
        {
            Assert.True(await secondEvents.MoveNextAsync());
        }
        await PublishAsync(hub, "gone.t005", 2); // moved since the snapshot: in the id's delta, resumed exactly
        await PublishAsync(hub, "gone.t006", 2); // not in the delta: its position went with the snapshot

        var (resumed, events) = await OpenAsync(hub, $"/v1/events?topic={pattern}", id);
        using (resumed)
        {
            Assert.True(await events.MoveNextAsync());
            Assert.StartsWith("p2.", events.Current.Id, StringComparison.Ordinal);
            Assert.True(await events.MoveNextAsync());
            Assert.Equal("notice", events.Current.Event);
            using var notice = JsonDocument.Parse(events.Current.Data);
            Assert.Equal("resume-expired", notice.RootElement.GetProperty("kind").GetString());
            Assert.Equal(id.Split('.')[1], notice.RootElement.GetProperty("snapshot").GetString());
            Assert.Equal(["gone.t005"], notice.RootElement.GetProperty("resumedTopics").EnumerateArray().Select(t => t.GetString()));
            Assert.Contains("from now", notice.RootElement.GetProperty("message").GetString(), StringComparison.Ordinal);
            var received = new List<(string Topic, long Offset)>();
            await ReadAsync(events, received, 1, "", []);
            Assert.Equal(("gone.t005", 3L), received[0]);
            await PublishAsync(hub, "gone.t007", 3);
            await ReadAsync(events, received, 2, "", []);
            Assert.Equal(("gone.t007", 2L), received[1]);
        }
    }

    [Fact]
    public async Task A_poll_of_many_topics_pages_on_small_tokens_and_answers_an_expired_or_altered_one()
    {
        await using var hub = await TestHub.StartAsync(settings: Settings(("Resume:SnapshotMaxCount", "2")));
        var pattern = await CreateTopicsAsync(hub, "paged", 120);
        var seen = new List<string>();
        var after = "0";
        var tokens = new List<string>();
        while (true)
        {
            using var page = JsonDocument.Parse(await hub.Http.GetStringAsync($"/v1/messages?topic={pattern}&after={after}&limit=50"));
            var messages = page.RootElement.GetProperty("messages").EnumerateArray().Select(m => m.GetProperty("topic").GetString()!).ToList();
            after = page.RootElement.GetProperty("next").GetString()!;
            tokens.Add(after);
            if (messages.Count == 0)
            {
                break;
            }
            seen.AddRange(messages);
        }
        Assert.Equal(Enumerable.Range(0, 120).Select(i => $"paged.t{i:D3}"), seen.Order(StringComparer.Ordinal));
        Assert.All(tokens, token => Assert.True(token.Length <= IdBound, $"{token.Length} characters"));
        Assert.StartsWith("p2.", after, StringComparison.Ordinal);

        // The poll's token resumes an event stream too: the two are one position.
        await PublishAsync(hub, "paged.t010", 1);
        var (stream, events) = await OpenAsync(hub, $"/v1/events?topic={pattern}", after);
        using (stream)
        {
            var received = new List<(string Topic, long Offset)>();
            await ReadAsync(events, received, 1, "", []);
            Assert.Equal(("paged.t010", 2L), received[0]);
        }

        var altered = after[..^2] + (after[^2] == 'A' ? "B" : "A") + after[^1];
        using (var refused = await hub.Http.GetAsync($"/v1/messages?topic={pattern}&after={altered}"))
        {
            Assert.Equal(HttpStatusCode.BadRequest, refused.StatusCode);
            Assert.Contains("after=", await refused.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }

        // Two more snapshots (two fresh polls of every topic from now) drop the one the token stands on.
        for (var i = 0; i < 2; i++)
        {
            using var fresh = await hub.Http.GetAsync($"/v1/messages?topic={pattern}");
            Assert.Equal(HttpStatusCode.OK, fresh.StatusCode);
        }
        await PublishAsync(hub, "paged.t011", 1);
        using var expired = JsonDocument.Parse(await hub.Http.GetStringAsync($"/v1/messages?topic={pattern}&after={after}"));
        var notice = Assert.Single(expired.RootElement.GetProperty("notices").EnumerateArray());
        Assert.Equal("resume-expired", notice.GetProperty("kind").GetString());
        Assert.Empty(expired.RootElement.GetProperty("messages").EnumerateArray()); // from now: t011 was published before
        Assert.StartsWith("p2.", expired.RootElement.GetProperty("next").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_WebSocket_subscribe_resumes_from_a_stream_id_on_a_snapshot()
    {
        await using var hub = await TestHub.StartAsync(settings: Settings());
        var pattern = await CreateTopicsAsync(hub, "wsr", 40);
        string id;
        var (response, events) = await OpenAsync(hub, $"/v1/events?topic={pattern}");
        using (response)
        {
            Assert.True(await events.MoveNextAsync());
            id = events.Current.Id!;
            Assert.StartsWith("p2.", id, StringComparison.Ordinal);
        }
        await PublishAsync(hub, "wsr.t020", 1);
        using var socket = new ClientWebSocket();
        socket.Options.AddSubProtocol("switchboard.v1.json");
        using var timeout = new CancellationTokenSource(Limit);
        await socket.ConnectAsync(hub.WebSocketAddress("/v1/ws"), timeout.Token);
        await socket.SendAsync(Encoding.UTF8.GetBytes($$$"""{"id":"s","subscribe":{"topics":["{{{pattern}}}"],"after":"{{{id}}}"}}"""), WebSocketMessageType.Text, true, timeout.Token);
        while (true)
        {
            using var frame = JsonDocument.Parse(await WebSockets.ReceiveAsync(socket, timeout.Token));
            Assert.False(frame.RootElement.TryGetProperty("error", out var error), error.ToString());
            if (frame.RootElement.TryGetProperty("message", out var message))
            {
                Assert.Equal("wsr.t020", message.GetProperty("topic").GetString());
                Assert.Equal(2, message.GetProperty("offset").GetInt64());
                break;
            }
        }
        await socket.SendAsync(Encoding.UTF8.GetBytes($$$"""{"id":"bad","subscribe":{"topics":["{{{pattern}}}"],"after":"{{{id[..^4]}}}"}}"""), WebSocketMessageType.Text, true, timeout.Token);
        using var refused = JsonDocument.Parse(await WebSockets.ReceiveAsync(socket, timeout.Token));
        Assert.Equal("invalid-position", refused.RootElement.GetProperty("error").GetProperty("code").GetString());
        Assert.Contains("subscribe.after", refused.RootElement.GetProperty("error").GetProperty("message").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_snapshot_topic_is_never_listed_read_followed_or_written()
    {
        await using var hub = await TestHub.StartAsync(settings: Settings());
        var pattern = await CreateTopicsAsync(hub, "hidden", 40);
        var (all, allEvents) = await OpenAsync(hub, "/v1/events?topic=%3E");
        using (all)
        {
            var (response, events) = await OpenAsync(hub, $"/v1/events?topic={pattern}"); // writes a snapshot
            using (response)
            {
                Assert.True(await events.MoveNextAsync());
                Assert.StartsWith("p2.", events.Current.Id, StringComparison.Ordinal);
            }
            Assert.True(await allEvents.MoveNextAsync()); // the opening block
            await PublishAsync(hub, "hidden.t000", 1);
            var seen = new List<(string Topic, long Offset)>();
            await ReadAsync(allEvents, seen, 1, "", []);
            Assert.Equal(("hidden.t000", 2L), seen[0]); // ">" heard the publish, not the snapshot stored before it
        }
        using var topics = JsonDocument.Parse(await hub.Http.GetStringAsync("/v1/topics?limit=1000"));
        Assert.DoesNotContain(topics.RootElement.GetProperty("topics").EnumerateArray(), t => t.GetProperty("name").GetString()!.StartsWith('$'));
        foreach (var path in new[] { "/v1/topics/$resume/messages?after=0", "/v1/topics/$resume", "/v1/topics/$resume/events", "/v1/events?topic=$resume", "/v1/events?topic=$resume.%3E", "/v1/messages?topic=$resume" })
        {
            using var refused = await hub.Http.GetAsync(path);
            Assert.True(refused.StatusCode == HttpStatusCode.BadRequest, $"{path}: {refused.StatusCode}");
            Assert.Contains("internal", await refused.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }
        using var content = new StringContent("""{"payload":1}""", Encoding.UTF8, "application/json");
        using var write = await hub.Http.PostAsync("/v1/topics/$resume/messages", content);
        Assert.Equal(HttpStatusCode.BadRequest, write.StatusCode);
    }
}
