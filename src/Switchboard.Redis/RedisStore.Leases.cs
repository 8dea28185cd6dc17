using System.Globalization;
using StackExchange.Redis;
using Switchboard.Core;
using Switchboard.Core.Engines;

namespace Switchboard.Redis;

public sealed partial class RedisStore
{
    private sealed partial class RedisQueueStore
    {
        public async Task AckAsync(string queue, long id, string lease, DateTimeOffset now, CancellationToken cancellationToken)
            => Check(await store.EvalAsync(RedisScripts.Ack, [Prefix, queue, id, lease, RedisTime.Micros(now)]));

        public async Task<NackResult> NackAsync(string queue, long id, string lease, TimeSpan? delay, string? error, DateTimeOffset now, CancellationToken cancellationToken)
        {
            var reply = Check(await store.EvalAsync(RedisScripts.Nack,
                [Prefix, queue, id, lease, RedisTime.Micros(now), delay is { } d ? RedisTime.Micros(d) : "", error is null ? 0 : 1, error ?? ""]));
            store._listener?.OnEnqueued(queue);
            if ((long)reply[1] == 1)
            {
                ReportDropped(queue, reply, 3);
                return new NackResult(true, null);
            }
            return new NackResult(false, RedisTime.FromMicros((long)reply[2]));
        }

        public async Task<int> ReleaseAsync(string queue, IReadOnlyList<(long Id, string Lease)> leases, DateTimeOffset now, CancellationToken cancellationToken)
        {
            ArgumentNullException.ThrowIfNull(leases);
            var args = new List<RedisValue>(4 + 2 * leases.Count) { Prefix, queue, RedisTime.Micros(now), leases.Count };
            foreach (var (id, lease) in leases)
            {
                args.Add(id);
                args.Add(lease);
            }
            var reply = await store.EvalAsync(RedisScripts.Release, [.. args]);
            if ((string?)reply[0] != "ok")
            {
                return 0; // the queue was deleted meanwhile, and its messages with it
            }
            var released = (int)reply[1];
            if (released > 0)
            {
                store._listener?.OnEnqueued(queue);
            }
            return released;
        }

        public async Task<DateTimeOffset> ExtendAsync(string queue, long id, string lease, TimeSpan by, DateTimeOffset now, CancellationToken cancellationToken)
        {
            var reply = Check(await store.EvalAsync(RedisScripts.Extend, [Prefix, queue, id, lease, RedisTime.Micros(now), RedisTime.Micros(by)]));
            return RedisTime.FromMicros((long)reply[1]);
        }

        public async Task<QueuePeekPage> PeekAsync(string queue, QueuePeekStates states, long afterId, int limit, DateTimeOffset now, CancellationToken cancellationToken)
        {
            var reply = Check(await store.EvalAsync(RedisScripts.Peek, [Prefix, queue, (int)states, afterId, limit + 1, RedisTime.Micros(now)]));
            var list = reply[1];
            var messages = new List<QueueMessage>(list.Length);
            for (var i = 0; i < list.Length; i++)
            {
                messages.Add(ParsePeeked(queue, list[i]));
            }
            var more = messages.Count > limit;
            if (more)
            {
                messages.RemoveAt(messages.Count - 1);
            }
            return new QueuePeekPage(messages, more && messages.Count > 0 ? messages[^1].Id : null);
        }

        // {id, record, state, attempts, lease end, visible at, last error}
        private static QueueMessage ParsePeeked(string queue, RedisResult view)
        {
            var id = (long)view[0];
            var (draft, enqueuedAt) = RedisCodec.DecodeQueueBody(queue, id, (byte[])view[1]!);
            var entry = new QueueEntry
            {
                Id = id,
                EnqueuedAt = enqueuedAt,
                Attempts = (int)view[3],
                LeaseExpiresAt = view[4].IsNull ? null : RedisTime.FromMicros((long)view[4]),
                VisibleAt = RedisTime.FromMicros((long)view[5]),
                LastError = (string?)view[6],
            };
            return QueueMessages.Peeked(queue, entry, draft, (QueueMessageState)(int)view[2]);
        }

