using System.Diagnostics;

namespace Switchboard.Server.Observability;

/// <summary>The HTTP request's span around a long-lived connection (a WebSocket, an event stream, a gRPC stream).</summary>
internal static class RequestSpan
{
    /// <summary>
    /// Leaves the request's span for the rest of a connection's handler: the span stays open (ASP.NET Core ends it with
    /// the request), but the connection's loops — and what they start — no longer run inside it. Left ambient, each
    /// connection's span differs from the context of the threads that feed it messages, so every hand-off of every
    /// message switched <see cref="Activity.Current"/> (and notified its observers): with tracing on, that alone cost a
    /// sixth of the fan-out's throughput at 0% sampling. A message's own trace context travels in its headers instead.
    /// </summary>
    public static void Leave() => Activity.Current = null;
}
