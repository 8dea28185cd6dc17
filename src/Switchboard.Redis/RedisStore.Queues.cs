using StackExchange.Redis;
using Switchboard.Core;
using Switchboard.Core.Engines;
using Switchboard.Core.Security;

namespace Switchboard.Redis;

public sealed partial class RedisStore
{
    /// <summary>
    /// The queue half: every call is one script, so a lease taken through one node is acked through another. Receives
    /// that wait on an empty queue park with this node; a send from this node leases to them in its own script.
    /// </summary>
    private sealed partial class RedisQueueStore(RedisStore store) : IQueueStore
    {
        private RedisValue Prefix => store._options.Prefix;

        public ParkedLease? Park(string queue, int max, TimeSpan? lease) => store._parked.Park(queue, max, lease);

        public async Task<PutQueueResult> PutQueueAsync(string queue, QueueConfig config, long? expectedConfigVersion, DateTimeOffset now, CancellationToken cancellationToken)
        {
            ArgumentNullException.ThrowIfNull(config);
            var args = new RedisValue[11];
            args[0] = Prefix;
            args[1] = queue;
            SetQueueConfig(args, 2, config);
            args[7] = expectedConfigVersion is { } expected ? expected : "";
            args[8] = now.UtcTicks;
            args[9] = RedisTime.Micros(now);
            args[10] = store._options.MaxQueues ?? 0;
            var reply = Check(await store.EvalAsync(RedisScripts.PutQueue, args));
            if ((string?)reply[0] == "precondition")
            {
                throw QueueEngine.PreconditionFailed(queue, (long)reply[1], (long)reply[2]);
            }
            return new PutQueueResult(ParseQueueReporting(reply[2]), Created: (long)reply[1] == 1);
        }

        public async Task<QueueInfo?> GetQueueAsync(string queue, DateTimeOffset now, CancellationToken cancellationToken)
        {
            var reply = await store.EvalAsync(RedisScripts.QueueInfos, [Prefix, RedisTime.Micros(now), queue]);
            return reply.Length > 1 ? ParseQueueReporting(reply[1]) : null;
        }

        public async Task<QueuePage> ListQueuesAsync(string? prefix, string? afterName, int limit, DateTimeOffset now, CancellationToken cancellationToken)
        {
            var reply = await store.EvalAsync(RedisScripts.ListQueues, [Prefix, RedisTime.Micros(now), LexicalMin(prefix, afterName), prefix ?? "", limit + 1]);
            var queues = new List<QueueInfo>(reply.Length);
            for (var i = 0; i < reply.Length; i++)
            {
                queues.Add(ParseQueueReporting(reply[i]));
            }
            var more = queues.Count > limit;
            if (more)
            {
                queues.RemoveAt(queues.Count - 1);
            }
            return new QueuePage(queues, more && queues.Count > 0 ? queues[^1].Name : null);
        }

        public async Task<QueueInfo?> DeleteQueueAsync(string queue, long? expectedConfigVersion, DateTimeOffset now, CancellationToken cancellationToken)
        {
            RedisValue expected = expectedConfigVersion is { } version ? version : "";
            var reply = await store.EvalAsync(RedisScripts.DeleteQueue, [Prefix, queue, RedisTime.Micros(now), expected]);
            if ((string?)reply[0] == "precondition")
            {
                throw QueueEngine.PreconditionFailed(queue, (long)reply[1], (long)reply[2]);
            }
            return (string?)reply[0] == "ok" ? ParseQueueReporting(reply[1]) : null;
        }

