using System.Globalization;

namespace Switchboard.Core;

/// <summary>
/// A resume position: "after this offset" of one incarnation of a topic, written <c>epoch:offset</c>
/// (or just <c>offset</c> when the client does not know the epoch). Offset 0 means "before the first message".
/// </summary>
/// <param name="Epoch">The topic incarnation, or null when not given.</param>
/// <param name="Offset">The last offset already seen (0 = none).</param>
public readonly record struct Position(string? Epoch, long Offset)
{
    /// <summary>Parses <c>offset</c> or <c>epoch:offset</c>; offsets are 0 or more.</summary>
    public static bool TryParse(ReadOnlySpan<char> text, out Position position, out string error)
    {
        position = default;
        string? epoch = null;
        var colon = text.IndexOf(':');
        var offsetText = text;
        if (colon >= 0)
        {
            var epochText = text[..colon];
            if (!Core.Epoch.IsWellFormed(epochText))
            {
                error = $"'{text}' is not a position: the part before ':' must be an epoch of {Core.Epoch.Length} characters as the hub returned it (e.g. '4kq8wz1m0c7d:42').";
                return false;
            }
            epoch = epochText.ToString();
            offsetText = text[(colon + 1)..];
        }
        // Digits only: long.TryParse also takes trailing NUL characters ("42\0" would be 42).
        if (offsetText.IsEmpty || offsetText.ContainsAnyExceptInRange('0', '9') || !long.TryParse(offsetText, NumberStyles.None, CultureInfo.InvariantCulture, out var offset))
        {
            error = $"'{text}' is not a position: use an offset (a whole number, 0 or more) or 'epoch:offset' as returned by the hub.";
            return false;
        }
        position = new Position(epoch, offset);
        error = "";
        return true;
    }

    /// <summary>Parses a position or throws <see cref="SwitchboardException"/> (<see cref="ErrorCode.InvalidPosition"/>).</summary>
    public static Position Parse(string text)
        => TryParse(text, out var p, out var error) ? p : throw new SwitchboardException(ErrorCode.InvalidPosition, error);

    /// <inheritdoc />
    public override string ToString() => Epoch is null
        ? Offset.ToString(CultureInfo.InvariantCulture)
        : string.Create(CultureInfo.InvariantCulture, $"{Epoch}:{Offset}");
}
