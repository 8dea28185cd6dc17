using System.Buffers;
using System.Text;

namespace Switchboard.Sqlite;

/// <summary>
/// Headers as a compact blob: a version byte, a count, then length-prefixed UTF-8 names and values
/// (7-bit varints). Decoding checks every length, so a damaged row is reported, never misread.
/// </summary>
internal static class HeadersCodec
{
    private const byte Version = 1;

    public static byte[]? Encode(IReadOnlyDictionary<string, string> headers)
    {
        if (headers.Count == 0)
        {
            return null;
        }
        var buffer = new ArrayBufferWriter<byte>(64);
        buffer.GetSpan(1)[0] = Version;
        buffer.Advance(1);
        WriteVarint(buffer, (uint)headers.Count);
        foreach (var (name, value) in headers)
        {
            WriteString(buffer, name);
            WriteString(buffer, value);
        }
        return buffer.WrittenSpan.ToArray();
    }

    public static IReadOnlyDictionary<string, string> Decode(ReadOnlySpan<byte> data, Func<string, Exception> corrupt)
    {
        if (data.IsEmpty)
        {
            return Empty;
        }
        if (data[0] != Version)
        {
            throw corrupt($"headers blob has version {data[0]}, expected {Version}");
        }
        var position = 1;
        var count = ReadVarint(data, ref position, corrupt);
        if (count > 10_000)
        {
            throw corrupt($"headers blob claims {count} headers");
        }
        var result = new Dictionary<string, string>((int)count, StringComparer.Ordinal);
        for (var i = 0; i < count; i++)
        {
            var name = ReadString(data, ref position, corrupt);
            result[name] = ReadString(data, ref position, corrupt);
        }
        if (position != data.Length)
        {
            throw corrupt("headers blob has trailing bytes");
        }
        return result;
    }

    private static readonly IReadOnlyDictionary<string, string> Empty = new Dictionary<string, string>(0);

    private static void WriteString(ArrayBufferWriter<byte> buffer, string text)
    {
        var length = Encoding.UTF8.GetByteCount(text);
        WriteVarint(buffer, (uint)length);
        Encoding.UTF8.GetBytes(text, buffer.GetSpan(length));
        buffer.Advance(length);
    }

    private static void WriteVarint(ArrayBufferWriter<byte> buffer, uint value)
    {
        var span = buffer.GetSpan(5);
        var i = 0;
        while (value >= 0x80)
        {
            span[i++] = (byte)(value | 0x80);
            value >>= 7;
        }
        span[i++] = (byte)value;
        buffer.Advance(i);
    }

    private static uint ReadVarint(ReadOnlySpan<byte> data, ref int position, Func<string, Exception> corrupt)
    {
        uint value = 0;
        for (var shift = 0; shift < 35; shift += 7)
        {
            if (position >= data.Length)
            {
                throw corrupt("headers blob ends inside a length");
            }
            var b = data[position++];
            value |= (uint)(b & 0x7f) << shift;
            if (b < 0x80)
            {
                return value;
            }
        }
        throw corrupt("headers blob has an overlong length");
    }

    private static string ReadString(ReadOnlySpan<byte> data, ref int position, Func<string, Exception> corrupt)
    {
        var length = ReadVarint(data, ref position, corrupt);
        if (length > data.Length - position)
        {
            throw corrupt("headers blob ends inside a string");
        }
        try
        {
            var text = new UTF8Encoding(false, throwOnInvalidBytes: true).GetString(data.Slice(position, (int)length));
            position += (int)length;
            return text;
        }
        catch (DecoderFallbackException)
        {
            throw corrupt("headers blob holds invalid UTF-8");
        }
    }
}
