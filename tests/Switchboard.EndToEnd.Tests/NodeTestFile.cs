using System.Diagnostics;
using System.Reflection;
using System.Text.RegularExpressions;

namespace Switchboard.EndToEnd.Tests;

/// <summary>
/// Runs one file of tests/js under Node's own test runner (<c>node --test</c>) against the program this project builds, and
/// fails with the runner's output unless it passed at least one test and failed none. A missing Node, npm package or build
/// fails loudly; nothing is skipped.
/// </summary>
internal static partial class NodeTestFile
{
    public static readonly string Root = Path.GetFullPath(typeof(NodeTestFile).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().Single(a => a.Key == "RepositoryRoot").Value!);
    public static readonly string JsFolder = Path.Combine(Root, "tests", "js");

    /// <summary>The *.test.mjs files of tests/js/<paramref name="folder"/>, as xUnit theory data.</summary>
    public static TheoryData<string> In(string folder)
    {
        var files = new TheoryData<string>();
        foreach (var file in Directory.GetFiles(Path.Combine(JsFolder, folder), "*.test.mjs").Order(StringComparer.Ordinal))
        {
            files.Add(Path.GetFileName(file));
        }
        return files;
    }

    public static async Task RunAsync(string folder, string file, TimeSpan timeout, string requiredPackage)
    {
        Assert.True(Directory.Exists(Path.Combine(JsFolder, "node_modules", requiredPackage)), $"{JsFolder}/node_modules/{requiredPackage} is missing: run ./test.sh (it runs npm ci there).");
        var info = new ProcessStartInfo("node") { WorkingDirectory = JsFolder, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in new[] { "--test", "--test-reporter=tap", Path.Combine(folder, file) })
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
            throw new InvalidOperationException("Node.js (node on the PATH) is required for the JavaScript tests; ./test.sh installs it.", ex);
        }
        using var process = started!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var deadline = new CancellationTokenSource(timeout);
        try
        {
            await process.WaitForExitAsync(deadline.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true); // the hubs and browsers the tests started go with it
            throw new TimeoutException($"node --test {folder}/{file} did not finish in {timeout}:\n{await stdout}\n{await stderr}");
        }
        var output = await stdout + await stderr;
        var passed = Count().Match(output) is { Success: true } p ? int.Parse(p.Groups["pass"].Value, System.Globalization.CultureInfo.InvariantCulture) : -1;
        Assert.True(process.ExitCode == 0 && passed > 0 && output.Contains("# fail 0", StringComparison.Ordinal), $"node --test {folder}/{file} exited {process.ExitCode}:\n{output}");
    }

    [GeneratedRegex(@"^# pass (?<pass>\d+)$", RegexOptions.Multiline)]
    private static partial Regex Count();
}
