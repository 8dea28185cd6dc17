namespace Switchboard.Core.Engines;

/// <summary>
/// The store seam: durable topic logs and idempotency keys. One implementation per engine
/// (<see cref="Memory.MemoryStore"/>, SqliteStore, …), all held to the same contract test suite.
/// </summary>
/// <remarks>
/// Engines never know about protocols. Every method is safe to call concurrently. An append completes
/// only once its messages are durable (for the embedded engine: committed and fsync'd).
/// </remarks>
public interface IStore : IAsyncDisposable
{
    /// <summary>
    /// Sets who hears about commits. Called once, before <see cref="OpenAsync"/>. The listener is called
    /// in commit order for each topic, before the appends' tasks complete, and must not block.
    /// </summary>
    void SetListener(IStoreListener listener);

    /// <summary>Opens (creating if needed) and checks the store; throws <see cref="StoreCorruptException"/> when it cannot be trusted.</summary>
    Task OpenAsync(CancellationToken cancellationToken);

    /// <summary>Appends messages to a topic atomically; all or none get offsets.</summary>
    /// <remarks>The store copies the payloads before this method returns, so callers may reuse their buffers
    /// as soon as it returns, even if they stop waiting for the task.</remarks>
    /// <exception cref="TopicNotFoundException">The topic does not exist and <see cref="AppendRequest.CreateTopic"/> is null.</exception>
    /// <exception cref="SwitchboardException"><see cref="ErrorCode.IdempotencyKeyReused"/> when the key was used for a different request.</exception>
    Task<AppendResult> AppendAsync(AppendRequest request, CancellationToken cancellationToken);

    /// <summary>A topic's configuration and statistics, or null.</summary>
    Task<TopicInfo?> GetTopicAsync(string topic, CancellationToken cancellationToken);

    /// <summary>Topics in name order whose names start with <paramref name="prefix"/>, after <paramref name="afterName"/>.</summary>
    Task<TopicPage> ListTopicsAsync(string? prefix, string? afterName, int limit, CancellationToken cancellationToken);

    /// <summary>Creates a topic or replaces its configuration (its messages and epoch stay).</summary>
    /// <param name="topic">The topic.</param>
    /// <param name="config">The whole new configuration.</param>
    /// <param name="expectedConfigVersion">When set, replace only if the current version still equals it; otherwise
    /// <see cref="ErrorCode.PreconditionFailed"/>. Use 0 to require that the topic does not exist yet.</param>
    /// <param name="cancellationToken">Cancels the wait (not a committed change).</param>
    Task<PutTopicResult> PutTopicAsync(string topic, TopicConfig config, long? expectedConfigVersion, CancellationToken cancellationToken);

    /// <summary>Deletes a topic, its messages and its idempotency keys. Returns what was deleted, or null if there was nothing.</summary>
    /// <param name="topic">The topic.</param>
    /// <param name="expectedConfigVersion">When set, delete only if the topic's configuration version still equals it;
    /// otherwise <see cref="ErrorCode.PreconditionFailed"/> (a topic that does not exist is still null).</param>
    /// <param name="cancellationToken">Cancels the wait (not a committed change).</param>
    Task<TopicInfo?> DeleteTopicAsync(string topic, long? expectedConfigVersion, CancellationToken cancellationToken);

    /// <summary>
    /// Reads up to <paramref name="limit"/> messages with offsets greater than <paramref name="afterOffset"/>,
    /// together with the topic's state at the same instant.
    /// </summary>
    Task<ReadResult> ReadAsync(string topic, long afterOffset, int limit, CancellationToken cancellationToken);

    /// <summary>
    /// Why the engine cannot serve right now (a shared engine whose server is unreachable, an embedded engine whose
    /// disk failed a flush), or null when it can.
    /// Cheap: readiness probes read it.
    /// </summary>
    string? Unavailable => null;

    /// <summary>The queues of this engine (the other half of the store seam).</summary>
    IQueueStore Queues { get; }

    /// <summary>Drops messages past their topic's age limit and idempotency keys past their window.</summary>
    /// <returns>The number of messages dropped.</returns>
    Task<long> SweepAsync(DateTimeOffset now, CancellationToken cancellationToken);
}