        public async Task<DeadLetterPage> ListDeadLettersAsync(string queue, long afterId, int limit, CancellationToken cancellationToken)
        {
            var reply = Check(await store.EvalAsync(RedisScripts.DeadLetters, [Prefix, queue, afterId, limit + 1]));
            var letters = ParseMessages(queue, reply[1]);
            var more = letters.Count > limit;
            if (more)
            {
                letters.RemoveAt(letters.Count - 1);
            }
            return new DeadLetterPage(letters, more && letters.Count > 0 ? letters[^1].Id : null);
        }

        public async Task<long> RedriveAsync(string queue, long? id, DateTimeOffset now, CancellationToken cancellationToken)
        {
            var reply = Check(await store.EvalAsync(RedisScripts.Redrive, [Prefix, queue, id is { } one ? one : "", RedisTime.Micros(now)]));
            store._listener?.OnEnqueued(queue);
            return (long)reply[1];
        }

        public async Task<long> PurgeDeadLettersAsync(string queue, CancellationToken cancellationToken)
            => (long)Check(await store.EvalAsync(RedisScripts.PurgeDead, [Prefix, queue]))[1];

        public async Task<IReadOnlyList<QueueBinding>> ListBindingsAsync(CancellationToken cancellationToken)
        {
            var members = await store.Run(db => db.SortedSetRangeByRankAsync(store._options.Prefix + ":bindings"));
            return [.. members.Select(m => (string)m!).Select(m => new QueueBinding(m[..m.IndexOf(' ', StringComparison.Ordinal)], m[(m.IndexOf(' ', StringComparison.Ordinal) + 1)..]))];
        }

        public async Task<bool> PutBindingAsync(QueueBinding binding, DateTimeOffset now, CancellationToken cancellationToken)
        {
            ArgumentNullException.ThrowIfNull(binding);
            var args = new RedisValue[10];
            args[0] = Prefix;
            args[1] = binding.Pattern;
            args[2] = binding.Queue;
            SetQueueConfig(args, 3, QueueConfig.Default);
            args[8] = now.UtcTicks;
            args[9] = store._options.MaxQueues ?? 0;
            var reply = await store.EvalAsync(RedisScripts.PutBinding, args);
            return (long)(reply.Resp2Type == ResultType.Array ? Check(reply) : reply) == 1; // an array only when refused
        }

        public async Task<bool> DeleteBindingAsync(QueueBinding binding, CancellationToken cancellationToken)
        {
            ArgumentNullException.ThrowIfNull(binding);
            return (long)await store.EvalAsync(RedisScripts.DeleteBinding, [Prefix, binding.Pattern, binding.Queue]) == 1;
        }

        public async Task<ReplyRecord?> GetReplyAsync(string id, CancellationToken cancellationToken)
        {
            var values = await store.Run(db => db.HashGetAsync(store._options.Prefix + ":r:" + id, ReplyFields));
            if (values[0].IsNull)
            {
                return null;
            }
            return new ReplyRecord
            {
                Id = id,
                Queue = (string)values[0]!,
                MessageId = values[1].IsNull ? null : (long)values[1],
                Requester = values[5].IsNull ? null : (string?)values[5], // none on slots stored before requesters were
                ExpiresAt = RedisTime.FromTicks((long)values[2]),
                RepliedAt = values[3].IsNull ? null : RedisTime.FromTicks((long)values[3]),
                Reply = values[4].IsNull ? null : RedisCodec.DecodeReply(id, (byte[])values[4]!),
            };
        }

        private static readonly RedisValue[] ReplyFields = ["queue", "msg", "expt", "at", "reply", "who"];

        public async Task<ReplyRecord> PostReplyAsync(string id, MessageDraft reply, string? lease, DateTimeOffset now, CancellationToken cancellationToken)
        {
            ArgumentNullException.ThrowIfNull(reply);
            var record = RedisCodec.EncodeReply(now, reply); // copied before the call returns, like every payload
            var result = await store.EvalAsync(RedisScripts.PostReply,
                [Prefix, id, RedisTime.Micros(now), lease is null ? 0 : 1, lease ?? "", record, now.UtcTicks]);
            switch ((string?)result[0])
            {
                case "reply-not-found":
                    QueueEngine.CheckReply(null, id, now); // throws ReplyNotFound
                    throw new System.Diagnostics.UnreachableException();
                case "reply-refused":
                    var refused = Slot(id, result[1], answered: true);
                    QueueEngine.CheckReply(refused, id, now);
                    QueueEngine.RequestMessageId(refused);
                    // The script saw the wait over (in microseconds) where the ticks do not: it is over.
                    throw QueueEngine.TooLate(id, refused.ExpiresAt);
            }
            Check(result);
            store._listener?.OnReplied(id);
            return Slot(id, result[1], answered: false);
        }

