using System.Diagnostics;
using System.Net;
using Microsoft.Data.Sqlite;
using Switchboard.Server.Tests.Support;

namespace Switchboard.Server.Tests;

/// <summary>The hub's life: readiness while draining (503), long polls answered at shutdown, and a fault inside the hub (500).</summary>
public sealed class LifecycleTests
{
    private static readonly Dictionary<string, string?> Drain = new() { ["Switchboard:Shutdown:DrainDelay"] = "3s" };

    [Theory]
    [MemberData(nameof(Engines.Both), MemberType = typeof(Engines))]
    public async Task Readiness_answers_503_while_draining_and_liveness_stays_200(string engine)
    {
        await using var hub = await TestHub.StartAsync(engine, Drain);
        using (var ready = await hub.Http.GetAsync("/readyz"))
        {
            Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
        }

        var stopping = hub.StopAsync();

        // Poll readiness until it turns: bounded by a deadline far inside the 3 s drain, and by a count.
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(2.5));
        HttpResponseMessage? notReady = null;
        for (var attempt = 0; attempt < 500 && notReady is null; attempt++)
        {
            var response = await hub.Http.GetAsync("/readyz", deadline.Token);
            if (response.StatusCode == HttpStatusCode.OK)
            {
                response.Dispose();
                await Task.Yield();
                continue;
            }
            notReady = response;
        }
        Assert.NotNull(notReady);
        using (notReady)
        {
            await Problem.AssertAsync(notReady, 503, "shutting-down", "shutting down");
            Assert.NotNull(notReady.Headers.RetryAfter);
        }
        Assert.False(stopping.IsCompleted, "the drain lasts 3 s; readiness must turn at its start");

        using var live = await hub.Http.GetAsync("/healthz");
        Assert.Equal(HttpStatusCode.OK, live.StatusCode);

        await stopping.WaitAsync(TimeSpan.FromSeconds(30));
    }

    [Theory]
    [MemberData(nameof(Engines.Both), MemberType = typeof(Engines))]
    public async Task A_waiting_long_poll_is_answered_promptly_when_the_hub_drains(string engine)
    {
        await using var hub = await TestHub.StartAsync(engine, new Dictionary<string, string?> { ["Switchboard:Shutdown:DrainDelay"] = "6s" });
        var topic = Names.Unique("orders");
        var epoch = (await hub.Http.PublishOkAsync(topic, "1")).GetProperty("epoch").GetString();
        var poll = hub.NewClient().GetAsync($"{Http.MessagesPath(topic)}?after={epoch}:1&wait=30");
        await Task.WhenAny(poll, Task.Delay(TimeSpan.FromMilliseconds(300)));
        Assert.False(poll.IsCompleted, "the poll must be waiting before the drain begins");
        var clock = Stopwatch.StartNew();

        var stopping = hub.StopAsync();
        using var response = await poll.WaitAsync(TimeSpan.FromSeconds(20));

        // Answered when draining begins, not when listeners close 6 s later, nor at the end of its 30 s wait.
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(4), $"the poll was answered {clock.Elapsed} after shutdown began");
        Assert.False(stopping.IsCompleted);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var page = await response.ReadJsonAsync();
        Assert.Empty(page.GetProperty("messages").EnumerateArray());
        Assert.Equal($"{epoch}:1", page.GetProperty("next").GetString());
    }

    [Theory]
    [MemberData(nameof(Engines.Both), MemberType = typeof(Engines))]
    public async Task A_long_poll_started_while_draining_does_not_wait(string engine)
    {
        await using var hub = await TestHub.StartAsync(engine, Drain);
        var topic = Names.Unique("orders");
        await hub.Http.PublishOkAsync(topic, "1");
        var stopping = hub.StopAsync();
        await WaitUntilNotReadyAsync(hub);
        var clock = Stopwatch.StartNew();

        using var response = await hub.Http.GetAsync($"{Http.MessagesPath(topic)}?after=1&wait=30");

        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(2), $"took {clock.Elapsed}");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Empty((await response.ReadJsonAsync()).GetProperty("messages").EnumerateArray());
        Assert.False(stopping.IsCompleted);
    }

    [Fact]
    public async Task A_damaged_stored_message_answers_500_internal_with_a_trace_id_and_no_exception_text()
    {
        using var data = new TempDirectory();
        var topic = Names.Unique("orders");
        await using (var first = await TestHub.StartAsync("sqlite", dataDirectory: data.Path))
        {
            using var published = await first.Http.PublishAsync(topic, """{"payload": {"id": 1}, "headers": {"trace": "abc"}}""");
            Assert.Equal(HttpStatusCode.Created, published.StatusCode);
        }

        // Damage the message's headers behind the hub's back: a blob its decoder must reject. The database file
        // stays valid SQLite, so the hub opens it and only the read of this message fails.
        var database = Path.Combine(data.Path, "switchboard.db");
        Assert.True(File.Exists(database), $"no database at {database}");
        using (var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = database, Pooling = false }.ConnectionString))
        {
            connection.Open();
            using var command = connection.CreateCommand();
            command.CommandText = "UPDATE messages SET headers = x'ff00'";
            Assert.Equal(1, command.ExecuteNonQuery());
        }

        await using var second = await TestHub.StartAsync("sqlite", dataDirectory: data.Path);
        using var response = await second.Http.GetAsync(Http.MessagesPath(topic) + "/1");

        var problem = await Problem.AssertAsync(response, 500, "internal", "trace id");
        var text = problem.ToString();
        Assert.DoesNotContain("headers blob", text, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("damaged", text, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("Exception", text, StringComparison.Ordinal);
        Assert.DoesNotContain(" at Switchboard.", text, StringComparison.Ordinal);
        Assert.DoesNotContain(data.Path, text, StringComparison.Ordinal);
        Assert.DoesNotContain("switchboard.db", text, StringComparison.Ordinal);

        using var history = await second.Http.GetAsync(Http.MessagesPath(topic));
        await Problem.AssertAsync(history, 500, "internal");

        // The hub itself keeps serving: the topic row is intact, and readiness is unaffected.
        var info = await second.Http.GetJsonOkAsync($"/v1/topics/{topic}");
        Assert.Equal(1, info.GetProperty("stats").GetProperty("lastOffset").GetInt64());
        using var ready = await second.Http.GetAsync("/readyz");
        Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
    }

    [Fact]
    public async Task Messages_published_on_sqlite_survive_a_restart_with_the_same_epoch()
    {
        using var data = new TempDirectory();
        var topic = Names.Unique("orders");
        string? epoch;
        await using (var first = await TestHub.StartAsync("sqlite", dataDirectory: data.Path))
        {
            epoch = (await first.Http.PublishManyAsync(topic, 3)).GetProperty("epoch").GetString();
        }

        await using var second = await TestHub.StartAsync("sqlite", dataDirectory: data.Path);
        var page = await second.Http.GetJsonOkAsync($"{Http.MessagesPath(topic)}?after={epoch}:1");

        Assert.Equal([2L, 3L], page.Offsets());
        Assert.Equal(epoch, page.GetProperty("epoch").GetString());
    }

    private static async Task WaitUntilNotReadyAsync(TestHub hub)
    {
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(2.5));
        for (var attempt = 0; attempt < 500; attempt++)
        {
            using var response = await hub.Http.GetAsync("/readyz", deadline.Token);
            if (response.StatusCode == HttpStatusCode.ServiceUnavailable)
            {
                return;
            }
            await Task.Yield();
        }
        Assert.Fail("readiness never turned to 503");
    }
}
