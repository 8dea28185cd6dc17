using System.Text;
using System.Text.Json;
using FsCheck;
using FsCheck.Fluent;
using Switchboard.Core;

namespace Switchboard.Fuzz.Tests.Support;

/// <summary>FsCheck generators shared by the properties: text, JSON values, names, positions, message drafts.</summary>
internal static class Gens
{
    /// <summary>Valid Unicode text (no lone surrogates): mostly ASCII, some Latin-1, CJK, controls and astral pairs.</summary>
    public static Gen<string> Text(int maxLength = 24) =>
        Gen.Choose(0, maxLength).SelectMany(length => Gen.ArrayOf(Scalar, length)).Select(parts => string.Concat(parts));

    private static readonly Gen<string> Scalar = Gen.Frequency(
        (12, Gen.Choose(0x20, 0x7e).Select(c => ((char)c).ToString())),
        (2, Gen.Choose(0, 0x1f).Select(c => ((char)c).ToString())),
        (2, Gen.Choose(0xa0, 0x2fff).Select(c => ((char)c).ToString())),
        (1, Gen.Choose(0x10000, 0x10ffff).Select(char.ConvertFromUtf32)),
        (1, Gen.Elements("\"", "\\", "/", "\u2028", "\ufeff", "\u00e9", "\uffff")));

    /// <summary>Non-empty text.</summary>
    public static Gen<string> NonEmptyText(int maxLength = 24) => Text(maxLength).Where(t => t.Length > 0);

    /// <summary>Text or null.</summary>
    public static Gen<string?> Optional(Gen<string> text) => Gen.Frequency((1, Gen.Constant<string?>(null)), (2, text.Select(t => (string?)t)));

    /// <summary>A JSON value as compact text, nested at most <paramref name="depth"/> levels.</summary>
    public static Gen<string> JsonValue(int depth = 3)
    {
        var scalar = Gen.OneOf(
            Gen.Elements("null", "true", "false", "0", "-0", "1.5", "-12.75e-3", "1E+2", "9007199254740993", "1e400", "123456789012345678901234567890"),
            Gen.Elements("\"30s\"", "\"7d\"", "\"PT1H\"", "\"1h30m\"", "\"-1s\"", "\"base64\"", "\"text/plain\"", "\"application/json\"", "\"AAEC\"", "\"\\ud800\""),
            Gen.Choose(int.MinValue, int.MaxValue).Select(n => n.ToString(System.Globalization.CultureInfo.InvariantCulture)),
            Text().Select(t => JsonSerializer.Serialize(t)));
        if (depth == 0)
        {
            return scalar;
        }
        var inner = JsonValue(depth - 1);
        var array = Gen.Choose(0, 4).SelectMany(n => Gen.ArrayOf(inner, n)).Select(items => "[" + string.Join(",", items) + "]");
        var member = Text(8).SelectMany(name => inner.Select(value => JsonSerializer.Serialize(name) + ":" + value));
        var obj = Gen.Choose(0, 4).SelectMany(n => Gen.ArrayOf(member, n)).Select(members => "{" + string.Join(",", members) + "}");
        return Gen.Frequency((4, scalar), (1, array), (1, obj));
    }

    /// <summary>A JSON object whose member names are mostly <paramref name="keys"/> (a document's own fields), values of any type.</summary>
    public static Gen<string> JsonWithKeys(string[] keys, int depth = 2)
    {
        var name = Gen.Frequency((3, Gen.Elements(keys)), (1, Text(8)));
        var value = depth == 0
            ? JsonValue(1)
            : Gen.Frequency((4, JsonValue(1)), (2, JsonWithKeys(keys, depth - 1)),
                (1, Gen.Choose(0, 3).SelectMany(n => Gen.ArrayOf(JsonWithKeys(keys, depth - 1), n)).Select(items => "[" + string.Join(",", items) + "]")));
        var member = name.SelectMany(n => value.Select(v => JsonSerializer.Serialize(n) + ":" + v));
        return Gen.Choose(0, 5).SelectMany(n => Gen.ArrayOf(member, n)).Select(members => "{" + string.Join(",", members) + "}");
    }

