namespace Switchboard.Bench;

public sealed class BenchOptions
{
    public const int DefaultRuns = 5;

    public int Runs { get; set; } = DefaultRuns;
    public bool Quick { get; set; }
    public string? Out { get; set; }
    public bool Help { get; set; }

    /// <summary>Fan-out transports to run (null: all); ratios are reported for the pairs that ran.</summary>
    public IReadOnlyList<string>? Only { get; set; }

    public bool Includes(string transport) => Only is null || Only.Contains(transport);

    /// <summary>How long one timed run lasts: long enough to reach a steady state, short enough to repeat.</summary>
    public TimeSpan RunLength => Quick ? TimeSpan.FromSeconds(1.5) : TimeSpan.FromSeconds(3);

    public static void Progress(string text) => Console.WriteLine("   " + text);
}

public interface IScenario
{
    string Name { get; }
    string Description { get; }
    Task RunAsync(Harness.Report report, BenchOptions options);
}
