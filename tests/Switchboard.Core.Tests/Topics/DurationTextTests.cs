namespace Switchboard.Core.Tests.Topics;

public sealed class DurationTextTests
{
    public static TheoryData<string, TimeSpan, string> ShortForms => new()
    {
        { "30s", TimeSpan.FromSeconds(30), "30s" },
        { "15m", TimeSpan.FromMinutes(15), "15m" },
        { "24h", TimeSpan.FromHours(24), "1d" },
        { "7d", TimeSpan.FromDays(7), "7d" },
        { "1h30m", TimeSpan.FromMinutes(90), "1h30m" },
        { "90s", TimeSpan.FromSeconds(90), "1m30s" },
        { "500ms", TimeSpan.FromMilliseconds(500), "500ms" },
        { "1d2h3m4s5ms", new TimeSpan(1, 2, 3, 4, 5), "1d2h3m4s5ms" },
        { "1.5h", TimeSpan.FromMinutes(90), "1h30m" },
        { "0s", TimeSpan.Zero, "0s" },
        { "400d", TimeSpan.FromDays(400), "400d" },
    };

    [Theory]
    [MemberData(nameof(ShortForms))]
    public void Short_forms_parse_and_format_back_in_the_short_form(string text, TimeSpan expected, string formatted)
    {
        Assert.True(DurationText.TryParse(text, out var value, out _));
        Assert.Equal(expected, value);
        Assert.Equal(formatted, DurationText.Format(value));
        // What Format writes parses back to the same value.
        Assert.True(DurationText.TryParse(DurationText.Format(value), out var again, out _));
        Assert.Equal(value, again);
    }

    [Theory]
    [InlineData("PT24H", 24 * 3600)]
    [InlineData("pt24h", 24 * 3600)]
    [InlineData("PT1H30M", 5400)]
    [InlineData("P7D", 7 * 86400)]
    [InlineData("PT0.5S", 0.5)]
    public void Iso_8601_durations_parse(string text, double seconds)
    {
        Assert.True(DurationText.TryParse(text, out var value, out var error), error);
        Assert.Equal(TimeSpan.FromSeconds(seconds), value);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("   ")]
    [InlineData("garbage")]
    [InlineData("30")]
    [InlineData("s")]
    [InlineData("30x")]
    [InlineData("30 s")]
    [InlineData(" 30s")]
    [InlineData("-30s")]
    [InlineData("1h30")]
    [InlineData(".")]
    [InlineData("1..5s")]
    [InlineData("P")]
    [InlineData("PT")]
    [InlineData("Pgarbage")]
    [InlineData("-PT1H")]
    public void Garbage_is_refused_and_the_error_lists_the_accepted_forms(string? text)
    {
        Assert.False(DurationText.TryParse(text, out var value, out var error));
        Assert.Equal(TimeSpan.Zero, value);
        Assert.Contains("not a duration", error, StringComparison.Ordinal);
        Assert.Contains("1h30m", error, StringComparison.Ordinal);
        Assert.Contains("PT24H", error, StringComparison.Ordinal);
    }
}
