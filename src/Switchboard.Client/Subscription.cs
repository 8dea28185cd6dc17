using System.Runtime.CompilerServices;
using System.Text;
using System.Threading.Channels;

namespace Switchboard.Client;

/// <summary>
/// A subscription to a topic or pattern (<c>*</c> one token, <c>&gt;</c> the rest), whatever transport carries it.
/// Read it with <c>await foreach</c>, or give <see cref="SwitchboardClient.Subscribe(string, Func{Message, CancellationToken, ValueTask}, SubscribeOptions?)"/>
/// a handler. It remembers each topic's position and the hub's own resume token for them (an SSE id, a multi-topic
/// poll's <c>next</c>: <c>p1.</c> while small, <c>p2.</c> beyond, a snapshot the hub stores) and resumes from them after
/// every reconnect, so the application sees no gap and no duplicate, and a resume names hundreds of topics in a short
/// token.
/// </summary>
public sealed class Subscription : IAsyncEnumerable<Message>, IAsyncDisposable
{
    private readonly SwitchboardClient _client;
    private readonly Channel<Delivery> _inbox;
    private readonly SemaphoreSlim _accepting = new(1, 1);
    private readonly Lock _lock = new();
    /// <summary>topic → the last message accepted from the hub (or the start): where a resume continues.</summary>
    private readonly Dictionary<string, TopicPosition> _positions = new(StringComparer.Ordinal);
    /// <summary>topic → the last message handed to the application: what <see cref="Position"/> reports.</summary>
    private readonly Dictionary<string, TopicPosition> _delivered = new(StringComparer.Ordinal);
    /// <summary>The hub's token for <see cref="_positions"/> (null while it gave none), and the topics moved since it was given.</summary>
    private readonly ResumeState _resume = new();
    /// <summary>The same for <see cref="_delivered"/>.</summary>
    private readonly ResumeState _handedOver = new();
    private readonly TaskCompletionSource _ready = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _completion = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _enumerated;

    internal Subscription(SwitchboardClient client, string pattern, SubscribeOptions? options, int buffer)
    {
        ArgumentException.ThrowIfNullOrEmpty(pattern);
        _client = client;
        Pattern = pattern;
        IsPattern = Topics.IsPattern(pattern);
        Options = options ?? new SubscribeOptions();
        _inbox = Channel.CreateBounded<Delivery>(new BoundedChannelOptions(buffer) { SingleReader = true, FullMode = BoundedChannelFullMode.Wait });
        _ready.Task.ContinueWith(static t => _ = t.Exception, CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted, TaskScheduler.Default);
        if (Options.After is { } after)
        {
            StartAfter(after);
        }
    }

    /// <summary>The topic or pattern.</summary>
    public string Pattern { get; }

    /// <summary>True when <see cref="Pattern"/> holds a wildcard.</summary>
    public bool IsPattern { get; }

    /// <summary>Completes once the hub confirmed the subscription; faults if it refused (forbidden, invalid name…).</summary>
    public Task Ready => _ready.Task;

    /// <summary>Completes when the subscription ends: unsubscribed or the client closed (successfully), or refused (faulted, with the hub's reason).</summary>
    public Task Completion => _completion.Task;

    /// <summary>
    /// Where the application stands: for a topic <c>epoch:offset</c> of the last message handed over (null while none was
    /// and the topic did not exist yet); for a pattern every topic's position in one token, the hub's own where it gave
    /// one (SSE, long polling). Either is a valid <see cref="SubscribeOptions.After"/> for a later subscription.
    /// </summary>
    public string? Position
    {
        get
        {
            lock (_lock)
            {
                if (!IsPattern)
                {
                    return _delivered.TryGetValue(Pattern, out var position) ? position.ToString() : _handedOver.Token;
                }
                return Token(_delivered, _handedOver);
            }
        }
    }

    internal SubscribeOptions Options { get; }

    /// <summary>False until a start is known: <c>After</c> given, or "now" pinned by the client.</summary>
    internal bool Started { get; private set; }

    internal bool IsClosed => _completion.Task.IsCompleted;

