using System.Threading.Channels;
using Switchboard.Core.Engines;

namespace Switchboard.Core.Tests.Support;

/// <summary>
/// A store that passes every call to an inner store and lets a test see or step into some of them: it reports
/// each finished sweep, and can run a hook before a read, after a read or a listing has been answered but before the reader gets the answer
/// (to commit something exactly inside a reader's window).
/// </summary>
internal sealed class ObservedStore(IStore inner) : IStore
{
    private readonly Channel<(DateTimeOffset Now, long Dropped)> _sweeps = Channel.CreateUnbounded<(DateTimeOffset, long)>();

    /// <summary>Runs before a read reaches the inner store; receives the topic and the offset read after.</summary>
    public Func<string, long, Task>? BeforeRead { get; set; }

    /// <summary>Runs after a read, before its result is returned; receives the topic and the result.</summary>
    public Func<string, ReadResult, Task>? AfterRead { get; set; }

    /// <summary>Runs after a topic listing, before its result is returned; receives the result.</summary>
    public Func<TopicPage, Task>? AfterList { get; set; }

    /// <summary>Finished sweeps, in order.</summary>
    public ChannelReader<(DateTimeOffset Now, long Dropped)> Sweeps => _sweeps.Reader;

    public void SetListener(IStoreListener listener) => inner.SetListener(listener);

    public IQueueStore Queues => inner.Queues;

    public Task OpenAsync(CancellationToken cancellationToken) => inner.OpenAsync(cancellationToken);

    public Task<AppendResult> AppendAsync(AppendRequest request, CancellationToken cancellationToken) => inner.AppendAsync(request, cancellationToken);

    public Task<TopicInfo?> GetTopicAsync(string topic, CancellationToken cancellationToken) => inner.GetTopicAsync(topic, cancellationToken);

    public async Task<TopicPage> ListTopicsAsync(string? prefix, string? afterName, int limit, CancellationToken cancellationToken)
    {
        var page = await inner.ListTopicsAsync(prefix, afterName, limit, cancellationToken);
        if (AfterList is { } hook)
        {
            await hook(page);
        }
        return page;
    }

    public Task<PutTopicResult> PutTopicAsync(string topic, TopicConfig config, long? expectedConfigVersion, CancellationToken cancellationToken)
        => inner.PutTopicAsync(topic, config, expectedConfigVersion, cancellationToken);

    public Task<TopicInfo?> DeleteTopicAsync(string topic, long? expectedConfigVersion, CancellationToken cancellationToken) => inner.DeleteTopicAsync(topic, expectedConfigVersion, cancellationToken);

    public async Task<ReadResult> ReadAsync(string topic, long afterOffset, int limit, CancellationToken cancellationToken)
    {
        if (BeforeRead is { } before)
        {
            await before(topic, afterOffset);
        }
        var result = await inner.ReadAsync(topic, afterOffset, limit, cancellationToken);
        if (AfterRead is { } hook)
        {
            await hook(topic, result);
        }
        return result;
    }

    public async Task<long> SweepAsync(DateTimeOffset now, CancellationToken cancellationToken)
    {
        var dropped = await inner.SweepAsync(now, cancellationToken);
        _sweeps.Writer.TryWrite((now, dropped));
        return dropped;
    }

    public ValueTask DisposeAsync() => inner.DisposeAsync();
}
