using System.Diagnostics;

namespace Switchboard.Client;

/// <summary>
/// W3C trace context for publishes: the application's current <see cref="Activity"/> goes into each message's
/// <c>traceparent</c> (and <c>tracestate</c>) header, so the hub's publish span and every delivery continue the
/// application's trace whatever the transport (REST calls carry it as HTTP headers, which HttpClient adds itself).
/// A header the application set stays as it is; the hub keeps these headers out of the idempotency check, so a retry
/// in another span is still the same publish.
/// </summary>
internal static class TraceContext
{
    public const string TraceParent = "traceparent";
    public const string TraceState = "tracestate";

    public static IReadOnlyDictionary<string, string>? Inject(IReadOnlyDictionary<string, string>? headers)
    {
        if (Activity.Current is not { IdFormat: ActivityIdFormat.W3C, Id: { } id } current || headers?.ContainsKey(TraceParent) == true)
        {
            return headers;
        }
        var withContext = headers is null ? new Dictionary<string, string>(2, StringComparer.Ordinal) : new Dictionary<string, string>(headers, StringComparer.Ordinal);
        withContext[TraceParent] = id;
        if (!string.IsNullOrEmpty(current.TraceStateString))
        {
            withContext[TraceState] = current.TraceStateString;
        }
        return withContext;
    }
}
