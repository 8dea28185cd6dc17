using Microsoft.Extensions.Logging;
using Switchboard.Core.Engines;

namespace Switchboard.Core.Delivery;

/// <summary>
/// A live interest in one or more topics (wildcards allowed), delivering to one <see cref="IMessageSink"/>.
/// History first, then live, with no gap and no duplicate: each topic has a cursor (the next offset owed);
/// live messages that fit the cursor go straight to the sink, anything else (a gap, a full sink, a new
/// incarnation) switches that topic to catch-up, which reads from the store until it meets the live edge.
/// </summary>
public sealed partial class Subscription : IAsyncDisposable
{
    // Messages read per store round trip while catching up: large enough to amortise the read, small enough
    // that one topic's backlog does not hold a big batch in memory (the sink bounds the rest).
    internal const int CatchUpBatch = 256;

    private readonly IStore _store;
    private readonly Dispatcher _dispatcher;
    private readonly IMessageSink _sink;
    private readonly ILogger _logger;
    private readonly SubscribeStart _start;
    private readonly Lock _gate = new();
    private readonly Dictionary<string, Cursor> _cursors = new(StringComparer.Ordinal);
    // The cursor the last live message went to (cursors are never removed): most subscriptions follow one topic, so the
    // live path usually finds its cursor without hashing the topic's name.
    private Cursor? _lastLive;
    private readonly Queue<Cursor> _behind = new();
    private readonly TopicPattern[] _wildcards;
    private readonly CancellationTokenSource _stopping = new();
    private Task _runner = Task.CompletedTask;
    private TaskCompletionSource? _caughtUp;
    private bool _running;
    private bool _disposed;
    private bool _faulted;
    private SwitchboardException? _failure; // why catching up stopped for good
    private int _unregistered;
    private int _listening;
    private bool _seededAtEnd;

    internal Subscription(IStore store, Dispatcher dispatcher, IReadOnlyList<TopicPattern> patterns, SubscribeStart start, IMessageSink sink, ILogger logger,
        Subscriber? subscriber = null, Action<Subscription>? ended = null)
    {
        Subscriber = subscriber;
        _ended = ended;
        _store = store;
        _dispatcher = dispatcher;
        Patterns = patterns;
        _start = start;
        _sink = sink;
        _logger = logger;
        _wildcards = [.. patterns.Where(p => p.IsWildcard)];
    }

    private readonly Action<Subscription>? _ended;

    /// <summary>Who holds it (for presence), or null for the hub's own subscriptions.</summary>
    public Subscriber? Subscriber { get; }

    /// <summary>The patterns subscribed to.</summary>
    public IReadOnlyList<TopicPattern> Patterns { get; }

    /// <summary>The topics whose <c>$presence.…</c> topic hears this subscription's join and leave (set by the hub before it starts).</summary>
    internal IReadOnlyList<string> Announced { get; init; } = [];

    /// <summary>The resume position of each topic delivered so far (what a client would resume from).</summary>
    public IReadOnlyDictionary<string, Position> Positions
    {
        get
        {
            lock (_gate)
            {
                return _cursors.Where(c => c.Value.Epoch is not null)
                    .ToDictionary(c => c.Key, c => new Position(c.Value.Epoch, c.Value.Next - 1), StringComparer.Ordinal);
            }
        }
    }

    internal bool MatchesWildcard(string topic)
    {
        foreach (var pattern in _wildcards)
        {
            if (pattern.Matches(topic))
            {
                return true;
            }
        }
        return false;
    }

    /// <summary>
    /// Listens on the backplane, sets up cursors for history, then joins the fan-out, then starts catching up.
    /// </summary>
    internal async Task StartAsync(CancellationToken cancellationToken)
    {
        // Listening comes before anything is read: a message committed on another node after the read must
        // reach this node live, or the subscription would not hear of it until the topic's next message.
        Interlocked.Exchange(ref _listening, 1);
        try
        {
            await _dispatcher.Interests.AcquireAsync(Patterns, cancellationToken);
            await JoinAsync(cancellationToken);
        }
        catch
        {
            StopListening(); // the caller never gets this subscription to dispose
            throw;
        }
    }

    private void StopListening()
    {
        if (Interlocked.Exchange(ref _listening, 0) == 1)
        {
            _dispatcher.Interests.Release(Patterns);
        }
    }

