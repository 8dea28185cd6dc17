namespace Switchboard.Core.Engines;

/// <summary>
/// The backplane seam: tells every node that a topic has new messages (carrying the messages, so nodes
/// need not read them back) or was deleted, that a queue has messages to hand out, or that a request got its
/// reply. Single node: <see cref="Memory.LocalBackplane"/>. Many nodes: Redis.
/// </summary>
public interface IBackplane : IAsyncDisposable
{
    /// <summary>Starts delivering events (from this node and others) to <paramref name="receiver"/>.</summary>
    Task StartAsync(IBackplaneReceiver receiver, CancellationToken cancellationToken);

    /// <summary>
    /// Announces an event to every node that listens to its subject, this one included. Called in commit order
    /// per topic; must not block. Delivery is best effort: receivers recover gaps from the store by offset.
    /// </summary>
    void Publish(BackplaneEvent backplaneEvent);

    /// <summary>
    /// Whether the backplane sends a node only the events it listens to (<see cref="ListenAsync"/>). When false
    /// (a single node), every event reaches the receiver and the hub does not call <see cref="ListenAsync"/> or
    /// <see cref="Forget"/>.
    /// </summary>
    bool ListensSelectively => false;

    /// <summary>
    /// This node now wants events about <paramref name="subject"/>. Completes once they flow: an event published
    /// after the task completes reaches this node. The hub counts its own users, so each subject is listened to
    /// once until it is forgotten.
    /// </summary>
    Task ListenAsync(BackplaneSubject subject, CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>This node no longer wants events about <paramref name="subject"/>; must not block.</summary>
    void Forget(BackplaneSubject subject)
    {
    }

    /// <summary>Records this node's heartbeat, for <see cref="ListNodesAsync"/> on every node.</summary>
    Task ReportAsync(NodeReport report, CancellationToken cancellationToken);

    /// <summary>
    /// The nodes alive now (a heartbeat within <paramref name="expiry"/>), this one included, by name. A node that
    /// stops reporting drops out of the list once its last heartbeat is older than that.
    /// </summary>
    Task<IReadOnlyList<NodeReport>> ListNodesAsync(TimeSpan expiry, CancellationToken cancellationToken);

    /// <summary>Sets how this node answers the questions of <see cref="AskNodesAsync"/> (called once, at start).</summary>
    void SetResponder(Func<NodeQuestion, CancellationToken, Task<byte[]>> responder);

    /// <summary>
    /// Asks every live node (a heartbeat within <paramref name="nodeExpiry"/>), this one included, and gathers their
    /// answers (what each node's responder wrote), waiting at most <paramref name="timeout"/> for the others. A node
    /// that does not answer in time is left out, and the result says how many were asked.
    /// </summary>
    Task<NodeAnswers> AskNodesAsync(NodeQuestion question, TimeSpan nodeExpiry, TimeSpan timeout, CancellationToken cancellationToken);
}

/// <summary>The answers to a <see cref="NodeQuestion"/>: this node's first, then the others' in the order they came.</summary>
/// <param name="Answers">What each node that answered in time wrote.</param>
/// <param name="Asked">How many live nodes were asked, this one included.</param>
public sealed record NodeAnswers(IReadOnlyList<byte[]> Answers, int Asked)
{
    /// <summary>True when a live node did not answer in time.</summary>
    public bool Partial => Answers.Count < Asked;
}

/// <summary>A question every node answers about itself (its connections, a topic's subscribers on it).</summary>
/// <param name="Kind">What is asked (the responder knows the kinds).</param>
/// <param name="Argument">Its argument (a topic), or empty.</param>
/// <param name="Limit">How many items each node lists at most.</param>
public sealed record NodeQuestion(string Kind, string Argument, int Limit);

/// <summary>Receives backplane events on a node.</summary>
public interface IBackplaneReceiver
{
    /// <summary>Handles one event; must not block (it runs on the backplane's delivery path).</summary>
    void OnEvent(BackplaneEvent backplaneEvent);
}

/// <summary>What a node can listen to on the backplane.</summary>
public enum BackplaneSubjectKind
{
    /// <summary>One topic, by name: its appends and deletion.</summary>
    Topic,

    /// <summary>Every topic a wildcard pattern matches (<see cref="TopicPattern"/>).</summary>
    Pattern,

    /// <summary>One queue: messages became visible in it.</summary>
    Queue,

    /// <summary>One request: its reply arrived.</summary>
    Reply,
}

/// <summary>A subject a node listens to: a topic, a topic pattern, a queue or a request's reply.</summary>
/// <param name="Kind">What it names.</param>
/// <param name="Name">The topic, pattern, queue or reply id.</param>
public readonly record struct BackplaneSubject(BackplaneSubjectKind Kind, string Name)
{
    /// <inheritdoc />
    public override string ToString() => $"{Kind}:{Name}";
}

/// <summary>Something a node tells the others.</summary>
public abstract record BackplaneEvent;

/// <summary>Something that happened to a topic.</summary>
/// <param name="Topic">The topic.</param>
/// <param name="Epoch">The incarnation it happened to.</param>
public abstract record TopicEvent(string Topic, string Epoch) : BackplaneEvent;

/// <summary>Messages were committed to a topic.</summary>
/// <param name="Topic">The topic.</param>
/// <param name="Epoch">The incarnation.</param>
/// <param name="Messages">The messages, in offset order, without gaps.</param>
public sealed record MessagesAppended(string Topic, string Epoch, IReadOnlyList<Message> Messages) : TopicEvent(Topic, Epoch)
{
    /// <summary>The newest offset in the event.</summary>
    public long LastOffset => Messages[^1].Offset;
}

/// <summary>A topic incarnation ended (deleted).</summary>
/// <param name="Topic">The topic.</param>
/// <param name="Epoch">The incarnation that ended.</param>
public sealed record TopicDeleted(string Topic, string Epoch) : TopicEvent(Topic, Epoch);

/// <summary>
/// Events may have been lost (the backplane's connection was down and is back): every subscription checks the store
/// for what it missed, and every wait looks again, rather than waiting for the next event to reveal a gap.
/// </summary>
public sealed record BackplaneResync : BackplaneEvent;

/// <summary>Messages became visible in a queue (sent, nacked, redriven, bound): waiting receives should look.</summary>
/// <param name="Queue">The queue.</param>
public sealed record QueueReady(string Queue) : BackplaneEvent;

/// <summary>A request got its reply: whoever waits for it should read it.</summary>
/// <param name="ReplyId">The request's reply id.</param>
public sealed record ReplyPosted(string ReplyId) : BackplaneEvent;
