using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Switchboard.Core;
using Switchboard.Core.Delivery;
using Switchboard.Server.Auth;
using Switchboard.Server.Connections;
using Switchboard.Server.Rest.Json;
using Switchboard.Server.Rest.Parsing;
using Switchboard.Server.Sse;

namespace Switchboard.Server.Rest;

/// <summary>
/// Long polling of several topics or patterns at once (<c>GET /v1/messages?topic=a&amp;topic=b.*&amp;after=…&amp;wait=30</c>):
/// the multi-topic SSE stream a page at a time, for clients behind proxies that pass nothing but plain requests. The
/// position is the SSE stream's multi-topic token, so a client can move between the two without a gap.
/// </summary>
internal static class PatternPollEndpoints
{
    /// <summary>After the first message of a page, more that are already on their way are waited for this long (a burst in one answer).</summary>
    private static readonly TimeSpan Linger = TimeSpan.FromMilliseconds(5);

    public static void Map(RouteGroupBuilder v1)
    {
        v1.MapMethods("/messages", [HttpMethods.Get, HttpMethods.Head], PollAsync).WithTags("Messages")
            .WithName("ReadManyTopics").WithSummary("Read or long-poll several topics or patterns (?topic=a&topic=b.*)")
            .WithDescription("""
                Messages of every topic the patterns match, after= a position token (the "next" of the previous page, or the id of a
                multi-topic SSE stream; "0" = every retained message; absent = from now), up to limit= (default 100), in
                publish order within a page (each topic's own order always).
                With wait=SECONDS (up to 60) the request is held until a message arrives or the wait ends (empty page); a HEAD is not held.
                Answers {"messages": […], "notices": […], "next": "p1.…" (or "p2.…" past a few dozen topics: a stored snapshot of the
                positions plus what moved since)}; notices tell of messages removed by retention (missed), of topics deleted or
                recreated (epoch-changed, topic-deleted) and of a resume whose snapshot expired (resume-expired): nothing is skipped silently.
                """)
            .ProducesProblem(400).ProducesProblem(403);
    }

