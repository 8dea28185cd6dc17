using System.Text;
using Switchboard.Core.Engines;
using Switchboard.Core.Engines.Memory;
using Switchboard.Core.Tests.Support;

namespace Switchboard.Core.Tests.Hubs;

/// <summary>
/// A requester's interest in its reply on a cluster backplane (one that listens only to what is asked for) is given
/// back however the request ends — even when the listen itself never completes or fails: every request has a reply id
/// of its own, so a leaked interest is a subscription the node keeps forever, one more per request.
/// </summary>
public sealed class RequestInterestTests
{
    [Fact]
    public async Task A_requester_that_goes_away_while_its_reply_listen_is_pending_leaves_no_interest_behind()
    {
        var backplane = new SelectiveBackplane();
        await using var hub = await TestHubs.StartAsync(backplane: backplane);
        using var timeout = new CancellationTokenSource(Bounds.Expected);
        using var gone = CancellationTokenSource.CreateLinkedTokenSource(timeout.Token);

        var draft = new QueueDraft { Message = new MessageDraft { Payload = Encoding.UTF8.GetBytes("1") } };
        var requesting = hub.RequestAndAwaitAsync("rpc", draft, TimeSpan.FromSeconds(20), null, null, 0, gone.Token);
        var subject = await backplane.Asked.Task.WaitAsync(timeout.Token); // the listen on the reply id is out, unanswered
        await gone.CancelAsync(); // the requester disconnects
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => requesting);

        Assert.Equal(BackplaneSubjectKind.Reply, subject.Kind);
        Assert.Contains(subject, backplane.Forgotten);
        Assert.Equal(0, hub.WaitingOn);
    }

    /// <summary>The local backplane, but listening selectively (as Redis does), with listens on reply ids that never complete.</summary>
    private sealed class SelectiveBackplane : IBackplane
    {
        private readonly LocalBackplane _inner = new();
        private readonly Lock _gate = new();
        private readonly List<BackplaneSubject> _forgotten = [];

        public TaskCompletionSource<BackplaneSubject> Asked { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public IReadOnlyList<BackplaneSubject> Forgotten
        {
            get
            {
                lock (_gate)
                {
                    return [.. _forgotten];
                }
            }
        }

        public bool ListensSelectively => true;

        public Task ListenAsync(BackplaneSubject subject, CancellationToken cancellationToken)
        {
            if (subject.Kind != BackplaneSubjectKind.Reply)
            {
                return Task.CompletedTask;
            }
            Asked.TrySetResult(subject);
            return new TaskCompletionSource().Task; // the cluster's subscribe is slow to answer
        }

        public void Forget(BackplaneSubject subject)
        {
            lock (_gate)
            {
                _forgotten.Add(subject);
            }
        }

        public Task StartAsync(IBackplaneReceiver receiver, CancellationToken cancellationToken) => _inner.StartAsync(receiver, cancellationToken);
        public void Publish(BackplaneEvent backplaneEvent) => _inner.Publish(backplaneEvent);
        public Task ReportAsync(NodeReport report, CancellationToken cancellationToken) => _inner.ReportAsync(report, cancellationToken);
        public Task<IReadOnlyList<NodeReport>> ListNodesAsync(TimeSpan expiry, CancellationToken cancellationToken) => _inner.ListNodesAsync(expiry, cancellationToken);
        public void SetResponder(Func<NodeQuestion, CancellationToken, Task<byte[]>> responder) => _inner.SetResponder(responder);
        public Task<NodeAnswers> AskNodesAsync(NodeQuestion question, TimeSpan nodeExpiry, TimeSpan timeout, CancellationToken cancellationToken) => _inner.AskNodesAsync(question, nodeExpiry, timeout, cancellationToken);
        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }
}