        public async Task<EnqueueResult> EnqueueAsync(EnqueueRequest request, CancellationToken cancellationToken)
        {
            ArgumentNullException.ThrowIfNull(request);
            cancellationToken.ThrowIfCancellationRequested();
            var count = request.Messages.Count;
            var args = new List<RedisValue>(24 + count)
            {
                Prefix, request.Queue, request.CreateQueue is null ? -1 : store._options.MaxQueues ?? 0,
            };
            args.AddRange(QueueConfigValues(request.CreateQueue ?? QueueConfig.Default));
            args.Add(request.Timestamp.UtcTicks);
            args.Add(RedisTime.Micros(request.Timestamp));
            args.Add(RedisTime.Micros(request.Delay));
            args.Add(request.Idempotency?.StoredKey ?? "");
            args.Add(request.Idempotency?.Fingerprint ?? "");
            args.Add(request.Idempotency is { } token ? RedisTime.Micros(token.ExpiresAt) : 0);
            if (request.Reply is var (replyId, expiresAt))
            {
                args.AddRange([replyId, RedisTime.Micros(expiresAt), expiresAt.UtcTicks, RedisTime.Micros(expiresAt + QueueEngine.ReplyKeptFor)]);
            }
            else
            {
                args.AddRange(["", 0, 0, 0]);
            }
            args.Add(request.Requester ?? "");
            args.Add(count);
            foreach (var draft in request.Messages)
            {
                args.Add(RedisCodec.EncodeQueueBody(request.Timestamp, draft)); // our copy of the payload
            }

            // Receives parked here take what this send makes visible, leased in the send's own script.
            var claimed = request.Delay <= TimeSpan.Zero ? store._parked.Claim(request.Queue, count) : [];
            AddDemands(args, claimed);
            RedisResult reply;
            try
            {
                reply = await store.EvalAsync(RedisScripts.Enqueue, [.. args]);
                if ((string?)reply[0] == "idempotency-key-reused")
                {
                    throw QueueEngine.KeyReused(request.Queue, request.Idempotency!.Key); // the client's key, not the one stored
                }
                Check(reply);
            }
            catch
            {
                claimed.ForEach(c => c.Complete([])); // nothing was leased to them: they receive again
                throw;
            }
            if ((string?)reply[0] == "replay")
            {
                claimed.ForEach(c => c.Complete([]));
                return new EnqueueResult(request.Queue, (long)reply[1], (int)reply[2], Replayed: true, CreatedQueue: false);
            }
            for (var i = 0; i < claimed.Count; i++)
            {
                claimed[i].Complete(ParseMessages(request.Queue, reply[3 + i]));
            }
            ReportDropped(request.Queue, reply, 3 + claimed.Count); // a handoff's look at the queue dead-letters lapsed leases
            store._listener?.OnEnqueued(request.Queue);
            return new EnqueueResult(request.Queue, (long)reply[1], count, Replayed: false, CreatedQueue: (long)reply[2] == 1);
        }

        /// <summary>
        /// After a topic append enqueued <paramref name="available"/> messages through a binding: the receives parked on
        /// this node take them (a second script; the binding's fan-out happened in the append's). Never throws: the
        /// messages stay in the queue and the receives look again.
        /// </summary>
        public async Task HandOffAsync(string queue, int available, DateTimeOffset now)
        {
            var claimed = store._parked.Claim(queue, available);
            if (claimed.Count == 0)
            {
                return;
            }
            var args = new List<RedisValue> { Prefix, queue, RedisTime.Micros(now) };
            AddDemands(args, claimed);
            try
            {
                var reply = await store.EvalAsync(RedisScripts.HandOff, [.. args]);
                Check(reply);
                for (var i = 0; i < claimed.Count; i++)
                {
                    claimed[i].Complete(ParseMessages(queue, reply[1 + i]));
                }
                ReportDropped(queue, reply, 1 + claimed.Count);
            }
            catch (Exception ex)
            {
                // Whatever went wrong, the claimed receives are answered (empty: they look again) and the append that
                // triggered this has committed: it must not fail after its commit, or its client would retry a duplicate.
                RedisStoreLog.HandOffFailed(store._logger, queue, ex);
            }
            finally
            {
                claimed.ForEach(c => c.Complete([])); // no-op for those already completed
            }
        }

