using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;

namespace Switchboard.EndToEnd.Tests;

/// <summary>
/// <c>switchboard backup</c> and <c>restore</c> with the real program: a backup taken under write load holds every
/// message acknowledged before it started, and restores into a hub that serves them; a live hub's directory and files
/// that are not backups are refused.
/// </summary>
public sealed class BackupTests
{
    private static readonly TimeSpan CommandTimeout = TimeSpan.FromSeconds(120);

    private static Task<(int ExitCode, string Output)> RunAsync(params string[] arguments) => HubProcess.RunAsync(CommandTimeout, arguments);

    [Fact]
    public async Task A_backup_under_write_load_restores_every_message_acknowledged_before_it_started()
    {
        using var data = new TempDirectory();
        using var restored = new TempDirectory();
        var backup = Path.Combine(data.Path, "..", $"sb-backup-{Guid.NewGuid():N}.db");
        try
        {
            var acknowledged = new List<long>();
            long acknowledgedBeforeBackup;
            await using (var hub = await HubProcess.StartAsync("--data", data.Path))
            {
                using var http = new HttpClient { BaseAddress = hub.Address, Timeout = TimeSpan.FromSeconds(30) };
                using var stop = new CancellationTokenSource(TimeSpan.FromMinutes(2));
                // Writers run before, during and after the backup: the copy must be consistent while they commit.
                var writers = Enumerable.Range(0, 4).Select(w => Task.Run(async () =>
                {
                    for (var i = 0; i < 100_000 && !stop.IsCancellationRequested; i++)
                    {
                        using var response = await http.PostAsync($"/v1/topics/bk.{w}/messages", new StringContent($$$"""{"payload":{"w":{{{w}}},"i":{{{i}}}}}""", Encoding.UTF8, "application/json"), CancellationToken.None);
                        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
                        var offset = (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("offset").GetInt64();
                        lock (acknowledged)
                        {
                            acknowledged.Add((w * 1_000_000L) + offset);
                        }
                    }
                })).ToList();
                await WaitForAsync(() => { lock (acknowledged) { return acknowledged.Count >= 200; } }, "200 acknowledged publishes");
                List<long> before;
                lock (acknowledged)
                {
                    before = [.. acknowledged];
                }
                acknowledgedBeforeBackup = before.Count;
                var (code, output) = await RunAsync("backup", "--to", backup, "--server", hub.Address.ToString());
                Assert.True(code == 0, output);
                Assert.Contains("written to", output, StringComparison.Ordinal);
                await WaitForAsync(() => { lock (acknowledged) { return acknowledged.Count >= before.Count + 100; } }, "publishes after the backup");
                await stop.CancelAsync();
                await Task.WhenAll(writers);

                // Restoring over a directory a live hub holds is refused, and changes nothing.
                var (refusedCode, refused) = await RunAsync("restore", "--from", backup, "--data", data.Path);
                Assert.Equal(1, refusedCode);
                Assert.Contains("in use", refused, StringComparison.Ordinal);

                var (restoreCode, restoreOutput) = await RunAsync("restore", "--from", backup, "--data", restored.Path);
                Assert.True(restoreCode == 0, restoreOutput);

                // What the backup holds: every message acknowledged before it started (and perhaps some after).
                await using var second = await HubProcess.StartAsync("--data", restored.Path);
                using var check = new HttpClient { BaseAddress = second.Address, Timeout = TimeSpan.FromSeconds(30) };
                var present = new HashSet<long>();
                for (var w = 0; w < 4; w++)
                {
                    var after = "0";
                    for (var page = 0; page < 1000; page++) // pages of 1,000 (the hub's maximum); bounded far above what was written
                    {
                        using var response = await check.GetAsync($"/v1/topics/bk.{w}/messages?after={after}&limit=1000");
                        if (response.StatusCode == HttpStatusCode.NotFound)
                        {
                            break;
                        }
                        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
                        var body = await response.Content.ReadFromJsonAsync<JsonElement>();
                        var messages = body.GetProperty("messages");
                        if (messages.GetArrayLength() == 0)
                        {
                            break;
                        }
                        foreach (var message in messages.EnumerateArray())
                        {
                            Assert.Equal(w, message.GetProperty("payload").GetProperty("w").GetInt32());
                            present.Add((w * 1_000_000L) + message.GetProperty("offset").GetInt64());
                        }
                        after = body.GetProperty("next").GetString()!;
                    }
                }
                var lost = before.Where(id => !present.Contains(id)).ToList();
                Assert.True(lost.Count == 0, $"{lost.Count} of {before.Count} messages acknowledged before the backup are missing from it (first: {lost.FirstOrDefault()})");
                Assert.True(present.Count <= acknowledged.Count, $"the backup holds {present.Count} messages; only {acknowledged.Count} were ever acknowledged");

                // Restored topics have new epochs, so clients that saw later messages are told rather than misled.
                using var original = await http.GetAsync("/v1/topics/bk.0");
                using var copy = await check.GetAsync("/v1/topics/bk.0");
                Assert.NotEqual(
                    (await original.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("epoch").GetString(),
                    (await copy.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("epoch").GetString());
            }
            Assert.True(acknowledgedBeforeBackup >= 200);
        }
        finally
        {
            File.Delete(backup);
        }
    }

    [Fact]
    public async Task Backup_refuses_a_hub_in_memory_and_an_existing_file_and_restore_refuses_what_is_not_a_backup()
    {
        using var data = new TempDirectory();
        await using (var hub = await HubProcess.StartAsync("--memory"))
        {
            var target = Path.Combine(data.Path, "memory.db");
            var (code, output) = await RunAsync("backup", "--to", target, "--server", hub.Address.ToString());
            Assert.Equal(1, code);
            Assert.Contains("unsupported", output, StringComparison.Ordinal);
            Assert.False(File.Exists(target));
            Assert.False(File.Exists(target + ".partial"));

            var existing = Path.Combine(data.Path, "existing.db");
            await File.WriteAllTextAsync(existing, "keep me");
            var (existsCode, exists) = await RunAsync("backup", "--to", existing, "--server", hub.Address.ToString());
            Assert.Equal(2, existsCode);
            Assert.Contains("exists already", exists, StringComparison.Ordinal);
            Assert.Equal("keep me", await File.ReadAllTextAsync(existing));
        }

        var garbage = Path.Combine(data.Path, "garbage.db");
        await File.WriteAllTextAsync(garbage, "this is not a database at all, just text long enough to not be empty");
        var target2 = Path.Combine(data.Path, "restore-into");
        var (badCode, bad) = await RunAsync("restore", "--from", garbage, "--data", target2);
        Assert.Equal(1, badCode);
        Assert.Contains("not a Switchboard backup", bad, StringComparison.Ordinal);
        Assert.False(File.Exists(Path.Combine(target2, "switchboard.db")));

        var (missingCode, missing) = await RunAsync("restore", "--from", Path.Combine(data.Path, "nope.db"), "--data", target2);
        Assert.Equal(1, missingCode);
        Assert.Contains("no backup file", missing, StringComparison.Ordinal);
    }

    private static async Task WaitForAsync(Func<bool> condition, string what)
    {
        // Bounded poll of a counter the writers move (they publish as fast as the hub answers; there is no event to await).
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, $"timed out waiting for {what}");
            await Task.Delay(20);
        }
    }
}
