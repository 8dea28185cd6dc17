using System.Diagnostics;
using System.Net;
using System.Reflection;
using System.Text;
using System.Text.Json;
using static Switchboard.Rest.Tests.Http;

namespace Switchboard.Rest.Tests;

/// <summary>
/// A user's audit of the REST, long-polling, SSE surfaces and the command line: each test is a request that once got a
/// wrong status, a misleading problem, broken framing or a silent surprise.
/// </summary>
public sealed class RestAuditTests
{
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(15);

    /// <summary>Reads an event stream until <paramref name="done"/> says the text so far is enough.</summary>
    private static async Task<string> ReadEventsAsync(HttpResponseMessage response, Func<string, bool> done)
    {
        using var timeout = new CancellationTokenSource(Limit);
        await using var stream = await response.Content.ReadAsStreamAsync(timeout.Token);
        var text = new StringBuilder();
        var buffer = new byte[4096];
        while (!done(text.ToString()))
        {
            var read = await stream.ReadAsync(buffer, timeout.Token);
            if (read == 0)
            {
                break;
            }
            text.Append(Encoding.UTF8.GetString(buffer, 0, read));
        }
        return text.ToString();
    }

    /// <summary>The data of the first event named <paramref name="name"/>, its data: lines joined with "\n" as EventSource does.</summary>
    private static string? EventData(string stream, string name)
    {
        foreach (var block in stream.Replace("\r\n", "\n", StringComparison.Ordinal).Split("\n\n"))
        {
            var lines = block.Split('\n');
            if (lines.Any(l => l == "event: " + name))
            {
                return string.Join("\n", lines.Where(l => l.StartsWith("data:", StringComparison.Ordinal)).Select(l => l[5..].TrimStart(' ')));
            }
            // A line that is neither a field EventSource knows nor a comment would be dropped by a browser: broken framing.
            Assert.All(lines.Where(l => l.Length > 0), l => Assert.Matches("^(:|data:|event:|id:|retry:)", l));
        }
        return null;
    }

    [Fact]
    public async Task Reply_event_stream_keeps_a_multi_line_JSON_reply_inside_data_lines()
    {
        await using var hub = await TestHub.StartAsync();
        using var sent = await hub.Http.PostAsync("/v1/queues/prices/requests?timeout=0", Json("""{"payload":{"sku":"A-1"}}"""));
        Assert.Equal(HttpStatusCode.Accepted, sent.StatusCode);
        var replyId = (await sent.BodyAsync()).GetProperty("id").GetString()!;
        using var received = await hub.Http.PostAsync("/v1/queues/prices/receive", null);
        var lease = (await received.BodyAsync()).GetProperty("messages")[0].GetProperty("lease").GetString()!;
        using (var replied = await hub.Http.PostAsync($"/v1/replies/{replyId}?lease={lease}", Json("{\"payload\":{\n  \"price\": 9.5,\n  \"note\": \"x\"\n}}")))
        {
            Assert.Equal(HttpStatusCode.NoContent, replied.StatusCode);
        }

        using var request = new HttpRequestMessage(HttpMethod.Get, $"/v1/replies/{replyId}");
        request.Headers.Accept.ParseAdd("text/event-stream");
        using var response = await hub.Http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        // The headers of the topics' event streams: not buffered by a proxy, not cached or transformed.
        Assert.Equal("no", Assert.Single(response.Headers.GetValues("X-Accel-Buffering")));
        Assert.Contains("no-transform", response.Headers.CacheControl?.ToString(), StringComparison.Ordinal);
        Assert.Equal("utf-8", response.Content.Headers.ContentType?.CharSet);
        var stream = await ReadEventsAsync(response, _ => false);
        var data = EventData(stream, "reply");
        Assert.NotNull(data);
        using var reply = JsonDocument.Parse(data);
        Assert.Equal(9.5, reply.RootElement.GetProperty("payload").GetProperty("price").GetDouble());
    }

