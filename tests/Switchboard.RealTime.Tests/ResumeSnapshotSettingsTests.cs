using System.Buffers.Text;
using System.Net;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Switchboard.Core;

namespace Switchboard.RealTime.Tests;

/// <summary>
/// The resume snapshots' own bookkeeping: the retention settings rule the snapshots already kept after a restart, and a
/// client's whole-positions id that grew past the bounds does not cost a new snapshot for every answer that moves nothing.
/// </summary>
public sealed class ResumeSnapshotSettingsTests
{
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(60);

    private static async Task PublishAsync(TestHub hub, string topic, int value)
    {
        using var content = new StringContent($$"""{"payload":{{value}}}""", Encoding.UTF8, "application/json");
        using var response = await hub.Http.PostAsync($"/v1/topics/{topic}/messages", content);
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
    }

    [Fact]
    public async Task A_snapshot_limit_changed_on_restart_applies_to_the_snapshots_already_kept()
    {
        var data = Path.Combine(Path.GetTempPath(), "switchboard-rt-" + Guid.NewGuid().ToString("N")[..12]);
        var settings = new Dictionary<string, string?> { ["Switchboard:Engine"] = "sqlite", ["Switchboard:DataDirectory"] = data };
        using var timeout = new CancellationTokenSource(Limit);
        try
        {
            Position first;
            await using (var hub = await TestHub.StartAsync(settings: settings))
            {
                var core = hub.Services.GetRequiredService<Hub>();
                first = await core.SaveResumeSnapshotAsync("first"u8.ToArray(), timeout.Token);
                await core.SaveResumeSnapshotAsync("second"u8.ToArray(), timeout.Token);
            }

            settings["Switchboard:Resume:SnapshotMaxCount"] = "1";
            await using (var hub = await TestHub.StartAsync(settings: settings))
            {
                var core = hub.Services.GetRequiredService<Hub>();
                var last = await core.SaveResumeSnapshotAsync("third"u8.ToArray(), timeout.Token);
                // The snapshot topic was created unlimited; the restart's limit of one is what it keeps now.
                Assert.True((await core.ReadResumeSnapshotAsync(first, timeout.Token))?.IsExpired, "the first run's snapshot is still kept past SnapshotMaxCount = 1");
                Assert.Equal("third", Encoding.UTF8.GetString((await core.ReadResumeSnapshotAsync(last, timeout.Token))!.Bytes.Span));
            }
        }
        finally
        {
            if (Directory.Exists(data))
            {
                Directory.Delete(data, recursive: true);
            }
        }
    }

    [Fact]
    public async Task A_poll_given_a_whole_token_past_the_bounds_moves_onto_one_snapshot_and_stays_on_it_while_nothing_moves()
    {
        await using var hub = await TestHub.StartAsync(settings: new Dictionary<string, string?> { ["Switchboard:Resume:FullTopics"] = "2" });
        var lines = new StringBuilder();
        foreach (var topic in new[] { "grown.t0", "grown.t1", "grown.t2" })
        {
            await PublishAsync(hub, topic, 1);
            using var info = JsonDocument.Parse(await hub.Http.GetStringAsync($"/v1/topics/{topic}"));
            lines.Append(topic).Append(' ').Append(info.RootElement.GetProperty("epoch").GetString()).Append(":1\n");
        }
        // Issued while the hub kept whole ids for three topics (or under another node's settings): past FullTopics now.
        var token = "p1." + Base64Url.EncodeToString(Encoding.UTF8.GetBytes(lines.ToString()));

        // The answer is on a snapshot, as every id past the bounds is (a client that keeps sending the large id it was
        // given is what the bounds are for); a client that sends back what it was given stays on that one snapshot.
        string next;
        using (var first = JsonDocument.Parse(await hub.Http.GetStringAsync($"/v1/messages?topic=grown.*&after={token}")))
        {
            Assert.Empty(first.RootElement.GetProperty("messages").EnumerateArray());
            next = first.RootElement.GetProperty("next").GetString()!;
            Assert.StartsWith("p2.", next, StringComparison.Ordinal);
        }
        for (var poll = 0; poll < 2; poll++)
        {
            using var page = JsonDocument.Parse(await hub.Http.GetStringAsync($"/v1/messages?topic=grown.*&after={next}"));
            Assert.Empty(page.RootElement.GetProperty("messages").EnumerateArray());
            Assert.Equal(next, page.RootElement.GetProperty("next").GetString());
        }

        await PublishAsync(hub, "grown.t1", 2);
        using var moved = JsonDocument.Parse(await hub.Http.GetStringAsync($"/v1/messages?topic=grown.*&after={next}"));
        Assert.Equal(2, Assert.Single(moved.RootElement.GetProperty("messages").EnumerateArray()).GetProperty("offset").GetInt64());
        var after = moved.RootElement.GetProperty("next").GetString()!;
        Assert.StartsWith(next.Split('.')[0] + "." + next.Split('.')[1] + ".", after, StringComparison.Ordinal); // the same snapshot, with a delta
    }
}
