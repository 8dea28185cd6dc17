namespace Switchboard.Core.Engines.Memory;

/// <summary>The single-node backplane: an event goes straight to this node's receiver, on the publisher's path.</summary>
public sealed class LocalBackplane : IBackplane
{
    private IBackplaneReceiver? _receiver;
    private NodeReport? _self;
    private Func<NodeQuestion, CancellationToken, Task<byte[]>>? _responder;

    /// <inheritdoc />
    public Task StartAsync(IBackplaneReceiver receiver, CancellationToken cancellationToken)
    {
        _receiver = receiver;
        return Task.CompletedTask;
    }

    /// <inheritdoc />
    public void Publish(BackplaneEvent backplaneEvent) => _receiver?.OnEvent(backplaneEvent);

    /// <inheritdoc />
    public Task ReportAsync(NodeReport report, CancellationToken cancellationToken)
    {
        Volatile.Write(ref _self, report);
        return Task.CompletedTask;
    }

    /// <inheritdoc />
    public Task<IReadOnlyList<NodeReport>> ListNodesAsync(TimeSpan expiry, CancellationToken cancellationToken) =>
        Task.FromResult<IReadOnlyList<NodeReport>>(Volatile.Read(ref _self) is { } self ? [self] : []);

    /// <inheritdoc />
    public void SetResponder(Func<NodeQuestion, CancellationToken, Task<byte[]>> responder) => _responder = responder;

    /// <inheritdoc />
    public async Task<NodeAnswers> AskNodesAsync(NodeQuestion question, TimeSpan nodeExpiry, TimeSpan timeout, CancellationToken cancellationToken) =>
        _responder is { } responder ? new([await responder(question, cancellationToken)], 1) : new([], 1);

    /// <inheritdoc />
    public ValueTask DisposeAsync() => ValueTask.CompletedTask;
}
