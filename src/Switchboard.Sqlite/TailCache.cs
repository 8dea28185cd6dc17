using System.Collections.Concurrent;
using Switchboard.Core;

namespace Switchboard.Sqlite;

/// <summary>
/// The newest messages of each topic, kept in memory after their commit, so the reads that matter most — long
/// polls, subscriptions catching up a few messages, SSE resumes — are answered without touching SQLite and with
/// the very Message objects the live fan-out delivered (whose wire encodings are already cached on them).
/// Only the sync stage changes it, once a commit is on disk; readers take an immutable snapshot. It also keeps each
/// topic's durable head, the last offset a flush covers, which bounds reads that go to SQLite: those see a commit as
/// soon as it is written, a flush before it is durable.
/// </summary>
internal sealed class TailCache
{
    // Per topic: the last 256 messages, or 512 KiB of their data. Enough for every long poll and for catch-ups of a
    // few seconds at high rates; older reads go to SQLite. The whole cache is bounded too: 64 MiB, counted as each
    // message's estimated footprint rather than its data (see Footprint), so thousands of topics of small messages
    // stay within it.
    private const int MaxMessagesPerTopic = 256;
    private const long MaxBytesPerTopic = 512 * 1024;
    internal const long MaxBytes = 64L * 1024 * 1024;

    private readonly ConcurrentDictionary<string, Tail> _tails = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, long> _durable = new(StringComparer.Ordinal);
    private long _bytes;

    /// <summary>The last offset of <paramref name="topic"/> that is on disk; 0 for a topic no flush has covered yet.</summary>
    public long DurableLast(string topic) => _durable.GetValueOrDefault(topic);

    /// <summary>At open: the topic as the database has it, all of it durable.</summary>
    public void SetDurable(string topic, long lastOffset) => _durable[topic] = lastOffset;

    /// <summary>
    /// <paramref name="info"/> as a reader may show it: its last offset no further than the durable head, so a
    /// position a client sees never names a message that a power cut could still take back.
    /// </summary>
    public TopicInfo Durable(TopicInfo info)
    {
        var last = DurableLast(info.Name);
        return info.LastOffset <= last ? info : info with { LastOffset = Math.Max(last, info.FirstOffset - 1) };
    }

    /// <summary>The snapshot of a topic, if it is cached.</summary>
    public bool TryGet(string topic, out Tail tail) => _tails.TryGetValue(topic, out tail!);

    /// <summary>Sync stage, after a flush: the topic's new state and the messages it gained.</summary>
    public void Append(TopicInfo info, IReadOnlyList<Message> added)
    {
        _durable[info.Name] = info.LastOffset;
        var previous = _tails.GetValueOrDefault(info.Name);
        var kept = new List<Message>(Math.Min(MaxMessagesPerTopic, (previous?.Messages.Length ?? 0) + added.Count));
        if (previous is not null && previous.Info.Epoch == info.Epoch)
        {
            kept.AddRange(previous.Messages);
        }
        kept.AddRange(added);
        Replace(info, kept, previous);
    }

    /// <summary>Sync stage: the topic changed without new messages (retention, configuration).</summary>
    public void Update(TopicInfo info)
    {
        _durable[info.Name] = info.LastOffset;
        var previous = _tails.GetValueOrDefault(info.Name);
        Replace(info, previous is not null && previous.Info.Epoch == info.Epoch ? [.. previous.Messages] : [], previous);
    }

    public void Remove(string topic)
    {
        _durable.TryRemove(topic, out _);
        if (_tails.TryRemove(topic, out var tail))
        {
            Interlocked.Add(ref _bytes, -tail.Bytes);
        }
    }

    /// <summary>Drops the cached messages and states (after a failed commit, at close); the durable heads stay true.</summary>
    public void Clear()
    {
        _tails.Clear();
        Interlocked.Exchange(ref _bytes, 0);
    }

    /// <summary>What the cache counts in memory for the cached messages.</summary>
    internal long Bytes => Interlocked.Read(ref _bytes);

    /// <summary>
    /// The memory a cached message holds, as the global bound counts it: the object and its payload, its table of
    /// cached encodings, and the encodings themselves — the live fan-out caches one per wire format in use (a JSON
    /// frame, an SSE event, a protobuf frame: each about the payload again, base64 a third more, plus the envelope
    /// of topic, epoch, offset and time). Counting the data alone let a 64-byte message count 64 bytes for the
    /// ~1 KB it keeps alive. An estimate that errs high for up to three formats in use (a 64-byte message with two holds
    /// ~1,000 bytes and counts 1,344); a topic followed over every transport and envelope at once caches more per
    /// message, so the bound is of that estimate, not a hard limit on memory.
    /// </summary>
    internal static long Footprint(Message message) => Footprint(1, message.Size);

    private static long Footprint(long messages, long data) => 1024 * messages + 5 * data;

    private void Replace(TopicInfo info, List<Message> messages, Tail? previous)
    {
        // Drop what retention removed and whatever is over the per-topic bounds, oldest first.
        var start = 0;
        long data = 0;
        foreach (var message in messages)
        {
            data += message.Size;
        }
        while (start < messages.Count && (messages[start].Offset < info.FirstOffset || messages.Count - start > MaxMessagesPerTopic || data > MaxBytesPerTopic))
        {
            data -= messages[start].Size;
            start++;
        }
        var bytes = Footprint(messages.Count - start, data);
        var tail = new Tail(info, [.. messages.Skip(start)], bytes);
        _tails[info.Name] = tail;
        Interlocked.Add(ref _bytes, bytes - (previous?.Bytes ?? 0));
        if (Interlocked.Read(ref _bytes) > MaxBytes)
        {
            Evict(info.Name);
        }
    }

    private void Evict(string keep)
    {
        // Over the global bound: drop the messages of the topics published to least recently (their state stays).
        foreach (var tail in _tails.Values.Where(t => t.Info.Name != keep).OrderBy(t => t.Info.LastPublishedAt ?? DateTimeOffset.MinValue))
        {
            if (Interlocked.Read(ref _bytes) <= MaxBytes / 2)
            {
                break;
            }
            _tails[tail.Info.Name] = new Tail(tail.Info, [], 0);
            Interlocked.Add(ref _bytes, -tail.Bytes);
        }
    }

    /// <summary>A topic's state and its newest messages (their footprint in <paramref name="Bytes"/>), immutable.</summary>
    internal sealed record Tail(TopicInfo Info, Message[] Messages, long Bytes)
    {
        /// <summary>
        /// The messages after <paramref name="afterOffset"/> if the cache holds all of them (up to the limit), else null
        /// (the read goes to SQLite).
        /// </summary>
        public IReadOnlyList<Message>? After(long afterOffset, int limit)
        {
            if (afterOffset >= Info.LastOffset)
            {
                return [];
            }
            var firstCached = Messages.Length > 0 ? Messages[0].Offset : Info.LastOffset + 1;
            var wanted = Math.Max(afterOffset + 1, Info.FirstOffset);
            if (wanted < firstCached)
            {
                return null;
            }
            var index = (int)(wanted - firstCached);
            return new ArraySegment<Message>(Messages, index, Math.Min(limit, Messages.Length - index));
        }
    }
}
