namespace Switchboard.Core;

/// <summary>
/// A topic's incarnation. A new epoch is drawn when a topic is created (again) or its history is lost,
/// so a resume position from an older incarnation is recognised instead of silently read against new offsets.
/// </summary>
public static class Epoch
{
    private const string Alphabet = "0123456789abcdefghjkmnpqrstvwxyz"; // Crockford base32, lower case

    /// <summary>Length of an epoch in characters: 12 x 5 bits = 60 random bits, no realistic collision per topic.</summary>
    public const int Length = 12;

    /// <summary>A fresh random epoch.</summary>
    public static string New()
    {
        Span<byte> bytes = stackalloc byte[Length];
        Security.RandomTokens.Fill(bytes);
        Span<char> chars = stackalloc char[Length];
        for (var i = 0; i < Length; i++)
        {
            chars[i] = Alphabet[bytes[i] & 31];
        }
        return new string(chars);
    }

    /// <summary>Whether <paramref name="text"/> has the shape of an epoch.</summary>
    public static bool IsWellFormed(ReadOnlySpan<char> text)
    {
        if (text.Length != Length)
        {
            return false;
        }
        foreach (var c in text)
        {
            if (!Alphabet.Contains(c))
            {
                return false;
            }
        }
        return true;
    }
}
