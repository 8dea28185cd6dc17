using System.Globalization;
using System.Text;

namespace Switchboard.Client;

/// <summary>A topic's position: the incarnation (null when only an offset is known) and the offset.</summary>
internal sealed record TopicPosition(string? Epoch, long Offset)
{
    public override string ToString() => Epoch is null ? Offset.ToString(CultureInfo.InvariantCulture) : $"{Epoch}:{Offset.ToString(CultureInfo.InvariantCulture)}";

    public static bool TryParse(string text, out TopicPosition position)
    {
        position = null!;
        var colon = text.LastIndexOf(':');
        var offsetText = colon < 0 ? text : text[(colon + 1)..];
        if (!long.TryParse(offsetText, NumberStyles.None, CultureInfo.InvariantCulture, out var offset))
        {
            return false;
        }
        var epoch = colon < 0 ? null : text[..colon];
        if (epoch is not null && (epoch.Length == 0 || !epoch.All(char.IsAsciiLetterOrDigit)))
        {
            return false;
        }
        position = new TopicPosition(epoch, offset);
        return true;
    }
}

/// <summary>The hub's topic rules the client needs: patterns (<c>*</c> one token, a final <c>&gt;</c> one or more) and position tokens.</summary>
internal static class Topics
{
    /// <summary>Prefix of the multi-topic position token (the id of a multi-topic SSE stream).</summary>
    public const string TokenPrefix = "p1.";

    public static bool IsPattern(string pattern) => pattern.Split('.').Any(token => token is "*" or ">");

    public static bool Matches(string pattern, string topic)
    {
        if (topic.StartsWith('$') && (pattern.StartsWith('*') || pattern.StartsWith('>')))
        {
            return false; // the hub's own topics ($presence.…) are never matched by a leading wildcard, as on the hub
        }
        // Token by token on spans: called for every message a subscription may take, so no splitting or allocation.
        ReadOnlySpan<char> want = pattern, have = topic;
        while (true)
        {
            var wantEnd = want.IndexOf('.');
            var wantToken = wantEnd < 0 ? want : want[..wantEnd];
            if (wantToken is ">")
            {
                return wantEnd < 0 && have.Length > 0;
            }
            var haveEnd = have.IndexOf('.');
            var haveToken = haveEnd < 0 ? have : have[..haveEnd];
            if (haveToken.IsEmpty || (wantToken is not "*" && !wantToken.SequenceEqual(haveToken)))
            {
                return false;
            }
            if (wantEnd < 0 || haveEnd < 0)
            {
                return wantEnd < 0 && haveEnd < 0;
            }
            want = want[(wantEnd + 1)..];
            have = have[(haveEnd + 1)..];
        }
    }

    /// <summary>The literal prefix every topic a pattern matches starts with (what <c>GET /v1/topics?prefix=</c> takes).</summary>
    public static string LiteralPrefix(string pattern)
    {
        var tokens = pattern.Split('.');
        var literal = 0;
        while (literal < tokens.Length && tokens[literal] is not ("*" or ">"))
        {
            literal++;
        }
        return literal == tokens.Length ? pattern : string.Join('.', tokens[..literal]) + (literal > 0 ? "." : "");
    }

    /// <summary>
    /// The positions in a <c>p1.</c> token (base64url of "topic epoch:offset" lines), or null when it is not one this
    /// client can read: such a token goes to the hub as it is, and the hub says what is wrong with it.
    /// </summary>
    public static Dictionary<string, TopicPosition>? TryDecodeToken(string token)
    {
        if (!token.StartsWith(TokenPrefix, StringComparison.Ordinal))
        {
            return null;
        }
        string lines;
        try
        {
            lines = new UTF8Encoding(false, throwOnInvalidBytes: true).GetString(System.Buffers.Text.Base64Url.DecodeFromChars(token.AsSpan(TokenPrefix.Length)));
        }
        catch (FormatException)
        {
            return null; // not base64url
        }
        catch (ArgumentException)
        {
            return null; // not UTF-8
        }
        var positions = new Dictionary<string, TopicPosition>(StringComparer.Ordinal);
        foreach (var line in lines.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            var space = line.IndexOf(' ');
            if (space <= 0 || !TopicPosition.TryParse(line[(space + 1)..], out var position))
            {
                return null;
            }
            positions[line[..space]] = position;
        }
        return positions;
    }
}
