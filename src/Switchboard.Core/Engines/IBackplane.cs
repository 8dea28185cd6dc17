namespace Switchboard.Core.Engines;

/// <summary>
/// The backplane seam: tells every node that a topic has new messages (carrying the messages, so nodes
/// need not read them back) or was deleted. Single node: <see cref="Memory.LocalBackplane"/>. Many nodes: Redis.
/// </summary>
public interface IBackplane : IAsyncDisposable
{
    /// <summary>Starts delivering events (from this node and others) to <paramref name="receiver"/>.</summary>
    Task StartAsync(IBackplaneReceiver receiver, CancellationToken cancellationToken);

    /// <summary>
    /// Announces an event to every node, this one included. Called in commit order per topic; must not
    /// block. Delivery is best effort: receivers recover gaps from the store by offset.
    /// </summary>
    void Publish(TopicEvent topicEvent);
}

/// <summary>Receives backplane events on a node.</summary>
public interface IBackplaneReceiver
{
    /// <summary>Handles one event; must not block (it runs on the backplane's delivery path).</summary>
    void OnEvent(TopicEvent topicEvent);
}

/// <summary>Something that happened to a topic.</summary>
/// <param name="Topic">The topic.</param>
/// <param name="Epoch">The incarnation it happened to.</param>
public abstract record TopicEvent(string Topic, string Epoch);

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
