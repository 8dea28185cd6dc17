using System.Diagnostics;
using System.Reflection;

namespace Switchboard.EndToEnd.Tests;

/// <summary>
/// deploy/systemd/switchboard.service as written: systemd accepts it without a warning, and its ExecStart command line
/// (with the data directory and port of a test) serves and stops gracefully on the signal systemd sends, within the
/// unit's TimeoutStopSec. (systemd itself cannot be PID 1 in the test sandbox, so the unit is verified, not started.)
/// </summary>
public sealed class SystemdUnitTests
{
    private static readonly string Root = Path.GetFullPath(typeof(SystemdUnitTests).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().Single(a => a.Key == "RepositoryRoot").Value!);
    private static readonly string Unit = Path.Combine(Root, "deploy", "systemd", "switchboard.service");
    private const string InstalledProgram = "/opt/switchboard/switchboard";

    private static string Setting(string name) => File.ReadLines(Unit).Single(l => l.StartsWith(name + "=", StringComparison.Ordinal))[(name.Length + 1)..];

    [Fact]
    public async Task Systemd_accepts_the_unit_without_a_warning()
    {
        using var folder = new TempDirectory();
        var copy = Path.Combine(folder.Path, "switchboard.service");
        // The unit names the published program; here it is the program this build produced.
        var program = Path.ChangeExtension(HubProcess.CliPath, null);
        Assert.True(File.Exists(program), $"{program} (the apphost of the built CLI) is missing");
        await File.WriteAllTextAsync(copy, (await File.ReadAllTextAsync(Unit)).Replace(InstalledProgram, program, StringComparison.Ordinal));
        var info = new ProcessStartInfo("systemd-analyze") { RedirectStandardOutput = true, RedirectStandardError = true };
        info.ArgumentList.Add("verify");
        info.ArgumentList.Add(copy);
        Process process;
        try
        {
            process = Process.Start(info)!;
        }
        catch (System.ComponentModel.Win32Exception ex)
        {
            throw new InvalidOperationException("systemd-analyze (Debian's systemd package) is needed to check the unit file.", ex);
        }
        using (process)
        {
            var output = await process.StandardOutput.ReadToEndAsync() + await process.StandardError.ReadToEndAsync();
            await process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(60));
            Assert.True(process.ExitCode == 0 && output.Trim().Length == 0, $"systemd-analyze verify: exit {process.ExitCode}: {output}");
        }
    }

    [Fact]
    public async Task The_units_command_line_serves_and_stops_gracefully_on_SIGTERM_within_its_stop_timeout()
    {
        var command = Setting("ExecStart").Split(' ', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(InstalledProgram, command[0]);
        Assert.Equal("SIGTERM", Setting("KillSignal"));
        var stopTimeout = TimeSpan.FromSeconds(int.Parse(Setting("TimeoutStopSec").TrimEnd('s'), System.Globalization.CultureInfo.InvariantCulture));
        using var data = new TempDirectory();
        var arguments = command[1..].ToList();
        arguments[arguments.IndexOf("--data") + 1] = data.Path;
        arguments[arguments.IndexOf("--urls") + 1] = "http://127.0.0.1:0";

        await using var hub = HubProcess.Launch(arguments);
        var address = await hub.Listening.WaitAsync(TimeSpan.FromSeconds(60));
        using var http = new HttpClient { BaseAddress = address, Timeout = TimeSpan.FromSeconds(10) };
        using (var published = await http.PostAsync("/v1/topics/unit/messages", new StringContent("""{"payload":1}""", System.Text.Encoding.UTF8, "application/json")))
        {
            Assert.Equal(System.Net.HttpStatusCode.Created, published.StatusCode);
        }
        Assert.True(File.Exists(Path.Combine(data.Path, "switchboard.db")), "the data went somewhere other than --data");
        Assert.Contains(hub.Output.Split('\n'), line => line.StartsWith("{\"EventId\":", StringComparison.Ordinal)); // --log-format json

        var clock = Stopwatch.StartNew();
        hub.Terminate();
        var code = await hub.WaitForExitAsync(stopTimeout);
        Assert.Equal(0, code);
        Assert.True(clock.Elapsed < stopTimeout, $"stopped after {clock.Elapsed}, past TimeoutStopSec {stopTimeout}");
    }
}
