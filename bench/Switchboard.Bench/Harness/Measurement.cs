using System.Globalization;

namespace Switchboard.Bench.Harness;

/// <summary>Which side of a comparison a measurement is on.</summary>
public enum Side
{
    /// <summary>Not compared with anything (a detail, such as messages per commit).</summary>
    None,

    /// <summary>Switchboard itself: shown with its ratio to the best peer of the same figure.</summary>
    Switchboard,

    /// <summary>A system a user would pick instead, or a bare stack's ceiling: the best of them is what Switchboard is held to.</summary>
    Peer,
}

/// <summary>One figure measured several times: reported as min and median (the machine is noisy; one run says little).</summary>
public sealed class Measurement(string scenario, string name, string unit, bool higherIsBetter)
{
    public string Scenario { get; } = scenario;
    public string Name { get; } = name;
    public string Unit { get; } = unit;
    public bool HigherIsBetter { get; } = higherIsBetter;
    public List<double> Runs { get; } = [];

    /// <summary>The compared figure (e.g. "delivered, 100 subscribers"): measurements of one figure are held side by side.</summary>
    public string? Figure { get; init; }

    /// <summary>Who was measured (e.g. "switchboard ws-json", "NATS core").</summary>
    public string? System { get; init; }

    public Side Side { get; init; }

    public double Min => Runs.Count == 0 ? double.NaN : Runs.Min();
    public double Max => Runs.Count == 0 ? double.NaN : Runs.Max();
    public double Median => Percentile(Runs, 50);

    /// <summary>Whether it has a usable value (a run happened and gave a number).</summary>
    public bool Measured => Runs.Count > 0 && double.IsFinite(Median);

    /// <summary>Whether <paramref name="value"/> is at least as good as <paramref name="other"/> in this figure's direction.</summary>
    public bool AtLeastAsGood(double value, double other) => HigherIsBetter ? value >= other : value <= other;

    /// <summary>The best run in the figure's direction (max for rates, min for latencies and costs).</summary>
    public double Best => HigherIsBetter ? Max : Min;

    public static double Percentile(IReadOnlyCollection<double> values, double percentile)
    {
        if (values.Count == 0)
        {
            return double.NaN;
        }
        var sorted = values.Order().ToArray();
        var rank = percentile / 100 * (sorted.Length - 1);
        var low = (int)Math.Floor(rank);
        var high = (int)Math.Ceiling(rank);
        return sorted[low] + (sorted[high] - sorted[low]) * (rank - low);
    }

    public static string Format(double value) => double.IsNaN(value) ? "–"
        : Math.Abs(value) >= 100 ? value.ToString("N0", CultureInfo.InvariantCulture)
        : Math.Abs(value) >= 1 ? value.ToString("0.0#", CultureInfo.InvariantCulture)
        : value.ToString("0.###", CultureInfo.InvariantCulture);
}
