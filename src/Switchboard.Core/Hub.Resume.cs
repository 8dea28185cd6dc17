using Switchboard.Core.Engines;

namespace Switchboard.Core;

public sealed partial class Hub
{
    /// <summary>
    /// Stores a snapshot of a stream's positions (opaque to the hub) in <see cref="TopicName.ResumeSnapshots"/>, in the
    /// same store as the topics: every node of a cluster can read it back, and it survives a restart when the engine does.
    /// Completes once it is durable; the position names it in the stream's resume ids.
    /// </summary>
    /// <remarks>
    /// Appended straight to the store, not through <see cref="PublishAsync(string, IReadOnlyList{MessageDraft}, string?, CancellationToken)"/>: the topic is internal (no client may write
    /// it), not subject to the load check (a snapshot is what keeps a resume id small), and kept by
    /// <see cref="HubOptions.ResumeSnapshotRetention"/>.
    /// </remarks>
    public async Task<Position> SaveResumeSnapshotAsync(ReadOnlyMemory<byte> snapshot, CancellationToken cancellationToken)
    {
        EnsureServing();
        var request = new AppendRequest(TopicName.ResumeSnapshots, [new MessageDraft { Payload = snapshot, ContentType = "application/octet-stream" }])
        {
            CreateTopic = new TopicConfig(ResumeRetention, "Snapshots of multi-topic streams' positions, read back when a stream resumes; internal to the hub."),
            Timestamp = _time.GetUtcNow(),
        };
        var result = await _store.AppendAsync(request, cancellationToken);
        return new Position(result.Epoch, result.FirstOffset);
    }

    private RetentionPolicy ResumeRetention => new(Options.ResumeSnapshotMaxCount, Options.ResumeSnapshotRetention, null);

    /// <summary>
    /// The snapshot topic takes its retention when it is created; a setting changed since (a restart with another
    /// Switchboard:Resume:SnapshotRetention or SnapshotMaxCount) is applied here, at start-up, or the first setting would
    /// rule for good. Nodes starting together with the same settings race harmlessly: the loser reads the winner's change.
    /// </summary>
    private async Task ApplyResumeRetentionAsync(CancellationToken cancellationToken)
    {
        var wanted = ResumeRetention;
        for (var attempt = 0; ; attempt++)
        {
            if (await _store.GetTopicAsync(TopicName.ResumeSnapshots, cancellationToken) is not { } topic || topic.Config.Retention == wanted)
            {
                return;
            }
            try
            {
                await _store.PutTopicAsync(TopicName.ResumeSnapshots, topic.Config with { Retention = wanted }, topic.ConfigVersion, cancellationToken);
                HubLog.ResumeRetentionApplied(_logger, DurationText.Format(Options.ResumeSnapshotRetention), Options.ResumeSnapshotMaxCount?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "unlimited");
                return;
            }
            catch (SwitchboardException ex) when (ex.Code == ErrorCode.PreconditionFailed && attempt < 3)
            {
                // changed meanwhile (another node starting): look again
            }
        }
    }

    /// <summary>
    /// A snapshot stored by <see cref="SaveResumeSnapshotAsync"/>: its bytes, or <see cref="ResumeSnapshot.Expired"/>
    /// when retention dropped it (or the store lost its history: another epoch), or null when no snapshot was ever
    /// stored there (a position the hub did not issue).
    /// </summary>
    public async Task<ResumeSnapshot?> ReadResumeSnapshotAsync(Position at, CancellationToken cancellationToken)
    {
        EnsureServing();
        if (at.Epoch is null || at.Offset < 1)
        {
            return null;
        }
        var read = await _store.ReadAsync(TopicName.ResumeSnapshots, at.Offset - 1, 1, cancellationToken);
        if (read.Topic is not { } info || info.Epoch != at.Epoch)
        {
            return ResumeSnapshot.Expired;
        }
        if (read.Messages is [var message, ..] && message.Offset == at.Offset)
        {
            return new ResumeSnapshot(message.Payload, message.Timestamp);
        }
        return at.Offset < info.FirstOffset ? ResumeSnapshot.Expired : null;
    }
}

/// <summary>A stored snapshot of a stream's positions (see <see cref="Hub.ReadResumeSnapshotAsync"/>).</summary>
/// <param name="Bytes">What the stream stored.</param>
/// <param name="TakenAt">When it was stored.</param>
public sealed record ResumeSnapshot(ReadOnlyMemory<byte> Bytes, DateTimeOffset TakenAt)
{
    /// <summary>The snapshot existed but is gone (retention, or a store that lost its history).</summary>
    public static ResumeSnapshot Expired { get; } = new(ReadOnlyMemory<byte>.Empty, default);

    /// <summary>Whether this is <see cref="Expired"/>.</summary>
    public bool IsExpired => ReferenceEquals(this, Expired);
}