/// <summary>Hears about commits, in commit order per topic (see <see cref="IStore.SetListener"/>).</summary>
public interface IStoreListener
{
    /// <summary>Messages were committed.</summary>
    void OnAppended(AppendResult result);

    /// <summary>A topic was deleted; the epoch is the incarnation that ended.</summary>
    void OnTopicDeleted(string topic, string epoch);

    /// <summary>Messages became visible in a queue (sent, nacked, redriven): waiting receives should look.</summary>
    void OnEnqueued(string queue)
    {
    }

    /// <summary>A request got its reply.</summary>
    void OnReplied(string replyId)
    {
    }

    /// <summary>
    /// <paramref name="dropped"/> of a queue's oldest dead letters were dropped to keep within its maxDeadLetters
    /// (<paramref name="total"/> since the queue was created). Called on the engine's thread, maybe under its lock: log, do not wait.
    /// </summary>
    void OnDeadLettersDropped(string queue, long dropped, long total)
    {
    }
}

/// <summary>What to append.</summary>
/// <param name="Topic">A valid topic name.</param>
/// <param name="Messages">At least one message, each already checked against the hub's limits.</param>
public sealed record AppendRequest(string Topic, IReadOnlyList<MessageDraft> Messages)
{
    /// <summary>When set, a topic that does not exist is created with this configuration; when null, a missing topic is an error.</summary>
    public TopicConfig? CreateTopic { get; init; }

    /// <summary>When set, a retry with the same key returns the first result instead of appending again.</summary>
    public IdempotencyToken? Idempotency { get; init; }

    /// <summary>The timestamp to stamp on the messages (the hub's clock, so every engine agrees).</summary>
    public required DateTimeOffset Timestamp { get; init; }
}

/// <summary>An idempotency key, the fingerprint of the request it guards, and how long it is remembered.</summary>
/// <param name="Key">The client's key (scoped to the topic or queue, and to <paramref name="Principal"/>), as errors quote it.</param>
/// <param name="Fingerprint">A hash of the request's content; the same key with another fingerprint is refused.</param>
/// <param name="ExpiresAt">When the key is forgotten.</param>
/// <param name="Principal">
/// Who sent it (null when authentication is off). Keys are scoped per principal, as mature APIs scope them per account:
/// another principal's key, however predictable, neither replays nor refuses this one's request.
/// </param>
public sealed record IdempotencyToken(string Key, string Fingerprint, DateTimeOffset ExpiresAt, string? Principal = null)
{
    /// <summary>
    /// What an engine remembers the key under: <see cref="Key"/> alone without a principal (as every key was stored before
    /// keys were scoped), else the key, a space (never in a key: visible ASCII only) and the principal.
    /// </summary>
    public string StoredKey => Principal is null ? Key : Key + " " + Principal;
}

/// <summary>What an append did.</summary>
public sealed record AppendResult
{
    /// <summary>The topic.</summary>
    public required string Topic { get; init; }

    /// <summary>The topic's incarnation the messages went into.</summary>
    public required string Epoch { get; init; }

    /// <summary>The first offset assigned; the rest follow without gaps.</summary>
    public required long FirstOffset { get; init; }

    /// <summary>How many messages were appended.</summary>
    public required int Count { get; init; }

    /// <summary>The messages' timestamp.</summary>
    public required DateTimeOffset Timestamp { get; init; }

    /// <summary>True when this is the remembered result of an earlier append with the same idempotency key (nothing new stored).</summary>
    public bool Replayed { get; init; }

    /// <summary>True when the append created the topic.</summary>
    public bool CreatedTopic { get; init; }

    /// <summary>The stored messages (empty when <see cref="Replayed"/>).</summary>
    public IReadOnlyList<Message> Messages { get; init; } = [];

    /// <summary>The last offset assigned.</summary>
    public long LastOffset => FirstOffset + Count - 1;
}

/// <summary>What a put did.</summary>
/// <param name="Topic">The topic as it now is.</param>
/// <param name="Created">True when the topic did not exist before.</param>
public sealed record PutTopicResult(TopicInfo Topic, bool Created);

/// <summary>Messages read from a topic, with the topic's state at the same instant.</summary>
/// <param name="Topic">The topic, or null when it does not exist.</param>
/// <param name="Messages">The messages in offset order.</param>
public sealed record ReadResult(TopicInfo? Topic, IReadOnlyList<Message> Messages);
