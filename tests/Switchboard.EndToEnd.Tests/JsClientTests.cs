namespace Switchboard.EndToEnd.Tests;

/// <summary>
/// The JavaScript client (<c>clients/js</c>) under Node's own test runner: each file of <c>tests/js/client</c> starts the
/// real <c>switchboard</c> program this project builds (SQLite on a temp dir where a test kills and restarts it) and
/// drives it through the client over every transport. A missing Node or missing npm packages fail loudly.
/// </summary>
public sealed class JsClientTests
{
    // The slowest file restarts the hub three times; ten minutes leaves room for a loaded two-core machine.
    private static readonly TimeSpan FileTimeout = TimeSpan.FromMinutes(10);

    public static TheoryData<string> Files() => NodeTestFile.In("client");

    [Theory]
    [MemberData(nameof(Files))]
    public Task The_JavaScript_client_passes_its_node_tests_against_the_real_hub(string file)
        => NodeTestFile.RunAsync("client", file, FileTimeout, "ws");
}
