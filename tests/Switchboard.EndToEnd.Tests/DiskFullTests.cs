using System.Diagnostics;
using System.Net;
using System.Text;
using System.Text.RegularExpressions;

namespace Switchboard.EndToEnd.Tests;

/// <summary>
/// The hub's disk fills up (a real file system of 2 MiB, a tmpfs mounted for the test: the suite runs as root). Every
/// write is refused with the reason and nothing is half-stored; reads go on; the log says it without flooding; writes
/// resume by themselves once there is room.
/// </summary>
public sealed partial class DiskFullTests
{
    [Fact]
    public async Task A_full_disk_refuses_writes_with_the_reason_keeps_reads_and_recovers_when_space_is_freed()
    {
        using var mountPoint = new TempDirectory();
        await RunAsync("mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", mountPoint.Path);
        try
        {
            var data = Path.Combine(mountPoint.Path, "data");
            await using var hub = await HubProcess.StartAsync("--data", data);
            using var http = new HttpClient { BaseAddress = hub.Address };
            var payload = new string('x', 60_000);

            var stored = 0;
            string? refusal = null;
            for (var i = 0; i < 100 && refusal is null; i++)
            {
                using var response = await http.PostAsync("/v1/topics/fill/messages", Json($"{{\"payload\":\"{payload}\"}}"));
                if (response.StatusCode == HttpStatusCode.Created)
                {
                    stored++;
                    continue;
                }
                Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
                Assert.Equal("5", response.Headers.GetValues("Retry-After").Single());
                refusal = await response.Content.ReadAsStringAsync();
            }
            Assert.NotNull(refusal); // 100 × 60 KB cannot fit in 2 MiB
            Assert.InRange(stored, 5, 40);
            Assert.Contains("\"code\":\"storage-unavailable\"", refusal, StringComparison.Ordinal);
            Assert.Contains("The hub's disk is full: nothing was stored", refusal, StringComparison.Ordinal);
            Assert.DoesNotContain(mountPoint.Path, refusal, StringComparison.Ordinal); // the server's paths stay in its log

            // Small writes fit in the last free pages a while longer; once they are gone, every write fails alike. The log
            // has one report (and one every 10 s), not one per failure.
            for (var i = 0; i < 1000; i++)
            {
                using var small = await http.PostAsync("/v1/topics/other/messages", Json("{\"payload\":1}"));
                if (small.StatusCode == HttpStatusCode.ServiceUnavailable)
                {
                    break;
                }
                Assert.Equal(HttpStatusCode.Created, small.StatusCode);
            }
            for (var i = 0; i < 20; i++)
            {
                using var small = await http.PostAsync("/v1/topics/other/messages", Json("{\"payload\":1}"));
                Assert.Equal(HttpStatusCode.ServiceUnavailable, small.StatusCode);
            }
            var reports = CommitFailedLine().Matches(hub.Output);
            Assert.InRange(reports.Count, 1, 3);
            Assert.Contains(data, reports[0].Value, StringComparison.Ordinal);

            // Reads go on: what was stored before the disk filled is all there, nothing half-written after it.
            using (var page = await http.GetAsync("/v1/topics/fill/messages?after=0&limit=100"))
            {
                Assert.Equal(HttpStatusCode.OK, page.StatusCode);
                var text = await page.Content.ReadAsStringAsync();
                Assert.Equal(stored, Regex.Count(text, "\"offset\":"));
            }

            // Room again (the file system grows, as when an operator frees space): writes resume without a restart.
            await RunAsync("mount", "-o", "remount,size=64m", mountPoint.Path);
            using (var again = await http.PostAsync("/v1/topics/fill/messages", Json("{\"payload\":\"after\"}")))
            {
                Assert.Equal(HttpStatusCode.Created, again.StatusCode);
                Assert.Contains($"\"offset\":{stored + 1}", await again.Content.ReadAsStringAsync(), StringComparison.Ordinal);
            }
            hub.Terminate();
            Assert.Equal(0, await hub.WaitForExitAsync(TimeSpan.FromSeconds(40)));
        }
        finally
        {
            await RunAsync("umount", mountPoint.Path);
        }
    }

    private static StringContent Json(string body) => new(body, Encoding.UTF8, "application/json");

    // A missing tool or permission fails the test with what it said: the suite needs root (see ./test.sh).
    private static async Task RunAsync(string program, params string[] arguments)
    {
        var info = new ProcessStartInfo(program) { RedirectStandardError = true, RedirectStandardOutput = true };
        foreach (var argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }
        using var process = Process.Start(info)!;
        var error = await process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        Assert.True(process.ExitCode == 0, $"{program} {string.Join(' ', arguments)} failed ({process.ExitCode}): {error}");
    }

    [GeneratedRegex(@"\[2002\][^\n]*")]
    private static partial Regex CommitFailedLine();
}
