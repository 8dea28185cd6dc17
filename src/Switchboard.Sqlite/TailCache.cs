using System.Collections.Concurrent;
using Switchboard.Core;

namespace Switchboard.Sqlite;

/// <summary>
/// The newest messages of each topic, kept in memory after their commit, so the reads that matter most — long
/// polls, subscriptions catching up a few messages, SSE resumes — are answered without touching SQLite and with
/// the very Message objects the live fan-out delivered (whose wire encodings are already cached on them).
/// Only the writer thread changes it; readers take an immutable snapshot.
/// </summary>
internal sealed class TailCache
{
    // Per topic: the last 256 messages, or 512 KiB of them. Enough for every long poll and for catch-ups of a
    // few seconds at high rates; older reads go to SQLite. The whole cache is bounded too (64 MiB).
    private const int MaxMessagesPerTopic = 256;
    private const long MaxBytesPerTopic = 512 * 1024;
    private const long MaxBytes = 64L * 1024 * 1024;

    private readonly ConcurrentDictionary<string, Tail> _tails = new(StringComparer.Ordinal);
    private long _bytes;

    /// <summary>The snapshot of a topic, if it is cached.</summary>
    public bool TryGet(string topic, out Tail tail) => _tails.TryGetValue(topic, out tail!);

    /// <summary>Writer thread, after a commit: the topic's new state and the messages it gained.</summary>
    public void Append(TopicInfo info, IReadOnlyList<Message> added)
    {
        var previous = _tails.GetValueOrDefault(info.Name);
        var kept = new List<Message>(Math.Min(MaxMessagesPerTopic, (previous?.Messages.Length ?? 0) + added.Count));
        if (previous is not null && previous.Info.Epoch == info.Epoch)
        {
            kept.AddRange(previous.Messages);
        }
        kept.AddRange(added);
        Replace(info, kept, previous);
    }

    /// <summary>Writer thread: the topic changed without new messages (retention, configuration).</summary>
    public void Update(TopicInfo info)
    {
        var previous = _tails.GetValueOrDefault(info.Name);
        Replace(info, previous is not null && previous.Info.Epoch == info.Epoch ? [.. previous.Messages] : [], previous);
    }

    public void Remove(string topic)
    {
        if (_tails.TryRemove(topic, out var tail))
        {
            Interlocked.Add(ref _bytes, -tail.Bytes);
        }
    }

    public void Clear()
    {
        _tails.Clear();
        Interlocked.Exchange(ref _bytes, 0);
    }

    private void Replace(TopicInfo info, List<Message> messages, Tail? previous)
    {
        // Drop what retention removed and whatever is over the per-topic bounds, oldest first.
        var start = 0;
        long bytes = 0;
        foreach (var message in messages)
        {
            bytes += message.Size;
        }
        while (start < messages.Count && (messages[start].Offset < info.FirstOffset || messages.Count - start > MaxMessagesPerTopic || bytes > MaxBytesPerTopic))
        {
            bytes -= messages[start].Size;
            start++;
        }
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

    /// <summary>A topic's state and its newest messages, immutable.</summary>
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
