using System.Diagnostics;

namespace Switchboard.Core.Observability;

/// <summary>
/// End-to-end tracing with W3C Trace Context, on one <see cref="ActivitySource"/> named <c>Switchboard</c>. A publish
/// continues the trace it was given (the caller's <c>traceparent</c>: an HTTP header, or a header of the message on a
/// WebSocket or gRPC frame) with a <c>publish</c> span; the engine's commit is a span of its own (linked to every publish
/// it made durable); the message keeps the publish span's context in its <c>traceparent</c> header, so a delivery — on
/// any protocol, on any node, or from a queue — continues the same trace, and so can the application that receives it.
/// </summary>
/// <remarks>
/// Without a listener nothing is recorded and a publish only carries the caller's context along (a header the client
/// sent is kept; an HTTP request's is copied into the message). Span names follow OpenTelemetry's messaging
/// conventions: <c>publish {topic}</c>, <c>deliver {topic}</c>, <c>send {queue}</c>, <c>receive {queue}</c>, <c>commit</c>.
/// </remarks>
public static class HubTracing
{
    /// <summary>The activity source's name: what a tracer provider adds (<c>AddSource("Switchboard")</c>).</summary>
    public const string SourceName = "Switchboard";

    /// <summary>The W3C trace context header, on HTTP requests and in message headers.</summary>
    public const string TraceParent = "traceparent";

    /// <summary>The W3C vendor-specific trace state header.</summary>
    public const string TraceState = "tracestate";

    private const string System = "switchboard";

    /// <summary>The source every Switchboard span comes from.</summary>
    public static ActivitySource Source { get; } = new(SourceName, typeof(HubTracing).Assembly.GetName().Version?.ToString(3));

    /// <summary>True for the headers that carry trace context (not part of what a message says; an idempotent retry may differ in them).</summary>
    public static bool IsTraceHeader(string name)
        => string.Equals(name, TraceParent, StringComparison.OrdinalIgnoreCase) || string.Equals(name, TraceState, StringComparison.OrdinalIgnoreCase);

    /// <summary>
    /// The context a message carries in its headers when it is sampled (its trace is recorded): what a delivery or a
    /// receive continues. An unsampled context stays in the message for the application, but gets no span of the hub's,
    /// as a parent-based sampler would decide, and is not even parsed (the flags are read first: this runs per delivery).
    /// </summary>
    public static bool TryGetSampledContext(IReadOnlyDictionary<string, string> headers, out ActivityContext context)
    {
        context = default;
        // version-traceid-spanid-flags: the flags' last hex digit holds the sampled bit (W3C Trace Context, 3.2.2.5).
        return headers.Count > 0 && headers.TryGetValue(TraceParent, out var parent) && parent.Length >= 55
            && (HexDigit(parent[54]) & 1) == 1
            && ActivityContext.TryParse(parent, headers.TryGetValue(TraceState, out var state) ? state : null, isRemote: true, out context);
    }

    private static int HexDigit(char c) => c switch
    {
        >= '0' and <= '9' => c - '0',
        >= 'a' and <= 'f' => c - 'a' + 10,
        _ => 0, // upper case is invalid in a traceparent (ActivityContext.TryParse refuses it too)
    };

    /// <summary>The context a message carries in its headers, if it carries a valid one.</summary>
    public static bool TryGetContext(IReadOnlyDictionary<string, string> headers, out ActivityContext context)
    {
        context = default;
        return headers.Count > 0 && headers.TryGetValue(TraceParent, out var parent)
            && ActivityContext.TryParse(parent, headers.TryGetValue(TraceState, out var state) ? state : null, isRemote: true, out context);
    }

