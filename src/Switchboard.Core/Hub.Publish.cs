using System.Buffers.Binary;
using System.Diagnostics;
using System.Security.Cryptography;
using System.Text;
using Switchboard.Core.Engines;

namespace Switchboard.Core;

public sealed partial class Hub
{
    /// <summary>The longest idempotency key accepted.</summary>
    public const int MaxIdempotencyKeyLength = 255;

    /// <summary>
    /// Publishes one message or a batch to a topic, atomically. Completes once the messages are durable.
    /// With an idempotency key, a retry inside the window returns the first result and stores nothing new.
    /// </summary>
    /// <param name="topic">A topic name (no wildcards).</param>
    /// <param name="messages">One or more messages.</param>
    /// <param name="idempotencyKey">Optional key; see <see cref="HubOptions.IdempotencyWindow"/>.</param>
    /// <param name="cancellationToken">Cancels waiting; a publish already handed to the engine may still commit.</param>
    public Task<AppendResult> PublishAsync(string topic, IReadOnlyList<MessageDraft> messages, string? idempotencyKey = null, CancellationToken cancellationToken = default)
        => PublishCoreAsync(topic, messages, idempotencyKey, null, system: false, cancellationToken);

    /// <summary>
    /// <see cref="PublishAsync(string, IReadOnlyList{MessageDraft}, string?, CancellationToken)"/> for
    /// <paramref name="principal"/> (null when authentication is off), whose idempotency keys are its own
    /// (<see cref="IdempotencyToken.Principal"/>): another principal's key never replays or refuses this publish.
    /// </summary>
    public Task<AppendResult> PublishAsync(string topic, IReadOnlyList<MessageDraft> messages, string? idempotencyKey, string? principal, CancellationToken cancellationToken)
        => PublishCoreAsync(topic, messages, idempotencyKey, principal, system: false, cancellationToken);

    /// <summary>Publishes to one of the hub's own <c>$</c> topics (never exposed to clients).</summary>
    internal Task<AppendResult> PublishSystemAsync(string topic, IReadOnlyList<MessageDraft> messages, CancellationToken cancellationToken)
        => PublishCoreAsync(topic, messages, null, null, system: true, cancellationToken);

    private Task<AppendResult> PublishCoreAsync(string topic, IReadOnlyList<MessageDraft> messages, string? idempotencyKey, string? principal, bool system, CancellationToken cancellationToken, TopicConfig? systemConfig = null)
    {
        EnsureServing();
        TopicName.Validate(topic, allowSystem: system);
        ArgumentNullException.ThrowIfNull(messages);
        if (messages.Count == 0)
        {
            throw new SwitchboardException(ErrorCode.ValidationFailed, "The batch is empty: send at least one message.");
        }
        if (messages.Count > Options.MaxBatchMessages)
        {
            throw new SwitchboardException(ErrorCode.RequestTooLarge, $"The batch has {messages.Count} messages; the limit is {Options.MaxBatchMessages} per request. Split it into several requests.")
            {
                Extensions = new Dictionary<string, object?> { ["limit"] = Options.MaxBatchMessages },
            };
        }
        for (var i = 0; i < messages.Count; i++)
        {
            MessageRules.Validate(messages[i], i, Options.MaxMessageBytes, messages.Count > 1);
        }

        if (!system)
        {
            EnsureRoom();
        }
        var now = _time.GetUtcNow();
        IdempotencyToken? token = null;
        if (idempotencyKey is not null)
        {
            ValidateIdempotencyKey(idempotencyKey);
            token = new IdempotencyToken(idempotencyKey, Fingerprint(messages), now + Options.IdempotencyWindow, principal);
        }
        var ambient = Activity.Current;
        var publish = system ? null : Observability.HubTracing.StartProducer(topic, queue: false, ref messages);
        var request = new AppendRequest(topic, messages)
        {
            CreateTopic = system ? systemConfig ?? new TopicConfig(Options.DefaultRetention) : Options.AutoCreateTopics ? new TopicConfig(Options.DefaultRetention) : null,
            Idempotency = token,
            Timestamp = now,
        };
        if (publish is null)
        {
            return _store.AppendAsync(request, cancellationToken);
        }
        try
        {
            return Observability.HubTracing.EndWhenDone(publish, _store.AppendAsync(request, cancellationToken), static (span, result) =>
            {
                span.SetTag("messaging.destination.partition.id", result.Epoch);
                span.SetTag("messaging.message.id", result.FirstOffset);
            });
        }
        finally
        {
            Activity.Current = ambient; // the span goes on with the append; the caller's context is the caller's again
        }
    }

    private static void ValidateIdempotencyKey(string key)
    {
        if (key.Length is 0 or > MaxIdempotencyKeyLength || key.Any(c => c is < (char)0x21 or > (char)0x7e))
        {
            throw new SwitchboardException(ErrorCode.ValidationFailed,
                $"The idempotency key must be 1 to {MaxIdempotencyKeyLength} visible ASCII characters (a UUID is a good choice).");
        }
    }

    /// <summary>A hash of everything a publish stores, so a key reused for a different request is recognised.</summary>
    internal static string Fingerprint(IReadOnlyList<MessageDraft> messages)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var length = new byte[8];
        void Field(ReadOnlySpan<byte> bytes)
        {
            // Length-prefixed so that ("ab","c") and ("a","bc") differ.
            BinaryPrimitives.WriteInt64LittleEndian(length, bytes.Length);
            hash.AppendData(length);
            hash.AppendData(bytes);
        }
        void Text(string? text) => Field(text is null ? [0xff] : Encoding.UTF8.GetBytes(text));

        foreach (var message in messages)
        {
            Text(message.ContentType);
            Text(message.Key);
            foreach (var (name, value) in message.Headers.OrderBy(h => h.Key, StringComparer.Ordinal))
            {
                if (Observability.HubTracing.IsTraceHeader(name))
                {
                    continue; // a retry is the same publish in another span
                }
                Text(name);
                Text(value);
            }
            Text("\0payload");
            Field(message.Payload.Span);
        }
        Span<byte> digest = stackalloc byte[32];
        hash.GetHashAndReset(digest);
        return Convert.ToHexStringLower(digest[..16]);
    }
}
