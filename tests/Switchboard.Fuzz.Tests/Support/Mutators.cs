using System.Text;

namespace Switchboard.Fuzz.Tests.Support;

/// <summary>Mutators for the formats under test, with their dictionaries.</summary>
internal static class Mutators
{
    /// <summary>Numbers past every range the parsers keep: long, decimal, double, and forms a lax parser might take.</summary>
    public static readonly string[] HugeNumbers =
    [
        "9223372036854775807", "9223372036854775808", "-9223372036854775809", "18446744073709551616",
        "79228162514264337593543950335", "79228162514264337593543950336", "99999999999999999999999999999999999999",
        "1e308", "1e309", "-1e309", "1e-400", "1E+9999", "0.0000000000000000000000000000001", "4294967296", "2147483648",
        "-0", "00000000000000000000001", "1.7976931348623157e308", "123456789012345678901234567890.5",
    ];

    /// <summary>Tokens of JSON and of the product's documents and frames.</summary>
    public static readonly string[] JsonTokens =
    [
        "null", "true", "false", "0", "-1", "1.5", "\"\"", "{}", "[]", "{", "}", "[", "]", ":", ",", "\"", "\\", "\\u",
        "\"\\ud800\"", "\"\\udc00\\ud800\"", "\"\\u0000\"", "\"\\uDFFF\"", "\\ud83d", "\"a\\/b\"", "\"\\x\"", "//", "/*", "NaN", "Infinity",
        "\"payload\"", "\"messages\"", "\"headers\"", "\"key\"", "\"contentType\"", "\"encoding\"", "\"base64\"", "\"text/plain\"",
        "\"application/json\"", "\"application/octet-stream\"", "\"application/problem+json\"", "\"AAAA\"", "\"====\"",
        "\"id\"", "\"topic\"", "\"topics\"", "\"after\"", "\"afterOffset\"", "\"epoch\"", "\"4kq8wz1m0c7d\"", "\"4kq8wz1m0c7d:5\"",
        "\"publish\"", "\"subscribe\"", "\"unsubscribe\"", "\"subscriptionId\"", "\"ping\"", "\"send\"", "\"receive\"", "\"ack\"", "\"nack\"",
        "\"extend\"", "\"request\"", "\"reply\"", "\"queue\"", "\"lease\"", "\"max\"", "\"leaseSeconds\"", "\"delaySeconds\"",
        "\"timeoutSeconds\"", "\"requestId\"", "\"idempotencyKey\"", "\"replyTo\"", "\"correlationId\"", "\"error\"",
        "\"retention\"", "\"maxMessages\"", "\"maxAge\"", "\"maxBytes\"", "\"description\"", "\"name\"", "\"stats\"", "\"createdAt\"",
        "\"maxAttempts\"", "\"backoff\"", "\"initial\"", "\"delay\"", "\"extendBy\"", "\"7d\"", "\"PT24H\"", "\"P1Y\"", "\"1h30m\"", "\"-5s\"",
        "\"orders.*\"", "\"orders.>\"", "\"$sys.x\"", "\"a..b\"", "\"*\"", "\">\"",
    ];

    /// <summary>Protobuf wire fragments: tags of every wire type, lengths past the end, over-long varints, deprecated groups.</summary>
    public static readonly byte[][] ProtoTokens =
    [
        [0x0a, 0x00], [0x12, 0x00], [0x1a, 0x00], [0x22, 0x00], [0x52, 0x00], [0x5a, 0x00], [0x62, 0x00], [0x82, 0x01, 0x00],
        [0x12, 0xff, 0xff, 0xff, 0xff, 0x0f], [0x12, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01],
        [0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01], [0x10, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80],
        [0x0b], [0x0c], [0x13, 0x14], [0x1d, 0x00, 0x00, 0x00, 0x00], [0x19, 0, 0, 0, 0, 0, 0, 0, 0], [0x00], [0xf8, 0xff, 0xff, 0xff, 0x0f],
        [0x0a, 0x03, 0xed, 0xa0, 0x80], [0x0a, 0x02, 0xc0, 0x80], [0x0a, 0x01, 0xff], [0x1a, 0x04, 0x0a, 0x02, 0xff, 0xfe],
        [0x10, 0x01], [0x10, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01], [0x18, 0x01], [0x20, 0x01],
    ];