        private static void AddDemands(List<RedisValue> args, List<ParkedLease> claimed)
        {
            args.Add(claimed.Count);
            foreach (var receive in claimed)
            {
                args.Add(receive.Max);
                args.Add(receive.Lease is { } lease ? RedisTime.Micros(lease) : "");
            }
            args.Add(NewTokenBase());
        }

        public async Task<LeaseResult> LeaseAsync(string queue, int max, TimeSpan? lease, DateTimeOffset now, CancellationToken cancellationToken)
        {
            var reply = Check(await store.EvalAsync(RedisScripts.Lease,
                [Prefix, queue, max, lease is { } l ? RedisTime.Micros(l) : "", RedisTime.Micros(now), NewTokenBase()]));
            var next = reply[1].IsNull ? (DateTimeOffset?)null : RedisTime.FromMicros((long)reply[1]);
            ReportDropped(queue, reply, 3);
            return new LeaseResult(ParseMessages(queue, reply[2]), next);
        }

        // 12 random bytes, like QueueBook's tokens; the script appends each message's id.
        private static string NewTokenBase() => RandomTokens.NewBase64Url();

        /// <summary>
        /// <see cref="ParseQueue"/>, and the dead letters dropped by the look that made these stats (a lease that ran out on
        /// its last attempt dies there, and may push the oldest dead letters out) reported to the hub's log and metric.
        /// </summary>
        private QueueInfo ParseQueueReporting(RedisResult info)
        {
            var parsed = ParseQueue(info);
            if (info.Length > 11 && (long)info[11] is > 0 and var dropped)
            {
                store._listener?.OnDeadLettersDropped(parsed.Name, dropped, parsed.Stats.DeadDropped);
            }
            return parsed;
        }

        // {name, cfg, ver, created, ready, leased, delayed, dead, dropped, maxLength, maxDeadLetters (0: no limit), dropped by this look}
        private static QueueInfo ParseQueue(RedisResult info) => new(
            (string)info[0]!,
            StoredConfigJson.ReadQueue((string)info[1]!),
            (long)info[2],
            RedisTime.FromTicks((long)info[3]),
            new QueueStats((long)info[4], (long)info[5], (long)info[6], (long)info[7], (long)info[8]))
        {
            Limits = new QueueLimits(Limit((long)info[9]), Limit((long)info[10])),
        };

        private static long? Limit(long value) => value > 0 ? value : null;

        private static List<QueueMessage> ParseMessages(string queue, RedisResult list)
        {
            var messages = new List<QueueMessage>(list.Length);
            for (var i = 0; i < list.Length; i++)
            {
                messages.Add(ParseMessage(queue, list[i]));
            }
            return messages;
        }

        // {id, record, state, attempts, lease, lease end, last error, dead reason, dead at}
        private static QueueMessage ParseMessage(string queue, RedisResult view)
        {
            var id = (long)view[0];
            var (draft, enqueuedAt) = RedisCodec.DecodeQueueBody(queue, id, (byte[])view[1]!);
            var entry = new QueueEntry
            {
                Id = id,
                EnqueuedAt = enqueuedAt,
                State = (QueueMessageState)(int)view[2],
                Attempts = (int)view[3],
                Lease = (string?)view[4],
                LeaseExpiresAt = view[5].IsNull ? null : RedisTime.FromMicros((long)view[5]),
                LastError = (string?)view[6],
                DeadReason = (string?)view[7],
                DeadAt = view[8].IsNull ? null : RedisTime.FromMicros((long)view[8]),
            };
            return QueueMessages.From(queue, entry, draft);
        }
    }

    private static void SetQueueConfig(RedisValue[] args, int at, QueueConfig config) => QueueConfigValues(config).CopyTo(args, at);

    // What the scripts need of a queue's settings: cfg (exact, for the nodes), then lease, max attempts, backoff initial, max.
    private static RedisValue[] QueueConfigValues(QueueConfig config) =>
    [
        StoredConfigJson.Write(config), RedisTime.Micros(config.Lease), config.MaxAttempts,
        RedisTime.Micros(config.BackoffInitial), RedisTime.Micros(config.BackoffMax),
    ];
}
