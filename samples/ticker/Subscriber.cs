using System.Buffers.Text;
using System.Globalization;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Grpc.Core;
using Switchboard.Protocol.V1;
using SwitchboardClient = Switchboard.Protocol.V1.Switchboard.SwitchboardClient;

namespace Switchboard.Samples.Ticker;

/// <summary>
/// Follows the prices with the server-streaming <c>Subscribe</c> call, and keeps following them when the stream drops
/// (the hub restarted, the network broke): it remembers each topic's position, the epoch and offset of the last price it
/// printed, and after a backoff subscribes again with all of them in <c>positions</c>. Each topic resumes right after
/// its own position, so no price is printed twice and none is skipped.
/// </summary>
internal sealed class Subscriber(SwitchboardClient client, Metadata? headers, Uri hub, string? token, Options options)
{
    /// <summary>Attempts in a row with no price between them before it gives up (with the backoff, 80 to 160 seconds).</summary>
    private const int MaxAttempts = 20;
    private static readonly TimeSpan FirstDelay = TimeSpan.FromMilliseconds(250);
    private static readonly TimeSpan MaxDelay = TimeSpan.FromSeconds(10);

    /// <summary>topic → the epoch and offset of the last price printed (or of the topic's end when "now" was pinned).</summary>
    private readonly Dictionary<string, (string Epoch, long Offset)> _positions = new(StringComparer.Ordinal);
    private int _received;

    public async Task<int> RunAsync(CancellationToken cancellationToken)
    {
        List<string> topics = options.Symbols.Count == 0 ? ["prices.*"] : [.. options.Symbols.Select(Prices.Topic)];
        // Whether the hub has answered yet: before that, an address where nothing listens ends the program (exit 1);
        // after, the same failure is a drop to resume from.
        var reached = false;
        if (!options.FromStart)
        {
            await PinNowAsync(topics, cancellationToken);
            reached = true;
        }
        Console.WriteLine($"subscribing to {string.Join(", ", topics)} over gRPC{(options.FromStart ? ", from the start" : "")}");
        for (var failures = 0; failures < MaxAttempts; failures++)
        {
            var request = new SubscribeRequest();
            request.Topics.AddRange(topics);
            if (_positions.Count > 0)
            {
                request.Positions = PositionsToken(); // the listed topics after their positions, any other from its start
            }
            else
            {
                request.AfterOffset = 0; // --from-start, or no topic existed when "now" was pinned: all they hold is new
            }
            string lost;
            try
            {
                using var call = client.Subscribe(request, headers, cancellationToken: cancellationToken);
                await foreach (var message in call.ResponseStream.ReadAllAsync(cancellationToken))
                {
                    reached = true;
                    failures = 0;
                    if (Show(message))
                    {
                        return 0;
                    }
                }
                lost = "the hub ended the stream"; // it is shutting down
            }
            catch (RpcException ex) when (IsDrop(ex) && !cancellationToken.IsCancellationRequested)
            {
                if (!reached && CouldNotConnect(ex))
                {
                    throw; // nothing listens there: say so rather than retry
                }
                reached = true;
                lost = $"{ex.StatusCode}: {ex.Status.Detail}";
            }
            var delay = Backoff(failures);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{(failures == 0 ? "stream lost" : "still no stream")} ({lost}); resubscribing in {delay.TotalSeconds:0.0} s after {_received} prices (attempt {failures + 1} of {MaxAttempts})"));
            await Task.Delay(delay, cancellationToken);
        }
        Console.Error.WriteLine($"ticker: no price after {MaxAttempts} attempts to subscribe again; giving up (the hub is still away?)");
        return 1;
    }

    /// <summary>Prints a price (or a notice) and moves its topic's position; true when --count is reached.</summary>
    private bool Show(Message message)
    {
        if (message.Notice is { } notice)
        {
            // Not a price: prices removed by retention before they were read (MISSED), or a topic deleted or recreated:
            // its old position means nothing any more, and the hub goes on from the new incarnation's start.
            Console.Error.WriteLine($"ticker: notice {notice.Kind} on {notice.Topic} ({notice.FromOffset}..{notice.ToOffset})");
            if (notice.Kind is Notice.Types.Kind.EpochChanged or Notice.Types.Kind.TopicDeleted)
            {
                _positions.Remove(notice.Topic);
            }
            return false;
        }
        _positions[message.Topic] = (message.Epoch, message.Offset);
        Tick? tick;
        try
        {
            tick = JsonSerializer.Deserialize<Tick>(message.Payload.Span, Prices.Json);
        }
        catch (JsonException)
        {
            tick = null;
        }
        Console.WriteLine(tick is null
            ? $"{message.Topic} @{message.Offset} (not a price: {message.Payload.Length} bytes of {(message.ContentType is { Length: > 0 } type ? type : "application/json")})"
            : Prices.Describe(message.Topic, message.Offset, tick));
        return ++_received == options.Count;
    }

