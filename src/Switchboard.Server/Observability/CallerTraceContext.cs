using System.Diagnostics;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Net.Http.Headers;

namespace Switchboard.Server.Observability;

/// <summary>
/// Keeps a caller's <c>traceparent</c> header reaching the hub when ASP.NET Core makes no span for the request.
/// </summary>
/// <remarks>
/// ASP.NET Core starts an <see cref="Activity"/> per request when a tracer listens to it, or when its request log
/// (category <c>Microsoft.AspNetCore.Hosting.Diagnostics</c>) is on at any level; the hub turns that log off by default
/// (SwitchboardHost), because the span and the log scope it opens cost every request a few percent of its CPU (a long
/// poll 3–5% in <c>bench fanout</c>), for nothing when nobody traces. The hub reads a caller's context from the ambient
/// span's remote parent (<c>HubTracing.ParentOf</c>: a message then carries the caller's <c>traceparent</c>), so for a
/// request that brings one and gets no span from ASP.NET Core, this starts a bare one with that parent; a request
/// without the header pays one header lookup.
/// </remarks>
internal static class CallerTraceContext
{
    private const string ActivityName = "Switchboard.HttpRequestIn";

    // Not an async lambda: a request without a caller's context (nearly all) goes straight on, so no state machine of
    // this middleware is made per request or held for the life of a long poll, an event stream or a WebSocket.
    public static void Use(WebApplication app) => app.Use((context, next) =>
        Activity.Current is null && context.Request.Headers.TryGetValue(HeaderNames.TraceParent, out var parent)
            && parent.Count == 1 && ActivityContext.TryParse(parent[0], null, isRemote: true, out _)
            ? RunUnderAsync(context, next, parent[0]!)
            : next(context));

    private static async Task RunUnderAsync(HttpContext context, RequestDelegate next, string parent)
    {
        var activity = new Activity(ActivityName);
        activity.SetParentId(parent);
        if (context.Request.Headers.TryGetValue(HeaderNames.TraceState, out var state) && state.Count > 0)
        {
            activity.TraceStateString = state.ToString(); // several tracestate headers are one list (W3C Trace Context 3.3)
        }
        activity.Start();
        try
        {
            await next(context);
        }
        finally
        {
            activity.Stop();
        }
    }
}