    private static async Task<IResult> PollAsync(HttpContext context, Hub hub, ServerOptions options, ConnectionRegistry registry, string[]? topic, string? after, string? limit, string? wait)
    {
        var patterns = topic ?? [];
        context.DemandSubscribeToAll(patterns, "Name the topics to read: /v1/messages?topic=orders&topic=payments.* (wildcards allowed).");
        var max = QueryValues.Limit(limit, 100, hub.Options.MaxReadLimit);
        var hold = QueryValues.Wait(wait, hub.Options.MaxWait);
        if (HttpMethods.IsHead(context.Request.Method))
        {
            hold = TimeSpan.Zero; // a HEAD asks what the page is now (its headers); it is not held like a long poll
        }
        var point = after == "0"
            ? new ResumePoint(new Dictionary<string, Position>(StringComparer.Ordinal), null, new Dictionary<string, Position>(StringComparer.Ordinal))
            : await ResumeTokens.StartAsync(hub, patterns, string.IsNullOrEmpty(after) ? null : after,
                shown => $"after='{shown}' is not a position of a multi-topic read: give the \"next\" of the previous page (or the id of a multi-topic event stream) as it was, after=0 for every retained message, or leave after= out to start from now.",
                context.RequestAborted);
        // A long poll holds a connection's slot while it waits (Switchboard:Connections caps).
        using var held = hold > TimeSpan.Zero ? registry.Hold(context) : null;
        var page = new PageSink(max, new Dictionary<string, Position>(point.Positions, StringComparer.Ordinal));
        using var aborted = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted, hub.Stopping);
        var subscription = await hub.SubscribeAsync(patterns, SubscribeStart.AfterPositions(point.Positions), page, aborted.Token);
        await using (subscription)
        {
            try
            {
                // History first: what the subscription reads back, up to a page, is answered at once (a plain poll).
                await Task.WhenAny(subscription.CaughtUpAsync(), page.Full).WaitAsync(aborted.Token);
                if (await page.WaitForFirstAsync(hold, aborted.Token))
                {
                    await page.LingerAsync(Linger, aborted.Token);
                }
            }
            catch (OperationCanceledException) when (hub.Stopping.IsCancellationRequested && !context.RequestAborted.IsCancellationRequested)
            {
                // the hub is stopping: answer with what there is
            }
            page.Close();
            page.ThrowIfFailed(); // the subscription stopped (its history could not be read): an error, not a short page
        }
        // Past a size, next names a snapshot of the positions (written now if the last one is outgrown): see ResumeTokens.
        var next = (await ResumeTokens.NextAsync(hub, options.Resume, point, page.Positions, context.RequestAborted)).Id;
        return new JsonResult(200, writer =>
        {
            writer.WriteStartObject();
            writer.WriteStartArray("messages");
            foreach (var message in page.Messages)
            {
                MessageJson.WriteCached(writer, message, MessageJson.Fields.All);
            }
            writer.WriteEndArray();
            writer.WriteStartArray("notices");
            if (point.ExpiredSnapshot is { } expired)
            {
                SseFormat.WriteResumeExpired(writer, expired, point.Delta.Keys, hub.Options.ResumeSnapshotRetention);
            }
            foreach (var notice in page.Notices)
            {
                SseFormat.WriteNotice(writer, notice);
            }
            writer.WriteEndArray();
            writer.WriteString("next", next);
            writer.WriteEndObject();
        }, response => response.Headers.CacheControl = "no-store");
    }

    /// <summary>Collects one page: up to <c>limit</c> messages and the notices among them, each moving its topic's position.</summary>
    private sealed class PageSink(int limit, Dictionary<string, Position> positions) : IMessageSink
    {
        private readonly Lock _gate = new();
        private readonly TaskCompletionSource _first = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly TaskCompletionSource _full = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly List<Message> _messages = [];
        private readonly List<SubscriptionNotice> _notices = [];
        private bool _closed;
        private int _version;

        public IReadOnlyList<Message> Messages => _messages;

        public IReadOnlyList<SubscriptionNotice> Notices => _notices;

        public IReadOnlyDictionary<string, Position> Positions => positions;

        /// <summary>Completes when the page holds <c>limit</c> messages.</summary>
        public Task Full => _full.Task;

        public bool TryWrite(Message message)
        {
            lock (_gate)
            {
                if (_closed || _messages.Count >= limit)
                {
                    return false; // not taken: its position stays, the next page starts with it
                }
                _messages.Add(message);
                positions[message.Topic] = message.Position;
                _version++;
                if (_messages.Count == limit)
                {
                    _full.TrySetResult();
                }
            }
            _first.TrySetResult();
            return true;
        }

        public async ValueTask WriteAsync(Message message, CancellationToken cancellationToken)
        {
            if (!TryWrite(message))
            {
                // Full (or answered): hold the subscription here until the page is answered and it is disposed.
                await Task.Delay(Timeout.Infinite, cancellationToken);
            }
        }

        private volatile SwitchboardException? _failure;

        public void Fail(SwitchboardException error)
        {
            _failure = error;
            _first.TrySetResult(); // a long poll waiting for its first message answers now
        }

        public void ThrowIfFailed()
        {
            if (_failure is { } failure)
            {
                throw failure;
            }
        }

        public ValueTask WriteNoticeAsync(SubscriptionNotice notice, CancellationToken cancellationToken)
        {
            lock (_gate)
            {
                if (_closed)
                {
                    return ValueTask.CompletedTask; // told again on the next page: the position did not move past it
                }
                _notices.Add(notice);
                positions[notice.Topic] = notice.ResumeAfter;
                _version++;
            }
            _first.TrySetResult();
            return ValueTask.CompletedTask;
        }

        /// <summary>True once something arrived; false when <paramref name="wait"/> passed first.</summary>
        public async Task<bool> WaitForFirstAsync(TimeSpan wait, CancellationToken cancellationToken)
        {
            if (_first.Task.IsCompleted || wait <= TimeSpan.Zero)
            {
                return _first.Task.IsCompleted;
            }
            try
            {
                await _first.Task.WaitAsync(wait, cancellationToken);
                return true;
            }
            catch (TimeoutException)
            {
                return false;
            }
        }

        /// <summary>Takes what keeps arriving, until a quiet <paramref name="quiet"/> or a full page (bounded: at most 50 rounds).</summary>
        public async Task LingerAsync(TimeSpan quiet, CancellationToken cancellationToken)
        {
            for (var round = 0; round < 50; round++)
            {
                int before;
                lock (_gate)
                {
                    if (_messages.Count >= limit)
                    {
                        return;
                    }
                    before = _version;
                }
                await Task.Delay(quiet, cancellationToken);
                lock (_gate)
                {
                    if (_version == before)
                    {
                        return;
                    }
                }
            }
        }

        /// <summary>
        /// Takes nothing more and puts the page in publish order. Catching up reads the topics one after another, so a
        /// page that caught up on several holds them grouped by topic; a client reading the page expects them as they
        /// were published. Each message is keyed by the latest timestamp of its topic so far, so a clock that stepped
        /// back between two publishes cannot reorder a topic (per-topic order is the guarantee; this only interleaves).
        /// </summary>
        public void Close()
        {
            lock (_gate)
            {
                _closed = true;
            }
            InPublishOrder(_messages);
        }

        private static void InPublishOrder(List<Message> messages)
        {
            if (messages.Count < 2)
            {
                return;
            }
            var latest = new Dictionary<string, DateTimeOffset>(StringComparer.Ordinal);
            var keys = new (DateTimeOffset At, int Index)[messages.Count];
            var ordered = true;
            for (var i = 0; i < messages.Count; i++)
            {
                var message = messages[i];
                var at = latest.TryGetValue(message.Topic, out var before) && before > message.Timestamp ? before : message.Timestamp;
                latest[message.Topic] = at;
                keys[i] = (at, i);
                ordered &= i == 0 || keys[i - 1].At <= at;
            }
            if (ordered)
            {
                return;
            }
            Array.Sort(keys); // by time, then by place in the page: stable
            var copy = messages.ToArray();
            for (var i = 0; i < keys.Length; i++)
            {
                messages[i] = copy[keys[i].Index];
            }
        }
    }
}