    /// <summary>
    /// Starts the span of a publish to <paramref name="destination"/> (a topic, or a queue when <paramref name="queue"/>)
    /// and returns the drafts to store: each carries the span's context (or, unrecorded, the caller's) in its headers.
    /// </summary>
    internal static Activity? StartProducer(string destination, bool queue, ref IReadOnlyList<MessageDraft> messages)
    {
        var current = Activity.Current;
        var parent = ParentOf(messages[0].Headers, current, out var state, out var fromCaller);
        Activity? activity = null;
        if (Source.HasListeners())
        {
            Activity.Current = null; // the parent is the one chosen (a default one starts a trace), not whatever is ambient
            // Created, and started only when recorded: a span sampled out (OpenTelemetry still makes a propagation-only one)
            // is dropped unstarted, so it never becomes Activity.Current — a publish nobody traces pays no async-local
            // writes for it. Nothing of it is recorded, so the message must not carry its id either: that would cost every
            // delivery the bytes and a parse for a trace nobody keeps.
            activity = Source.CreateActivity(queue ? $"send {destination}" : $"publish {destination}", ActivityKind.Producer, parent);
            if (activity is { Recorded: true })
            {
                activity.Start();
                activity.TraceStateString ??= state;
                activity.SetTag("messaging.system", System);
                activity.SetTag("messaging.operation.type", "send");
                activity.SetTag("messaging.destination.name", destination);
                if (messages.Count > 1)
                {
                    activity.SetTag("messaging.batch.message_count", messages.Count);
                }
                messages = Stamp(messages, activity.Id!, activity.TraceStateString, overwrite: true);
                return activity;
            }
            Activity.Current = current;
        }
        if (fromCaller)
        {
            // Unrecorded: the messages carry the caller's context along (a client's header stays as it was); a caller that
            // sent none gets none (no header is invented for a trace nobody records).
            messages = Stamp(messages, $"00-{parent.TraceId}-{parent.SpanId}-{(int)parent.TraceFlags:x2}", state, overwrite: false);
        }
        return null;
    }

    /// <summary>
    /// The parent of a publish: the ambient span when a tracer records it and it is in the message's trace (the HTTP
    /// server span of the request that carried the context); else the context the message carries; else the context of
    /// the HTTP request (the remote parent of an unrecorded request activity); else none (a new trace).
    /// </summary>
    private static ActivityContext ParentOf(IReadOnlyDictionary<string, string> headers, Activity? current, out string? state, out bool fromCaller)
    {
        // A span of no named source (a bare Activity: the server's stand-in for a caller's context) is never exported, even
        // when something listens to every source; its remote parent is what the messages carry.
        var recorded = current is { Recorded: true } && current.Source.Name.Length > 0 && current.Source.HasListeners();
        var hasCarried = TryGetContext(headers, out var carried);
        fromCaller = true;
        if (recorded && (!hasCarried || current!.TraceId == carried.TraceId))
        {
            state = current!.TraceStateString;
            return current.Context;
        }
        if (hasCarried)
        {
            state = headers.TryGetValue(TraceState, out var carriedState) ? carriedState : null;
            return carried;
        }
        state = current?.TraceStateString;
        if (current is { Parent: null, ParentId: { } remote } && ActivityContext.TryParse(remote, state, isRemote: true, out var request))
        {
            return request;
        }
        fromCaller = false;
        return current is { IdFormat: ActivityIdFormat.W3C } ? current.Context : default;
    }

    private static MessageDraft[] Stamp(IReadOnlyList<MessageDraft> messages, string parent, string? state, bool overwrite)
    {
        var stamped = new MessageDraft[messages.Count];
        for (var i = 0; i < messages.Count; i++)
        {
            var draft = messages[i];
            if (!overwrite && TryGetContext(draft.Headers, out _))
            {
                stamped[i] = draft; // unrecorded: the context the caller gave the message stays
                continue;
            }
            var headers = new Dictionary<string, string>(draft.Headers.Count + 2, StringComparer.Ordinal);
            foreach (var (name, value) in draft.Headers)
            {
                if (!IsTraceHeader(name))
                {
                    headers[name] = value;
                }
            }
            headers[TraceParent] = parent;
            if (!string.IsNullOrEmpty(state))
            {
                headers[TraceState] = state;
            }
            stamped[i] = new MessageDraft { Headers = headers, Key = draft.Key, Payload = draft.Payload, ContentType = draft.ContentType };
        }
        return stamped;
    }