    /// <summary>Holds a handler instead of being enumerated.</summary>
    internal bool HasHandler { get; set; }

    /// <summary>
    /// True when only the multi-topic forms (<c>GET /v1/events</c>, <c>GET /v1/messages?topic=</c>, a subscribe's
    /// positions token) can carry this subscription's start: a pattern, or a topic that starts at a token the client
    /// cannot read.
    /// </summary>
    internal bool IsMultiTopic
    {
        get
        {
            lock (_lock)
            {
                return IsPattern || (_resume.Token is not null && !_positions.ContainsKey(Pattern));
            }
        }
    }

    /// <summary>
    /// Reads <see cref="SubscribeOptions.After"/>. An offset or <c>epoch:offset</c> is read here (and its misuse on a
    /// pattern refused at once); a multi-topic token is the hub's own and goes back to it as it is: a <c>p1.</c> one also
    /// gives the positions it holds, while anything else (a <c>p2.</c> token, naming a snapshot only the hub can read, or
    /// a token this client does not know) is the hub's to judge, so a damaged or expired one fails the subscription with
    /// the hub's own reason.
    /// </summary>
    private void StartAfter(string after)
    {
        if (string.IsNullOrWhiteSpace(after))
        {
            throw new ArgumentException("After is empty: give a position (or \"0\" for everything retained), or leave it null to start from now.", nameof(after));
        }
        if (long.TryParse(after, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var offset))
        {
            if (IsPattern && offset != 0)
            {
                throw new ArgumentException($"After = \"{after}\" on the pattern {Pattern}: a pattern starts at 0 (everything retained) or at a position it reported (Subscription.Position).", nameof(after));
            }
            if (offset > 0)
            {
                _positions[Pattern] = new TopicPosition(null, offset);
            }
        }
        else if (TopicPosition.TryParse(after, out var single))
        {
            if (IsPattern)
            {
                throw new ArgumentException($"After = \"{after}\" names one topic's position; {Pattern} is a pattern (give \"0\" or Subscription.Position).", nameof(after));
            }
            _positions[Pattern] = single;
        }
        else
        {
            var positions = Topics.TryDecodeToken(after);
            foreach (var (topic, known) in positions ?? [])
            {
                _positions[topic] = known;
            }
            _resume.Start(after, complete: positions is not null);
            _handedOver.Start(after, complete: positions is not null);
        }
        foreach (var (topic, position) in _positions)
        {
            _delivered[topic] = position;
        }
        Started = true;
    }

    /// <summary>"From now" made explicit: each existing topic's end (read by the client before the first subscribe).</summary>
    internal void Pin(IEnumerable<(string Topic, TopicPosition Position)> ends)
    {
        lock (_lock)
        {
            foreach (var (topic, position) in ends)
            {
                _positions.TryAdd(topic, position);
                _delivered.TryAdd(topic, position);
            }
            Started = true;
        }
    }

    /// <summary>Moves a topic's position (long polling: the incarnation the hub read from, or its end after it lost history).</summary>
    internal void MoveTo(string topic, TopicPosition position)
    {
        lock (_lock)
        {
            _positions[topic] = position;
            _delivered[topic] = position;
            _resume.Move(topic, null);
            _handedOver.Move(topic, null);
        }
    }

    /// <summary>A topic's resume position, if it has one.</summary>
    internal TopicPosition? PositionOf(string topic)
    {
        lock (_lock)
        {
            return _positions.TryGetValue(topic, out var position) ? position : null;
        }
    }

    /// <summary>The multi-topic token to resume with (see <see cref="Token"/>).</summary>
    internal string ResumeToken()
    {
        lock (_lock)
        {
            return Token(_positions, _resume);
        }
    }

    /// <summary>
    /// The hub gave a token for where the stream stands now without a message (an SSE id-only block, an empty poll's
    /// <c>next</c>): resumes use it; <see cref="Position"/> does once the application took every message before it.
    /// </summary>
    internal void Advance(string? token)
    {
        if (string.IsNullOrEmpty(token))
        {
            return;
        }
        lock (_lock)
        {
            if (IsClosed)
            {
                return;
            }
            _resume.Given(token);
            _inbox.Writer.TryWrite(new Delivery(null, token)); // a full inbox: Position keeps the last message's token, as valid
        }
    }

