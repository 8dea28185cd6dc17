namespace Switchboard.Core;

/// <summary>
/// A wire format a message can be encoded in (a WebSocket JSON frame, an SSE event, a protobuf frame, …).
/// Each message caches its encoding per format, so fan-out encodes once per format and hands the same bytes
/// to every subscriber of that format. Create one instance per format, for the life of the process.
/// </summary>
public abstract class MessageEncoding
{
    // Formats are few (one per transport flavour); 16 slots is room to spare and keeps the cache an array index.
    internal const int MaxEncodings = 16;
    private static int _count;

    /// <summary>Registers the format and takes its cache slot.</summary>
    protected MessageEncoding()
    {
        Slot = Interlocked.Increment(ref _count) - 1;
        if (Slot >= MaxEncodings)
        {
            throw new InvalidOperationException($"At most {MaxEncodings} message encodings can exist; create one instance per format, not per use.");
        }
    }

    internal int Slot { get; }

    /// <summary>Encodes one message. Called at most a few times per message and format (races may encode twice; the bytes are equal).</summary>
    protected internal abstract byte[] Encode(Message message);
}
