using System.Collections.Concurrent;
using StackExchange.Redis;
using Switchboard.Core;
using Switchboard.Core.Engines;
using Switchboard.Testing;

namespace Switchboard.Contract.Tests;

/// <summary>
/// Redis forgetting its scripts (a restart, a failover to a replica, SCRIPT FLUSH) while a node appends: every append
/// answered NOSCRIPT is sent again, and the listener must still hear each topic's appends in offset order.
/// </summary>
public sealed class RedisScriptCacheTests(RedisFixture redis) : IClassFixture<RedisFixture>
{
    private static readonly DateTimeOffset T0 = DateTimeOffset.UtcNow.AddHours(1);

    private sealed class OffsetListener : IStoreListener
    {
        public ConcurrentQueue<(string Topic, long First, string Payload)> Heard { get; } = new();

        public void OnAppended(AppendResult result)
            => Heard.Enqueue((result.Topic, result.FirstOffset, System.Text.Encoding.UTF8.GetString(result.Messages[0].Payload.Span)));

        public void OnTopicDeleted(string topic, string epoch)
        {
        }
    }

    private static AppendRequest Append(string topic, int i) => new(topic, [new MessageDraft { Payload = System.Text.Encoding.UTF8.GetBytes(i.ToString(System.Globalization.CultureInfo.InvariantCulture)) }])
    {
        CreateTopic = new TopicConfig(RetentionPolicy.Unlimited),
        Timestamp = T0,
    };

    [Fact]
    public async Task Appends_answered_NOSCRIPT_are_still_announced_in_offset_order_and_stored_whole()
    {
        var listener = new OffsetListener();
        await using var store = await RedisFixture.OpenAsync(redis.Server, RedisFixture.NewPrefix(), listener);
        using var admin = await ConnectionMultiplexer.ConnectAsync(redis.Server.Configuration + ",allowAdmin=true");
        var server = admin.GetServer(admin.GetEndPoints()[0]);

        // Several rounds: in each, Redis forgets its scripts just before a burst of concurrent appends to one topic, so
        // many of them are answered NOSCRIPT while later ones are already on the wire behind them.
        for (var round = 0; round < 5; round++)
        {
            await server.ScriptFlushAsync();
            var topic = "burst" + round;
            var appends = Enumerable.Range(0, 200).Select(i => store.AppendAsync(Append(topic, i), default)).ToList();
            var results = await Task.WhenAll(appends);

            Assert.Equal(Enumerable.Range(1, 200).Select(i => (long)i), results.Select(r => r.FirstOffset).Order());
            var heard = listener.Heard.Where(h => h.Topic == topic).Select(h => h.First).ToList();
            Assert.Equal(Enumerable.Range(1, 200).Select(i => (long)i), heard); // announced in commit order, each once
            var read = await store.ReadAsync(topic, 0, 1000, default);
            Assert.Equal(results.OrderBy(r => r.FirstOffset).Select(r => System.Text.Encoding.UTF8.GetString(r.Messages[0].Payload.Span)),
                read.Messages.Select(m => System.Text.Encoding.UTF8.GetString(m.Payload.Span)));
        }
    }

    [Fact]
    public async Task Every_script_works_after_Redis_forgot_them_all()
    {
        await using var store = await RedisFixture.OpenAsync(redis.Server, RedisFixture.NewPrefix());
        using var admin = await ConnectionMultiplexer.ConnectAsync(redis.Server.Configuration + ",allowAdmin=true");
        await admin.GetServer(admin.GetEndPoints()[0]).ScriptFlushAsync();

        // A plain script (not sequenced) and a sequenced one, each sent again with its text once Redis says NOSCRIPT.
        Assert.Null((await store.ReadAsync("absent", 0, 10, default)).Topic);
        Assert.Equal(1, (await store.AppendAsync(Append("after", 7), default)).FirstOffset);
        Assert.Equal("7", System.Text.Encoding.UTF8.GetString(Assert.Single((await store.ReadAsync("after", 0, 10, default)).Messages).Payload.Span));
        await store.Queues.EnqueueAsync(new EnqueueRequest("jobs", [new QueueDraft { Message = new MessageDraft { Payload = "\"job\""u8.ToArray() } }]) { Timestamp = T0, CreateQueue = QueueConfig.Default }, default);
        var page = await store.Queues.PeekAsync("jobs", QueuePeekStates.Ready, 0, 10, T0, default);
        Assert.Equal("\"job\"", System.Text.Encoding.UTF8.GetString(Assert.Single(page.Messages).Payload.Span));
    }

    [Fact]
    public async Task Every_script_is_in_Redis_once_a_store_has_opened()
    {
        await using var store = await RedisFixture.OpenAsync(redis.Server, RedisFixture.NewPrefix());
        using var admin = await ConnectionMultiplexer.ConnectAsync(redis.Server.Configuration + ",allowAdmin=true");
        var server = admin.GetServer(admin.GetEndPoints()[0]);
        // Every script the store has (each a public static string of RedisScripts): loaded at open, so none costs its
        // first caller a NOSCRIPT round trip.
        var scripts = typeof(Switchboard.Redis.RedisStore).Assembly.GetType("Switchboard.Redis.RedisScripts", throwOnError: true)!
            .GetFields(System.Reflection.BindingFlags.Public | System.Reflection.BindingFlags.Static)
            .Where(f => f.FieldType == typeof(string))
            .ToDictionary(f => f.Name, f => (string)f.GetValue(null)!);
        Assert.True(scripts.Count >= 25, $"found only {scripts.Count} scripts");
        foreach (var (name, text) in scripts)
        {
            Assert.True(await server.ScriptExistsAsync(text), $"the {name} script was not loaded at open");
        }
    }
}
