namespace Switchboard.Core;

/// <summary>
/// A stored message. Immutable and shared: the same instance goes to every local subscriber, so
/// transports must not modify it (only its cache of encodings changes, see <see cref="EncodedAs"/>).
/// </summary>
public sealed class Message
{
    /// <summary>The topic it was published to.</summary>
    public required string Topic { get; init; }

    /// <summary>The topic incarnation it belongs to.</summary>
    public required string Epoch { get; init; }

    /// <summary>Its offset in the topic (1, 2, 3, …).</summary>
    public required long Offset { get; init; }

    /// <summary>When the hub accepted it (UTC).</summary>
    public required DateTimeOffset Timestamp { get; init; }

    /// <summary>Application headers.</summary>
    public IReadOnlyDictionary<string, string> Headers { get; init; } = MessageDraft.NoHeaders;

    /// <summary>Optional key (for example an entity id) chosen by the publisher.</summary>
    public string? Key { get; init; }

    /// <summary>The payload bytes.</summary>
    public ReadOnlyMemory<byte> Payload { get; init; }

    /// <summary>The payload's media type, e.g. <c>application/json</c>.</summary>
    public required string ContentType { get; init; }

    /// <summary>The resume position just after this message.</summary>
    public Position Position => new(Epoch, Offset);

    /// <summary>The bytes this message counts against limits and retention.</summary>
    public long Size => MessageDraft.SizeOf(Payload.Length, Key, Headers);

    // The wire encodings it was sent in, one slot per format (null until the first use). Forgotten, once its store
    // keeps it only as history: the slots are dropped and nothing is cached any more.
    private static readonly byte[]?[] Forgotten = [];
    private byte[]?[]? _encoded;

    /// <summary>
    /// This message in <paramref name="encoding"/>: encoded on first use and shared afterwards (every subscriber of a
    /// format gets the same bytes), or encoded afresh for each caller once <see cref="ForgetEncodings"/> was called.
    /// </summary>
    public ReadOnlyMemory<byte> EncodedAs(MessageEncoding encoding)
    {
        ArgumentNullException.ThrowIfNull(encoding);
        var slots = Volatile.Read(ref _encoded);
        if (slots is null)
        {
            slots = new byte[MessageEncoding.MaxEncodings][];
            slots = Interlocked.CompareExchange(ref _encoded, slots, null) ?? slots;
        }
        if (slots.Length == 0)
        {
            return encoding.Encode(this); // history: a late reader's bytes are its own
        }
        var bytes = Volatile.Read(ref slots[encoding.Slot]);
        if (bytes is null)
        {
            bytes = encoding.Encode(this);
            Volatile.Write(ref slots[encoding.Slot], bytes);
        }
        return bytes;
    }

    /// <summary>
    /// Drops the cached encodings and caches none from now on. For a store that keeps messages long after their
    /// fan-out (the memory engine's history): there the cache would cost several times the payload per message, kept
    /// for days, to spare the rare late reader one encoding. Safe to call while others encode (they may still fill the
    /// dropped slots, which are then garbage).
    /// </summary>
    internal void ForgetEncodings() => Volatile.Write(ref _encoded, Forgotten);
}
