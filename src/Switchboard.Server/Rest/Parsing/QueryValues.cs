using System.Globalization;
using System.Text;
using Switchboard.Core;

namespace Switchboard.Server.Rest.Parsing;

/// <summary>Query-string values parsed with errors that name the parameter and the accepted form.</summary>
internal static class QueryValues
{
    /// <summary>
    /// <c>limit=N</c>: ASCII digits, leading zeros allowed (<c>limit=007</c> is 7, as ASP.NET Core's own binding and
    /// <see cref="TryParseWhole"/> read numbers), from <paramref name="min"/> (0 where a listing can count without listing)
    /// to <paramref name="max"/>.
    /// </summary>
    public static int Limit(string? text, int fallback, int max, int min = 1)
    {
        if (string.IsNullOrEmpty(text))
        {
            return fallback;
        }
        if (!TryParseWhole(text, out var value) || value < min || value > max)
        {
            throw new SwitchboardException(ErrorCode.InvalidRequest, $"limit is '{text}'; use a whole number from {min} to {max}.");
        }
        return (int)value;
    }

    /// <summary>
    /// A whole number in ASCII digits, 0 or more, that fits a long: ids, offsets, counts. long.TryParse alone also takes
    /// trailing NUL characters ("1\0" would be 1).
    /// </summary>
    public static bool TryParseWhole(string? text, out long value)
    {
        value = 0;
        return !string.IsNullOrEmpty(text) && !text.AsSpan().ContainsAnyExceptInRange('0', '9')
            && long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out value);
    }

    /// <summary><c>after=N</c> or <c>after=epoch:N</c>; <c>epoch=</c> may also be given on its own.</summary>
    public static Position After(string? after, string? epoch)
    {
        var position = new Position(null, 0);
        if (!string.IsNullOrEmpty(after) && !Position.TryParse(after, out position, out var error))
        {
            throw new SwitchboardException(ErrorCode.InvalidPosition, "after: " + error);
        }
        if (!string.IsNullOrEmpty(epoch))
        {
            if (!Core.Epoch.IsWellFormed(epoch))
            {
                throw new SwitchboardException(ErrorCode.InvalidPosition, $"epoch '{epoch}' is not an epoch the hub issued ({Core.Epoch.Length} characters, as in a message's 'epoch' field).");
            }
            if (position.Epoch is not null && position.Epoch != epoch)
            {
                throw new SwitchboardException(ErrorCode.InvalidPosition, $"after names epoch '{position.Epoch}' but epoch= says '{epoch}'; give one.");
            }
            position = position with { Epoch = epoch };
        }
        return position;
    }

    /// <summary><c>wait=SECONDS</c> (decimals allowed) or a duration such as <c>30s</c>.</summary>
    public static TimeSpan Wait(string? text, TimeSpan max)
    {
        var value = Duration(text, "wait", $"a wait is 0 to {max.TotalSeconds:0} seconds") ?? TimeSpan.Zero;
        if (value > max)
        {
            throw new SwitchboardException(ErrorCode.InvalidRequest, $"wait is '{text}'; the longest wait is {max.TotalSeconds:0} seconds.");
        }
        return value;
    }

    /// <summary>
    /// A duration in the query (<c>wait</c>, <c>timeout</c>, <c>lease</c>, <c>delay</c>), one grammar for all of them:
    /// seconds in ASCII digits with an optional fraction (leading zeros allowed, as in <see cref="Limit"/>), or a
    /// duration such as <c>30s</c>, <c>5m</c> or <c>PT1M</c>. No sign, exponent, spaces, NaN or Infinity: a form one
    /// parameter took and another refused is gone. Null when absent; the hub checks the range, which
    /// <paramref name="range"/> names for a refusal here.
    /// </summary>
    public static TimeSpan? Duration(string? text, string name, string range)
    {
        if (string.IsNullOrEmpty(text))
        {
            return null;
        }
        if (TrySeconds(text, out var value) || DurationText.TryParse(text, out value, out _))
        {
            return value;
        }
        throw new SwitchboardException(ErrorCode.InvalidRequest, text[0] == '-' && TrySeconds(text[1..], out _)
            ? $"{name} is {text} seconds; it cannot be negative ({range})."
            : $"{name} is '{text}', which is not a number of seconds or a duration: give seconds (e.g. {name}=30) or a duration such as 30s ({range}).");
    }

    private static bool TrySeconds(string text, out TimeSpan value)
    {
        value = default;
        // Digits and a point only: decimal.TryParse also takes trailing NUL characters.
        if (text.AsSpan().ContainsAnyExcept(SecondsChars) || !decimal.TryParse(text, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var seconds))
        {
            return false;
        }
        // Far past every limit (ten years): the hub's check names the real range, and the ticks stay representable.
        value = TimeSpan.FromTicks((long)(Math.Min(seconds, FarPast) * TimeSpan.TicksPerSecond));
        return true;
    }

    private static readonly System.Buffers.SearchValues<char> SecondsChars = System.Buffers.SearchValues.Create("0123456789.");
    private const decimal FarPast = 3650m * 86400;

    /// <summary>An opaque paging cursor: base64url of the last name of the previous page.</summary>
    public static string EncodeCursor(string afterName) => Base64Url("n:" + afterName);

    public static string? DecodeCursor(string? cursor)
    {
        if (string.IsNullOrEmpty(cursor))
        {
            return null;
        }
        try
        {
            var text = Encoding.UTF8.GetString(System.Buffers.Text.Base64Url.DecodeFromChars(cursor));
            if (text.StartsWith("n:", StringComparison.Ordinal) && TopicName.IsValid(text[2..], out _, allowSystem: true))
            {
                return text[2..];
            }
        }
        catch (FormatException)
        {
        }
        throw new SwitchboardException(ErrorCode.InvalidPosition, $"cursor '{cursor}' was not issued by this hub; use the 'next' value of the previous page as it was, or start without a cursor.");
    }

    private static string Base64Url(string text) => System.Buffers.Text.Base64Url.EncodeToString(Encoding.UTF8.GetBytes(text));
}
