using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using Microsoft.Data.Sqlite;
using static Switchboard.Rest.Tests.Http;

namespace Switchboard.Rest.Tests;

/// <summary>401 with API keys, 500 on damaged data, 503 while draining: the hub's state as clients see it.</summary>
public sealed class HubStateTests
{
    private const string Key = "sk_test_0123456789abcdef";

    [Fact]
    public async Task With_API_keys_configured_every_v1_call_needs_one_and_401_says_how()
    {
        var hash = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(Key)));
        await using var hub = await TestHub.StartAsync(settings: new Dictionary<string, string?>
        {
            ["Switchboard:Auth:ApiKeys:0:Name"] = "billing",
            ["Switchboard:Auth:ApiKeys:0:Hash"] = hash,
            ["Switchboard:Auth:ApiKeys:0:Scopes"] = "admin",
        });
        using var anonymous = await hub.Http.GetAsync("/v1/topics");
        await anonymous.AssertProblemAsync(HttpStatusCode.Unauthorized, "unauthorized", "Authorization: Bearer");
        Assert.Equal("Bearer", anonymous.Headers.WwwAuthenticate.Single().Scheme);
        await (await hub.Http.PostAsync("/v1/topics/t/messages", Json("""{"payload":1}"""))).AssertProblemAsync(HttpStatusCode.Unauthorized, "unauthorized");

        using var wrong = new HttpRequestMessage(HttpMethod.Get, "/v1/topics");
        wrong.Headers.Authorization = new AuthenticationHeaderValue("Bearer", "sk_test_not_the_key_at_all");
        await (await hub.Http.SendAsync(wrong)).AssertProblemAsync(HttpStatusCode.Unauthorized, "unauthorized", "not valid");

        using var bearer = new HttpRequestMessage(HttpMethod.Post, "/v1/topics/t/messages") { Content = Json("""{"payload":1}""") };
        bearer.Headers.Authorization = new AuthenticationHeaderValue("Bearer", Key);
        Assert.Equal(HttpStatusCode.Created, (await hub.Http.SendAsync(bearer)).StatusCode);
        using var header = new HttpRequestMessage(HttpMethod.Get, "/v1/topics/t");
        header.Headers.Add("X-Api-Key", Key);
        Assert.Equal(HttpStatusCode.OK, (await hub.Http.SendAsync(header)).StatusCode);
        // ?access_token= is for browser streams only (URLs end up in logs); a plain REST call is told to use the header.
        await (await hub.Http.GetAsync($"/v1/topics/t?access_token={Key}")).AssertProblemAsync(HttpStatusCode.Unauthorized, "unauthorized", "Authorization: Bearer");

        // Health and the error reference stay public.
        Assert.Equal(HttpStatusCode.OK, (await hub.Http.GetAsync("/healthz")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await hub.Http.GetAsync("/readyz")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await hub.Http.GetAsync("/v1/errors/unauthorized")).StatusCode);
    }

    [Fact]
    public async Task A_damaged_row_answers_500_with_a_trace_id_and_no_internals()
    {
        var data = Path.Combine(Path.GetTempPath(), "switchboard-500-" + Guid.NewGuid().ToString("N")[..12]);
        var settings = new Dictionary<string, string?> { ["Switchboard:DataDirectory"] = data };
        try
        {
            await using (var hub = await TestHub.StartAsync(sqlite: true, settings))
            {
                await hub.PublishAsync("fragile", """{"payload":1,"headers":{"a":"b"}}""");
            }
            // Damage the stored headers of the message behind the hub's back (as a failing disk could).
            await using (var connection = new SqliteConnection($"Data Source={Path.Combine(data, "switchboard.db")};Pooling=False"))
            {
                await connection.OpenAsync();
                await using var command = connection.CreateCommand();
                command.CommandText = "UPDATE messages SET headers = x'ff00'";
                Assert.Equal(1, await command.ExecuteNonQueryAsync());
            }
            await using (var hub = await TestHub.StartAsync(sqlite: true, settings))
            {
                using var response = await hub.Http.GetAsync("/v1/topics/fragile/messages/1");
                var problem = await response.AssertProblemAsync(HttpStatusCode.InternalServerError, "internal", "not your request", "trace id");
                Assert.False(string.IsNullOrEmpty(problem.GetProperty("traceId").GetString()));
                var body = problem.ToString();
                Assert.DoesNotContain("Exception", body, StringComparison.Ordinal);
                Assert.DoesNotContain("headers blob", body, StringComparison.Ordinal);
                Assert.DoesNotContain(data, body, StringComparison.Ordinal);
                // The rest of the hub keeps serving.
                Assert.Equal(HttpStatusCode.OK, (await hub.Http.GetAsync("/v1/topics/fragile")).StatusCode);
            }
        }
        finally
        {
            Directory.Delete(data, recursive: true);
        }
    }

    [Fact]
    public async Task While_draining_readiness_answers_503_liveness_stays_200_and_long_polls_are_answered()
    {
        var hub = await TestHub.StartAsync(settings: new Dictionary<string, string?> { ["Switchboard:Shutdown:DrainDelay"] = "3s" });
        try
        {
            await hub.PublishAsync("drain", """{"payload":1}""");
            Assert.Equal(HttpStatusCode.OK, (await hub.Http.GetAsync("/readyz")).StatusCode);
            var poll = hub.Http.GetAsync("/v1/topics/drain/messages?after=1&wait=60");
            Assert.NotSame(poll, await Task.WhenAny(poll, Task.Delay(300)));

            var stopping = hub.StopAsync();
            // Readiness flips at once; poll it (bounded) rather than guess when.
            HttpResponseMessage? ready = null;
            for (var i = 0; i < 100; i++)
            {
                ready = await hub.Http.GetAsync("/readyz");
                if (ready.StatusCode == HttpStatusCode.ServiceUnavailable)
                {
                    break;
                }
                await Task.Delay(20);
            }
            await ready!.AssertProblemAsync(HttpStatusCode.ServiceUnavailable, "shutting-down", "shutting down");
            Assert.Equal("1", ready!.Headers.GetValues("Retry-After").Single());
            Assert.Equal(HttpStatusCode.OK, (await hub.Http.GetAsync("/healthz")).StatusCode);

            using var answered = await poll.WaitAsync(TimeSpan.FromSeconds(10));
            Assert.Equal(HttpStatusCode.OK, answered.StatusCode);
            Assert.Empty((await answered.BodyAsync()).GetProperty("messages").EnumerateArray());
            // Requests still arriving during the drain delay are served.
            Assert.Equal(HttpStatusCode.OK, (await hub.Http.GetAsync("/v1/topics/drain")).StatusCode);
            await stopping.WaitAsync(TimeSpan.FromSeconds(30));
        }
        finally
        {
            await hub.DisposeAsync();
        }
    }

    [Fact]
    public async Task A_connection_that_never_sent_a_byte_does_not_hold_up_shutdown()
    {
        // An HTTP client's spare pooled connection: open, silent. Kestrel lets idle connections go at shutdown;
        // the port's HTTP/2 sniffer, waiting for a first byte, must too (it used to hold the stop for its whole
        // timeout, 30 s and more).
        var hub = await TestHub.StartAsync();
        try
        {
            using var silent = new System.Net.Sockets.TcpClient();
            await silent.ConnectAsync(hub.Http.BaseAddress!.Host, hub.Http.BaseAddress.Port);
            // A request on another connection, answered: the server is accepting, and has taken the silent one too.
            Assert.Equal(HttpStatusCode.OK, (await hub.Http.GetAsync("/healthz")).StatusCode);
            await Task.Delay(200); // nothing signals that the silent connection reached the sniffer: give it a moment

            var clock = System.Diagnostics.Stopwatch.StartNew();
            await hub.StopAsync().WaitAsync(TimeSpan.FromSeconds(60));
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(10), $"the stop took {clock.Elapsed.TotalSeconds:0.0} s: a silent connection held it");
        }
        finally
        {
            await hub.DisposeAsync();
        }
    }
}
