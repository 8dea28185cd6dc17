using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;
using Switchboard.Core;

namespace Switchboard.Server.Sse;

/// <summary>
/// A snapshot that <c>p2.</c> ids name: where it is stored, the stream key every id carries (so no other stream's ids
/// can use it), the secret that signs each id's delta (it never leaves the hub: a delta cannot be altered), when it was
/// taken and the positions it holds.
/// </summary>
internal sealed record ResumeBase(Position At, string Key, byte[] Secret, DateTimeOffset TakenAt, IReadOnlyDictionary<string, Position> Positions);

/// <summary>
/// Where a multi-topic stream or poll resumes: every position to start after, the snapshot its next ids may build on
/// (with the topics moved since it), and, when the id named a snapshot retention dropped, that snapshot.
/// </summary>
internal sealed record ResumePoint(Dictionary<string, Position> Positions, ResumeBase? Base, Dictionary<string, Position> Delta, string? ExpiredSnapshot = null);

/// <summary>
/// Resume ids of multi-topic streams (SSE <c>id:</c>, a multi-topic poll's <c>next</c>, a subscribe's positions token).
/// Small ones are <c>p1.</c>: every position (<see cref="StreamPositions"/>). Past <see cref="ResumeOptions"/>, the
/// positions go into a snapshot in the hub's own store (<see cref="Hub.SaveResumeSnapshotAsync"/>) and ids are
/// <c>p2.{snapshot epoch:offset}.{stream key}.{delta}</c>, the delta being base64url of a signature and the
/// "topic epoch:offset" lines of only the topics moved since the snapshot. Any node of a cluster reads the snapshot back.
/// </summary>
internal static class ResumeTokens
{
    private const string Prefix = "p2.";
    private const string SnapshotHeader = "sb-resume-1";
    private const int SignatureBytes = 16;

