using Switchboard.Core;
using Switchboard.Core.Engines;

namespace Switchboard.Contract.Tests;

/// <summary>
/// An engine's store with its queue calls passed through <see cref="SteppedQueues"/>, where a test steps into the
/// moments it needs to hold still: a receive parking, a look the engine has not answered yet, a release.
/// </summary>
internal sealed class SteppedStore(IStore inner) : IStore
{
    public SteppedQueues Queues { get; } = new(inner.Queues);

    IQueueStore IStore.Queues => Queues;

    public string? Unavailable => inner.Unavailable;

    public void SetListener(IStoreListener listener) => inner.SetListener(listener);

    public Task OpenAsync(CancellationToken cancellationToken) => inner.OpenAsync(cancellationToken);

    public Task<AppendResult> AppendAsync(AppendRequest request, CancellationToken cancellationToken) => inner.AppendAsync(request, cancellationToken);

    public Task<TopicInfo?> GetTopicAsync(string topic, CancellationToken cancellationToken) => inner.GetTopicAsync(topic, cancellationToken);

    public Task<TopicPage> ListTopicsAsync(string? prefix, string? afterName, int limit, CancellationToken cancellationToken)
        => inner.ListTopicsAsync(prefix, afterName, limit, cancellationToken);

    public Task<PutTopicResult> PutTopicAsync(string topic, TopicConfig config, long? expectedConfigVersion, CancellationToken cancellationToken)
        => inner.PutTopicAsync(topic, config, expectedConfigVersion, cancellationToken);

    public Task<TopicInfo?> DeleteTopicAsync(string topic, long? expectedConfigVersion, CancellationToken cancellationToken) => inner.DeleteTopicAsync(topic, expectedConfigVersion, cancellationToken);

    public Task<ReadResult> ReadAsync(string topic, long afterOffset, int limit, CancellationToken cancellationToken) => inner.ReadAsync(topic, afterOffset, limit, cancellationToken);

    public Task<long> SweepAsync(DateTimeOffset now, CancellationToken cancellationToken) => inner.SweepAsync(now, cancellationToken);

    public ValueTask DisposeAsync() => inner.DisposeAsync();
}

/// <summary>An engine's queues, every call passed through; the hooks below run at the moments their names say.</summary>
internal sealed class SteppedQueues(IQueueStore inner) : IQueueStore
{
    /// <summary>Runs once, right after the next receive parks with the engine, before the receive goes on (then cleared).</summary>
    public Action<ParkedLease>? OnParked { get; set; }

    /// <summary>
    /// When set, the next look waits for this before the engine leases, then answers like an engine that drops the answer
    /// of a cancelled call: once the caller's token is cancelled, the call throws, whatever the engine leased meanwhile.
    /// </summary>
    public TaskCompletionSource? HoldNextLease { get; set; }

