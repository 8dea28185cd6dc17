using System.Diagnostics;
using System.Reflection;
using System.Text.RegularExpressions;

namespace Switchboard.EndToEnd.Tests;

/// <summary>
/// The JavaScript client (<c>clients/js</c>) under Node's own test runner: each file of <c>tests/js/client</c> starts the
/// real <c>switchboard</c> program this project builds (SQLite on a temp dir where a test kills and restarts it) and
/// drives it through the client over every transport. A missing Node or missing npm packages fail loudly.
/// </summary>
public sealed partial class JsClientTests
{
    private static readonly string Root = Path.GetFullPath(typeof(JsClientTests).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().Single(a => a.Key == "RepositoryRoot").Value!);
    private static readonly string JsFolder = Path.Combine(Root, "tests", "js");

    // The slowest file restarts the hub three times; ten minutes leaves room for a loaded two-core machine.
    private static readonly TimeSpan FileTimeout = TimeSpan.FromMinutes(10);

    public static TheoryData<string> Files()
    {
        var files = new TheoryData<string>();
        foreach (var file in Directory.GetFiles(Path.Combine(JsFolder, "client"), "*.test.mjs").Order(StringComparer.Ordinal))
        {
            files.Add(Path.GetFileName(file));
        }
        return files;
    }

    [Theory]
    [MemberData(nameof(Files))]
    public async Task The_JavaScript_client_passes_its_node_tests_against_the_real_hub(string file)
    {
        Assert.True(Directory.Exists(Path.Combine(JsFolder, "node_modules", "ws")), $"{JsFolder}/node_modules is missing: run ./test.sh (it runs npm ci there).");
        var info = new ProcessStartInfo("node") { WorkingDirectory = JsFolder, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in new[] { "--test", "--test-reporter=tap", Path.Combine("client", file) })
        {
            info.ArgumentList.Add(argument);
        }
        info.Environment["SWITCHBOARD_CLI"] = HubProcess.CliPath;
        Process? started;
        try
        {
            started = Process.Start(info);
        }
        catch (System.ComponentModel.Win32Exception ex)
        {
            throw new InvalidOperationException("Node.js (node on the PATH) is required for the JavaScript client's tests; ./test.sh installs it.", ex);
        }
        using var process = started!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(FileTimeout);
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true); // the hubs the tests started go with it
            throw new TimeoutException($"node --test {file} did not finish in {FileTimeout}:\n{await stdout}\n{await stderr}");
        }
        var output = await stdout + await stderr;
        var passed = Count().Match(output) is { Success: true } p ? int.Parse(p.Groups["pass"].Value, System.Globalization.CultureInfo.InvariantCulture) : -1;
        Assert.True(process.ExitCode == 0 && passed > 0 && output.Contains("# fail 0", StringComparison.Ordinal), $"node --test {file} exited {process.ExitCode}:\n{output}");
    }

    [GeneratedRegex(@"^# pass (?<pass>\d+)$", RegexOptions.Multiline)]
    private static partial Regex Count();
}
