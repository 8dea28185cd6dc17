using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Switchboard.Core.Engines;
using Switchboard.Server.Auth;
using Switchboard.Server.Cluster;
using Switchboard.Server.OpenApi;
using Switchboard.Server.Rest.Json;

namespace Switchboard.Server.Rest;

/// <summary>The nodes of the cluster (one on the embedded engines), from their heartbeats.</summary>
internal static class NodesEndpoints
{
    public static void Map(RouteGroupBuilder v1)
    {
        v1.MapGet("/nodes", async (IBackplane backplane, NodeHeartbeat self, ServerOptions options, CancellationToken cancellationToken) =>
            {
                var nodes = await backplane.ListNodesAsync(options.Nodes.Expiry, cancellationToken);
                if (!nodes.Any(n => n.Id == self.Id))
                {
                    nodes = [.. nodes, self.Report()]; // before its first heartbeat lands (or while Redis is away), a node still knows itself
                }
                return new JsonResult(200, w =>
                {
                    w.WriteStartObject();
                    w.WriteNumber("count", nodes.Count);
                    w.WriteString("self", self.Id);
                    w.WriteStartArray("nodes");
                    foreach (var node in nodes)
                    {
                        w.WriteStartObject();
                        w.WriteString("id", node.Id);
                        w.WriteString("name", node.Name);
                        w.WriteStartArray("addresses");
                        foreach (var address in node.Addresses)
                        {
                            w.WriteStringValue(address);
                        }
                        w.WriteEndArray();
                        w.WriteString("state", node.State);
                        w.WriteNumber("connections", node.Connections.Values.Sum());
                        w.WriteStartObject("connectionsByTransport");
                        foreach (var (transport, count) in node.Connections)
                        {
                            w.WriteNumber(transport, count);
                        }
                        w.WriteEndObject();
                        w.WriteNumber("subscriptions", node.Subscriptions);
                        w.WriteString("startedAt", node.StartedAt.UtcDateTime);
                        w.WriteString("lastHeartbeat", node.HeartbeatAt.UtcDateTime);
                        w.WriteEndObject();
                    }
                    w.WriteEndArray();
                    w.WriteEndObject();
                }, r => r.Headers.CacheControl = "no-store");
            })
            .RequiresAdmin("list nodes", audit: false)
            .WithTags("Connections").WithName("ListNodes")
            .WithSummary("The nodes of the cluster with their connections and last heartbeat (one node on the embedded engines); a node that stops beating drops out after Switchboard:Nodes:Expiry")
            .Produces<NodeListSchema>().ProducesProblem(503);
    }
}
