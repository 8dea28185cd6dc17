using Switchboard.Core;
using Switchboard.Core.Engines;

namespace Switchboard.Sqlite;

public sealed partial class SqliteStore
{
    /// <inheritdoc />
    public IQueueStore Queues => _queueStore ??= new SqliteQueueStore(this);

    private SqliteQueueStore? _queueStore;

    /// <summary>Every queue call is a request to the writer thread: it reads and changes the in-memory books and the database in one transaction.</summary>
    private sealed class SqliteQueueStore(SqliteStore store) : IQueueStore
    {
        private Task<T> Run<T>(Func<SqliteWriter, T> run, CancellationToken cancellationToken) => store.Writer.EnqueueAsync(new QueueOp<T>(run), cancellationToken);

        public Task<PutQueueResult> PutQueueAsync(string queue, QueueConfig config, long? expectedConfigVersion, DateTimeOffset now, CancellationToken cancellationToken)
            => Run(w => w.PutQueue(queue, config, expectedConfigVersion, now), cancellationToken);

        public Task<QueueInfo?> GetQueueAsync(string queue, DateTimeOffset now, CancellationToken cancellationToken)
            => Run(w => w.GetQueue(queue, now), cancellationToken);

        public Task<QueuePage> ListQueuesAsync(string? prefix, string? afterName, int limit, DateTimeOffset now, CancellationToken cancellationToken)
            => Run(w => w.ListQueues(prefix, afterName, limit, now), cancellationToken);

        public Task<QueueInfo?> DeleteQueueAsync(string queue, long? expectedConfigVersion, DateTimeOffset now, CancellationToken cancellationToken)
            => Run(w => w.DeleteQueue(queue, expectedConfigVersion, now), cancellationToken);

        public Task<EnqueueResult> EnqueueAsync(EnqueueRequest request, CancellationToken cancellationToken)
            => store.Writer.EnqueueAsync(new EnqueueOp(request), cancellationToken);

        public ParkedLease? Park(string queue, int max, TimeSpan? lease) => store.Writer.Parked.Park(queue, max, lease);

        // A lease is answered at its commit, like a lease handed to a parked receive (see WalSync).
        public Task<LeaseResult> LeaseAsync(string queue, int max, TimeSpan? lease, DateTimeOffset now, CancellationToken cancellationToken)
            => store.Writer.EnqueueAsync(new QueueOp<LeaseResult>(w => w.Lease(queue, max, lease, now), answersAtCommit: true), cancellationToken);

        public Task AckAsync(string queue, long id, string lease, DateTimeOffset now, CancellationToken cancellationToken)
            => Run(w =>
            {
                w.Ack(queue, id, lease, now);
                return true;
            }, cancellationToken);

        public Task<NackResult> NackAsync(string queue, long id, string lease, TimeSpan? delay, string? error, DateTimeOffset now, CancellationToken cancellationToken)
            => Run(w => w.Nack(queue, id, lease, delay, error, now), cancellationToken);

        // Answered at its commit, like a lease: it only gives work back (a power cut before the flush leaves the messages
        // leased until their leases run out, as without it).
        public Task<int> ReleaseAsync(string queue, IReadOnlyList<(long Id, string Lease)> leases, DateTimeOffset now, CancellationToken cancellationToken)
            => store.Writer.EnqueueAsync(new QueueOp<int>(w => w.Release(queue, leases, now), answersAtCommit: true), cancellationToken);

        public Task<DateTimeOffset> ExtendAsync(string queue, long id, string lease, TimeSpan by, DateTimeOffset now, CancellationToken cancellationToken)
            => Run(w => w.Extend(queue, id, lease, by, now), cancellationToken);

        public Task<QueuePeekPage> PeekAsync(string queue, QueuePeekStates states, long afterId, int limit, DateTimeOffset now, CancellationToken cancellationToken)
            => Run(w => w.Peek(queue, states, afterId, limit, now), cancellationToken);

        public Task<DeadLetterPage> ListDeadLettersAsync(string queue, long afterId, int limit, CancellationToken cancellationToken)
            => Run(w => w.DeadLetters(queue, afterId, limit), cancellationToken);

        public Task<long> RedriveAsync(string queue, long? id, DateTimeOffset now, CancellationToken cancellationToken)
            => Run(w => w.Redrive(queue, id, now), cancellationToken);

        public Task<long> PurgeDeadLettersAsync(string queue, CancellationToken cancellationToken)
            => Run(w => w.PurgeDead(queue), cancellationToken);

        public Task<IReadOnlyList<QueueBinding>> ListBindingsAsync(CancellationToken cancellationToken)
            => Run(w => w.Bindings(), cancellationToken);

        public Task<bool> PutBindingAsync(QueueBinding binding, DateTimeOffset now, CancellationToken cancellationToken)
            => Run(w => w.PutBinding(binding, now), cancellationToken);

        public Task<bool> DeleteBindingAsync(QueueBinding binding, CancellationToken cancellationToken)
            => Run(w => w.DeleteBinding(binding), cancellationToken);

        // Read on a reader connection, not queued behind the writer's commits: a requester woken by its reply reads it at once.
        public Task<ReplyRecord?> GetReplyAsync(string id, CancellationToken cancellationToken)
        {
            if (store._replies.TryGet(id, out var recent))
            {
                return Task.FromResult<ReplyRecord?>(recent);
            }
            return store.OnReaderAsync(id, static (connection, id) => SqliteWriter.ReadReply(connection, id), cancellationToken);
        }

        public Task<ReplyRecord> PostReplyAsync(string id, MessageDraft reply, string? lease, DateTimeOffset now, CancellationToken cancellationToken)
        {
            var payload = reply.Payload.ToArray(); // copied before queueing, like every payload
            return Run(w => w.PostReply(id, reply, payload, lease, now), cancellationToken);
        }
    }
}
