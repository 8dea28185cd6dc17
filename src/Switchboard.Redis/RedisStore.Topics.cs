using System.Globalization;
using StackExchange.Redis;
using Switchboard.Core;
using Switchboard.Core.Engines;

namespace Switchboard.Redis;

public sealed partial class RedisStore
{
    // Topics and queues swept per script: bounds how long one sweep script holds Redis.
    private const int SweepBatch = 64;

    /// <inheritdoc />
    public async Task<AppendResult> AppendAsync(AppendRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        cancellationToken.ThrowIfCancellationRequested();
        var count = request.Messages.Count;
        var records = new byte[count][];
        var payloadStarts = new int[count];
        var args = new RedisValue[14 + 2 * count + 5];
        var config = request.CreateTopic;
        args[0] = _options.Prefix;
        args[1] = request.Topic;
        args[2] = config is null ? -1 : _options.MaxTopics ?? 0;
        args[3] = Core.Epoch.New();
        SetTopicConfig(args, 4, config ?? new TopicConfig(RetentionPolicy.Unlimited));
        args[8] = request.Timestamp.UtcTicks;
        args[9] = RedisTime.Micros(request.Timestamp);
        args[10] = request.Idempotency?.StoredKey ?? "";
        args[11] = request.Idempotency?.Fingerprint ?? "";
        args[12] = request.Idempotency is { } token ? RedisTime.Micros(token.ExpiresAt) : 0;
        args[13] = count;
        for (var i = 0; i < count; i++)
        {
            // The records are our copies: the caller may reuse its buffers once this method returns.
            records[i] = RedisCodec.EncodeMessage(request.Timestamp, request.Messages[i], out payloadStarts[i]);
            args[14 + 2 * i] = request.Messages[i].Size;
            args[15 + 2 * i] = records[i];
        }
        SetQueueConfig(args, 14 + 2 * count, QueueConfig.Default);

        var (result, bound) = await SequencedAsync<(AppendResult, string[])>(request.Topic, RedisScripts.Append, args, reply =>
        {
            switch ((string?)reply[0])
            {
                case "not-found":
                    throw new TopicNotFoundException(request.Topic);
                case "topic-limit":
                    throw TopicLimit.Reached(request.Topic, _options.MaxTopics ?? 0);
                case "queue-full":
                    throw QueueFull(reply);
                case "replay":
                    var replayed = IdempotencyReplay.Resolve(request.Topic, (string)reply[1]!, request.Idempotency!, (string)reply[2]!,
                        (long)reply[3], (int)reply[4], RedisTime.FromTicks(long.Parse((string)reply[5]!, CultureInfo.InvariantCulture)));
                    return ((replayed, Array.Empty<string>()), null);
            }
            var epoch = (string)reply[1]!;
            var first = (long)reply[2];
            var messages = new Message[count];
            for (var i = 0; i < count; i++)
            {
                var draft = request.Messages[i];
                messages[i] = new Message
                {
                    Topic = request.Topic,
                    Epoch = epoch,
                    Offset = first + i,
                    Timestamp = request.Timestamp,
                    Headers = draft.Headers,
                    Key = draft.Key,
                    Payload = records[i].AsMemory(payloadStarts[i]), // the record's copy, not the caller's buffer
                    ContentType = draft.ContentType,
                };
            }
            var appended = new AppendResult
            {
                Topic = request.Topic,
                Epoch = epoch,
                FirstOffset = first,
                Count = count,
                Timestamp = request.Timestamp,
                CreatedTopic = (long)reply[3] == 1,
                Messages = messages,
            };
            var queues = new string[reply.Length - 4];
            for (var i = 0; i < queues.Length; i++)
            {
                queues[i] = (string)reply[4 + i]!;
            }
            return ((appended, queues), () => _listener?.OnAppended(appended));
        });

        foreach (var queue in bound)
        {
            await _queues.HandOffAsync(queue, count, request.Timestamp);
            _listener?.OnEnqueued(queue);
        }
        return result;
    }

