using Switchboard.Core;
using Switchboard.Core.Engines;

namespace Switchboard.Contract.Tests;

/// <summary>
/// The limits on what clients create (Switchboard:Topics:MaxCount, Switchboard:Queues:MaxCount): every engine refuses
/// the topic or queue past its limit, in the step that would create it, and nothing of it is left behind.
/// </summary>
public abstract partial class StoreContract
{
    /// <summary>A new, empty, opened store that creates at most so many topics and queues (null: no limit), with these default queue limits (null: <see cref="QueueLimits.Default"/>).</summary>
    protected abstract Task<IStore> CreateLimitedAsync(long? maxTopics, long? maxQueues, QueueLimits? queueLimits = null);

    [Fact]
    public async Task A_store_creates_topics_up_to_its_limit_and_refuses_the_next_by_publish_or_put_naming_the_setting()
    {
        var store = await Track(CreateLimitedAsync(maxTopics: 2, maxQueues: null));
        await store.AppendAsync(Append("t-1", Draft("a")), default);
        await store.PutTopicAsync("t-2", Defaults, null, default);

        var published = await Assert.ThrowsAsync<SwitchboardException>(() => store.AppendAsync(Append("t-3", Draft("a")), default));
        var put = await Assert.ThrowsAsync<SwitchboardException>(() => store.PutTopicAsync("t-3", Defaults, null, default));
        foreach (var refused in new[] { published, put })
        {
            Assert.Equal(ErrorCode.LimitReached, refused.Code);
            Assert.Contains("Switchboard:Topics:MaxCount", refused.Message, StringComparison.Ordinal);
            Assert.Equal(2L, refused.Extensions["limit"]);
        }
        Assert.Null(await store.GetTopicAsync("t-3", default)); // nothing half-made
        Assert.Equal(["t-1", "t-2"], (await store.ListTopicsAsync(null, null, 10, default)).Topics.Select(t => t.Name));

        // Existing topics go on; the hub's own $ topics neither count nor are refused.
        Assert.Equal(2, (await store.AppendAsync(Append("t-1", Draft("b")), default)).FirstOffset);
        Assert.True((await store.PutTopicAsync("t-2", Defaults with { Description = "d" }, null, default)).Topic.ConfigVersion > 1);
        Assert.True((await store.AppendAsync(Append("$presence.t-1", Draft("join")), default)).CreatedTopic);

        // A deleted topic makes room.
        await store.DeleteTopicAsync("t-1", null, default);
        Assert.True((await store.AppendAsync(Append("t-3", Draft("a")), default)).CreatedTopic);
        await Assert.ThrowsAsync<SwitchboardException>(() => store.AppendAsync(Append("t-4", Draft("a")), default));
    }

    [Fact]
    public async Task A_store_creates_queues_up_to_its_limit_and_refuses_the_next_by_send_put_or_binding_naming_the_setting()
    {
        var store = await Track(CreateLimitedAsync(maxTopics: null, maxQueues: 2));
        await store.Queues.EnqueueAsync(Send("q-1", "a"), default);
        await store.Queues.PutQueueAsync("q-2", Quick, null, T0, default);

        var sent = await Assert.ThrowsAsync<SwitchboardException>(() => store.Queues.EnqueueAsync(Send("q-3", "a"), default));
        var put = await Assert.ThrowsAsync<SwitchboardException>(() => store.Queues.PutQueueAsync("q-3", Quick, null, T0, default));
        var bound = await Assert.ThrowsAsync<SwitchboardException>(() => store.Queues.PutBindingAsync(new QueueBinding("orders.>", "q-3"), T0, default));
        foreach (var refused in new[] { sent, put, bound })
        {
            Assert.Equal(ErrorCode.LimitReached, refused.Code);
            Assert.Contains("Switchboard:Queues:MaxCount", refused.Message, StringComparison.Ordinal);
            Assert.Equal(2L, refused.Extensions["limit"]);
        }
        Assert.Null(await store.Queues.GetQueueAsync("q-3", T0, default));
        Assert.Empty(await store.Queues.ListBindingsAsync(default));

        // Existing queues go on (a binding to one of them too); a deleted one makes room.
        Assert.Equal(2, (await store.Queues.EnqueueAsync(Send("q-1", "b"), default)).FirstId);
        Assert.True(await store.Queues.PutBindingAsync(new QueueBinding("orders.>", "q-1"), T0, default));
        await store.Queues.DeleteQueueAsync("q-2", null, T0, default);
        Assert.True((await store.Queues.EnqueueAsync(Send("q-3", "a"), default)).CreatedQueue);
        await Assert.ThrowsAsync<SwitchboardException>(() => store.Queues.EnqueueAsync(Send("q-4", "a"), default));
    }
}
