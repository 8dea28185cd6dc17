using System.Text;
using System.Text.Json;
using Switchboard.Core;
using Switchboard.Sqlite;

namespace Switchboard.Contract.Tests;

/// <summary>
/// The SQLite engine's cache of each topic's newest messages stays within its memory bound when thousands of topics
/// hold small messages whose wire encodings the live fan-out cached: the bound counts what a message keeps alive,
/// not just its data. Measured with the garbage collector, alone in the process (no other test allocating meanwhile).
/// </summary>
[Collection(nameof(SqliteTailCacheMemoryTests))]
public sealed class SqliteTailCacheMemoryTests
{
    private static readonly DateTimeOffset T0 = DateTimeOffset.UtcNow;

    [Fact]
    public void Thousands_of_topics_of_small_messages_with_cached_encodings_stay_within_the_caches_bound()
    {
        const int Topics = 1_000, PerTopic = 256;
        var payload = new byte[64];
        Random.Shared.NextBytes(payload);

        var before = GC.GetTotalMemory(forceFullCollection: true);
        var cache = new TailCache();
        for (var t = 0; t < Topics; t++)
        {
            var name = $"tail.memory.t{t:D4}";
            var epoch = $"e{t:D4}";
            var messages = new Message[PerTopic];
            for (var i = 0; i < PerTopic; i++)
            {
                // A fresh payload array per message, as a store reads or receives it.
                messages[i] = new Message { Topic = name, Epoch = epoch, Offset = i + 1, Timestamp = T0.AddTicks(i), Payload = payload.ToArray(), ContentType = "application/octet-stream" };
                // What the fan-out leaves on each message: one encoding per wire format in use (here two).
                messages[i].EncodedAs(Frames.Json);
                messages[i].EncodedAs(Frames.Event);
            }
            cache.Append(Info(name, epoch, PerTopic, T0.AddSeconds(t)), messages);
        }
        var after = GC.GetTotalMemory(forceFullCollection: true);

        var cached = 0L;
        for (var t = 0; t < Topics; t++)
        {
            Assert.True(cache.TryGet($"tail.memory.t{t:D4}", out var tail));
            cached += tail.Messages.Length;
        }
        var retained = after - before;
        Assert.True(retained <= TailCache.MaxBytes, $"the cache holds {retained:N0} bytes of memory for {cached:N0} messages, over its bound of {TailCache.MaxBytes:N0}");
        Assert.True(cached > 0 && retained / cached <= TailCache.Footprint(Message(payload)),
            $"a cached message holds {retained / Math.Max(cached, 1):N0} bytes; the cache counts {TailCache.Footprint(Message(payload)):N0}");

        // Still a cache: the topic published to last keeps its newest messages.
        Assert.True(cache.TryGet($"tail.memory.t{Topics - 1:D4}", out var newest));
        Assert.Equal(PerTopic, newest.Messages.Length);
        Assert.Equal(PerTopic - 10, newest.After(10, 1_000)!.Count);
        GC.KeepAlive(cache);
    }

    private static Message Message(byte[] payload)
        => new() { Topic = "t", Epoch = "e", Offset = 1, Timestamp = T0, Payload = payload, ContentType = "application/octet-stream" };

    private static TopicInfo Info(string name, string epoch, long last, DateTimeOffset publishedAt) => new()
    {
        Name = name, Epoch = epoch, Config = new TopicConfig(new RetentionPolicy(null, null, null)), ConfigVersion = 1,
        CreatedAt = T0, FirstOffset = 1, LastOffset = last, MessageCount = last, Bytes = last * 64, LastPublishedAt = publishedAt,
    };

    /// <summary>Wire formats shaped like the hub's: a JSON message frame and an SSE event, each naming topic, epoch, offset and time.</summary>
    private sealed class Frames(bool sse) : MessageEncoding
    {
        public static readonly Frames Json = new(sse: false);
        public static readonly Frames Event = new(sse: true);

        protected override byte[] Encode(Message message)
        {
            var json = JsonSerializer.Serialize(new
            {
                type = "message", topic = message.Topic, epoch = message.Epoch, offset = message.Offset,
                timestamp = message.Timestamp, contentType = message.ContentType, payloadBase64 = Convert.ToBase64String(message.Payload.Span),
            });
            return Encoding.UTF8.GetBytes(sse ? $"id: {message.Epoch}.{message.Offset}\nevent: message\ndata: {json}\n\n" : json);
        }
    }
}

[CollectionDefinition(nameof(SqliteTailCacheMemoryTests), DisableParallelization = true)]
public sealed class SqliteTailCacheMemoryCollection;
