using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Switchboard.Core;
using Switchboard.Core.Engines;
using Switchboard.Server.Connections;

namespace Switchboard.Server.Cluster;

/// <summary>This node: its id, and the heartbeat that reports it on the backplane every <see cref="NodeOptions.Heartbeat"/>.</summary>
internal sealed class NodeHeartbeat(NodeIdentity identity, ClusterView cluster, Hub hub, IBackplane backplane, ConnectionRegistry connections, IServer server, ServerOptions options,
    TimeProvider time, ILogger<NodeHeartbeat> logger) : BackgroundService
{
    private readonly DateTimeOffset _startedAt = time.GetUtcNow();

    // Resolving the view registers this node's answers to the others' questions (connections, presence).
    private readonly ClusterView _cluster = cluster;

    /// <summary>This node's id (new at each start).</summary>
    public string Id { get; } = identity.Id.ToString("N");

    /// <summary>What this node would report now.</summary>
    public NodeReport Report()
    {
        var byTransport = new SortedDictionary<string, int>(StringComparer.Ordinal);
        foreach (var connection in connections.All)
        {
            byTransport[connection.Transport] = byTransport.GetValueOrDefault(connection.Transport) + 1;
        }
        return new NodeReport
        {
            Id = Id,
            Name = options.Nodes.Name,
            Addresses = [.. (server.Features.Get<IServerAddressesFeature>()?.Addresses ?? []).Where(Listeners.IsPublic)],
            StartedAt = _startedAt,
            HeartbeatAt = time.GetUtcNow(),
            Connections = byTransport,
            Subscriptions = hub.SubscriptionCount,
            State = hub.State.ToString().ToLowerInvariant(),
        };
    }

    /// <inheritdoc />
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(options.Nodes.Heartbeat, time);
        do
        {
            try
            {
                var started = System.Diagnostics.Stopwatch.GetTimestamp();
                await backplane.ReportAsync(Report(), stoppingToken);
                if (options.Engine == EngineKind.Redis)
                {
                    // The heartbeat is one script call: its time is a Redis round trip, measured every few seconds for free.
                    hub.Meters.RedisRoundTrip.Record(System.Diagnostics.Stopwatch.GetElapsedTime(started).TotalSeconds);
                }
            }
            catch (SwitchboardException ex)
            {
                ClusterLog.HeartbeatFailed(logger, ex.Message);
            }
        }
        while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false));
    }
}

/// <summary>This node's id on the backplane, shared by the backplane (to skip its own events) and the registry; new at each start.</summary>
public sealed class NodeIdentity
{
    /// <summary>The id.</summary>
    public Guid Id { get; } = Guid.NewGuid();
}

internal static partial class ClusterLog
{
    [LoggerMessage(EventId = 3400, Level = LogLevel.Warning, Message = "Could not report this node's heartbeat: {Reason}")]
    public static partial void HeartbeatFailed(ILogger logger, string reason);
}
