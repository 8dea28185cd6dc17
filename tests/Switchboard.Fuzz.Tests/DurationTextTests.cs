using System.Xml;
using FsCheck;
using FsCheck.Fluent;
using Switchboard.Core;
using Switchboard.Fuzz.Tests.Support;
using Xunit.Abstractions;

namespace Switchboard.Fuzz.Tests;

/// <summary>
/// Durations as people write them (<c>90s</c>, <c>1h30m</c>, <c>500ms</c>, <c>PT24H</c>): TryParse never throws,
/// whatever the text; Format then TryParse gives the value back; simple forms mean what they say.
/// </summary>
public sealed class DurationTextTests(ITestOutputHelper output)
{
    private static readonly string[] Samples = ["30s", "15m", "24h", "7d", "1h30m", "500ms", "1.5h", "0s", "PT24H", "P1DT2H3M4.5S", "p7d", "0.001s", "36500d"];

    /// <summary>Up to 100 years, to the millisecond (the precision Format writes).</summary>
    private static readonly Gen<TimeSpan> Durations = Gen.OneOf(
        Gen.Choose(0, int.MaxValue).Select(ms => TimeSpan.FromMilliseconds(ms)),
        Gen.Choose(0, 36_500).SelectMany(days => Gen.Choose(0, 86_399_999).Select(ms => TimeSpan.FromDays(days) + TimeSpan.FromMilliseconds(ms))),
        Gen.Elements(TimeSpan.Zero, TimeSpan.FromMilliseconds(1), TimeSpan.FromDays(36_500), TimeSpan.FromSeconds(59.999)));

    [Fact]
    public async Task A_duration_formats_and_parses_back_to_itself()
    {
        await Fuzzer.PropertyAsync(output, "duration/round-trip", Durations, value =>
        {
            Assert.True(DurationText.TryParse(DurationText.Format(value), out var parsed, out var error), error);
            Assert.Equal(value, parsed);
            Assert.True(DurationText.TryParse(XmlConvert.ToString(value), out var iso, out error), error);
            Assert.Equal(value, iso);
        });
    }

    [Fact]
    public async Task A_number_and_a_unit_mean_that_many_units()
    {
        var units = Gen.Elements(("ms", 0.001m), ("s", 1m), ("m", 60m), ("h", 3600m), ("d", 86400m));
        var longest = (decimal)TimeSpan.MaxValue.TotalSeconds / 2; // TryParse's own bound
        var cases = Gen.Choose(0, int.MaxValue).SelectMany(n => units.Select(u => (long)Math.Min(n, Math.Floor(longest / u.Item2)) is var count
            ? (Text: count + u.Item1, Seconds: count * u.Item2)
            : default));
        await Fuzzer.PropertyAsync(output, "duration/units", cases, c =>
        {
            Assert.True(DurationText.TryParse(c.Text, out var value, out var error), error);
            Assert.Equal(TimeSpan.FromTicks((long)(c.Seconds * TimeSpan.TicksPerSecond)), value);
        });
    }

    [Fact]
    public async Task Mutated_durations_parse_to_a_value_or_report_an_error_without_throwing()
    {
        Mutator<char>? mutator = null;
        var report = await Fuzzer.RunAsync(output, "duration/mutated",
            random => new string((mutator ??= Mutators.Text(random, Samples)).Next()),
            text =>
            {
                var parsed = DurationText.TryParse(text, out var value, out var error);
                Assert.True(!parsed || value >= TimeSpan.Zero, $"{value}");
                return parsed;
            },
            _ => false, Fuzzer.Show);
        Assert.True(report.Accepted > 0 && report.Refused > 0, report.ToString());
    }

    [Theory]
    [InlineData("79228162514264337593543950335d")] // decimal's largest value times a day overflowed decimal (OverflowException, a 500 on wait=)
    [InlineData("79228162514264337593543950335h")]
    [InlineData("1d79228162514264337593543950335ms")]
    [InlineData("9999999999999999999999999999s")]
    [InlineData("P99999999999999999999D")]
    [InlineData("PT-1S")]
    [InlineData("1e9s")]
    [InlineData("..s")]
    [InlineData("1.2.3s")]
    [InlineData("10675199d")] // past TimeSpan.MaxValue / 2
    public void Huge_and_malformed_durations_are_refused_without_throwing(string text)
    {
        Assert.False(DurationText.TryParse(text, out _, out var error));
        Assert.Matches("is not a duration|is longer than any duration the hub can hold", error);
    }

    [Theory]
    [InlineData("99999999d")]
    [InlineData("99999999999999999999d")] // moved from the garbage cases: well formed, only too long
    [InlineData("10675199d")]
    [InlineData("1d79228162514264337593543950335ms")]
    [InlineData("9999999999999999999999999999s")]
    public void A_well_formed_duration_too_long_to_hold_is_refused_as_too_long_not_as_malformed(string text)
    {
        Assert.False(DurationText.TryParse(text, out _, out var error));
        Assert.Contains("is longer than any duration the hub can hold", error, StringComparison.Ordinal);
        Assert.DoesNotContain("is not a duration", error, StringComparison.Ordinal);
    }
}