        // {queue, msg, expires ticks, replied ticks}
        private static ReplyRecord Slot(string id, RedisResult slot, bool answered) => new()
        {
            Id = id,
            Queue = (string)slot[0]!,
            MessageId = slot[1].IsNull ? null : (long)slot[1],
            ExpiresAt = RedisTime.FromTicks(long.Parse((string)slot[2]!, CultureInfo.InvariantCulture)),
            RepliedAt = slot[3].IsNull ? null : RedisTime.FromTicks(long.Parse((string)slot[3]!, CultureInfo.InvariantCulture)),
            // Only to let QueueEngine.CheckReply tell "already answered" apart; never returned.
            Reply = answered && !slot[3].IsNull ? new MessageDraft() : null,
        };

        /// <summary>Throws what a script refused, in the words the other engines use; returns an accepted reply.</summary>
        private static RedisResult Check(RedisResult reply)
        {
            switch ((string?)reply[0])
            {
                case "queue-not-found":
                    throw QueueEngine.NotFound((string)reply[1]!);
                case "queue-limit":
                    throw QueueEngine.LimitReached((string)reply[1]!, (long)reply[2]);
                case "queue-full":
                    throw QueueFull(reply);
                case "lease-error":
                    throw LeaseRefused(reply);
                case "no-dead-letter":
                    var queue = (string?)reply[1];
                    throw new SwitchboardException(ErrorCode.MessageNotFound, $"Queue '{queue}' has no dead letter {(string?)reply[2]}; GET /v1/queues/{queue}/dead-letters lists them.");
                default:
                    return reply;
            }
        }

        /// <summary>Dead letters a script dropped past maxDeadLetters (its reply's dropped count at <paramref name="at"/>, then the total), for the hub's log.</summary>
        private void ReportDropped(string queue, RedisResult reply, int at)
        {
            if (reply.Length > at + 1 && (long)reply[at] is > 0 and var dropped)
            {
                store._listener?.OnDeadLettersDropped(queue, dropped, (long)reply[at + 1]);
            }
        }

        // {'lease-error', kind, queue, id, attempts | lease end}: QueueBook.Held's refusals.
        private static SwitchboardException LeaseRefused(RedisResult reply)
        {
            var queue = (string?)reply[2];
            var id = (string?)reply[3];
            return (string?)reply[1] switch
            {
                "never" => new SwitchboardException(ErrorCode.MessageNotFound, $"Queue '{queue}' never had a message {id}: use the id of a message you received."),
                "gone" => new SwitchboardException(ErrorCode.LeaseMismatch, $"Message {id} of queue '{queue}' is not leased any more: it was acked, or moved to the dead letters."),
                "other" => new SwitchboardException(ErrorCode.LeaseMismatch, QueueBook.WrongLease(id ?? "?", (long)reply[4])),
                "expired" => new SwitchboardException(ErrorCode.LeaseExpired,
                    $"The lease on message {id} ran out at {RedisTime.FromMicros((long)reply[4]):O}; it will be delivered again. Extend leases before they run out (or receive with a longer lease)."),
                _ => new SwitchboardException(ErrorCode.LeaseMismatch, $"Message {id} of queue '{queue}' is not leased (its lease ran out or it was nacked); it will be delivered again."),
            };
        }
    }

    // {'queue-full', queue, length, max, n}: QueueEngine.Full, from the script that refused the write.
    private static SwitchboardException QueueFull(RedisResult reply)
        => QueueEngine.Full((string)reply[1]!, (long)reply[2], (long)reply[3], (int)reply[4]);

    /// <summary>Runs one plain command, mapping an outage to <see cref="ErrorCode.StorageUnavailable"/>.</summary>
    private async Task<T> Run<T>(Func<IDatabase, Task<T>> command)
    {
        try
        {
            return Succeeded(await command(Database));
        }
        catch (Exception ex) when (IsOutage(ex))
        {
            throw OutageError(ex);
        }
    }
}
