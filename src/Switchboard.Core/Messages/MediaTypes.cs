namespace Switchboard.Core;

/// <summary>What the hub needs to know about content types: which payloads are JSON, which are text.</summary>
public static class MediaTypes
{
    /// <summary>Whether payloads of this type are JSON (<c>application/json</c> or any <c>+json</c> type).</summary>
    public static bool IsJson(string contentType)
    {
        var type = Essence(contentType);
        return type.Equals("application/json", StringComparison.OrdinalIgnoreCase)
            || type.EndsWith("+json", StringComparison.OrdinalIgnoreCase);
    }

    /// <summary>Whether payloads of this type are text (<c>text/*</c>).</summary>
    public static bool IsText(string contentType) => Essence(contentType).StartsWith("text/", StringComparison.OrdinalIgnoreCase);

    /// <summary>Whether this payload is UTF-8 text: a <c>text/*</c> type whose bytes are valid UTF-8.</summary>
    public static bool IsUtf8Text(string contentType, ReadOnlySpan<byte> payload) => IsText(contentType) && System.Text.Unicode.Utf8.IsValid(payload);

    /// <summary>
    /// Whether this payload can travel as text as it is — JSON, or UTF-8 text; anything else needs base64 or a binary frame.
    /// </summary>
    public static bool IsTextual(string contentType, ReadOnlySpan<byte> payload) => IsJson(contentType) || IsUtf8Text(contentType, payload);

    /// <summary>The type without parameters, e.g. <c>text/plain</c> for <c>text/plain; charset=utf-8</c>.</summary>
    public static ReadOnlySpan<char> Essence(string contentType)
    {
        var span = contentType.AsSpan();
        var semicolon = span.IndexOf(';');
        return (semicolon < 0 ? span : span[..semicolon]).Trim();
    }
}
