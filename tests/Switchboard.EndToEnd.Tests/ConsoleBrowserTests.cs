namespace Switchboard.EndToEnd.Tests;

/// <summary>
/// The web console in a real browser: each file of <c>tests/js/console</c> starts the real <c>switchboard</c> program and
/// drives its console in Debian's Chromium (<c>/usr/bin/chromium</c>, through playwright-core) — the dashboard's live
/// figures, topics and the live tail over each transport, queues and dead letters, chat with and without WebSocket, the
/// advisor against <c>switchboard advise</c>, and sign-in with auth on. A missing browser fails, never skips.
/// </summary>
public sealed class ConsoleBrowserTests
{
    // A file starts one hub and one browser; five minutes is several times what the slowest takes on a loaded machine.
    private static readonly TimeSpan FileTimeout = TimeSpan.FromMinutes(5);

    private static readonly string Chromium = Environment.GetEnvironmentVariable("CHROMIUM_PATH") is { Length: > 0 } path ? path : "/usr/bin/chromium";

    public static TheoryData<string> Files() => NodeTestFile.In("console");

    [Theory]
    [MemberData(nameof(Files))]
    public Task The_console_passes_its_browser_tests_against_the_real_hub(string file)
    {
        Assert.True(File.Exists(Chromium), $"Chromium is missing at {Chromium}: install Debian's package (apt-get install -y chromium; ./test.sh does) or set CHROMIUM_PATH.");
        return NodeTestFile.RunAsync("console", file, FileTimeout, "playwright-core");
    }
}