    internal IReadOnlyDictionary<string, TopicPosition> ResumePositions()
    {
        lock (_lock)
        {
            return new Dictionary<string, TopicPosition>(_positions, StringComparer.Ordinal);
        }
    }

    /// <summary>
    /// The hub's own token while nothing moved since it was given; else every position, built here (<c>p1.</c> + base64url
    /// of "topic epoch:offset" lines). A start the client cannot read (<c>p2.</c>) has no such list: its token is sent,
    /// and the hub brings the moved topics again from there, which <see cref="AcceptAsync"/> drops as seen.
    /// </summary>
    private static string Token(Dictionary<string, TopicPosition> positions, ResumeState state)
    {
        if (state.Token is { } token && (state.Moved.Count == 0 || !state.Complete))
        {
            return token;
        }
        var text = new StringBuilder();
        foreach (var (topic, position) in positions.OrderBy(p => p.Key, StringComparer.Ordinal))
        {
            text.Append(topic).Append(' ').Append(position.ToString()).Append('\n');
        }
        return Topics.TokenPrefix + System.Buffers.Text.Base64Url.EncodeToString(Encoding.UTF8.GetBytes(text.ToString()));
    }

    /// <summary>
    /// A message from the hub. Kept when it is after its topic's position (same epoch), or, when <paramref name="strict"/>,
    /// only when it is the very next one: on a WebSocket shared by overlapping subscriptions a frame may belong to
    /// another subscription further ahead, and this one's own stream brings every message in order.
    /// <paramref name="token"/> is the hub's resume token for where the stream stands after it (an SSE id, the last
    /// message of a poll's page: its <c>next</c>).
    /// </summary>
    internal async ValueTask<bool> AcceptAsync(Message message, bool strict, CancellationToken cancellationToken, string? token = null)
    {
        await _accepting.WaitAsync(cancellationToken);
        try
        {
            TopicPosition? before;
            lock (_lock)
            {
                if (IsClosed)
                {
                    return false;
                }
                if (_positions.TryGetValue(message.Topic, out before))
                {
                    if (before.Epoch is null || before.Epoch == message.Epoch)
                    {
                        if (message.Offset <= before.Offset)
                        {
                            if (token is not null)
                            {
                                _resume.Given(token); // the hub's token still holds where this one stands
                            }
                            return false; // seen already (a resume overlaps, or another subscription's copy)
                        }
                        if (strict && message.Offset != before.Offset + 1)
                        {
                            return false; // not ours yet
                        }
                    }
                    else if (strict)
                    {
                        return false; // another incarnation: this subscription's own epoch-changed notice comes first
                    }
                }
                else if (strict && message.Offset != 1 && _resume.Complete)
                {
                    // A topic new to this subscription starts at 1 (or after a missed notice). After a start only the hub
                    // can read, where this topic stood is unknown here: its first message is taken.
                    return false;
                }
            }
            var delivery = new Delivery(message, token);
            if (!_inbox.Writer.TryWrite(delivery))
            {
                try
                {
                    // The application is behind: wait for room (the transport stops reading meanwhile: backpressure).
                    await _inbox.Writer.WriteAsync(delivery, cancellationToken);
                }
                catch (ChannelClosedException)
                {
                    return false;
                }
            }
            // Only now is it ours: a wait cancelled above (the connection closed under it) leaves the position where it
            // was, so the resume brings this message again rather than skip it.
            lock (_lock)
            {
                if (ReferenceEquals(_positions.GetValueOrDefault(message.Topic), before))
                {
                    _positions[message.Topic] = new TopicPosition(message.Epoch, message.Offset);
                    _resume.Move(message.Topic, token);
                }
            }
            return true;
        }
        finally
        {
            _accepting.Release();
        }
    }

