using Switchboard.Core.Engines;
using Switchboard.Core.Engines.Memory;

namespace Switchboard.Core.Tests.Support;

/// <summary>
/// The local backplane, keeping every topic event it carried so a test can deliver one again later, as a cluster's
/// pub/sub can: another node's event overtaken by later ones (several nodes publish and delete), or one event that
/// reaches a node twice and in either order (through a topic's channel and a pattern's, two queues).
/// </summary>
internal sealed class ReplayingBackplane : IBackplane
{
    private readonly LocalBackplane _inner = new();
    private readonly Lock _gate = new();
    private readonly List<TopicEvent> _carried = [];
    private IBackplaneReceiver? _receiver;

    /// <summary>The topic events carried so far, in order.</summary>
    public IReadOnlyList<TopicEvent> Carried
    {
        get
        {
            lock (_gate)
            {
                return [.. _carried];
            }
        }
    }

    /// <summary>Delivers <paramref name="backplaneEvent"/> to the hub (again), now.</summary>
    public void Deliver(BackplaneEvent backplaneEvent) => _receiver!.OnEvent(backplaneEvent);

    public Task StartAsync(IBackplaneReceiver receiver, CancellationToken cancellationToken)
    {
        _receiver = receiver;
        return _inner.StartAsync(receiver, cancellationToken);
    }

    public void Publish(BackplaneEvent backplaneEvent)
    {
        if (backplaneEvent is TopicEvent topicEvent)
        {
            lock (_gate)
            {
                _carried.Add(topicEvent);
            }
        }
        _inner.Publish(backplaneEvent);
    }

    public Task ReportAsync(NodeReport report, CancellationToken cancellationToken) => _inner.ReportAsync(report, cancellationToken);
    public Task<IReadOnlyList<NodeReport>> ListNodesAsync(TimeSpan expiry, CancellationToken cancellationToken) => _inner.ListNodesAsync(expiry, cancellationToken);
    public void SetResponder(Func<NodeQuestion, CancellationToken, Task<byte[]>> responder) => _inner.SetResponder(responder);
    public Task<NodeAnswers> AskNodesAsync(NodeQuestion question, TimeSpan nodeExpiry, TimeSpan timeout, CancellationToken cancellationToken) => _inner.AskNodesAsync(question, nodeExpiry, timeout, cancellationToken);
    public ValueTask DisposeAsync() => ValueTask.CompletedTask;
}
