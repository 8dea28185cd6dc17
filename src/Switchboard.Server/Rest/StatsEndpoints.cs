using System.Buffers;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Routing;
using Switchboard.Core;
using Switchboard.Server.Auth;
using Switchboard.Server.Observability;

namespace Switchboard.Server.Rest;

/// <summary>
/// <c>GET /v1/sys/stats</c>: the hub's own figures from its meters (<see cref="LiveStats"/>). With
/// <c>Accept: text/event-stream</c> it is the console's <c>$sys</c> stream — one <c>stats</c> event a second, pushed by
/// the hub, so a page draws live figures without a polling timer; otherwise one JSON snapshot. Admin only: it names queues.
/// </summary>
internal static class StatsEndpoints
{
    private static readonly byte[] Preamble = Encoding.UTF8.GetBytes("retry: 2000\n\n");
    private static readonly byte[] EventStart = Encoding.UTF8.GetBytes("event: stats\ndata: ");
    private static readonly byte[] EventEnd = Encoding.UTF8.GetBytes("\n\n");

    public static void Map(RouteGroupBuilder v1)
    {
        v1.MapGet("/sys/stats", GetAsync)
            .RequiresAdmin("read stats", audit: false)
            .WithTags("Connections").WithName("Stats")
            .WithSummary("The hub's live figures from its meters: rates per protocol, connections, latency p50/p99, queue depths; with Accept: text/event-stream, one 'stats' event a second")
            .Produces(200, contentType: "application/json").Produces(200, contentType: "text/event-stream");
    }

    private static Task<IResult> GetAsync(HttpContext context, LiveStats stats, Hub hub, Connections.ConnectionRegistry registry)
    {
        if (!stats.Enabled)
        {
            return Task.FromResult(Errors.Problems.Result(ErrorCode.Unsupported, Observability.Telemetry.TurnedOff));
        }
        if (Wants(context.Request))
        {
            return StreamAsync(context, stats, hub, registry);
        }
        context.Response.Headers.CacheControl = "no-store";
        return Task.FromResult(Results.Bytes(stats.Current.Json, "application/json; charset=utf-8"));
    }

    private static bool Wants(HttpRequest request) => request.Headers.Accept.ToString().Contains("text/event-stream", StringComparison.OrdinalIgnoreCase);

    private static async Task<IResult> StreamAsync(HttpContext context, LiveStats stats, Hub hub, Connections.ConnectionRegistry registry)
    {
        // Open for as long as the page watches: it holds a connection's slot (429 over the Switchboard:Connections caps).
        using var held = registry.Hold(context);
        var response = context.Response;
        Sse.SseFormat.Start(context);
        using var watch = stats.Watch();
        // Not a connection of the registry, so it watches its caller's credential itself (an admin token may be short-lived).
        var caller = context.Caller();
        using var expiry = CredentialExpiry.Watch(caller);
        using var ending = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted, hub.Stopping, expiry?.Token ?? CancellationToken.None);
        var body = response.BodyWriter;
        try
        {
            try
            {
                await body.WriteAsync(Preamble, ending.Token);
                // The current figures first, so a page shows something at once; then each second's as it is taken.
                var snapshot = stats.Current;
                while (true)
                {
                    body.Write(EventStart);
                    body.Write(snapshot.Json);
                    body.Write(EventEnd);
                    await body.FlushAsync(ending.Token);
                    snapshot = await stats.NextAsync().WaitAsync(ending.Token);
                }
            }
            catch (OperationCanceledException) when (expiry?.IsCancellationRequested == true && !context.RequestAborted.IsCancellationRequested && !hub.Stopping.IsCancellationRequested)
            {
                // The credential expired: the last event says so, as on every stream.
                var expired = CredentialExpiry.Expired(caller, "Reconnect with a fresh one.");
                await body.WriteAsync(Sse.SseFormat.Ended(expired.Code, expired.Message), context.RequestAborted);
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException or IOException)
        {
            // the page went away, or the hub drains (EventSource reconnects to another node or after the restart)
        }
        return Results.Empty;
    }
}
