using System.Diagnostics;
using System.Reflection;
using System.Text;

namespace Switchboard.Bench.Tests;

/// <summary>
/// Runs <c>switchboard bench --no-build</c> (the harness this test project's build produced) as a user would, and
/// gives its exit code and output. Bounded: 15 minutes (quick mode takes one or two on a quiet machine; a loaded CI
/// machine runs other suites beside it), after which the command and everything it started are stopped by PID.
/// </summary>
internal static class BenchCommand
{
    private static readonly TimeSpan Limit = TimeSpan.FromMinutes(15);

    public sealed record Result(int ExitCode, string Output)
    {
        /// <summary>The last part of the output, for a failure message.</summary>
        public string Tail => Output.Length <= 8000 ? Output : "…" + Output[^8000..];
    }

    public static async Task<Result> RunAsync(params string[] arguments)
    {
        var cli = Metadata("SwitchboardCli");
        if (!File.Exists(cli))
        {
            throw new InvalidOperationException($"{cli} is missing: build the solution first (dotnet build Switchboard.slnx).");
        }
        var configuration = typeof(BenchCommand).Assembly.GetCustomAttribute<AssemblyConfigurationAttribute>()?.Configuration ?? "Release";
        var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var argument in new[] { cli, "bench", "--no-build", "--configuration", configuration, "--source", Metadata("RepositoryRoot") }.Concat(arguments))
        {
            info.ArgumentList.Add(argument);
        }
        // The bench runs as a user runs it: not with the test run's HTTP/2 flow-control setting (./test.sh sets it for
        // one gRPC test; it would only slow the bench's gRPC streams).
        info.Environment.Remove("DOTNET_SYSTEM_NET_HTTP_SOCKETSHTTPHANDLER_HTTP2FLOWCONTROL_DISABLEDYNAMICWINDOWSIZING");
        info.Environment["DOTNET_NOLOGO"] = "1";
        var output = new StringBuilder();
        using var process = Process.Start(info) ?? throw new InvalidOperationException("could not start dotnet");
        void Keep(string? line)
        {
            if (line is not null)
            {
                lock (output)
                {
                    output.AppendLine(line);
                }
            }
        }
        process.OutputDataReceived += (_, e) => Keep(e.Data);
        process.ErrorDataReceived += (_, e) => Keep(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        using var timeout = new CancellationTokenSource(Limit);
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync(CancellationToken.None);
            throw new TimeoutException($"switchboard bench {string.Join(' ', arguments)} did not finish within {Limit.TotalMinutes} minutes:\n{output}");
        }
        process.WaitForExit(); // drains the redirected output
        lock (output)
        {
            return new Result(process.ExitCode, output.ToString());
        }
    }

    private static string Metadata(string key) => Path.GetFullPath(typeof(BenchCommand).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().Single(a => a.Key == key).Value!);
}
