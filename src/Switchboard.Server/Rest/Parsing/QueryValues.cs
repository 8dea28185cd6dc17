using System.Globalization;
using System.Text;
using Switchboard.Core;

namespace Switchboard.Server.Rest.Parsing;

/// <summary>Query-string values parsed with errors that name the parameter and the accepted form.</summary>
internal static class QueryValues
{
    public static int Limit(string? text, int fallback, int max)
    {
        if (string.IsNullOrEmpty(text))
        {
            return fallback;
        }
        // Digits only: int.TryParse also takes trailing NUL characters ("6\0" would be 6).
        if (text.AsSpan().ContainsAnyExceptInRange('0', '9') || !int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var value) || value < 1 || value > max)
        {
            throw new SwitchboardException(ErrorCode.InvalidRequest, $"limit is '{text}'; use a whole number from 1 to {max}.");
        }
        return value;
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
        if (string.IsNullOrEmpty(text))
        {
            return TimeSpan.Zero;
        }
        TimeSpan value;
        if (decimal.TryParse(text, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var seconds) && seconds <= (decimal)max.TotalSeconds)
        {
            value = TimeSpan.FromMilliseconds((double)(seconds * 1000));
        }
        else if (!DurationText.TryParse(text, out value, out _))
        {
            throw new SwitchboardException(ErrorCode.InvalidRequest, $"wait is '{text}'; give seconds from 0 to {max.TotalSeconds:0} (e.g. wait=30).");
        }
        if (value > max)
        {
            throw new SwitchboardException(ErrorCode.InvalidRequest, $"wait is '{text}'; the longest wait is {max.TotalSeconds:0} seconds.");
        }
        return value;
    }

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
