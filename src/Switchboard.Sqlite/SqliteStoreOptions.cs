namespace Switchboard.Sqlite;

/// <summary>Settings of the embedded engine (configuration section <c>Switchboard:Sqlite</c>).</summary>
public sealed class SqliteStoreOptions
{
    /// <summary>The folder that holds the database (created if missing). Default <c>./switchboard-data</c>.</summary>
    public string DataDirectory { get; set; } = "switchboard-data";

    /// <summary>
    /// Most messages committed in one transaction. Group commit takes whatever is queued up to this bound:
    /// 4,096 × ~256 B is a ~1 MiB transaction, large enough that one fsync serves many publishers and small
    /// enough that a batch's latency stays in single milliseconds on SSDs.
    /// </summary>
    public int MaxBatchMessages { get; set; } = 4096;

    /// <summary>Most payload bytes committed in one transaction (bounds the WAL growth of one commit). 16 MiB.</summary>
    public long MaxBatchBytes { get; set; } = 16L * 1024 * 1024;

    /// <summary>
    /// Requests queued for the writer before publishers wait for room. 16,384 requests is far beyond what one
    /// commit drains, so it only bites under sustained overload, where waiting (backpressure) is the right answer.
    /// </summary>
    public int QueueCapacity { get; set; } = 16_384;

    /// <summary>
    /// Payload bytes queued for the writer above which new messages are refused (503 overloaded, Retry-After) instead
    /// of waiting: 256 MiB is seconds of work even on a slow disk, and bounds what a flood of large messages can make
    /// the hub hold. Acks and other changes that carry no payload still queue (they are what drains the backlog).
    /// </summary>
    public long MaxQueuedBytes { get; set; } = 256L * 1024 * 1024;

    /// <summary>The most topics the store creates, its internal <c>$</c> topics aside (<c>Switchboard:Topics:MaxCount</c>, see <see cref="Core.Engines.TopicLimit"/>); null: no limit.</summary>
    public long? MaxTopics { get; set; }

    /// <summary>The most queues the store creates (<c>Switchboard:Queues:MaxCount</c>, see <see cref="Core.Engines.QueueEngine.LimitReached"/>); null: no limit.</summary>
    public long? MaxQueues { get; set; }

    /// <summary>
    /// Read-only connections open at once, at most (<c>Switchboard:Sqlite:MaxReaders</c>, 1–256): reads run concurrently
    /// on them, each in its own snapshot, and a read past this many waits for one to be free (asynchronously, bounded by
    /// its caller's cancellation). A reader holds up to <see cref="DescriptorsPerReader"/> file descriptors and a page
    /// cache, and blocks its thread for the read: the default, twice the processors (at least 4, at most 256), keeps every
    /// core busy with reads while one waits on the disk, and stays far below the open-file limit, which the hub's
    /// connection budget reserves these descriptors from.
    /// </summary>
    public int MaxReaders { get; set; } = DefaultMaxReaders;

    /// <summary>The default of <see cref="MaxReaders"/> on this machine: twice the processors, from 4 to 256.</summary>
    public static int DefaultMaxReaders => Math.Clamp(2 * Environment.ProcessorCount, 4, MaxReadersLimit);

    /// <summary>The largest <see cref="MaxReaders"/> accepted.</summary>
    public const int MaxReadersLimit = 256;

    /// <summary>
    /// File descriptors one reader may hold: the database, its write-ahead log and its shared-memory index (SQLite shares
    /// the last among a process's connections, so this counts high).
    /// </summary>
    public const int DescriptorsPerReader = 3;

    /// <summary>The queues' default limits (<c>Switchboard:Queues:MaxLength</c>, <c>Switchboard:Queues:MaxDeadLetters</c>), for queues that set none.</summary>
    public Core.QueueLimits QueueLimits { get; set; } = Core.QueueLimits.Default;

    /// <summary>Run SQLite's <c>quick_check</c> on open (O(database size); turn off only for huge, trusted databases).</summary>
    public bool CheckOnOpen { get; set; } = true;

    /// <summary>Tests only: runs on the sync stage before each flush of the log (to hold a flush back, or fail it).</summary>
    internal Action? BeforeSync { get; set; }
}
