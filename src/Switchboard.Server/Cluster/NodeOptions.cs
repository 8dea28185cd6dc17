namespace Switchboard.Server.Cluster;

/// <summary>This node's identity and heartbeats (<c>Switchboard:Nodes</c>).</summary>
public sealed class NodeOptions
{
    /// <summary>A name for people; the host name by default. Ids are new at each start, names need not be unique.</summary>
    public string Name { get; set; } = Environment.MachineName;

    /// <summary>How often the node reports itself. 2 s: a dead node leaves the list within seconds, at one small write per node.</summary>
    public TimeSpan Heartbeat { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>A node whose last heartbeat is older than this is dead and drops out. 10 s: five missed beats, so a GC pause or a slow Redis does not flap.</summary>
    public TimeSpan Expiry { get; set; } = TimeSpan.FromSeconds(10);
}
