using System.IO.Compression;
using System.Net;
using System.Text;
using Switchboard.Server.Tests.Support;

namespace Switchboard.Server.Tests;

/// <summary>
/// Request headers that change what a body or a read means: a compressed body is refused rather than stored as its
/// compressed bytes, an Idempotency-Key must be one key, and a HEAD of a long poll is not held.
/// </summary>
public sealed class RequestHeaderTests
{
    private static ByteArrayContent Gzipped(string text, string contentType, string encoding = "gzip")
    {
        using var packed = new MemoryStream();
        using (var gzip = new GZipStream(packed, CompressionLevel.Fastest, leaveOpen: true))
        {
            gzip.Write(Encoding.UTF8.GetBytes(text));
        }
        var content = Http.Body(packed.ToArray(), contentType);
        content.Headers.ContentEncoding.Add(encoding);
        return content;
    }

    [Theory]
    [MemberData(nameof(Engines.Both), MemberType = typeof(Engines))]
    public async Task A_compressed_body_is_refused_with_415_and_nothing_is_stored(string engine)
    {
        await using var hub = await TestHub.StartAsync(engine);
        var topic = Names.Unique("encoded");

        using var raw = await hub.Http.PostAsync(Http.MessagesPath(topic), Gzipped("hello text", "text/plain"));
        await Problem.AssertAsync(raw, 415, "unsupported-media-type", "Content-Encoding 'gzip'", "uncompressed");
        using var envelope = await hub.Http.PostAsync(Http.MessagesPath(topic), Gzipped("""{"payload":1}""", "application/json", "br"));
        await Problem.AssertAsync(envelope, 415, "unsupported-media-type", "Content-Encoding 'br'");
        await hub.Http.AssertTopicAbsentAsync(topic);

        var queue = Names.Unique("jobs");
        using var send = await hub.Http.PostAsync($"/v1/queues/{queue}/messages", Gzipped("""{"payload":1}""", "application/json"));
        await Problem.AssertAsync(send, 415, "unsupported-media-type", "Content-Encoding 'gzip'");
        using var missing = await hub.Http.GetAsync($"/v1/queues/{queue}");
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);

        using var config = await hub.Http.PutAsync($"/v1/topics/{topic}", Gzipped("{}", "application/json"));
        await Problem.AssertAsync(config, 415, "unsupported-media-type", "Content-Encoding 'gzip'");
        await hub.Http.AssertTopicAbsentAsync(topic);

        // identity is no encoding at all
        var identity = Http.Json("""{"payload":"plain"}""");
        identity.Headers.ContentEncoding.Add("identity");
        using var plain = await hub.Http.PostAsync(Http.MessagesPath(topic), identity);
        Assert.Equal(HttpStatusCode.Created, plain.StatusCode);
        var page = await hub.Http.GetJsonOkAsync($"{Http.MessagesPath(topic)}?after=0");
        Assert.Equal("plain", Assert.Single(page.GetProperty("messages").EnumerateArray()).GetProperty("payload").GetString());
    }

    /// <summary>A POST written by hand, for header lines HttpClient would merge; answers the status and the whole rest.</summary>
    private static async Task<(int Status, string Answer)> RawPostAsync(TestHub hub, string path, string json, params string[] headerLines)
    {
        var address = hub.Http.BaseAddress!;
        using var tcp = new System.Net.Sockets.TcpClient();
        await tcp.ConnectAsync(address.Host, address.Port);
        var stream = tcp.GetStream();
        var body = Encoding.UTF8.GetBytes(json);
        var head = $"POST {path} HTTP/1.1\r\nHost: {address.Authority}\r\nContent-Type: application/json\r\nContent-Length: {body.Length}\r\nConnection: close\r\n"
            + string.Concat(headerLines.Select(line => line + "\r\n")) + "\r\n";
        await stream.WriteAsync(Encoding.ASCII.GetBytes(head));
        await stream.WriteAsync(body);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var text = await new StreamReader(stream).ReadToEndAsync(timeout.Token);
        return (int.Parse(text.Split(' ')[1], System.Globalization.CultureInfo.InvariantCulture), text);
    }

    [Theory]
    [MemberData(nameof(Engines.Both), MemberType = typeof(Engines))]
    public async Task An_idempotency_key_sent_twice_or_empty_is_refused_and_nothing_is_stored(string engine)
    {
        await using var hub = await TestHub.StartAsync(engine);
        var topic = Names.Unique("keys");

        // Two header lines (HttpClient would join the values into one line, which the hub refuses as one malformed key).
        var (status, answer) = await RawPostAsync(hub, Http.MessagesPath(topic), """{"payload":1}""", "Idempotency-Key: a", "Idempotency-Key: b");
        Assert.Equal(422, status);
        Assert.Contains("validation-failed", answer, StringComparison.Ordinal);
        Assert.Contains("sent 2 times", answer, StringComparison.Ordinal);

        using var empty = new HttpRequestMessage(HttpMethod.Post, Http.MessagesPath(topic)) { Content = Http.Json("""{"payload":1}""") };
        empty.Headers.TryAddWithoutValidation("Idempotency-Key", "");
        using (var refused = await hub.Http.SendAsync(empty))
        {
            await Problem.AssertAsync(refused, 422, "validation-failed", "1 to 255");
        }
        await hub.Http.AssertTopicAbsentAsync(topic);

        var queue = Names.Unique("jobs");
        (status, answer) = await RawPostAsync(hub, $"/v1/queues/{queue}/messages", """{"payload":1}""", "Idempotency-Key: k1", "Idempotency-Key: k2", "Idempotency-Key: k3");
        Assert.Equal(422, status);
        Assert.Contains("sent 3 times", answer, StringComparison.Ordinal);
        using var missing = await hub.Http.GetAsync($"/v1/queues/{queue}");
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);

        // one key, once: the first result is replayed
        using var first = await hub.Http.PublishAsync(topic, """{"payload":1}""", idempotencyKey: "order-1");
        using var retry = await hub.Http.PublishAsync(topic, """{"payload":1}""", idempotencyKey: "order-1");
        Assert.Equal(HttpStatusCode.Created, retry.StatusCode);
        Assert.Equal("true", retry.Header("Idempotent-Replayed"));
        Assert.Equal(1, await hub.Http.LastOffsetAsync(topic));
    }

    [Theory]
    [MemberData(nameof(Engines.Both), MemberType = typeof(Engines))]
    public async Task A_HEAD_of_a_long_poll_answers_at_once_and_still_checks_the_wait(string engine)
    {
        await using var hub = await TestHub.StartAsync(engine);
        var topic = Names.Unique("heads");
        await hub.Http.PublishOkAsync(topic, "1");

        // A GET would be held for the 60 s; the HEAD answers with the page's headers now. Should it be held, the
        // deadline cancels it and the test fails.
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        using var head = await hub.Http.SendAsync(new HttpRequestMessage(HttpMethod.Head, $"{Http.MessagesPath(topic)}?after=1&wait=60"), deadline.Token);
        Assert.Equal(HttpStatusCode.OK, head.StatusCode);
        Assert.Equal("application/json", head.MediaType()?.MediaType);

        using var bad = await hub.Http.SendAsync(new HttpRequestMessage(HttpMethod.Head, $"{Http.MessagesPath(topic)}?after=1&wait=soon"), deadline.Token);
        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
    }
}