    /// <summary>Names that pass the naming rules: 1 to 8 tokens of [A-Za-z0-9_-], at most 255 characters.</summary>
    public static Gen<string> TopicName(bool allowSystem = false)
    {
        var token = Gen.Choose(1, 12).SelectMany(n => Gen.ArrayOf(Gen.Elements(NameChars), n)).Select(cs => new string(cs));
        var name = Gen.Choose(1, 8).SelectMany(n => Gen.ArrayOf(token, n)).Select(tokens => string.Join('.', tokens));
        var prefixed = allowSystem ? Gen.Frequency((4, name), (1, name.Select(n => "$" + n))) : name;
        return prefixed.Select(n => n.Length > Core.TopicName.MaxLength ? n[..Core.TopicName.MaxLength].TrimEnd('.') : n)
            .Where(n => n.Length > 0 && !n.EndsWith('.') && n != "$");
    }

    public static readonly char[] NameChars = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-".ToCharArray();

    /// <summary>An epoch as the hub draws them (12 characters of Crockford base32, lower case).</summary>
    public static readonly Gen<string> Epoch = Gen.ArrayOf(Gen.Elements("0123456789abcdefghjkmnpqrstvwxyz".ToCharArray()), Core.Epoch.Length).Select(cs => new string(cs));

    /// <summary>Offsets 0 or more, with the edges (0, long.MaxValue) and every magnitude in between.</summary>
    public static readonly Gen<long> Offset = Gen.OneOf(
        Gen.Elements(0L, 1L, long.MaxValue, long.MaxValue - 1, int.MaxValue, (long)int.MaxValue + 1),
        Gen.Choose(0, int.MaxValue).Select(n => (long)n),
        Gen.Choose(0, 62).SelectMany(bits => Gen.Choose(0, int.MaxValue).Select(n => (long)((ulong)n * 2654435761UL % ((1UL << bits) + 1)))));

    public static readonly Gen<Position> Position =
        Optional(Epoch).SelectMany(epoch => Offset.Select(offset => new Position(epoch, offset)));

    /// <summary>A message draft with a JSON, text or binary payload, headers and maybe a key, as a client would send it.</summary>
    public static Gen<GeneratedDraft> Draft(bool withKey) =>
        from kind in Gen.Choose(0, 2)
        from json in JsonValue(2)
        from text in Text(40)
        from bytes in Gen.Choose(0, 48).SelectMany(n => Gen.ArrayOf(Gen.Choose(0, 255).Select(b => (byte)b), n))
        from jsonType in Gen.Elements("application/json", "application/vnd.switchboard+json", "application/json; charset=utf-8")
        from textType in Gen.Elements("text/plain", "text/csv; charset=utf-8", "application/xml")
        from headers in Gen.Choose(0, 3).SelectMany(n => Gen.ArrayOf(Text(10).SelectMany(k => Text(16).Select(v => (k, v))), n))
        from key in withKey ? Optional(NonEmptyText(16)) : Gen.Constant<string?>(null)
        from explicitType in Gen.Elements(true, false)
        select new GeneratedDraft(
            kind switch { 0 => Encoding.UTF8.GetBytes(json), 1 => Encoding.UTF8.GetBytes(text), _ => bytes },
            kind switch { 0 => explicitType ? jsonType : MessageDraft.JsonContentType, 1 => textType, _ => "application/octet-stream" },
            kind switch { 0 => PayloadForm.Json, 1 => PayloadForm.Text, _ => PayloadForm.Base64 },
            headers.DistinctBy(h => h.k, StringComparer.Ordinal).ToDictionary(h => h.k, h => h.v, StringComparer.Ordinal),
            key,
            explicitType || kind != 0);
}

/// <summary>How a payload travels in a JSON envelope: the JSON value itself, a JSON string, or base64.</summary>
internal enum PayloadForm
{
    Json,
    Text,
    Base64,
}

/// <summary>A generated message: what the client means to send, and what any decoder must hand the hub.</summary>
internal sealed record GeneratedDraft(byte[] Payload, string ContentType, PayloadForm Form, Dictionary<string, string> Headers, string? Key, bool WriteContentType)
{
    public MessageDraft ToDraft() => new() { Payload = Payload, ContentType = ContentType, Headers = Headers, Key = Key };

    public override string ToString() => Describe.Draft(ToDraft()) + $" form={Form}";
}