    /// <summary>
    /// Runs a script of <paramref name="topic"/> in its announcement order: <paramref name="accept"/> reads the reply
    /// (or throws what it refuses) and says what to announce; the call completes once that was announced. Every ticket is
    /// settled whatever happens, or the topic's later announcements would wait for it forever.
    /// </summary>
    private async Task<T> SequencedAsync<T>(string topic, string script, RedisValue[] args, Func<RedisResult, (T Result, Action? Announce)> accept)
    {
        for (var attempt = 1; ; attempt++)
        {
            var ticket = _sequencer.Issue(topic, () => Send(script, args, byText: attempt > 1));
            Action? announce = null;
            T result;
            try
            {
                RedisResult reply;
                try
                {
                    reply = Succeeded(await ticket.Call);
                }
                catch (RedisServerException ex) when (attempt == 1 && IsNoScript(ex))
                {
                    continue; // Redis restarted and forgot the script, which did not run; sent again with its text, it takes a new place
                }
                catch (Exception ex) when (IsOutage(ex))
                {
                    throw OutageError(ex);
                }
                (result, announce) = accept(reply);
            }
            finally
            {
                _sequencer.Settle(ticket, announce);
            }
            await ticket.Announced;
            return result;
        }
    }

    /// <inheritdoc />
    public async Task<TopicInfo?> GetTopicAsync(string topic, CancellationToken cancellationToken)
    {
        var values = await Run(db => db.HashGetAsync(_options.Prefix + ":t:" + topic, TopicFields));
        return values[0].IsNull ? null : ParseTopic(topic, RedisResult.Create(values, ResultType.Array));
    }

    private static readonly RedisValue[] TopicFields = ["epoch", "cfg", "ver", "created", "first", "last", "count", "bytes", "pub"];

    /// <inheritdoc />
    public async Task<TopicPage> ListTopicsAsync(string? prefix, string? afterName, int limit, CancellationToken cancellationToken)
    {
        var reply = await EvalAsync(RedisScripts.ListTopics, [_options.Prefix, LexicalMin(prefix, afterName), prefix ?? "", limit + 1]);
        var topics = new List<TopicInfo>(reply.Length / 2);
        for (var i = 0; i + 1 < reply.Length; i += 2)
        {
            topics.Add(ParseTopic((string)reply[i]!, reply[i + 1]));
        }
        var more = topics.Count > limit;
        if (more)
        {
            topics.RemoveAt(topics.Count - 1);
        }
        return new TopicPage(topics, more && topics.Count > 0 ? topics[^1].Name : null);
    }

    /// <summary>Where a lexical range of names starts: after <paramref name="afterName"/>, within <paramref name="prefix"/>.</summary>
    internal static string LexicalMin(string? prefix, string? afterName)
    {
        if (afterName is not null && (prefix is null || string.CompareOrdinal(afterName, prefix) >= 0))
        {
            return "(" + afterName;
        }
        return prefix is null ? "-" : "[" + prefix;
    }

    /// <inheritdoc />
    public async Task<PutTopicResult> PutTopicAsync(string topic, TopicConfig config, long? expectedConfigVersion, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(config);
        var now = _time.GetUtcNow();
        var args = new RedisValue[11];
        args[0] = _options.Prefix;
        args[1] = topic;
        args[2] = Core.Epoch.New();
        SetTopicConfig(args, 3, config);
        args[7] = expectedConfigVersion is { } expected ? expected : "";
        args[8] = now.UtcTicks;
        args[9] = RedisTime.Micros(now);
        args[10] = _options.MaxTopics ?? 0;
        var reply = await EvalAsync(RedisScripts.PutTopic, args);
        switch ((string?)reply[0])
        {
            case "precondition":
                throw PreconditionFailed(topic, (long)reply[1], (long)reply[2]);
            case "topic-limit":
                throw TopicLimit.Reached(topic, _options.MaxTopics ?? 0);
        }
        return new PutTopicResult(ParseTopic(topic, reply[2]), Created: (long)reply[1] == 1);
    }

    /// <inheritdoc />
    public async Task<TopicInfo?> DeleteTopicAsync(string topic, long? expectedConfigVersion, CancellationToken cancellationToken)
    {
        // Ordered with the topic's appends, so this node announces an append before the deletion that followed it.
        RedisValue expected = expectedConfigVersion is { } version ? version : "";
        return await SequencedAsync<TopicInfo?>(topic, RedisScripts.DeleteTopic, [_options.Prefix, topic, expected], reply =>
        {
            switch ((string?)reply[0])
            {
                case "precondition":
                    throw PreconditionFailed(topic, (long)reply[1], (long)reply[2]);
                case not "ok":
                    return (null, null);
            }
            var info = ParseTopic(topic, reply[1]);
            return (info, () => _listener?.OnTopicDeleted(topic, info.Epoch));
        });
    }