    /// <summary>
    /// Reads a multi-topic id. A malformed one, one whose key is not its snapshot's, or one whose delta was altered is
    /// refused as <see cref="StreamPositions.Decode"/> refuses a foreign <c>p1.</c> id (worded by <paramref name="refusal"/>).
    /// An id whose snapshot expired resumes the topics its delta names; the caller decides where the rest start and
    /// says so (<see cref="ResumePoint.ExpiredSnapshot"/>).
    /// </summary>
    public static async Task<ResumePoint> DecodeAsync(Hub hub, string id, Func<string, string>? refusal, CancellationToken cancellationToken)
    {
        if (!id.StartsWith(Prefix, StringComparison.Ordinal))
        {
            return new ResumePoint(StreamPositions.Decode(id, refusal), null, new Dictionary<string, Position>(StringComparer.Ordinal));
        }
        var parts = id.Split('.');
        if (parts.Length != 4 || !Position.TryParse(parts[1], out var at, out _) || at.Epoch is null || parts[2].Length == 0
            || !TryBase64(parts[3], out var signed) || signed.Length < SignatureBytes)
        {
            throw StreamPositions.Refused(id, refusal);
        }
        var lines = signed.AsMemory(SignatureBytes);
        var delta = StreamPositions.Parse(lines.Span, id, refusal);
        var snapshot = await hub.ReadResumeSnapshotAsync(at, cancellationToken) ?? throw StreamPositions.Refused(id, refusal);
        if (snapshot.IsExpired)
        {
            return new ResumePoint(new Dictionary<string, Position>(delta, StringComparer.Ordinal), null, delta, at.ToString());
        }
        var basis = ReadSnapshot(at, snapshot) ?? throw StreamPositions.Refused(id, refusal);
        if (!CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(basis.Key), Encoding.ASCII.GetBytes(parts[2]))
            || !CryptographicOperations.FixedTimeEquals(Sign(basis, lines.Span), signed.AsSpan(0, SignatureBytes)))
        {
            throw StreamPositions.Refused(id, refusal);
        }
        var positions = new Dictionary<string, Position>(basis.Positions, StringComparer.Ordinal);
        foreach (var (topic, position) in delta)
        {
            positions[topic] = position;
        }
        return new ResumePoint(positions, basis, delta);
    }

    /// <summary>
    /// Where a multi-topic read starts: after its <paramref name="id"/>, or from now (each matching topic pinned to its
    /// current end) without one. An id whose snapshot expired resumes the topics its delta names and the rest from now.
    /// </summary>
    public static async Task<ResumePoint> StartAsync(Hub hub, IReadOnlyList<string> patterns, string? id, Func<string, string>? refusal, CancellationToken cancellationToken)
    {
        if (id is null)
        {
            return new ResumePoint(new Dictionary<string, Position>(await hub.PositionsNowAsync(patterns, cancellationToken), StringComparer.Ordinal),
                null, new Dictionary<string, Position>(StringComparer.Ordinal));
        }
        var point = await DecodeAsync(hub, id, refusal, cancellationToken);
        if (point.ExpiredSnapshot is null)
        {
            return point;
        }
        var positions = new Dictionary<string, Position>(await hub.PositionsNowAsync(patterns, cancellationToken), StringComparer.Ordinal);
        foreach (var (topic, position) in point.Delta)
        {
            positions[topic] = position;
        }
        return point with { Positions = positions };
    }

    /// <summary>Stores <paramref name="positions"/> as a new snapshot with a new key and secret; completes once it is durable.</summary>
    public static async Task<ResumeBase> SnapshotAsync(Hub hub, IReadOnlyDictionary<string, Position> positions, CancellationToken cancellationToken)
    {
        // 128 bits each: a key cannot be guessed, so a snapshot (whose topic names may be private) is only reachable
        // through the ids of the stream that wrote it.
        var key = Base64Url.EncodeToString(RandomNumberGenerator.GetBytes(16));
        var secret = RandomNumberGenerator.GetBytes(16);
        var text = new StringBuilder(SnapshotHeader).Append(' ').Append(key).Append(' ').Append(Base64Url.EncodeToString(secret)).Append('\n');
        var copy = new Dictionary<string, Position>(positions, StringComparer.Ordinal);
        StreamPositions.AppendLines(text, copy);
        var at = await hub.SaveResumeSnapshotAsync(Encoding.UTF8.GetBytes(text.ToString()), cancellationToken);
        return new ResumeBase(at, key, secret, DateTimeOffset.UtcNow, copy);
    }

    /// <summary>A <c>p2.</c> id: the snapshot, its key, and the signed delta (the topics moved since it).</summary>
    public static string Encode(ResumeBase basis, IReadOnlyDictionary<string, Position> delta)
    {
        var lines = Encoding.UTF8.GetBytes(StreamPositions.AppendLines(new StringBuilder(), delta).ToString());
        var signed = new byte[SignatureBytes + lines.Length];
        Sign(basis, lines).CopyTo(signed, 0);
        lines.CopyTo(signed, SignatureBytes);
        return $"{Prefix}{basis.At}.{basis.Key}.{Base64Url.EncodeToString(signed)}";
    }

    /// <summary>
    /// The id that follows <paramref name="point"/> now that the topics stand at <paramref name="positions"/> (a poll's
    /// <c>next</c>, a stream's first id): whole while small, else on the point's snapshot while its delta is small and the
    /// snapshot young, else on a new snapshot (awaited).
    /// </summary>
    public static async Task<(string Id, ResumeBase? Base, Dictionary<string, Position> Delta)> NextAsync(Hub hub, ResumeOptions options,
        ResumePoint point, IReadOnlyDictionary<string, Position> positions, CancellationToken cancellationToken)
    {
        var delta = new Dictionary<string, Position>(StringComparer.Ordinal);
        if (point.Base is { } basis)
        {
            foreach (var (topic, position) in positions)
            {
                if (!basis.Positions.TryGetValue(topic, out var before) || before != position)
                {
                    delta[topic] = position;
                }
            }
            var id = Encode(basis, delta);
            if (!Outgrown(options, hub.Options, basis, delta.Count, id.Length))
            {
                return (id, basis, delta);
            }
        }
        else if (positions.Count <= options.FullTopics)
        {
            var whole = StreamPositions.Encode(positions);
            if (whole.Length <= options.FullBytes)
            {
                return (whole, null, delta);
            }
        }
        var fresh = await SnapshotAsync(hub, positions, cancellationToken);
        delta.Clear();
        return (Encode(fresh, delta), fresh, delta);
    }

    /// <summary>Whether ids on <paramref name="basis"/> should move to a new snapshot: a delta too big, or a snapshot half its retention old.</summary>
    public static bool Outgrown(ResumeOptions options, HubOptions hub, ResumeBase basis, int deltaTopics, int idLength)
        => deltaTopics > options.DeltaTopics || idLength > options.FullBytes || DateTimeOffset.UtcNow - basis.TakenAt >= hub.ResumeSnapshotRetention / 2;

    private static ResumeBase? ReadSnapshot(Position at, Core.ResumeSnapshot snapshot)
    {
        var bytes = snapshot.Bytes.Span;
        var newline = bytes.IndexOf((byte)'\n');
        var header = newline < 0 ? [] : Encoding.UTF8.GetString(bytes[..newline]).Split(' ');
        if (header is not [SnapshotHeader, var key, var secretText] || !TryBase64(secretText, out var secret))
        {
            return null;
        }
        var positions = StreamPositions.Parse(bytes[(newline + 1)..], "", null);
        return new ResumeBase(at, key, secret, snapshot.TakenAt, positions);
    }

    private static byte[] Sign(ResumeBase basis, ReadOnlySpan<byte> lines)
    {
        var scope = Encoding.UTF8.GetBytes($"{basis.At}.{basis.Key}\n");
        var message = new byte[scope.Length + lines.Length];
        scope.CopyTo(message, 0);
        lines.CopyTo(message.AsSpan(scope.Length));
        return HMACSHA256.HashData(basis.Secret, message)[..SignatureBytes];
    }

    private static bool TryBase64(string text, out byte[] bytes)
    {
        try
        {
            bytes = Base64Url.DecodeFromChars(text);
            return true;
        }
        catch (FormatException)
        {
            bytes = [];
            return false;
        }
    }
}
