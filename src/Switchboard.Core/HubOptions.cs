namespace Switchboard.Core;

/// <summary>The hub's limits and defaults (configuration section <c>Switchboard</c>).</summary>
public sealed class HubOptions
{
    /// <summary>Largest message (payload + key + headers). 1 MiB: what NATS and most brokers default to; bigger blobs belong in object storage.</summary>
    public long MaxMessageBytes { get; set; } = 1024 * 1024;

    /// <summary>Most messages in one publish request. 1,000 keeps one batch's commit well under a second on slow disks.</summary>
    public int MaxBatchMessages { get; set; } = 1000;

    /// <summary>How long an idempotency key is remembered. Two minutes covers client retry loops with backoff (as Stripe-style APIs do for in-flight retries).</summary>
    public TimeSpan IdempotencyWindow { get; set; } = TimeSpan.FromMinutes(2);

    /// <summary>Whether publishing to a topic that does not exist creates it.</summary>
    public bool AutoCreateTopics { get; set; } = true;

    /// <summary>
    /// The most topics the hub holds, not counting its own <c>$</c> topics (<see cref="Engines.TopicLimit"/>); null: no limit.
    /// 100,000: far beyond what one application names by hand, with room for a topic per user or device of a mid-sized
    /// service, while a client publishing to t-1, t-2, … cannot make the hub hold topics (a row each, and the SQLite
    /// engine's state of each in memory) until it runs out. Like RabbitMQ's max-queues per virtual host and NATS
    /// JetStream's max streams per account, an operator raises it on purpose.
    /// </summary>
    public long? MaxTopics { get; set; } = 100_000;

    /// <summary>Whether sending to a missing queue creates it (with the default settings).</summary>
    public bool AutoCreateQueues { get; set; } = true;

    /// <summary>
    /// The most queues the hub holds (<see cref="Engines.QueueEngine.LimitReached"/>); null: no limit. 100,000, as for
    /// topics: a send to q-1, q-2, … creates a queue each (a row, and the SQLite engine's book of each in memory).
    /// </summary>
    public long? MaxQueues { get; set; } = 100_000;

    /// <summary>
    /// The queues' default limits, for queues whose configuration sets no maxLength / maxDeadLetters
    /// (<c>Switchboard:Queues:MaxLength</c>, default 1,000,000 messages; <c>Switchboard:Queues:MaxDeadLetters</c>, default
    /// 100,000; see <see cref="QueueLimits.Default"/> for why). Null in either: no limit. The engines apply them (each
    /// checks where it writes), so the host gives them to the engine it makes, as it does <see cref="MaxQueues"/>.
    /// </summary>
    public QueueLimits QueueLimits { get; set; } = QueueLimits.Default;

    /// <summary>Retention for topics created without a configuration.</summary>
    public RetentionPolicy DefaultRetention { get; set; } = new(MaxMessages: null, MaxAge: TimeSpan.FromDays(7), MaxBytes: 1L << 30);

    /// <summary>How often age-based retention and expired idempotency keys are swept.</summary>
    public TimeSpan RetentionSweepInterval { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Most messages one history read returns.</summary>
    public int MaxReadLimit { get; set; } = 1000;

    /// <summary>Longest long-poll wait. 60 s stays under the idle timeouts of common proxies and load balancers.</summary>
    public TimeSpan MaxWait { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>Whether joins and leaves are published on <c>$presence.TOPIC</c> topics.</summary>
    public bool PresenceEvents { get; set; } = true;

    /// <summary>
    /// How long a snapshot of a multi-topic stream's positions is kept (<see cref="TopicName.ResumeSnapshots"/>): a client
    /// away longer cannot resume from it exactly and is told so. An hour covers a laptop's sleep or a network change; a
    /// live stream takes a fresh snapshot once its current one is half this old, so its ids never point at a dropped one.
    /// </summary>
    public TimeSpan ResumeSnapshotRetention { get; set; } = TimeSpan.FromHours(1);

    /// <summary>At most this many snapshots are kept (the oldest go first); null: no limit but their age.</summary>
    public long? ResumeSnapshotMaxCount { get; set; }

    /// <summary>
    /// Managed memory above which new messages (publish, send, request) are refused with 503 overloaded while consumers
    /// are still served. Null: 75% of the memory the runtime may use (the container limit or the machine's memory), so the
    /// hub sheds load well before the operating system or a container runtime kills it.
    /// </summary>
    public long? MaxMemoryBytes { get; set; }

    /// <summary>Throws when a value is out of range, naming the setting.</summary>
    public void Validate()
    {
        static void Require(bool ok, string message)
        {
            if (!ok)
            {
                throw new ArgumentException(message);
            }
        }
        Require(MaxMessageBytes is >= 1 and <= 64L * 1024 * 1024, "Switchboard:MaxMessageBytes must be between 1 and 67108864 (64 MiB).");
        Require(MaxBatchMessages is >= 1 and <= 100_000, "Switchboard:MaxBatchMessages must be between 1 and 100000.");
        Require(IdempotencyWindow >= TimeSpan.FromSeconds(1) && IdempotencyWindow <= TimeSpan.FromDays(7), "Switchboard:IdempotencyWindow must be between 1s and 7d.");
        // At most a day: longer would keep expired idempotency keys and aged-out messages around for days (and the
        // sweeper's PeriodicTimer refuses periods past ~49 days, which would silently stop sweeping).
        Require(RetentionSweepInterval >= TimeSpan.FromMilliseconds(10) && RetentionSweepInterval <= TimeSpan.FromDays(1), "Switchboard:RetentionSweepInterval must be between 10ms and 1d.");
        Require(MaxReadLimit is >= 1 and <= 100_000, "Switchboard:MaxReadLimit must be between 1 and 100000.");
        Require(MaxWait >= TimeSpan.Zero && MaxWait <= TimeSpan.FromMinutes(10), "Switchboard:MaxWait must be between 0s and 10m.");
        Require(MaxMemoryBytes is null or >= 16L * 1024 * 1024, "Switchboard:Overload:MaxMemoryBytes must be at least 16777216 (16 MiB).");
        Require(ResumeSnapshotRetention >= TimeSpan.FromSeconds(2) && ResumeSnapshotRetention <= TimeSpan.FromDays(30), "Switchboard:Resume:SnapshotRetention must be between 2s and 30d.");
        Require(MaxTopics is null or >= 1, "Switchboard:Topics:MaxCount must be 1 or more (or unlimited).");
        Require(MaxQueues is null or >= 1, "Switchboard:Queues:MaxCount must be 1 or more (or unlimited).");
        Require(QueueLimits.MaxLength is null or (>= 1 and <= QueueConfig.MaxLimit), $"Switchboard:Queues:MaxLength must be from 1 to {QueueConfig.MaxLimit} (or unlimited).");
        Require(QueueLimits.MaxDeadLetters is null or (>= 1 and <= QueueConfig.MaxLimit), $"Switchboard:Queues:MaxDeadLetters must be from 1 to {QueueConfig.MaxLimit} (or unlimited).");
        Require(ResumeSnapshotMaxCount is null or >= 1, "Switchboard:Resume:SnapshotMaxCount must be 1 or more (or unlimited).");
        DefaultRetention.Validate();
    }
}