    /// <summary>The <c>positions</c> of a SubscribeRequest: <c>p1.</c> + base64url of "topic epoch:offset" lines.</summary>
    private string PositionsToken()
    {
        var lines = new StringBuilder();
        foreach (var (topic, (epoch, offset)) in _positions.OrderBy(p => p.Key, StringComparer.Ordinal))
        {
            lines.Append(CultureInfo.InvariantCulture, $"{topic} {(epoch.Length > 0 ? epoch + ":" : "")}{offset}\n");
        }
        return "p1." + Base64Url.EncodeToString(Encoding.UTF8.GetBytes(lines.ToString()));
    }

    /// <summary>
    /// "From now" made exact: where each matching topic ends, read over REST before the first subscribe (gRPC has no
    /// call that lists topics), which then starts from there. "Now" is the same point for every resume, so a topic
    /// that has had no new price yet resumes from there too; without it, <c>positions</c> would resume such a topic
    /// from its first retained price. (The first prices may then come topic by topic: those published between the
    /// pin and the subscribe are history to the hub.)
    /// </summary>
    private async Task PinNowAsync(List<string> topics, CancellationToken cancellationToken)
    {
        using var http = new HttpClient { BaseAddress = hub, Timeout = TimeSpan.FromSeconds(10) };
        if (token is not null)
        {
            http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }
        string? cursor = null;
        // Bounded: 100 pages of 1,000 topics.
        for (var page = 0; page < 100; page++)
        {
            var path = "/v1/topics?prefix=prices.&limit=1000" + (cursor is null ? "" : $"&cursor={Uri.EscapeDataString(cursor)}");
            using var response = await http.GetAsync(new Uri(path, UriKind.Relative), cancellationToken);
            if (!response.IsSuccessStatusCode)
            {
                var problem = await response.Content.ReadAsStringAsync(cancellationToken);
                throw new HttpRequestException($"GET {path}: HTTP {(int)response.StatusCode} {problem}", null, response.StatusCode);
            }
            var list = await response.Content.ReadFromJsonAsync<JsonElement>(cancellationToken);
            foreach (var topic in list.GetProperty("topics").EnumerateArray())
            {
                var name = topic.GetProperty("name").GetString()!;
                if (topics.Contains(name) || (topics.Contains("prices.*") && name.LastIndexOf('.') == "prices".Length))
                {
                    _positions[name] = (topic.GetProperty("epoch").GetString() ?? "", topic.GetProperty("stats").GetProperty("lastOffset").GetInt64());
                }
            }
            cursor = list.TryGetProperty("next", out var next) && next.ValueKind == JsonValueKind.String ? next.GetString() : null;
            if (cursor is null)
            {
                break;
            }
        }
    }

    /// <summary>The failures a new subscription may cure: the hub away, restarting or draining, the stream cut.</summary>
    private static bool IsDrop(RpcException ex) =>
        ex.StatusCode is StatusCode.Unavailable or StatusCode.Internal or StatusCode.Aborted or StatusCode.Cancelled or StatusCode.Unknown;

    /// <summary>No connection could be made at all (nothing listens, no such host), as opposed to one that broke.</summary>
    private static bool CouldNotConnect(RpcException ex)
    {
        for (var inner = ex.Status.DebugException; inner is not null; inner = inner.InnerException)
        {
            if (inner is SocketException or HttpRequestException { HttpRequestError: HttpRequestError.ConnectionError or HttpRequestError.NameResolutionError })
            {
                return true;
            }
        }
        return false;
    }

    /// <summary>Exponential, from 250 ms up to 10 s, each wait between half and all of its step (so many subscribers do not come back at once).</summary>
    private static TimeSpan Backoff(int failures)
    {
        var step = Math.Min(MaxDelay.TotalMilliseconds, FirstDelay.TotalMilliseconds * Math.Pow(2, Math.Min(failures, 16)));
        return TimeSpan.FromMilliseconds(step / 2 + RandomNumberGenerator.GetInt32((int)(step / 2) + 1));
    }
}
