namespace Switchboard.Core.Engines;

/// <summary>What every engine answers when an idempotency key is seen again (the same rule everywhere).</summary>
public static class IdempotencyReplay
{
    /// <summary>
    /// Returns the remembered result when the fingerprints match; throws <see cref="ErrorCode.IdempotencyKeyReused"/> when
    /// the key guarded a different request.
    /// </summary>
    public static AppendResult Resolve(string topic, string epoch, IdempotencyToken token, string seenFingerprint, long firstOffset, int count, DateTimeOffset timestamp)
    {
        if (!string.Equals(seenFingerprint, token.Fingerprint, StringComparison.Ordinal))
        {
            throw new SwitchboardException(ErrorCode.IdempotencyKeyReused,
                $"Idempotency key '{token.Key}' was used for a different request to topic '{topic}' within the idempotency window. Use a new key for a new request; reuse a key only to retry the very same request.");
        }
        return new AppendResult
        {
            Topic = topic,
            Epoch = epoch,
            FirstOffset = firstOffset,
            Count = count,
            Timestamp = timestamp,
            Replayed = true,
        };
    }
}
