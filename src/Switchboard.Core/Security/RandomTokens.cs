using System.Buffers.Text;
using System.Security.Cryptography;

namespace Switchboard.Core.Security;

/// <summary>
/// Unguessable ids and tokens (leases, request ids, connection ids, epochs) from the operating system's CSPRNG, read
/// in blocks: each thread keeps a 512-byte block of <see cref="RandomNumberGenerator"/> output and hands it out a few
/// bytes at a time, so a token costs a copy instead of a call into OpenSSL (about 1.5 µs each here, two per request and
/// reply round trip). The bytes are the generator's, used once each and never shown to anyone but the token's holder.
/// </summary>
public static class RandomTokens
{
    private const int BlockSize = 512;

    [ThreadStatic]
    private static byte[]? t_block;

    [ThreadStatic]
    private static int t_used;

    /// <summary>Fills <paramref name="destination"/> with cryptographically strong random bytes.</summary>
    public static void Fill(Span<byte> destination)
    {
        if (destination.IsEmpty)
        {
            return;
        }
        if (destination.Length > BlockSize / 4)
        {
            RandomNumberGenerator.Fill(destination); // large asks are rare: straight from the generator
            return;
        }
        var block = t_block ??= new byte[BlockSize];
        if (t_used == 0 || t_used + destination.Length > BlockSize)
        {
            RandomNumberGenerator.Fill(block);
            t_used = 0;
        }
        var taken = block.AsSpan(t_used, destination.Length);
        taken.CopyTo(destination);
        taken.Clear(); // handed out once: what is left in the block is only what no one has yet
        t_used += destination.Length;
    }

    /// <summary>12 random bytes as 16 base64url characters (no padding): a lease token's or a token prefix's form.</summary>
    public static string NewBase64Url()
    {
        Span<byte> bytes = stackalloc byte[12];
        Fill(bytes);
        return Base64Url.EncodeToString(bytes);
    }

    /// <summary><paramref name="count"/> random bytes as lower-case hexadecimal.</summary>
    public static string NewHex(int count)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(count, 64);
        Span<byte> bytes = stackalloc byte[count];
        Fill(bytes);
        return Convert.ToHexStringLower(bytes);
    }
}
