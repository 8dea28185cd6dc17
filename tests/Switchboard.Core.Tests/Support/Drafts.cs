using System.Text;

namespace Switchboard.Core.Tests.Support;

/// <summary>Message drafts for tests.</summary>
internal static class Drafts
{
    /// <summary>A JSON number, so the payload tells which message it was.</summary>
    public static MessageDraft Json(long value) => new() { Payload = Encoding.UTF8.GetBytes(value.ToString(System.Globalization.CultureInfo.InvariantCulture)) };

    /// <summary>A text payload of exactly <paramref name="bytes"/> bytes.</summary>
    public static MessageDraft Text(int bytes, char fill = 'x') => new() { Payload = Encoding.UTF8.GetBytes(new string(fill, bytes)), ContentType = "text/plain" };

    public static MessageDraft[] Batch(int count, long firstValue = 1) => [.. Enumerable.Range(0, count).Select(i => Json(firstValue + i))];

    public static string PayloadText(Message message) => Encoding.UTF8.GetString(message.Payload.Span);
}
