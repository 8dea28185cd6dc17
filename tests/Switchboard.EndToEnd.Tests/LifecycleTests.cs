using System.Diagnostics;
using System.Net;
using System.Text;

namespace Switchboard.EndToEnd.Tests;

/// <summary>Starting and stopping the real process: graceful drain, refusing damaged data, guarding the data directory.</summary>
public sealed class LifecycleTests
{
    [Fact]
    public async Task SIGTERM_answers_waiting_long_polls_and_exits_cleanly()
    {
        using var data = new TempDirectory();
        await using var hub = await HubProcess.StartAsync("--data", data.Path, "--drain-delay", "1s");
        using var http = new HttpClient { BaseAddress = hub.Address };
        using var content = new StringContent("{\"payload\":1}", Encoding.UTF8, "application/json");
        Assert.Equal(HttpStatusCode.Created, (await http.PostAsync("/v1/topics/drain/messages", content)).StatusCode);

        var clock = Stopwatch.StartNew();
        var poll = http.GetAsync("/v1/topics/drain/messages?after=1&wait=60");
        // The poll is parked once the server holds it; it cannot answer before SIGTERM since nothing is published.
        var early = await Task.WhenAny(poll, Task.Delay(500));
        Assert.NotSame(poll, early);
        hub.Terminate();

        using var answer = await poll.WaitAsync(TimeSpan.FromSeconds(20));
        Assert.Equal(HttpStatusCode.OK, answer.StatusCode);
        Assert.Contains("\"messages\":[]", await answer.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(20), $"the long poll was held {clock.Elapsed} after SIGTERM");
        Assert.Equal(0, await hub.WaitForExitAsync(TimeSpan.FromSeconds(40)));
    }

    [Fact]
    public async Task A_damaged_database_is_refused_with_a_clear_message()
    {
        using var data = new TempDirectory();
        await using (var hub = await HubProcess.StartAsync("--data", data.Path))
        {
            using var http = new HttpClient { BaseAddress = hub.Address };
            using var content = new StringContent("{\"payload\":1}", Encoding.UTF8, "application/json");
            Assert.Equal(HttpStatusCode.Created, (await http.PostAsync("/v1/topics/x/messages", content)).StatusCode);
            hub.Terminate();
            Assert.Equal(0, await hub.WaitForExitAsync(TimeSpan.FromSeconds(40)));
        }
        var database = Path.Combine(data.Path, "switchboard.db");
        await using (var file = new FileStream(database, FileMode.Open, FileAccess.Write))
        {
            await file.WriteAsync(Encoding.ASCII.GetBytes("this is not an SQLite header at all"));
        }

        await using var broken = HubProcess.Launch(["serve", "--urls", "http://127.0.0.1:0", "--data", data.Path]);
        var code = await broken.WaitForExitAsync(TimeSpan.FromSeconds(60));
        Assert.NotEqual(0, code);
        Assert.Contains("damaged", broken.Output, StringComparison.Ordinal);
        Assert.Contains(database, broken.Output, StringComparison.Ordinal);
        Assert.Contains("backup", broken.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_second_hub_on_the_same_data_directory_is_refused()
    {
        using var data = new TempDirectory();
        await using var first = await HubProcess.StartAsync("--data", data.Path);
        await using var second = HubProcess.Launch(["serve", "--urls", "http://127.0.0.1:0", "--data", data.Path]);
        var code = await second.WaitForExitAsync(TimeSpan.FromSeconds(60));
        Assert.NotEqual(0, code);
        Assert.Contains("in use by another Switchboard process", second.Output, StringComparison.Ordinal);
        Assert.Contains(first.Pid.ToString(System.Globalization.CultureInfo.InvariantCulture), second.Output, StringComparison.Ordinal);

        using var http = new HttpClient { BaseAddress = first.Address };
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("/readyz")).StatusCode);
    }

    [Fact]
    public async Task A_bad_configuration_value_names_the_key_and_stops_the_start()
    {
        using var data = new TempDirectory();
        var config = Path.Combine(data.Path, "bad.json");
        await File.WriteAllTextAsync(config, "{\"Switchboard\": {\"MaxMessageBytes\": \"lots\"}}");
        await using var hub = HubProcess.Launch(["serve", "--urls", "http://127.0.0.1:0", "--memory", "--config", config]);
        var code = await hub.WaitForExitAsync(TimeSpan.FromSeconds(60));
        Assert.Equal(2, code);
        Assert.Contains("Switchboard:MaxMessageBytes", hub.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Environment_variables_configure_the_hub()
    {
        var environment = new Dictionary<string, string> { ["Switchboard__MaxMessageBytes"] = "10" };
        await using var hub = await HubProcess.StartAsync(environment, "--memory");
        using var http = new HttpClient { BaseAddress = hub.Address };
        using var content = new StringContent("{\"payload\":\"more than ten bytes\"}", Encoding.UTF8, "application/json");
        using var response = await http.PostAsync("/v1/topics/small/messages", content);
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
        Assert.Contains("limit is 10 bytes", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_hub_watches_no_files_in_its_working_directory_where_the_default_data_directory_is()
    {
        using var data = new TempDirectory();
        // As `switchboard serve` runs by default: ./switchboard-data under the working directory.
        await using var hub = HubProcess.Launch(["serve", "--urls", "http://127.0.0.1:0"], workingDirectory: data.Path);
        using var http = new HttpClient { BaseAddress = await hub.Listening.WaitAsync(TimeSpan.FromSeconds(60)) };
        using var content = new StringContent("{\"payload\":1}", Encoding.UTF8, "application/json");
        Assert.Equal(HttpStatusCode.Created, (await http.PostAsync("/v1/topics/watched/messages", content)).StatusCode);

        Assert.True(File.Exists(Path.Combine(data.Path, "switchboard-data", "switchboard.db")), hub.Output);
        // A file watcher (appsettings.json reloading) on the working directory would take an event for every write to
        // the database beneath it; /proc lists the inotify instances the process holds.
        var watchers = Directory.GetFiles($"/proc/{hub.Pid}/fd")
            .Select(fd => new FileInfo(fd).LinkTarget)
            .Count(target => target is not null && target.Contains("inotify", StringComparison.Ordinal));
        Assert.Equal(0, watchers);
    }
}