    private async Task JoinAsync(CancellationToken cancellationToken)
    {
        if (!_start.FromNow)
        {
            // Cursors come first: a message that arrives once we are registered must find its topic's cursor
            // already positioned, or it would be taken for a topic created after the subscription.
            foreach (var pattern in Patterns)
            {
                if (pattern.IsWildcard)
                {
                    await AddCursorsAsync(pattern, cancellationToken);
                }
                else
                {
                    AddCursor(pattern.Text);
                }
            }
        }
        else if (_dispatcher.Interests.Selective)
        {
            // In a cluster, one topic's events can arrive out of offset order (several nodes publish) or be lost, so
            // "from now" cannot mean "from the first event that arrives": each topic known now starts at its end, and
            // a topic first seen live was created since, so all of it is new.
            _seededAtEnd = true;
            foreach (var pattern in Patterns)
            {
                if (pattern.IsWildcard)
                {
                    await AddCursorsAsync(pattern, cancellationToken, atEnd: true);
                }
                else
                {
                    AddCursorAtEnd(pattern.Text, await _store.GetTopicAsync(pattern.Text, cancellationToken));
                }
            }
        }
        _dispatcher.Add(this);
        if (!_start.FromNow)
        {
            // A topic created (and perhaps fully written) between the listing above and joining the fan-out was
            // neither listed nor seen live: list again now that nothing new can slip past. Topics seen live since
            // joining keep the cursor they got.
            try
            {
                foreach (var pattern in _wildcards)
                {
                    await AddCursorsAsync(pattern, cancellationToken);
                }
            }
            catch
            {
                // The caller never gets this subscription to dispose: leave the fan-out quietly (it never joined presence),
                // and stop a runner a live message may have started meanwhile (it would wait on the sink for good).
                Interlocked.Exchange(ref _unregistered, 1);
                _dispatcher.Remove(this);
                lock (_gate)
                {
                    _disposed = true;
                }
                _stopping.Cancel();
                throw;
            }
        }
        lock (_gate)
        {
            foreach (var cursor in _cursors.Values)
            {
                Behind(cursor);
            }
        }
    }

    private async Task AddCursorsAsync(TopicPattern pattern, CancellationToken cancellationToken, bool atEnd = false)
    {
        string? after = null;
        do
        {
            var page = await _store.ListTopicsAsync(pattern.LiteralPrefix, after, 1000, cancellationToken);
            foreach (var topic in page.Topics.Where(t => pattern.Matches(t.Name)))
            {
                if (atEnd)
                {
                    AddCursorAtEnd(topic.Name, topic);
                }
                else
                {
                    AddCursor(topic.Name);
                }
            }
            after = page.NextAfterName;
        }
        while (after is not null);
    }

    private void AddCursor(string topic)
    {
        var position = _start.PositionOf(topic);
        lock (_gate)
        {
            _cursors.TryAdd(topic, new Cursor(topic) { Epoch = position.Epoch, Next = position.Offset + 1, CatchingUp = true, ClampToEnd = true });
        }
    }

    private void AddCursorAtEnd(string topic, TopicInfo? info)
    {
        lock (_gate)
        {
            // A topic that does not exist yet starts at 1 whichever incarnation comes (its epoch is learnt then).
            _cursors.TryAdd(topic, new Cursor(topic) { Epoch = info?.Epoch, Next = (info?.LastOffset ?? 0) + 1 });
        }
    }

    /// <summary>Live messages of one topic, in offset order, from the fan-out. Never blocks.</summary>
    internal void OnLive(IReadOnlyList<Message> messages)
    {
        lock (_gate)
        {
            if (_disposed || _faulted)
            {
                return;
            }
            var first = messages[0];
            Cursor? cursor;
            if (_lastLive is { } last && string.Equals(last.Topic, first.Topic, StringComparison.Ordinal))
            {
                cursor = last;
            }
            else if (!_cursors.TryGetValue(first.Topic, out cursor))
            {
                // A topic first seen now: from its first live message (subscribed "now"), or from its very first
                // message when the subscription asked for history (the topic was created after it started). A topic the
                // start gave a position for (a resumed pattern) continues from it: one deleted before the subscription
                // listed its topics and created again since is another incarnation, announced below like any other.
                var known = _start.FromNow ? default : _start.PositionOf(first.Topic);
                cursor = known.Epoch is not null
                    ? new Cursor(first.Topic) { Epoch = known.Epoch, Next = known.Offset + 1 }
                    : new Cursor(first.Topic) { Epoch = first.Epoch, Next = _start.FromNow && !_seededAtEnd ? first.Offset : 1 };
                _cursors.Add(first.Topic, cursor);
            }
            _lastLive = cursor;
            if (cursor.CatchingUp)
            {
                // The runner reads on until it has read past this. An event of another incarnation (or while the runner
                // has yet to learn one) may be newer than what the runner read, or older: in a cluster another node's
                // event can arrive after a deletion and the next incarnation's events. Only the store can tell, so the
                // runner reads once more; a newer one shows there, an older one was over before the runner's read.
                if (string.Equals(cursor.Epoch, first.Epoch, StringComparison.Ordinal))
                {
                    cursor.Pending = Math.Max(cursor.Pending, messages[^1].Offset);
                }
                else
                {
                    cursor.ReadAgain = true;
                }
                return;
            }
            if (cursor.Epoch is null)
            {
                cursor.Epoch = first.Epoch;
            }
            if (!string.Equals(cursor.Epoch, first.Epoch, StringComparison.Ordinal))
            {
                // Another incarnation, or a late event of an old one (see above): not taken on the event's word, or a late
                // event would switch the cursor back to its incarnation, and the store's forward again from offset 1,
                // repeating what was delivered. Catching up reads the current one and tells EpochChanged if it is new.
                Behind(cursor);
                return;
            }
            // Offsets ascend: skip what was already delivered, hand the sink the run that follows the cursor at once.
            var start = 0;
            while (start < messages.Count && messages[start].Offset < cursor.Next)
            {
                start++;
            }
            var run = 0;
            while (start + run < messages.Count && messages[start + run].Offset == cursor.Next + run)
            {
                run++;
            }
            var written = run == 0 ? 0 : _sink.TryWrite(messages, start, run);
            cursor.Next += written;
            if (start + written < messages.Count)
            {
                // A gap (a lost backplane event) or a full sink: read the rest back from the store.
                cursor.Pending = messages[^1].Offset;
                Behind(cursor);
            }
        }
    }

