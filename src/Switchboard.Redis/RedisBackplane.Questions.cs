using System.Collections.Concurrent;
using StackExchange.Redis;
using Switchboard.Core;
using Switchboard.Core.Engines;

namespace Switchboard.Redis;

/// <summary>
/// Questions to every node (scatter-gather over pub/sub, as NATS answers its <c>$SYS</c> requests): the asker publishes
/// on <c>{prefix}:ask</c>, which every node listens to, and each node answers on the asker's own
/// <c>{prefix}:answer:{node id}</c>. Nothing is stored: a node's connections are its own until someone asks.
/// </summary>
public sealed partial class RedisBackplane
{
    private readonly ConcurrentDictionary<Guid, Gathering> _asking = new();
    private Func<NodeQuestion, CancellationToken, Task<byte[]>>? _responder;
    private bool _askHeard;
    private bool _inboxHeard;

    private RedisChannel AskChannel => RedisChannel.Literal($"{_prefix}:ask");

    private RedisChannel InboxOf(Guid node) => RedisChannel.Literal($"{_prefix}:answer:{node:N}");

    /// <inheritdoc />
    public void SetResponder(Func<NodeQuestion, CancellationToken, Task<byte[]>> responder) => _responder = responder;

    private async Task ListenForQuestionsAsync(CancellationToken cancellationToken)
    {
        var subscriber = _redis.GetSubscriber();
        try
        {
            // Each channel once, even when a start is retried after a failure half-way (a second handler would answer
            // every question twice). Handled concurrently: answering may take a moment and questions are independent.
            if (!_askHeard)
            {
                await subscriber.SubscribeAsync(AskChannel, (channel, value) => _ = AnswerAsync((byte[])value!)).WaitAsync(cancellationToken);
                _askHeard = true;
            }
            if (!_inboxHeard)
            {
                await subscriber.SubscribeAsync(InboxOf(NodeId), (_, value) => Collect((byte[])value!)).WaitAsync(cancellationToken);
                _inboxHeard = true;
            }
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException)
        {
            throw Unavailable(ex);
        }
    }

    /// <inheritdoc />
    public async Task<NodeAnswers> AskNodesAsync(NodeQuestion question, TimeSpan nodeExpiry, TimeSpan timeout, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(question);
        var expected = (await ListNodesAsync(nodeExpiry, cancellationToken)).Count(n => n.Id != NodeId.ToString("N"));
        var id = Guid.NewGuid();
        var gathering = new Gathering(expected);
        _asking[id] = gathering;
        try
        {
            if (expected > 0)
            {
                await Call(() => _redis.GetSubscriber().PublishAsync(AskChannel, QuestionCodec.EncodeQuestion(id, NodeId, question)), cancellationToken);
                try
                {
                    await gathering.Complete.WaitAsync(timeout, cancellationToken);
                }
                catch (TimeoutException)
                {
                    // the nodes that did not answer in time are left out; the caller says the answer is partial
                }
            }
            var answers = gathering.Answers;
            return new NodeAnswers(_responder is { } responder ? [await responder(question, cancellationToken), .. answers] : answers, expected + 1);
        }
        finally
        {
            _asking.TryRemove(id, out _);
        }
    }

    private async Task AnswerAsync(byte[] message)
    {
        try
        {
            var (id, asker, question) = QuestionCodec.DecodeQuestion(message);
            if (asker == NodeId || _responder is not { } responder)
            {
                return; // the asker answers for itself directly
            }
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            var answer = await responder(question, timeout.Token);
            await _redis.GetSubscriber().PublishAsync(InboxOf(asker), QuestionCodec.EncodeAnswer(id, answer));
        }
        catch (Exception ex) when (ex is InvalidDataException or RedisException or OperationCanceledException or SwitchboardException)
        {
            BackplaneLog.QuestionFailed(_logger, ex);
        }
    }

    private void Collect(byte[] message)
    {
        try
        {
            var (id, answer) = QuestionCodec.DecodeAnswer(message);
            if (_asking.TryGetValue(id, out var gathering))
            {
                gathering.Add(answer);
            }
        }
        catch (InvalidDataException ex)
        {
            BackplaneLog.QuestionFailed(_logger, ex);
        }
    }

    // The detail reaches clients: it names no address (a configuration string may hold a password); the log has it.
    private static SwitchboardException Unavailable(Exception ex) =>
        new(ErrorCode.StorageUnavailable, "The backplane (Redis) cannot be reached right now; retry shortly.", ex) { RetryAfterSeconds = 1 };

    private sealed class Gathering(int expected)
    {
        private readonly List<byte[]> _answers = [];
        private readonly TaskCompletionSource _complete = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public Task Complete => _complete.Task;

        public IReadOnlyList<byte[]> Answers
        {
            get
            {
                lock (_answers)
                {
                    return [.. _answers];
                }
            }
        }

        public void Add(byte[] answer)
        {
            lock (_answers)
            {
                _answers.Add(answer);
                if (_answers.Count >= expected)
                {
                    _complete.TrySetResult();
                }
            }
        }
    }
}

/// <summary>The wire form of questions and answers between nodes.</summary>
internal static class QuestionCodec
{
    private const byte Version = 1;

    public static byte[] EncodeQuestion(Guid id, Guid asker, NodeQuestion question)
    {
        using var stream = new MemoryStream();
        using (var writer = new BinaryWriter(stream))
        {
            writer.Write(Version);
            writer.Write(id.ToByteArray());
            writer.Write(asker.ToByteArray());
            writer.Write(question.Kind);
            writer.Write(question.Argument);
            writer.Write(question.Limit);
        }
        return stream.ToArray();
    }

    public static (Guid Id, Guid Asker, NodeQuestion Question) DecodeQuestion(byte[] bytes)
    {
        using var reader = Open(bytes);
        try
        {
            return (new Guid(reader.ReadBytes(16)), new Guid(reader.ReadBytes(16)), new NodeQuestion(reader.ReadString(), reader.ReadString(), reader.ReadInt32()));
        }
        catch (Exception ex) when (ex is EndOfStreamException or ArgumentException)
        {
            throw new InvalidDataException("a truncated question", ex);
        }
    }

    public static byte[] EncodeAnswer(Guid id, byte[] answer)
    {
        var bytes = new byte[1 + 16 + answer.Length];
        bytes[0] = Version;
        id.TryWriteBytes(bytes.AsSpan(1, 16));
        answer.CopyTo(bytes, 17);
        return bytes;
    }

    public static (Guid Id, byte[] Answer) DecodeAnswer(byte[] bytes) => bytes.Length >= 17 && bytes[0] == Version
        ? (new Guid(bytes.AsSpan(1, 16)), bytes[17..])
        : throw new InvalidDataException($"not a version-{Version} answer ({bytes.Length} bytes)");

    private static BinaryReader Open(byte[] bytes) => bytes.Length >= 1 && bytes[0] == Version
        ? new BinaryReader(new MemoryStream(bytes, 1, bytes.Length - 1, writable: false))
        : throw new InvalidDataException($"not a version-{Version} question ({bytes.Length} bytes)");
}
