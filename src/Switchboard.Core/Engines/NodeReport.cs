namespace Switchboard.Core.Engines;

/// <summary>What a node tells the others about itself at each heartbeat (listed by <c>GET /v1/nodes</c>).</summary>
public sealed record NodeReport
{
    /// <summary>The node's id, new at each start.</summary>
    public required string Id { get; init; }

    /// <summary>A name for people (<c>Switchboard:Node:Name</c>; the host name by default).</summary>
    public required string Name { get; init; }

    /// <summary>Where it listens (its URLs).</summary>
    public required IReadOnlyList<string> Addresses { get; init; }

    /// <summary>When it started.</summary>
    public required DateTimeOffset StartedAt { get; init; }

    /// <summary>When it sent this report.</summary>
    public required DateTimeOffset HeartbeatAt { get; init; }

    /// <summary>Its live connections, per transport.</summary>
    public required IReadOnlyDictionary<string, int> Connections { get; init; }

    /// <summary>Its live subscriptions (all transports).</summary>
    public int Subscriptions { get; init; }

    /// <summary>Its state (ready, draining, …).</summary>
    public required string State { get; init; }
}
