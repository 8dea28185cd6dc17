namespace Switchboard.Core.Engines.Memory;

/// <summary>The single-node backplane: an event goes straight to this node's receiver, on the publisher's path.</summary>
public sealed class LocalBackplane : IBackplane
{
    private IBackplaneReceiver? _receiver;

    /// <inheritdoc />
    public Task StartAsync(IBackplaneReceiver receiver, CancellationToken cancellationToken)
    {
        _receiver = receiver;
        return Task.CompletedTask;
    }

    /// <inheritdoc />
    public void Publish(TopicEvent topicEvent) => _receiver?.OnEvent(topicEvent);

    /// <inheritdoc />
    public ValueTask DisposeAsync() => ValueTask.CompletedTask;
}