    /// <inheritdoc />
    public async Task<ReadResult> ReadAsync(string topic, long afterOffset, int limit, CancellationToken cancellationToken)
    {
        var reply = await EvalAsync(RedisScripts.Read, [_options.Prefix, topic, Math.Max(afterOffset, 0), Math.Max(limit, 1)]);
        if ((string?)reply[0] != "ok")
        {
            return new ReadResult(null, []);
        }
        var info = ParseTopic(topic, reply[1]);
        var entries = reply[2];
        if (limit <= 0)
        {
            return new ReadResult(info, []);
        }
        var messages = new List<Message>(entries.Length / 2);
        for (var i = 0; i + 1 < entries.Length; i += 2)
        {
            messages.Add(RedisCodec.DecodeMessage(topic, info.Epoch, (long)entries[i], (byte[])entries[i + 1]!));
        }
        return new ReadResult(info, messages);
    }

    /// <inheritdoc />
    public async Task<long> SweepAsync(DateTimeOffset now, CancellationToken cancellationToken)
    {
        long dropped = 0;
        var micros = RedisTime.Micros(now);
        // The queues' default limits again, each sweep: a Redis that lost them (restarted empty, flushed) would otherwise
        // read every queue without limits of its own as unlimited until this node reconnects.
        try
        {
            await WriteQueueLimitsAsync();
        }
        catch (Exception ex) when (IsOutage(ex))
        {
            throw OutageError(ex);
        }
        await foreach (var batch in NamesAsync(":topics", cancellationToken))
        {
            dropped += (long)await EvalAsync(RedisScripts.SweepTopics, [_options.Prefix, micros, .. batch]);
        }
        await foreach (var batch in NamesAsync(":queues", cancellationToken))
        {
            await EvalAsync(RedisScripts.SweepQueues, [_options.Prefix, micros, .. batch]);
        }
        // Reply slots an hour past their wait, a thousand per script.
        while ((long)await EvalAsync(RedisScripts.SweepReplies, [_options.Prefix, RedisTime.Micros(now), 1000]) == 1000)
        {
            cancellationToken.ThrowIfCancellationRequested();
        }
        return dropped;
    }

    // Every name of a lexical index, in batches: one sweep script per batch keeps each script short.
    private async IAsyncEnumerable<RedisValue[]> NamesAsync(string index, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken)
    {
        RedisValue min = default; // null: from the first name
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var names = await Run(db => db.SortedSetRangeByValueAsync(_options.Prefix + index, min, default, Exclude.Start, Order.Ascending, 0, SweepBatch));
            if (names.Length == 0)
            {
                yield break;
            }
            yield return names;
            if (names.Length < SweepBatch)
            {
                yield break;
            }
            min = names[^1];
        }
    }

    private static void SetTopicConfig(RedisValue[] args, int at, TopicConfig config)
    {
        var retention = config.Retention;
        args[at] = StoredConfigJson.Write(config);
        args[at + 1] = retention.MaxMessages is { } max ? max : "";
        args[at + 2] = retention.MaxBytes is { } bytes ? bytes : "";
        args[at + 3] = retention.MaxAge is { } age ? RedisTime.Micros(age) : "";
    }

    // {epoch, cfg, ver, created, first, last, count, bytes, pub}
    private static TopicInfo ParseTopic(string name, RedisResult info) => new()
    {
        Name = name,
        Epoch = (string)info[0]!,
        Config = StoredConfigJson.ReadTopic((string)info[1]!),
        ConfigVersion = (long)info[2],
        CreatedAt = RedisTime.FromTicks((long)info[3]),
        FirstOffset = (long)info[4],
        LastOffset = (long)info[5],
        MessageCount = (long)info[6],
        Bytes = (long)info[7],
        LastPublishedAt = info[8].IsNull ? null : RedisTime.FromTicks((long)info[8]),
    };

    private static SwitchboardException PreconditionFailed(string topic, long expected, long current) => new(ErrorCode.PreconditionFailed,
        expected == 0
            ? $"Topic '{topic}' already exists; it was expected not to."
            : $"Topic '{topic}' changed while you were editing it (configuration version {current}, expected {expected}). Read it again and retry.");
}
