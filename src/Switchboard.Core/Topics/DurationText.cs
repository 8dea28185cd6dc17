using System.Globalization;
using System.Text;
using System.Xml;

namespace Switchboard.Core;

/// <summary>
/// Durations as people write them: <c>90s</c>, <c>15m</c>, <c>24h</c>, <c>7d</c>, combined (<c>1h30m</c>),
/// <c>500ms</c>, or ISO 8601 (<c>PT24H</c>). Formatting uses the short form.
/// </summary>
public static class DurationText
{
    // Half of TimeSpan's range: sums and offsets built from a parsed duration stay representable.
    private static readonly decimal Longest = (decimal)TimeSpan.MaxValue.TotalSeconds / 2;

    private static string TooLong(string text) => $"'{text}' is longer than any duration the hub can hold (about {(long)(Longest / 86400 / 365):N0} years).";

    /// <summary>Parses a duration; the error says which forms are accepted (or, for a well-formed one too long to hold, that).</summary>
    public static bool TryParse(string? text, out TimeSpan value, out string error)
    {
        value = default;
        error = $"'{text}' is not a duration: write e.g. '30s', '15m', '24h', '7d', '1h30m' or ISO 8601 'PT24H'.";
        if (string.IsNullOrWhiteSpace(text))
        {
            return false;
        }
        if (text[0] is 'P' or 'p')
        {
            try
            {
                value = XmlConvert.ToTimeSpan(text.ToUpperInvariant());
                return value >= TimeSpan.Zero;
            }
            catch (FormatException)
            {
                return false;
            }
            catch (OverflowException)
            {
                error = TooLong(text);
                return false;
            }
        }

        var span = text.AsSpan();
        var total = 0m;
        while (!span.IsEmpty)
        {
            var digits = 0;
            while (digits < span.Length && (char.IsAsciiDigit(span[digits]) || span[digits] == '.'))
            {
                digits++;
            }
            if (digits == 0 || !decimal.TryParse(span[..digits], NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var number))
            {
                return false;
            }
            span = span[digits..];
            decimal unitSeconds;
            if (span.StartsWith("ms")) { unitSeconds = 0.001m; span = span[2..]; }
            else if (span.StartsWith("s")) { unitSeconds = 1; span = span[1..]; }
            else if (span.StartsWith("m")) { unitSeconds = 60; span = span[1..]; }
            else if (span.StartsWith("h")) { unitSeconds = 3600; span = span[1..]; }
            else if (span.StartsWith("d")) { unitSeconds = 86400; span = span[1..]; }
            else { return false; }
            // Compared before multiplying: decimal itself overflows on e.g. "79228162514264337593543950335d".
            if (number > (Longest - total) / unitSeconds)
            {
                error = TooLong(text);
                return false;
            }
            total += number * unitSeconds;
        }
        value = TimeSpan.FromTicks((long)(total * TimeSpan.TicksPerSecond));
        return true;
    }

    /// <summary>Formats in the short form (<c>1d2h</c>, <c>90s</c> becomes <c>1m30s</c>, <c>250ms</c>).</summary>
    public static string Format(TimeSpan value)
    {
        if (value == TimeSpan.Zero)
        {
            return "0s";
        }
        var builder = new StringBuilder();
        void Part(long amount, string unit)
        {
            if (amount > 0)
            {
                builder.Append(amount.ToString(CultureInfo.InvariantCulture)).Append(unit);
            }
        }
        Part((long)value.TotalDays, "d");
        Part(value.Hours, "h");
        Part(value.Minutes, "m");
        Part(value.Seconds, "s");
        Part(value.Milliseconds, "ms");
        return builder.ToString();
    }
}