    /// <summary>Completes when a held look has started waiting.</summary>
    public TaskCompletionSource LeaseHeld { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>When true, every release fails the way a stopping engine's calls do.</summary>
    public bool FailReleases { get; set; }

    /// <summary>Completes with the first release's count once the engine answered it (or with the refusal when it failed).</summary>
    public TaskCompletionSource<int> Released { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public ParkedLease? Park(string queue, int max, TimeSpan? lease)
    {
        var parked = inner.Park(queue, max, lease);
        if (parked is not null && OnParked is { } hook)
        {
            OnParked = null;
            hook(parked);
        }
        return parked;
    }

    public Task<LeaseResult> LeaseAsync(string queue, int max, TimeSpan? lease, DateTimeOffset now, CancellationToken cancellationToken)
    {
        if (HoldNextLease is not { } hold)
        {
            return inner.LeaseAsync(queue, max, lease, now, cancellationToken);
        }
        HoldNextLease = null;
        return Held().WaitAsync(cancellationToken);

        async Task<LeaseResult> Held()
        {
            LeaseHeld.TrySetResult();
            await hold.Task;
            return await inner.LeaseAsync(queue, max, lease, now, CancellationToken.None);
        }
    }

    public async Task<int> ReleaseAsync(string queue, IReadOnlyList<(long Id, string Lease)> leases, DateTimeOffset now, CancellationToken cancellationToken)
    {
        if (FailReleases)
        {
            var refused = new SwitchboardException(ErrorCode.ShuttingDown, "The store is closing (the test's).");
            Released.TrySetException(refused);
            throw refused;
        }
        var released = await inner.ReleaseAsync(queue, leases, now, cancellationToken);
        Released.TrySetResult(released);
        return released;
    }

    public Task<PutQueueResult> PutQueueAsync(string queue, QueueConfig config, long? expectedConfigVersion, DateTimeOffset now, CancellationToken cancellationToken)
        => inner.PutQueueAsync(queue, config, expectedConfigVersion, now, cancellationToken);

    public Task<QueueInfo?> GetQueueAsync(string queue, DateTimeOffset now, CancellationToken cancellationToken) => inner.GetQueueAsync(queue, now, cancellationToken);

    public Task<QueuePage> ListQueuesAsync(string? prefix, string? afterName, int limit, DateTimeOffset now, CancellationToken cancellationToken)
        => inner.ListQueuesAsync(prefix, afterName, limit, now, cancellationToken);

    public Task<QueueInfo?> DeleteQueueAsync(string queue, long? expectedConfigVersion, DateTimeOffset now, CancellationToken cancellationToken) => inner.DeleteQueueAsync(queue, expectedConfigVersion, now, cancellationToken);

    public Task<EnqueueResult> EnqueueAsync(EnqueueRequest request, CancellationToken cancellationToken) => inner.EnqueueAsync(request, cancellationToken);

    public Task AckAsync(string queue, long id, string lease, DateTimeOffset now, CancellationToken cancellationToken) => inner.AckAsync(queue, id, lease, now, cancellationToken);

    public Task<NackResult> NackAsync(string queue, long id, string lease, TimeSpan? delay, string? error, DateTimeOffset now, CancellationToken cancellationToken)
        => inner.NackAsync(queue, id, lease, delay, error, now, cancellationToken);

    public Task<DateTimeOffset> ExtendAsync(string queue, long id, string lease, TimeSpan by, DateTimeOffset now, CancellationToken cancellationToken)
        => inner.ExtendAsync(queue, id, lease, by, now, cancellationToken);

    public Task<QueuePeekPage> PeekAsync(string queue, QueuePeekStates states, long afterId, int limit, DateTimeOffset now, CancellationToken cancellationToken)
        => inner.PeekAsync(queue, states, afterId, limit, now, cancellationToken);

    public Task<DeadLetterPage> ListDeadLettersAsync(string queue, long afterId, int limit, CancellationToken cancellationToken)
        => inner.ListDeadLettersAsync(queue, afterId, limit, cancellationToken);

    public Task<long> RedriveAsync(string queue, long? id, DateTimeOffset now, CancellationToken cancellationToken) => inner.RedriveAsync(queue, id, now, cancellationToken);

    public Task<long> PurgeDeadLettersAsync(string queue, CancellationToken cancellationToken) => inner.PurgeDeadLettersAsync(queue, cancellationToken);

    public Task<IReadOnlyList<QueueBinding>> ListBindingsAsync(CancellationToken cancellationToken) => inner.ListBindingsAsync(cancellationToken);

    public Task<bool> PutBindingAsync(QueueBinding binding, DateTimeOffset now, CancellationToken cancellationToken) => inner.PutBindingAsync(binding, now, cancellationToken);

    public Task<bool> DeleteBindingAsync(QueueBinding binding, CancellationToken cancellationToken) => inner.DeleteBindingAsync(binding, cancellationToken);

    public Task<ReplyRecord?> GetReplyAsync(string id, CancellationToken cancellationToken) => inner.GetReplyAsync(id, cancellationToken);

    public Task<ReplyRecord> PostReplyAsync(string id, MessageDraft reply, string? lease, DateTimeOffset now, CancellationToken cancellationToken)
        => inner.PostReplyAsync(id, reply, lease, now, cancellationToken);
}
