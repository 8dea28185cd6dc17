using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using System.Text.Json;
using Switchboard.Core;
using Switchboard.Core.Engines;
using Switchboard.Server.Auth;
using Switchboard.Server.Cluster;
using Switchboard.Server.OpenApi;
using Switchboard.Server.Rest.Json;
using Switchboard.Server.Rest.Parsing;

using JsonWriter = System.Text.Json.Utf8JsonWriter;

namespace Switchboard.Server.Rest;

/// <summary>Who is connected (every transport) and who is subscribed to a topic (presence).</summary>
internal static class ConnectionsEndpoints
{
    public static void Map(RouteGroupBuilder v1)
    {
        v1.MapGet("/connections", async (ClusterView cluster, string? limit, CancellationToken cancellationToken) =>
            {
                var max = QueryValues.Limit(limit, 100, Hub.MaxListLimit);
                var (answers, partial) = await cluster.AskAsync(new NodeQuestion(ClusterView.ConnectionsQuestion, "", max), cancellationToken);
                // Oldest first across the cluster; each node sent its own oldest, so the first `max` of the merge are right.
                var connections = answers.SelectMany(a => Items(a, "connections"))
                    .OrderBy(c => c.TryGetProperty("connectedAt", out var at) && at.TryGetDateTime(out var time) ? time : DateTime.MaxValue).Take(max).ToList();
                return new JsonResult(200, w =>
                {
                    w.WriteStartObject();
                    w.WriteNumber("count", answers.Sum(Count));
                    WriteNodes(w, answers, partial);
                    w.WriteStartArray("connections");
                    foreach (var connection in connections)
                    {
                        connection.WriteTo(w);
                    }
                    w.WriteEndArray();
                    w.WriteEndObject();
                }, r => r.Headers.CacheControl = "no-store");
            })
            .RequiresAdmin("list connections", audit: false)
            .WithTags("Connections").WithName("ListConnections").WithSummary("Live connections on this node, on every transport, with their subscriptions")
            .Produces<ConnectionListSchema>();

        v1.MapGet("/topics/{topic}/presence", async (Hub hub, ClusterView cluster, string topic, string? limit, CancellationToken cancellationToken) =>
            {
                var max = QueryValues.Limit(limit, 100, Hub.MaxListLimit, min: 0); // 0 counts without listing
                var name = hub.GetPresence(topic, 0).Topic; // refuses a bad name here, before any node is asked
                var (answers, partial) = await cluster.AskAsync(new NodeQuestion(ClusterView.PresenceQuestion, name, max), cancellationToken);
                var count = answers.Sum(Count);
                // Oldest first across the cluster, in the order each node listed its own (Dispatcher.Oldest): ties by
                // connection id, then node, so a page is the same every time it is asked for.
                var subscribers = answers.SelectMany(a => Items(a, "subscribers"))
                    .OrderBy(s => s.TryGetProperty("since", out var at) && at.TryGetDateTime(out var time) ? time : DateTime.MaxValue)
                    .ThenBy(s => Text(s, "connectionId"), StringComparer.Ordinal).ThenBy(s => Text(s, "node"), StringComparer.Ordinal)
                    .Take(max).ToList();
                return new JsonResult(200, w =>
                {
                    w.WriteStartObject();
                    w.WriteString("topic", name);
                    w.WriteNumber("count", count);
                    WriteNodes(w, answers, partial);
                    w.WriteStartArray("subscribers");
                    foreach (var subscriber in subscribers)
                    {
                        subscriber.WriteTo(w);
                    }
                    w.WriteEndArray();
                    w.WriteBoolean("truncated", subscribers.Count < count);
                    w.WriteString("events", Hub.PresencePrefix + name);
                    w.WriteEndObject();
                }, r => r.Headers.CacheControl = "no-store");
            })
            .Requires(Permission.Subscribe, "topic")
            .WithTags("Presence").WithName("GetPresence")
            .WithSummary("Who is subscribed to a topic now, on every node (limit=0 counts without listing); joins and leaves are published on $presence.{topic}")
            .Produces<PresenceSchema>().ProducesProblem(400);
    }

    private static void WriteNodes(JsonWriter w, IReadOnlyList<JsonElement> answers, bool partial)
    {
        w.WriteStartArray("nodes");
        foreach (var answer in answers)
        {
            w.WriteStringValue(answer.TryGetProperty("node", out var node) ? node.GetString() : null);
        }
        w.WriteEndArray();
        w.WriteBoolean("partial", partial);
    }

    // Answers come from other nodes (perhaps of another version): read them defensively, never a 500.
    private static List<JsonElement> Items(JsonElement answer, string name) =>
        answer.TryGetProperty(name, out var items) && items.ValueKind == JsonValueKind.Array ? [.. items.EnumerateArray()] : [];

    private static string? Text(JsonElement item, string name) =>
        item.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;

    private static int Count(JsonElement answer) =>
        answer.TryGetProperty("count", out var count) && count.TryGetInt32(out var value) ? value : 0;
}
