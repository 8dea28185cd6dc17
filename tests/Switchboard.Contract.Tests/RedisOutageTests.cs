using System.Text;
using StackExchange.Redis;
using Switchboard.Core;
using Switchboard.Core.Engines;
using Switchboard.Redis;
using Switchboard.Testing;

namespace Switchboard.Contract.Tests;

/// <summary>Redis going away and coming back: each test owns its redis-server, since it kills it.</summary>
public sealed class RedisOutageTests : IAsyncLifetime
{
    private static readonly DateTimeOffset T0 = DateTimeOffset.UtcNow.AddHours(1);
    private readonly string _prefix = RedisFixture.NewPrefix();
    private RedisServer _server = null!;

    // appendfsync always: every acknowledged write is in the append-only file before Redis answers.
    public async Task InitializeAsync() => _server = await RedisServer.StartAsync(appendFsync: "always");

    public async Task DisposeAsync() => await _server.DisposeAsync();

    private static AppendRequest Append(string topic, string text) => new(topic, [new MessageDraft { Payload = Encoding.UTF8.GetBytes($"\"{text}\"") }])
    {
        CreateTopic = new TopicConfig(RetentionPolicy.Unlimited),
        Timestamp = T0,
    };

    [Fact]
    public async Task Redis_killed_mid_run_fails_operations_as_storage_unavailable_and_the_store_recovers_by_itself_with_every_acknowledged_write()
    {
        await using var store = await RedisFixture.OpenAsync(_server, _prefix);
        var acknowledged = new List<AppendResult>();
        for (var i = 0; i < 20; i++)
        {
            acknowledged.Add(await store.AppendAsync(Append("kept", $"m{i}"), default));
        }
        await store.Queues.EnqueueAsync(new EnqueueRequest("jobs", [new QueueDraft { Message = new MessageDraft { Payload = "\"job\""u8.ToArray() } }]) { Timestamp = T0, CreateQueue = QueueConfig.Default }, default);

        await _server.KillAsync();

        // Every kind of call answers "unavailable, retry shortly": the client's own exceptions never leak.
        var failures = new List<Func<Task>>
        {
            () => store.AppendAsync(Append("kept", "lost"), default),
            () => store.ReadAsync("kept", 0, 10, default),
            () => store.GetTopicAsync("kept", default),
            () => store.Queues.LeaseAsync("jobs", 1, null, T0, default),
            () => store.Queues.ListBindingsAsync(default),
            () => store.SweepAsync(T0, default),
        };
        foreach (var call in failures)
        {
            var refused = await Assert.ThrowsAsync<SwitchboardException>(call);
            Assert.Equal(ErrorCode.StorageUnavailable, refused.Code);
            Assert.Equal(1, refused.RetryAfterSeconds);
            Assert.True(refused.InnerException is RedisConnectionException or RedisTimeoutException, refused.InnerException?.GetType().Name);
            Assert.Equal(503, refused.Info.HttpStatus);
        }

        await _server.RestartAsync();

        // The same store, untouched: it reconnects and reloads its scripts by itself.
        var next = await EventuallyAsync(() => store.AppendAsync(Append("kept", "after"), default));
        Assert.Equal(acknowledged.Count + 1, next.FirstOffset); // nothing acknowledged was lost, and no offset reused
        Assert.Equal(acknowledged[0].Epoch, next.Epoch);
        var read = await store.ReadAsync("kept", 0, 100, default);
        Assert.Equal([.. acknowledged.Select(a => a.FirstOffset), next.FirstOffset], read.Messages.Select(m => m.Offset));
        Assert.Equal("job", Encoding.UTF8.GetString(Assert.Single((await store.Queues.LeaseAsync("jobs", 5, null, T0, default)).Messages).Payload.Span).Trim('"'));
    }

    [Fact]
    public async Task Opening_while_Redis_is_down_waits_without_failing_and_completes_once_Redis_answers()
    {
        await _server.KillAsync();
        await using var store = new RedisStore(new RedisOptions { Configuration = _server.Configuration, Prefix = _prefix }, Microsoft.Extensions.Logging.Abstractions.NullLoggerFactory.Instance);
        using var cancel = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var opening = store.OpenAsync(cancel.Token);

        // Nothing to wait for but time here: the open must still be pending (not failed) while Redis is down.
        var first = await Task.WhenAny(opening, Task.Delay(TimeSpan.FromSeconds(2)));
        Assert.NotSame(opening, first);

        await _server.RestartAsync();
        await opening.WaitAsync(TimeSpan.FromSeconds(20));
        Assert.Equal(1, (await store.AppendAsync(Append("fresh", "x"), default)).FirstOffset);
    }

    [Fact]
    public async Task Opening_while_Redis_is_down_stops_when_cancelled()
    {
        await _server.KillAsync();
        await using var store = new RedisStore(new RedisOptions { Configuration = _server.Configuration, Prefix = _prefix }, Microsoft.Extensions.Logging.Abstractions.NullLoggerFactory.Instance);
        using var cancel = new CancellationTokenSource(TimeSpan.FromSeconds(2));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => store.OpenAsync(cancel.Token).WaitAsync(TimeSpan.FromSeconds(30)));
    }

    // Retries a call until Redis is back (bounded): there is no signal for "the connection is restored" to await here.
    private static async Task<T> EventuallyAsync<T>(Func<Task<T>> call)
    {
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (true)
        {
            try
            {
                return await call();
            }
            catch (SwitchboardException ex) when (ex.Code == ErrorCode.StorageUnavailable && DateTime.UtcNow < deadline)
            {
                await Task.Delay(50);
            }
        }
    }
}
