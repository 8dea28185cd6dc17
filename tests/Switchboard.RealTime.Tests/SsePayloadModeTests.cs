using System.Net;
using System.Text;
using System.Text.Json;

namespace Switchboard.RealTime.Tests;

/// <summary>
/// <c>GET /v1/topics/{topic}/events?data=payload</c>: the same stream (ids, resume, notices), each event's data the
/// payload alone — what an EventSource user reading <c>event.data</c> wants, in about half the bytes.
/// </summary>
public sealed class SsePayloadModeTests
{
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task Each_event_carries_the_payload_alone_with_its_position_and_a_resume_continues_exactly()
    {
        await using var hub = await TestHub.StartAsync();
        using var timeout = new CancellationTokenSource(Limit);
        await PublishAsync(hub, "sse.payload", """{"payload": {"n": 1, "text": "two\nlines"}}""", "application/json");
        await PublishAsync(hub, "sse.payload", "plain words", "text/plain; charset=utf-8");
        await PublishAsync(hub, "sse.payload", new byte[] { 0, 1, 2, 255 }, "application/octet-stream");
        await PublishAsync(hub, "sse.payload", "line one\r\nline two", "text/plain");
        var epoch = JsonDocument.Parse(await hub.Http.GetStringAsync("/v1/topics/sse.payload", timeout.Token)).RootElement.GetProperty("epoch").GetString();

        var events = await ReadAsync(hub, "/v1/topics/sse.payload/events?after=0&data=payload", count: 4, lastEventId: null, timeout.Token);
        Assert.Equal([$"{epoch}:1", $"{epoch}:2", $"{epoch}:3", $"{epoch}:4"], events.Select(e => e.Id));
        // JSON as it was stored (the stored JSON text, its own escapes kept), text as it is, anything else base64 in an event named binary.
        Assert.Null(events[0].Event);
        Assert.Equal(1, JsonDocument.Parse(events[0].Data).RootElement.GetProperty("n").GetInt32());
        Assert.Equal("two\nlines", JsonDocument.Parse(events[0].Data).RootElement.GetProperty("text").GetString());
        Assert.DoesNotContain("\"topic\"", events[0].Data, StringComparison.Ordinal); // not the message envelope
        Assert.Equal("plain words", events[1].Data);
        Assert.Equal("binary", events[2].Event);
        Assert.Equal(new byte[] { 0, 1, 2, 255 }, Convert.FromBase64String(events[2].Data));
        Assert.Equal("line one\nline two", events[3].Data); // SSE ends lines at CR, LF or CRLF; a client joins them with LF

        // Last-Event-ID resumes a payload stream like any other: the next message, once.
        await PublishAsync(hub, "sse.payload", "fifth", "text/plain");
        var resumed = await ReadAsync(hub, "/v1/topics/sse.payload/events?data=payload", count: 1, lastEventId: $"{epoch}:4", timeout.Token);
        Assert.Equal(new SseEvent($"{epoch}:5", null, "fifth"), resumed.Single());
    }

    [Fact]
    public async Task An_unknown_data_mode_and_payload_mode_on_a_multi_topic_stream_are_refused_with_what_to_use()
    {
        await using var hub = await TestHub.StartAsync();
        await PublishAsync(hub, "sse.modes", "x", "text/plain");
        foreach (var (path, expected) in new[]
        {
            ("/v1/topics/sse.modes/events?data=raw", "data=payload"),
            ("/v1/events?topic=sse.modes&data=payload", "/v1/topics/{topic}/events?data=payload"),
        })
        {
            using var response = await hub.Http.GetAsync(path);
            Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
            Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
            Assert.Contains(expected, await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }
        // The default, spelled out, is the whole message.
        using var timeout = new CancellationTokenSource(Limit);
        var whole = await ReadAsync(hub, "/v1/topics/sse.modes/events?after=0&data=message", count: 1, lastEventId: null, timeout.Token);
        Assert.Equal("sse.modes", JsonDocument.Parse(whole[0].Data).RootElement.GetProperty("topic").GetString());
    }

    private static Task PublishAsync(TestHub hub, string topic, string body, string contentType)
        => PublishAsync(hub, topic, Encoding.UTF8.GetBytes(body), contentType);

    private static async Task PublishAsync(TestHub hub, string topic, byte[] body, string contentType)
    {
        using var content = new ByteArrayContent(body);
        content.Headers.TryAddWithoutValidation("Content-Type", contentType);
        using var response = await hub.Http.PostAsync($"/v1/topics/{topic}/messages", content);
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
    }

    /// <summary>The first <paramref name="count"/> events that carry data (the stream's opening retry/id block has none).</summary>
    private static async Task<List<SseEvent>> ReadAsync(TestHub hub, string path, int count, string? lastEventId, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, path);
        if (lastEventId is not null)
        {
            request.Headers.TryAddWithoutValidation("Last-Event-ID", lastEventId);
        }
        using var response = await hub.Http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync(cancellationToken));
        var events = new List<SseEvent>();
        await foreach (var e in SseParser.ReadAsync(reader, cancellationToken))
        {
            if (e.Data.Length > 0)
            {
                events.Add(e);
                if (events.Count == count)
                {
                    break;
                }
            }
        }
        return events;
    }
}