    /// <summary>
    /// Records that the message at <paramref name="offset"/> of <paramref name="topic"/> was handed to a subscriber's
    /// connection over <paramref name="protocol"/>: a <c>deliver</c> span in the message's trace (from
    /// <paramref name="headers"/>), from its publish (when <paramref name="live"/>) or from now (a catching-up read) to now.
    /// </summary>
    public static void Delivered(string topic, long offset, DateTimeOffset published, IReadOnlyDictionary<string, string> headers, string protocol, bool live)
    {
        if (!Source.HasListeners() || !TryGetSampledContext(headers, out var parent))
        {
            return;
        }
        using var activity = Source.StartActivity($"deliver {topic}", ActivityKind.Consumer, parent, startTime: live ? published : default);
        if (activity is not null)
        {
            activity.SetTag("messaging.system", System);
            activity.SetTag("messaging.operation.type", "deliver");
            activity.SetTag("messaging.destination.name", topic);
            activity.SetTag("messaging.message.id", offset);
            activity.SetTag("network.protocol.name", protocol);
        }
    }

    /// <summary>A <c>receive</c> span per leased queue message, in that message's trace.</summary>
    internal static void Received(string queue, IReadOnlyList<QueueMessage> messages)
    {
        if (!Source.HasListeners())
        {
            return;
        }
        foreach (var message in messages)
        {
            if (!TryGetSampledContext(message.Headers, out var parent))
            {
                continue;
            }
            using var activity = Source.StartActivity($"receive {queue}", ActivityKind.Consumer, parent);
            if (activity is not null)
            {
                activity.SetTag("messaging.system", System);
                activity.SetTag("messaging.operation.type", "receive");
                activity.SetTag("messaging.destination.name", queue);
                activity.SetTag("messaging.message.id", message.Id);
                activity.SetTag("messaging.message.delivery_attempt", message.Attempts);
            }
        }
    }

    /// <summary>
    /// The span of an engine commit that made the work of <paramref name="parents"/> durable: a child of the first,
    /// linked to the others (a group commit serves many publishes at once). Null when nobody records or none was traced.
    /// </summary>
    public static Activity? StartCommit(string engine, IReadOnlyList<ActivityContext> parents, int operations, int messages, DateTimeOffset started)
    {
        if (parents.Count == 0 || !Source.HasListeners())
        {
            return null;
        }
        var links = parents.Count == 1 ? null : parents.Skip(1).Select(p => new ActivityLink(p));
        var activity = Source.StartActivity("commit", ActivityKind.Internal, parents[0], links: links, startTime: started);
        activity?.SetTag("db.system.name", engine);
        activity?.SetTag("switchboard.commit.operations", operations);
        activity?.SetTag("switchboard.commit.messages", messages);
        return activity;
    }

    /// <summary>The context of the span a store operation is started under (to link it to the engine's commit).</summary>
    public static ActivityContext CurrentContext() => Activity.Current is { Recorded: true } current ? current.Context : default;

    /// <summary>Ends <paramref name="span"/> when <paramref name="task"/> completes: described by its result, or failed.</summary>
    internal static async Task<T> EndWhenDone<T>(Activity span, Task<T> task, Action<Activity, T> describe)
    {
        using (span)
        {
            try
            {
                var result = await task.ConfigureAwait(false);
                describe(span, result);
                return result;
            }
            catch (Exception ex)
            {
                Fail(span, ex);
                throw;
            }
        }
    }

    /// <summary>Marks <paramref name="activity"/> failed with <paramref name="error"/>.</summary>
    internal static void Fail(Activity? activity, Exception error)
    {
        if (activity is not null)
        {
            activity.SetStatus(ActivityStatusCode.Error, error.Message);
            activity.SetTag("error.type", error is SwitchboardException s ? s.Code.ToString() : error.GetType().FullName);
        }
    }
}
