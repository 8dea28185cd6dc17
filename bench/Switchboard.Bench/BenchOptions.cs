using System.Diagnostics;

namespace Switchboard.Bench;

public sealed class BenchOptions
{
    public const int DefaultRuns = 5;
    private static readonly Stopwatch Clock;

    // An explicit static constructor: the clock starts when the program first touches the options (at its start),
    // not lazily at the first progress line.
    static BenchOptions() => Clock = Stopwatch.StartNew();

    public int Runs { get; set; } = DefaultRuns;

    /// <summary>
    /// Short runs and small counts: checks that the harness and every scenario work (the smoke test runs it), in well
    /// under two minutes on a quiet machine. Its figures are not for quoting.
    /// </summary>
    public bool Quick { get; set; }

    public string? Out { get; set; }
    public bool Help { get; set; }

    /// <summary>Fan-out transports to run (null: all); ratios are reported for the pairs that ran.</summary>
    public IReadOnlyList<string>? Only { get; set; }

    /// <summary>Fan-out subscriber counts (null: 1, 100 and 1,000; quick: 10).</summary>
    public IReadOnlyList<int>? Subscribers { get; set; }

    public bool Includes(string transport) => Only is null || Only.Contains(transport);

    /// <summary>
    /// Environment variables given to every hub the bench starts (<c>--hub-env NAME=VALUE</c>, repeatable), and only
    /// to the hubs: a runtime or configuration setting measured against the default with the peers and the load
    /// generator unchanged (e.g. <c>Switchboard__Connections__InlineScheduling=true</c>).
    /// </summary>
    public Dictionary<string, string> HubEnvironment { get; } = new(StringComparer.Ordinal);

    /// <summary>
    /// How long one timed run lasts: long enough to reach a steady state, short enough to repeat. Quick: 0.15 s, which
    /// still completes over ten operations on the slowest path (fsync'd queue round trips, ~100/s) and only has to show
    /// that the path works (where quick mode skips the warm-up, the first run also pays for JIT and connections); a
    /// quick run holds ~90 timed runs, so each tenth of a second here is ~10 s of the smoke test.
    /// </summary>
    public TimeSpan RunLength => Quick ? TimeSpan.FromSeconds(0.15) : TimeSpan.FromSeconds(3);

    /// <summary>
    /// An unmeasured warm-up before the first run (JIT, connections, the topic's creation); quick: one short pass of each
    /// path, in the scenarios that still warm up in quick mode (the queue, gRPC, request/reply and real-time ones skip it).
    /// </summary>
    public TimeSpan WarmUp => Quick ? TimeSpan.FromSeconds(0.1) : TimeSpan.FromSeconds(0.5);

    /// <summary>Fan-out sizes: 1,000 subscribers is 2,000 sockets on loopback (one in each process), far under the 20,000 open files a process may have.</summary>
    public IReadOnlyList<int> FanOutSubscribers => Subscribers ?? (Quick ? [10] : [1, 100, 1000]);

    /// <summary>
    /// Idle connections per transport: 10,000 is one socket each in the server and in this process, half the open-file
    /// limit of 20,000 per process (checked before the scenario starts).
    /// </summary>
    public int IdleConnections => Quick ? 200 : 10_000;

    /// <summary>A waiting time (for a server to settle) shortened in quick mode.</summary>
    public TimeSpan Settle(double seconds) => TimeSpan.FromSeconds(Quick ? Math.Min(seconds, 0.15) : seconds);

    /// <summary>A line of the progress display, with the time since the bench started.</summary>
    public static void Progress(string text) => Console.WriteLine($"   [{Clock.Elapsed:mm\\:ss}] {text}");
}

public interface IScenario
{
    string Name { get; }
    string Description { get; }
    Task RunAsync(Harness.Report report, BenchOptions options);
}
