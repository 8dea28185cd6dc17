using System.Threading.Channels;
using Switchboard.Core.Delivery;

namespace Switchboard.Core.Tests.Support;

/// <summary>
/// A sink shaped like a transport's outbound buffer: unbounded, bounded (live <see cref="TryWrite"/> refuses when
/// full and catch-up waits for room), or refusing every live write. The test reads it as a connection's writer
/// would; messages and notices come out in the order they were queued.
/// </summary>
internal sealed class RecordingSink : IMessageSink
{
    private readonly Channel<object> _buffer;
    private readonly bool _refuseLive;
    private int _refused;

    /// <param name="capacity">Items the buffer holds before it counts as full; null for no limit.</param>
    /// <param name="refuseLive">Refuse every live write, as a sink that is always full would.</param>
    public RecordingSink(int? capacity = null, bool refuseLive = false)
    {
        _buffer = capacity is { } c
            ? Channel.CreateBounded<object>(new BoundedChannelOptions(c) { FullMode = BoundedChannelFullMode.Wait })
            : Channel.CreateUnbounded<object>();
        _refuseLive = refuseLive;
    }

    /// <summary>How many live writes were refused.</summary>
    public int Refused => Volatile.Read(ref _refused);

    public bool TryWrite(Message message)
    {
        if (!_refuseLive && _buffer.Writer.TryWrite(message))
        {
            return true;
        }
        Interlocked.Increment(ref _refused);
        return false;
    }

    public ValueTask WriteAsync(Message message, CancellationToken cancellationToken) => _buffer.Writer.WriteAsync(message, cancellationToken);

    public ValueTask WriteNoticeAsync(SubscriptionNotice notice, CancellationToken cancellationToken) => _buffer.Writer.WriteAsync(notice, cancellationToken);

    private readonly TaskCompletionSource<SwitchboardException> _failed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _failures;

    /// <summary>Completes with the error the subscription stopped with (<see cref="IMessageSink.Fail"/>).</summary>
    public Task<SwitchboardException> Failed => _failed.Task;

    /// <summary>How many times the subscription said it stopped (at most once is the contract).</summary>
    public int Failures => Volatile.Read(ref _failures);

    public void Fail(SwitchboardException error)
    {
        Interlocked.Increment(ref _failures);
        _failed.TrySetResult(error);
    }

    /// <summary>Takes what is queued now, without waiting.</summary>
    public bool TryRead(out object item) => _buffer.Reader.TryRead(out item!);

    /// <summary>The next item (message or notice); fails the test if none comes in time.</summary>
    public async Task<object> NextAsync(TimeSpan? timeout = null)
    {
        var limit = timeout ?? Bounds.Expected;
        using var cts = new CancellationTokenSource(limit);
        try
        {
            return await _buffer.Reader.ReadAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            Assert.Fail($"The sink received nothing within {limit.TotalSeconds:0.#} s.");
            throw; // unreachable
        }
    }

    public async Task<Message> NextMessageAsync() => Assert.IsType<Message>(await NextAsync());

    public async Task<T> NextNoticeAsync<T>() where T : SubscriptionNotice => Assert.IsType<T>(await NextAsync());

    /// <summary>The next <paramref name="count"/> items; fails when they do not all come within the overall bound.</summary>
    public async Task<List<object>> TakeAsync(int count, TimeSpan? overall = null)
    {
        var limit = overall ?? Bounds.Expected;
        using var cts = new CancellationTokenSource(limit);
        var items = new List<object>(count);
        try
        {
            while (items.Count < count)
            {
                items.Add(await _buffer.Reader.ReadAsync(cts.Token));
            }
        }
        catch (OperationCanceledException)
        {
            Assert.Fail($"The sink received {items.Count} of {count} items within {limit.TotalSeconds:0.#} s.");
        }
        return items;
    }

    /// <summary>The offsets of the next <paramref name="count"/> items, which must all be messages.</summary>
    public async Task<List<long>> TakeOffsetsAsync(int count, TimeSpan? overall = null)
        => [.. (await TakeAsync(count, overall)).Select(item => Assert.IsType<Message>(item).Offset)];

    /// <summary>Asserts that nothing is queued right now.</summary>
    public void AssertEmpty()
    {
        if (TryRead(out var item))
        {
            Assert.Fail($"The sink held an unexpected item: {Describe(item)}.");
        }
    }

    public static string Describe(object item) => item is Message m ? $"message {m.Topic}@{m.Offset}" : item.ToString() ?? "?";
}
