namespace Switchboard.Core.Engines.Memory;

/// <summary>One topic of the memory engine. Every member is guarded by locking the instance.</summary>
internal sealed class MemoryTopic(string name, string epoch, TopicConfig config, DateTimeOffset createdAt)
{
    // Messages live in a list whose first _head entries are dead (removed by retention); the dead prefix is
    // compacted once it is at least half the list, which keeps removal from the front amortised O(1).
    private readonly List<Message> _log = [];
    private int _head;

    // A message keeps the wire encodings its fan-out made (the same bytes for every subscriber of a format) while it is
    // among the newest 1,024 of its topic: its fan-out is over by then (the memory engine fans out inside the append,
    // before ForgetOldEncodings), and long polls, which encode as they answer, share them for as long as they read
    // within the largest page (Switchboard:MaxReadLimit, 1,000 by default) of the newest. Further back it forgets them:
    // a history of days then costs its messages and payloads, not several encodings of each, and a reader that far
    // behind encodes for itself, as it would reading from SQLite.
    internal const int EncodedWindow = 1024;
    private long _encodedFrom = 1; // the first offset that may still hold encodings

    public string Name { get; } = name;
    public string Epoch { get; } = epoch;
    public TopicConfig Config { get; set; } = config;
    public long ConfigVersion { get; set; } = 1;
    public DateTimeOffset CreatedAt { get; } = createdAt;
    public long LastOffset { get; private set; }
    public long Bytes { get; private set; }
    public bool Deleted { get; set; }
    public Dictionary<string, IdempotencyRecord> Keys { get; } = new(StringComparer.Ordinal);

    public int Count => _log.Count - _head;
    public long FirstOffset => Count == 0 ? LastOffset + 1 : _log[_head].Offset;

    public void Add(Message message)
    {
        _log.Add(message);
        LastOffset = message.Offset;
        Bytes += message.Size;
    }

    /// <summary>
    /// Makes the messages more than <see cref="EncodedWindow"/> behind the newest forget their encodings. Called once an
    /// append's fan-out is done, so even a batch larger than the window is encoded once per format.
    /// </summary>
    public void ForgetOldEncodings()
    {
        var upTo = LastOffset - EncodedWindow;
        for (var offset = Math.Max(_encodedFrom, FirstOffset); offset <= upTo; offset++)
        {
            _log[_head + (int)(offset - FirstOffset)].ForgetEncodings();
        }
        _encodedFrom = Math.Max(_encodedFrom, upTo + 1);
    }

    public IReadOnlyList<Message> Read(long afterOffset, int limit)
    {
        var start = Math.Max(afterOffset + 1, FirstOffset);
        if (start > LastOffset || limit <= 0)
        {
            return [];
        }
        var index = _head + (int)(start - FirstOffset);
        var count = (int)Math.Min(limit, _log.Count - index);
        return _log.GetRange(index, count);
    }

    /// <summary>Drops from the front while the policy is exceeded (age only when <paramref name="now"/> is given).</summary>
    public void Enforce(RetentionPolicy policy, DateTimeOffset? now)
    {
        while (Count > 0)
        {
            var oldest = _log[_head];
            var over = (policy.MaxMessages is { } max && Count > max)
                || (policy.MaxBytes is { } maxBytes && Bytes > maxBytes)
                || (now is { } at && policy.MaxAge is { } age && oldest.Timestamp < at - age);
            if (!over)
            {
                break;
            }
            Bytes -= oldest.Size;
            _log[_head++] = null!;
        }
        if (_head > 0 && _head * 2 >= _log.Count)
        {
            _log.RemoveRange(0, _head);
            _head = 0;
        }
    }

    public TopicInfo Snapshot() => new()
    {
        Name = Name,
        Epoch = Epoch,
        Config = Config,
        ConfigVersion = ConfigVersion,
        CreatedAt = CreatedAt,
        FirstOffset = FirstOffset,
        LastOffset = LastOffset,
        MessageCount = Count,
        Bytes = Bytes,
        LastPublishedAt = LastOffset > 0 && Count > 0 ? _log[^1].Timestamp : null,
    };
}

/// <summary>What an idempotency key remembers: the request's fingerprint and the result it got.</summary>
internal sealed record IdempotencyRecord(string Fingerprint, long FirstOffset, int Count, DateTimeOffset Timestamp, DateTimeOffset ExpiresAt);