    [Fact]
    public async Task Unversioned_publish_redirects_with_308_so_the_POST_is_not_turned_into_a_GET()
    {
        await using var hub = await TestHub.StartAsync();
        using (var client = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false }) { BaseAddress = hub.Address })
        {
            using var post = await client.PostAsync("/topics/orders/messages?key=k", Raw("hi"u8.ToArray(), "text/plain"));
            Assert.Equal(HttpStatusCode.PermanentRedirect, post.StatusCode);
            Assert.Equal("/v1/topics/orders/messages?key=k", post.Headers.Location!.ToString());
            using var get = await client.GetAsync("/topics/orders");
            Assert.Equal(HttpStatusCode.MovedPermanently, get.StatusCode);
        }
        // A client that follows redirects (HttpClient does by default) publishes instead of reading history.
        using var followed = await hub.Http.PostAsync("/topics/orders/messages", Raw("hi"u8.ToArray(), "text/plain"));
        Assert.Equal(HttpStatusCode.Created, followed.StatusCode);
        Assert.Equal(1, await hub.LastOffsetAsync("orders"));
    }

    [Theory]
    [InlineData("""{"payload": 1, "payload": 2}""", "payload")]
    [InlineData("""{"payload": 1, "key": "a", "key": "b"}""", "key")]
    [InlineData("""{"messages": [{"payload": 1, "headers": {}, "headers": {"a": "b"}}]}""", "headers")]
    public async Task A_publish_envelope_with_a_field_twice_is_refused_and_stores_nothing(string body, string field)
    {
        await using var hub = await TestHub.StartAsync();
        using (await hub.Http.PutAsync("/v1/topics/orders", null))
        {
        }
        await (await hub.Http.PostAsync("/v1/topics/orders/messages", Json(body))).AssertProblemAsync(HttpStatusCode.BadRequest, "invalid-request", field, "twice");
        await (await hub.Http.PostAsync("/v1/queues/jobs/messages", Json(body))).AssertProblemAsync(HttpStatusCode.BadRequest, "invalid-request", field, "twice");
        Assert.Equal(0, await hub.LastOffsetAsync("orders"));
        Assert.Equal(HttpStatusCode.NotFound, (await hub.Http.GetAsync("/v1/queues/jobs")).StatusCode);
    }

    [Fact]
    public async Task A_raw_publish_with_key_given_twice_is_refused()
    {
        await using var hub = await TestHub.StartAsync();
        await (await hub.Http.PostAsync("/v1/topics/orders/messages?key=a&key=b", Raw("x"u8.ToArray(), "text/plain")))
            .AssertProblemAsync(HttpStatusCode.BadRequest, "invalid-request", "'key'", "2 times", "'a', 'b'", "once");
        Assert.Equal(-1, await hub.LastOffsetAsync("orders"));
    }

    [Theory]
    [InlineData("/v1/topics/orders/messages?after=0&after=1", "after")]
    [InlineData("/v1/topics/orders/messages?limit=5&wait=1&limit=6", "limit")]
    [InlineData("/v1/topics/orders/events?lastEventId=a&lastEventId=b", "lastEventId")]
    [InlineData("/v1/queues/jobs/messages?limit=1&limit=2&limit=3", "limit")]
    [InlineData("/v1/messages?topic=orders&topic=b.*&after=0&after=0", "after")]
    public async Task Any_other_query_parameter_given_twice_is_refused_by_name_not_joined_with_a_comma(string url, string name)
    {
        // Bound as one string, "?after=0&after=1" reached the endpoint as "0,1" and was refused as a malformed position.
        await using var hub = await TestHub.StartAsync();
        await hub.Http.PutAsync("/v1/topics/orders", null);
        await (await hub.Http.GetAsync(url)).AssertProblemAsync(HttpStatusCode.BadRequest, "invalid-request", $"'{name}'", "once");
    }

    [Fact]
    public async Task A_reply_id_of_kilobytes_is_quoted_back_cut_short()
    {
        await using var hub = await TestHub.StartAsync();
        var id = new string('r', 4000);
        foreach (var response in new[]
        {
            await hub.Http.PostAsync("/v1/replies/" + id, Json("""{"payload":1}""")),
            await hub.Http.GetAsync("/v1/replies/" + id),
        })
        {
            var problem = await response.AssertProblemAsync(HttpStatusCode.NotFound, "reply-not-found", new string('r', 40) + "…");
            Assert.True(problem.GetProperty("detail").GetString()!.Length < 300, "the detail quotes the whole id");
        }
    }

    [Fact]
    public async Task Topic_given_many_times_still_reads_several_topics()
    {
        await using var hub = await TestHub.StartAsync();
        await hub.Http.PostAsync("/v1/topics/a.one/messages", Raw("1"u8.ToArray(), "text/plain"));
        await hub.Http.PostAsync("/v1/topics/b.two/messages", Raw("2"u8.ToArray(), "text/plain"));
        using var page = JsonDocument.Parse(await hub.Http.GetStringAsync("/v1/messages?topic=a.one&topic=b.*&after=0"));
        Assert.Equal(2, page.RootElement.GetProperty("messages").GetArrayLength());
    }

    [Theory]
    [InlineData("p1.zz")]
    [InlineData("5")]
    public async Task Multi_topic_poll_with_a_bad_after_names_after_not_Last_Event_ID(string after)
    {
        await using var hub = await TestHub.StartAsync();
        var problem = await (await hub.Http.GetAsync($"/v1/messages?topic=orders&after={after}")).AssertProblemAsync(HttpStatusCode.BadRequest, "invalid-position", "after=", "next");
        Assert.DoesNotContain("Last-Event-ID", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
        // The event stream still names its own header.
        using var request = new HttpRequestMessage(HttpMethod.Get, "/v1/events?topic=orders");
        request.Headers.Add("Last-Event-ID", after);
        await (await hub.Http.SendAsync(request)).AssertProblemAsync(HttpStatusCode.BadRequest, "invalid-position", "Last-Event-ID");
    }

    [Fact]
    public async Task Method_not_allowed_says_which_methods_are_allowed()
    {
        await using var hub = await TestHub.StartAsync();
        using var response = await hub.Http.PutAsync("/v1/topics/orders/messages", Json("{}"));
        await response.AssertProblemAsync(HttpStatusCode.MethodNotAllowed, "method-not-allowed", "PUT");
        Assert.Contains("POST", response.Content.Headers.Allow);
        Assert.Contains("GET", response.Content.Headers.Allow);
    }

    [Fact]
    public async Task A_presence_topic_can_be_followed_over_SSE_like_over_long_polling()
    {
        await using var hub = await TestHub.StartAsync();
        using (var created = await hub.Http.PutAsync("/v1/topics/room.1", null)) // joins are announced on topics that exist
        {
            Assert.True(created.IsSuccessStatusCode, await created.Content.ReadAsStringAsync());
        }
        using var watcher = await hub.Http.GetAsync("/v1/topics/room.1/events", HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal(HttpStatusCode.OK, watcher.StatusCode);
        // The join of that subscriber is on $presence.room.1, which long polling reads...
        using var page = await hub.Http.GetAsync("/v1/topics/$presence.room.1/messages?after=0&wait=10");
        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
        // ...and so does an event stream.
        using var response = await hub.Http.GetAsync("/v1/topics/$presence.room.1/events?after=0", HttpCompletionOption.ResponseHeadersRead);
        if (response.StatusCode != HttpStatusCode.OK)
        {
            Assert.Fail($"{(int)response.StatusCode}: {await response.Content.ReadAsStringAsync()}");
        }
        var stream = await ReadEventsAsync(response, text => text.Contains("\"join\"", StringComparison.Ordinal));
        Assert.Contains("\"event\":\"join\"", stream, StringComparison.Ordinal);

        // ...and its description (what `switchboard sub` reads first), and the multi-topic stream naming it.
        using var info = await hub.Http.GetAsync("/v1/topics/$presence.room.1");
        Assert.True(info.StatusCode == HttpStatusCode.OK, $"{(int)info.StatusCode}: {await info.Content.ReadAsStringAsync()}");
        Assert.Contains("\"name\":\"$presence.room.1\"", await info.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        using var multi = await hub.Http.GetAsync("/v1/events?topic=$presence.room.1", HttpCompletionOption.ResponseHeadersRead);
        if (multi.StatusCode != HttpStatusCode.OK) // the body of a stream that was opened never ends: read only a refusal's
        {
            Assert.Fail($"{(int)multi.StatusCode}: {await multi.Content.ReadAsStringAsync()}");
        }
        Assert.Equal("text/event-stream", multi.Content.Headers.ContentType?.MediaType);
    }

    [Fact]
    public async Task A_retention_limit_of_zero_says_null_means_no_limit_since_leaving_it_out_takes_the_default()
    {
        await using var hub = await TestHub.StartAsync();
        using var response = await hub.Http.PutAsync("/v1/topics/limits", Json("""{"retention":{"maxBytes":0}}"""));
        await response.AssertProblemAsync(HttpStatusCode.UnprocessableEntity, "validation-failed", "or null for no limit");
        using var missing = await hub.Http.GetAsync("/v1/topics/limits");
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode); // refused whole: no topic was created
    }

    [Theory]
    [InlineData("/v1/queues/jobs/messages")]
    [InlineData("/v1/queues/jobs/requests?timeout=0")]
    public async Task A_form_encoded_send_is_refused_like_a_form_encoded_publish(string path)
    {
        await using var hub = await TestHub.StartAsync();
        // What curl -d sends without -H 'Content-Type: …'.
        await (await hub.Http.PostAsync(path, Raw("hello"u8.ToArray(), "application/x-www-form-urlencoded")))
            .AssertProblemAsync(HttpStatusCode.UnsupportedMediaType, "unsupported-media-type", "form");
        await (await hub.Http.PostAsync(path, Raw([.. "{\"payload\":\"caf"u8, 0xE9, .. "\"}"u8], "application/json; charset=iso-8859-1")))
            .AssertProblemAsync(HttpStatusCode.UnsupportedMediaType, "unsupported-media-type", "UTF-8");
        Assert.Equal(HttpStatusCode.NotFound, (await hub.Http.GetAsync("/v1/queues/jobs")).StatusCode);
    }

    [Fact]
    public async Task Queue_listing_links_its_next_page_and_checks_its_prefix_like_topic_listing()
    {
        await using var hub = await TestHub.StartAsync();
        foreach (var name in new[] { "a", "b", "c" })
        {
            using (await hub.Http.PutAsync($"/v1/queues/{name}", null))
            {
            }
        }
        using var response = await hub.Http.GetAsync("/v1/queues?limit=2");
        var next = (await response.BodyAsync()).GetProperty("next").GetString()!;
        Assert.Equal($"</v1/queues?limit=2&cursor={next}>; rel=\"next\"", response.Headers.GetValues("Link").Single());
        Assert.Equal("no-cache", response.Headers.CacheControl?.ToString());

        // A prefix no name can start with is refused as for topics, not answered with an empty page that reads as "none yet".
        await (await hub.Http.GetAsync("/v1/queues?prefix=*")).AssertProblemAsync(HttpStatusCode.BadRequest, "invalid-queue-name", "can never match a queue");
        await (await hub.Http.GetAsync("/v1/topics?prefix=*")).AssertProblemAsync(HttpStatusCode.BadRequest, "invalid-topic-name", "can never match a topic");
        // A queue has an exact name: the refusal of a wildcard says how to fill a queue from a pattern instead.
        await (await hub.Http.PutAsync("/v1/queues/jobs.*", null)).AssertProblemAsync(HttpStatusCode.BadRequest, "invalid-queue-name", "queue name", "bindings");
    }

    // The command line, run as the real program against the hub.

    private static async Task<(int Code, string Out, string Err)> RunCliAsync(TestHub hub, string? stdin, params string[] args)
    {
        var root = typeof(RestAuditTests).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().Single(a => a.Key == "RepositoryRoot").Value!;
        var configuration = AppContext.BaseDirectory.Contains($"{Path.DirectorySeparatorChar}Debug{Path.DirectorySeparatorChar}", StringComparison.Ordinal) ? "Debug" : "Release";
        var dll = Path.GetFullPath(Path.Combine(root, "src", "Switchboard.Cli", "bin", configuration, "net10.0", "switchboard.dll"));
        Assert.True(File.Exists(dll), $"build the command first: dotnet build -c {configuration} src/Switchboard.Cli ({dll} is missing)");
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true, UseShellExecute = false };
        start.ArgumentList.Add(dll);
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }
        start.ArgumentList.Add("--server");
        start.ArgumentList.Add(hub.Address.ToString().TrimEnd('/'));
        using var process = Process.Start(start)!;
        if (stdin is not null)
        {
            await process.StandardInput.WriteAsync(stdin);
        }
        process.StandardInput.Close();
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await process.WaitForExitAsync(timeout.Token);
        return (process.ExitCode, await output, await error);
    }

    private static async Task<JsonElement> MessageAsync(TestHub hub, string topic, long offset)
        => await (await hub.Http.GetAsync($"/v1/topics/{topic}/messages/{offset}")).BodyAsync();

    [Fact]
    public async Task Cli_pub_with_content_type_keeps_JSON_headers_and_applies_to_stdin_lines()
    {
        await using var hub = await TestHub.StartAsync();

        var json = await RunCliAsync(hub, null, "pub", "orders", """{"id":1}""", "--content-type", "application/json", "-H", "source=cli", "--key", "k1");
        Assert.True(json.Code == 0, json.Err);
        var first = await MessageAsync(hub, "orders", 1);
        Assert.Equal(1, first.GetProperty("payload").GetProperty("id").GetInt32());
        Assert.Equal("cli", first.GetProperty("headers").GetProperty("source").GetString());
        Assert.Equal("k1", first.GetProperty("key").GetString());

        var text = await RunCliAsync(hub, null, "pub", "orders", "hello", "--content-type", "text/csv", "-H", "source=cli");
        Assert.True(text.Code == 0, text.Err);
        var second = await MessageAsync(hub, "orders", 2);
        Assert.Equal(("text/csv", "hello", "cli"), (second.GetProperty("contentType").GetString(), second.GetProperty("payload").GetString(), second.GetProperty("headers").GetProperty("source").GetString()));

        var lines = await RunCliAsync(hub, "a,b\n{\"c\":1}\n", "pub", "orders", "-", "--content-type", "text/csv");
        Assert.True(lines.Code == 0, lines.Err);
        Assert.Equal(("text/csv", "a,b"), ((await MessageAsync(hub, "orders", 3)).GetProperty("contentType").GetString(), (await MessageAsync(hub, "orders", 3)).GetProperty("payload").GetString()));
        Assert.Equal("text/csv", (await MessageAsync(hub, "orders", 4)).GetProperty("contentType").GetString());

        var notJson = await RunCliAsync(hub, null, "pub", "orders", "not json", "--content-type", "application/json");
        Assert.Equal(2, notJson.Code);
        Assert.Contains("JSON", notJson.Err, StringComparison.Ordinal);
        Assert.Equal(4, await hub.LastOffsetAsync("orders"));
    }

    [Fact]
    public async Task Cli_sub_over_SSE_reports_a_refusal_as_the_hubs_detail_about_after()
    {
        await using var hub = await TestHub.StartAsync();
        await hub.PublishAsync("orders", """{"payload":1}""");

        var beyond = await RunCliAsync(hub, null, "sub", "orders", "--via", "sse", "--after", "99", "-n", "1");
        Assert.Equal(1, beyond.Code);
        Assert.Contains("(409 position-out-of-range)", beyond.Err, StringComparison.Ordinal);
        Assert.DoesNotContain("{\"type\"", beyond.Err, StringComparison.Ordinal);

        var bad = await RunCliAsync(hub, null, "sub", "orders", "--via", "sse", "--after", "abc", "-n", "1");
        Assert.Equal(1, bad.Code);
        Assert.Contains("after", bad.Err, StringComparison.Ordinal);
        Assert.DoesNotContain("Last-Event-ID", bad.Err, StringComparison.Ordinal);

        var good = await RunCliAsync(hub, null, "sub", "orders", "--via", "sse", "--after", "0", "-n", "1");
        Assert.True(good.Code == 0, good.Err);
        Assert.Contains("\"offset\":1", good.Out, StringComparison.Ordinal);
    }
}