    /// <summary>Byte sequences that are not UTF-8: overlong, surrogates, out of range, truncated, stray continuation bytes.</summary>
    public static readonly byte[][] InvalidUtf8 =
    [
        [0xc0, 0x80], [0xc1, 0xbf], [0xed, 0xa0, 0x80], [0xed, 0xbf, 0xbf], [0xf4, 0x90, 0x80, 0x80], [0xf8, 0x88, 0x80, 0x80, 0x80],
        [0xff], [0xfe], [0x80], [0xbf], [0xe2, 0x82], [0xf0, 0x9f, 0x98], [0xe0, 0x80, 0x80],
    ];

    /// <summary>Characters a text parser might mishandle: other scripts' digits, signs, separators, controls, lone surrogates.</summary>
    public static readonly string[] CharTokens =
    [
        "٣", "１", "߀", "𝟘", "+", "-", ".", ",", ":", "::", " ", "\t", "\n", "\r\n", "\0", "\u00a0", "\u2028", "\ud800", "\udc00", "\ufeff",
        "e", "E", "e+99", "%", "%00", "%FF", "/", "\\", "*", ">", "$", "_", "..", "p1.", "n:", "=", "==", "0x", "∞", "NaN",
        "ms", "s", "m", "h", "d", "P", "PT", "T", "Y", "W", "4kq8wz1m0c7d", "0123456789ab", "ilou", "ABCDEFGHJKMN",
    ];

    public static Mutator<byte> Json(Random random, IEnumerable<string> samples, int maxLength = 64 * 1024) => Bytes(
        random, samples.Select(Encoding.UTF8.GetBytes), JsonTokens.Select(Encoding.UTF8.GetBytes).Concat(InvalidUtf8), maxLength,
        ["[", "{\"a\":", "{\"payload\":", "[{\"x\":["]);

    public static Mutator<byte> Proto(Random random, IEnumerable<byte[]> samples, int maxLength = 64 * 1024) => Bytes(
        random, samples, ProtoTokens.Concat(InvalidUtf8).Concat(HugeNumbers.Take(4).Select(Encoding.UTF8.GetBytes)), maxLength,
        ["\u0012\u0002", "\u001a\u0004"]);

    public static Mutator<char> Text(Random random, IEnumerable<string> samples, int maxLength = 4 * 1024) => new(
        random, [.. samples.Select(s => s.ToCharArray())], [.. CharTokens.Concat(HugeNumbers).Select(s => s.ToCharArray())],
        AnyChar, char.IsAsciiDigit, maxLength)
    {
        Nesting = [['.'], ['a', '.'], ['*', '.'], ['9']],
        HugeNumbers = [.. HugeNumbers.Select(s => s.ToCharArray())],
    };

    private static Mutator<byte> Bytes(Random random, IEnumerable<byte[]> samples, IEnumerable<byte[]> tokens, int maxLength, string[] nesting) => new(
        random, [.. samples], [.. tokens], r => (byte)r.Next(256), b => b is >= (byte)'0' and <= (byte)'9', maxLength)
    {
        Nesting = [.. nesting.Select(Encoding.Latin1.GetBytes)],
        HugeNumbers = [.. HugeNumbers.Select(Encoding.UTF8.GetBytes)],
    };

    /// <summary>Mostly printable ASCII (where parsers branch), sometimes any UTF-16 unit, lone surrogates included.</summary>
    public static char AnyChar(Random random) => random.Next(4) switch
    {
        0 => (char)random.Next(0x10000),
        1 => (char)random.Next(0x80),
        _ => (char)random.Next(0x20, 0x7f),
    };
}
