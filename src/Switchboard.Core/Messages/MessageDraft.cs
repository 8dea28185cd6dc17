using System.Text;

namespace Switchboard.Core;

/// <summary>A message as a publisher hands it in, before the hub gives it an offset and a timestamp.</summary>
public sealed class MessageDraft
{
    internal static readonly IReadOnlyDictionary<string, string> NoHeaders = new Dictionary<string, string>(0);

    /// <summary>The default media type: JSON, the common case.</summary>
    public const string JsonContentType = "application/json";

    /// <summary>Application headers.</summary>
    public IReadOnlyDictionary<string, string> Headers { get; init; } = NoHeaders;

    /// <summary>Optional key.</summary>
    public string? Key { get; init; }

    /// <summary>The payload bytes.</summary>
    public ReadOnlyMemory<byte> Payload { get; init; }

    /// <summary>The payload's media type.</summary>
    public string ContentType { get; init; } = JsonContentType;

    /// <summary>The bytes this message counts against limits and retention.</summary>
    public long Size => SizeOf(Payload.Length, Key, Headers);

    internal static long SizeOf(int payloadLength, string? key, IReadOnlyDictionary<string, string> headers)
    {
        long size = payloadLength;
        if (key is not null)
        {
            size += Encoding.UTF8.GetByteCount(key);
        }
        foreach (var (name, value) in headers)
        {
            size += Encoding.UTF8.GetByteCount(name) + Encoding.UTF8.GetByteCount(value);
        }
        return size;
    }
}