    /// <summary>The sink threw on the live path: log it and stop this subscription's live delivery.</summary>
    internal void OnSinkFault(Exception exception)
    {
        SubscriptionLog.SinkFailed(_logger, string.Join(",", Patterns), exception);
        lock (_gate)
        {
            _faulted = true;
        }
        Unregister();
    }

    private void Unregister()
    {
        if (Interlocked.Exchange(ref _unregistered, 1) == 0)
        {
            _dispatcher.Remove(this);
            StopListening();
            _ended?.Invoke(this);
        }
    }

    /// <summary>Events may have been lost: every topic this subscription follows reads the store up to its live edge.</summary>
    /// <remarks>A wildcard's topics created while events were lost are found at their next message.</remarks>
    internal void Resync()
    {
        lock (_gate)
        {
            if (_disposed || _faulted)
            {
                return;
            }
            foreach (var cursor in _cursors.Values)
            {
                Behind(cursor);
            }
        }
    }

    /// <summary>A topic incarnation ended.</summary>
    internal void OnDeleted(string topic, string epoch)
    {
        lock (_gate)
        {
            if (_disposed || _faulted || !_cursors.TryGetValue(topic, out var cursor) || (cursor.Epoch is not null && cursor.Epoch != epoch)
                || cursor.Deleted == epoch)
            {
                return;
            }
            cursor.Deleted = epoch;
            cursor.Notices.Enqueue(new TopicWasDeleted(topic, epoch));
            Behind(cursor);
        }
    }

    // Under _gate: mark the cursor as catching up and make sure the runner will visit it.
    private void Behind(Cursor cursor, bool startRunner = true)
    {
        cursor.CatchingUp = true;
        if (!cursor.Queued)
        {
            cursor.Queued = true;
            _behind.Enqueue(cursor);
        }
        if (startRunner && !_running && !_disposed && !_faulted)
        {
            _running = true;
            _runner = Task.Run(RunAsync);
        }
    }

    /// <summary>
    /// Completes once every topic that was behind has been read back to its end (what a one-shot read of several topics
    /// waits for before it answers). A sink that stops taking messages keeps it from completing: wait for it together
    /// with whatever the sink signals. Faults with the error the subscription stopped with, if reading history failed for good.
    /// </summary>
    public Task CaughtUpAsync()
    {
        lock (_gate)
        {
            if (_failure is not null)
            {
                return Task.FromException(_failure);
            }
            if (!_running)
            {
                return Task.CompletedTask;
            }
            _caughtUp ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            return _caughtUp.Task;
        }
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        Task runner;
        lock (_gate)
        {
            if (_disposed)
            {
                return;
            }
            _disposed = true;
            runner = _runner;
        }
        Unregister();
        await _stopping.CancelAsync();
        try
        {
            await runner;
        }
        catch (OperationCanceledException)
        {
            // expected: the runner was waiting on the sink or the store
        }
        _stopping.Dispose();
    }

    private sealed class Cursor(string topic)
    {
        public string Topic { get; } = topic;
        public string? Epoch { get; set; }
        public long Next { get; set; }
        public bool CatchingUp { get; set; }
        public bool Queued { get; set; }
        public long Pending { get; set; }
        // An event of another incarnation came while catching up, after the read in progress began: read once more.
        public bool ReadAgain { get; set; }
        public bool ClampToEnd { get; set; }
        // The incarnation whose deletion was told: the cursor keeps its epoch until the next one shows, and a node can
        // hear one event twice (a topic's channel and a pattern's), so a repeat tells nothing more.
        public string? Deleted { get; set; }
        public Queue<SubscriptionNotice> Notices { get; } = new();
    }
}
