using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Switchboard.Core;
using Switchboard.Server.Auth;
using Switchboard.Server.Connections;
using Switchboard.Server.OpenApi;
using Switchboard.Server.Rest.Json;
using Switchboard.Server.Rest.Parsing;

namespace Switchboard.Server.Rest;

/// <summary>Who is connected (every transport) and who is subscribed to a topic (presence).</summary>
internal static class ConnectionsEndpoints
{
    public static void Map(RouteGroupBuilder v1)
    {
        v1.MapGet("/connections", (ConnectionRegistry registry, string? limit) =>
            {
                var max = QueryValues.Limit(limit, 100, Hub.MaxListLimit);
                var all = registry.All.OrderBy(c => c.ConnectedAt).ToList();
                return new JsonResult(200, w =>
                {
                    w.WriteStartObject();
                    w.WriteNumber("count", all.Count);
                    w.WriteStartArray("connections");
                    foreach (var connection in all.Take(max))
                    {
                        w.WriteStartObject();
                        w.WriteString("id", connection.Id);
                        w.WriteString("transport", connection.Transport);
                        w.WriteString("principal", connection.Principal);
                        w.WriteString("remoteAddress", connection.RemoteAddress);
                        w.WriteString("connectedAt", connection.ConnectedAt.UtcDateTime);
                        w.WriteNumber("bufferedBytes", connection.Outbox.Bytes);
                        if (connection.CloseReason is var (code, _))
                        {
                            w.WriteString("closing", ErrorTable.Get(code).Name);
                        }
                        w.WriteStartArray("subscriptions");
                        foreach (var (id, subscription) in connection.Subscriptions.Snapshot())
                        {
                            w.WriteStartObject();
                            w.WriteString("id", id);
                            w.WriteStartArray("topics");
                            foreach (var pattern in subscription.Patterns)
                            {
                                w.WriteStringValue(pattern.Text);
                            }
                            w.WriteEndArray();
                            w.WriteEndObject();
                        }
                        w.WriteEndArray();
                        w.WriteEndObject();
                    }
                    w.WriteEndArray();
                    w.WriteEndObject();
                }, r => r.Headers.CacheControl = "no-store");
            })
            .RequiresAdmin("list connections", audit: false)
            .WithTags("Connections").WithName("ListConnections").WithSummary("Live connections on this node, on every transport, with their subscriptions")
            .Produces<ConnectionListSchema>();

        v1.MapGet("/topics/{topic}/presence", (Hub hub, string topic, string? limit) =>
            {
                var max = string.IsNullOrEmpty(limit) ? 100 : limit == "0" ? 0 : QueryValues.Limit(limit, 100, Hub.MaxListLimit);
                var presence = hub.GetPresence(topic, max);
                return new JsonResult(200, w =>
                {
                    w.WriteStartObject();
                    w.WriteString("topic", presence.Topic);
                    w.WriteNumber("count", presence.Count);
                    w.WriteStartArray("subscribers");
                    foreach (var subscriber in presence.Subscribers)
                    {
                        w.WriteStartObject();
                        w.WriteString("connectionId", subscriber.ConnectionId);
                        w.WriteString("principal", subscriber.Principal);
                        w.WriteString("transport", subscriber.Transport);
                        w.WriteString("since", subscriber.Since.UtcDateTime);
                        w.WriteEndObject();
                    }
                    w.WriteEndArray();
                    w.WriteBoolean("truncated", presence.Subscribers.Count < presence.Count);
                    w.WriteString("events", Hub.PresencePrefix + presence.Topic);
                    w.WriteEndObject();
                }, r => r.Headers.CacheControl = "no-store");
            })
            .Requires(Permission.Subscribe, "topic")
            .WithTags("Presence").WithName("GetPresence")
            .WithSummary("Who is subscribed to a topic now (limit=0 counts without listing); joins and leaves are published on $presence.{topic}")
            .Produces<PresenceSchema>().ProducesProblem(400);
    }
}