    /// <summary>A notice from the hub: positions follow it, the application hears of it.</summary>
    internal void OnNotice(SubscriptionNotice notice)
    {
        lock (_lock)
        {
            if (IsClosed)
            {
                return;
            }
            if (notice.Kind == "missed" && notice.ToOffset is { } to)
            {
                if (!_positions.TryGetValue(notice.Topic, out var position) || position.Epoch is null || position.Epoch == notice.Epoch)
                {
                    if (position is null || position.Offset < to)
                    {
                        _positions[notice.Topic] = new TopicPosition(notice.Epoch, to);
                        _delivered[notice.Topic] = new TopicPosition(notice.Epoch, to);
                    }
                }
            }
            else if (notice.Kind == "epoch-changed" && notice.Epoch is not null)
            {
                _positions[notice.Topic] = new TopicPosition(notice.Epoch, 0);
                _delivered[notice.Topic] = new TopicPosition(notice.Epoch, 0);
            }
        }
        notice.Subscription = this;
        _client.ReportNotice(this, notice);
    }

    internal void Confirmed() => _ready.TrySetResult();

    /// <summary>The hub refused the subscription: it ends; <see cref="Ready"/> and <see cref="Completion"/> fault with why.</summary>
    internal void Failed(SwitchboardException error)
    {
        if (_ready.Task.IsCompleted && IsClosed)
        {
            return;
        }
        _inbox.Writer.TryComplete(error);
        _completion.TrySetException(error);
        // Ready last: whoever sees it fault sees the subscription ended too (Completion faulted, the inbox completed).
        _ready.TrySetException(error);
        _client.Forget(this);
    }

    /// <summary>Ends the subscription without an error (unsubscribed, or the client closed).</summary>
    internal void Ended()
    {
        _inbox.Writer.TryComplete();
        _completion.TrySetResult();
        _ready.TrySetException(new SwitchboardException(ClientErrorCodes.Closed, $"The subscription to {Pattern} ended before the hub confirmed it."));
    }

    /// <summary>The application took a message (or reached a token the hub gave without one): <see cref="Position"/> moves to it.</summary>
    private void Delivered(Delivery delivery)
    {
        lock (_lock)
        {
            if (delivery.Message is not { } message)
            {
                _handedOver.Given(delivery.Token!);
                return;
            }
            _delivered[message.Topic] = new TopicPosition(message.Epoch, message.Offset);
            _handedOver.Move(message.Topic, delivery.Token);
        }
    }

    internal async Task PumpAsync(Func<Message, CancellationToken, ValueTask> handler, CancellationToken cancellationToken)
    {
        await foreach (var message in ReadAllAsync(cancellationToken))
        {
            try
            {
                await handler(message, cancellationToken);
            }
            catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
            {
                _client.ReportError(new SwitchboardException(ClientErrorCodes.Internal, $"The handler of the subscription to {Pattern} failed on {message.Topic} {message.Position}: {ex.Message}", ex));
            }
        }
    }

    private async IAsyncEnumerable<Message> ReadAllAsync([EnumeratorCancellation] CancellationToken cancellationToken)
    {
        while (await _inbox.Reader.WaitToReadAsync(cancellationToken))
        {
            while (_inbox.Reader.TryRead(out var delivery))
            {
                Delivered(delivery);
                if (delivery.Message is { } message)
                {
                    yield return message;
                }
            }
        }
    }

    /// <summary>Reads the messages as they come; ends when the subscription ends (throws when the hub refused it). One reader only.</summary>
    public IAsyncEnumerator<Message> GetAsyncEnumerator(CancellationToken cancellationToken = default)
    {
        if (HasHandler || Interlocked.Exchange(ref _enumerated, 1) != 0)
        {
            throw new InvalidOperationException($"The subscription to {Pattern} already has a reader (a handler or another await foreach); subscribe again for a second one.");
        }
        return ReadAllAsync(cancellationToken).GetAsyncEnumerator(cancellationToken);
    }

    /// <summary>Ends the subscription (on the hub too when connected).</summary>
    public async ValueTask UnsubscribeAsync()
    {
        if (IsClosed)
        {
            return;
        }
        Ended();
        await _client.UnsubscribeAsync(this);
    }

    /// <summary>Same as <see cref="UnsubscribeAsync"/>.</summary>
    public ValueTask DisposeAsync() => UnsubscribeAsync();
}
