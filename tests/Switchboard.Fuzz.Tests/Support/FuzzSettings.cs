namespace Switchboard.Fuzz.Tests.Support;

/// <summary>
/// How many inputs each target gets, and from which seed. The default run is a smoke test of the fuzzers
/// themselves plus a few thousand inputs per target (seconds); <c>SWITCHBOARD_LONG=1</c> (<c>./test.sh --long</c>)
/// is the real campaign: a million mutated and a million generated inputs per target, from a fresh seed.
/// </summary>
internal static class FuzzSettings
{
    public static bool Long { get; } = Environment.GetEnvironmentVariable("SWITCHBOARD_LONG") == "1";

    /// <summary>Mutated inputs per target: 3,000 by default (a second or less per target), 1,000,000 in the long mode.</summary>
    public static int Mutations { get; } = Override ?? (Long ? 1_000_000 : 3_000);

    /// <summary>Generated inputs per property: 1,000 by default, 1,000,000 in the long mode.</summary>
    public static int Properties { get; } = Override ?? (Long ? 1_000_000 : 1_000);

    /// <summary><c>SWITCHBOARD_FUZZ_INPUTS</c>: one count for every target, to replay or to measure a campaign.</summary>
    private static int? Override => int.TryParse(Environment.GetEnvironmentVariable("SWITCHBOARD_FUZZ_INPUTS"), out var count) && count > 0 ? count : null;

    /// <summary>Malformed requests per operation of the OpenAPI document: 1,000 by default, 5,000 in the long mode.</summary>
    public static int RequestsPerOperation { get; } = Long ? 5_000 : 1_000;

    /// <summary>
    /// The longest one input may take. The parsers answer in microseconds; 2 s leaves room for a GC pause or a
    /// descheduled thread on a busy 2-core machine, while anything quadratic on a 64 KiB input shows up far past it.
    /// </summary>
    public static TimeSpan PerInput { get; } = TimeSpan.FromSeconds(2);

    /// <summary>
    /// The seed of a target: <c>SWITCHBOARD_FUZZ_SEED</c> when set (to replay a failure), a fresh one in the long
    /// mode, else a fixed one per target, so the default run is the same every time (no flaky discoveries in CI).
    /// </summary>
    public static int Seed(string target)
    {
        if (int.TryParse(Environment.GetEnvironmentVariable("SWITCHBOARD_FUZZ_SEED"), out var given))
        {
            return given;
        }
        if (Long)
        {
            return Random.Shared.Next();
        }
        var hash = 17;
        foreach (var c in target)
        {
            hash = unchecked((hash * 31) + c);
        }
        return hash & int.MaxValue;
    }
}
