using System.Diagnostics.Metrics;
using System.Net;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Switchboard.Core.Observability;
using Switchboard.Server.Tests.Support;
using Switchboard.Testing;

namespace Switchboard.Server.Tests;

/// <summary>
/// The hub's meters and the figures built from them: instruments on the "Switchboard" meter that move when messages are
/// published, delivered, dead-lettered and redriven, tagged by protocol; and GET /v1/sys/stats, as JSON and as the
/// console's one-event-a-second stream.
/// </summary>
public sealed class StatsTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(20);

    [Fact]
    public async Task Publishing_over_REST_and_delivering_over_SSE_record_on_the_meters_with_their_protocol()
    {
        await using var hub = await TestHub.StartAsync("memory");
        var meters = hub.App.Services.GetRequiredService<HubMeters>();
        using var recorded = new Recorder(meters);
        var topic = Names.Unique("meters");

        using var stream = await OpenEventsAsync(hub, $"/v1/topics/{topic}/events");
        await hub.Http.PublishOkAsync(topic, "{\"payload\": 1}");
        await hub.Http.PublishManyAsync(topic, 2);
        // Deliveries are recorded as the connection's writer takes them: wait for the three events on the stream itself.
        await ReadUntilAsync(stream, text => CountOf(text, "\ndata: ") >= 3);

        Assert.Equal(3, recorded.Sum("switchboard.messages.published", Protocols.Rest));
        recorded.Observe(); // deliveries are an observable counter: its total since the hub started, read now
        Assert.Equal(3, recorded.Sum("switchboard.messages.delivered", Protocols.Sse));
        Assert.Equal(1, recorded.Sum("switchboard.connections", Protocols.Sse));
        var latencies = recorded.Values("switchboard.delivery.duration", Protocols.Sse);
        Assert.InRange(latencies.Count, 1, 3); // one sample per write burst: the three went out in one to three
        Assert.All(latencies, seconds => Assert.InRange(seconds, 0, 10));
        // Nothing tagged by topic: the protocol is the only label on message instruments.
        Assert.DoesNotContain(recorded.Tags, tag => tag.Contains(topic, StringComparison.Ordinal));
    }

    [Fact]
    public async Task Queue_events_move_their_counters_and_the_stats_report_them()
    {
        await using var hub = await TestHub.StartAsync("memory");
        var meters = hub.App.Services.GetRequiredService<HubMeters>();
        using var recorded = new Recorder(meters);
        var queue = "stats-" + Guid.NewGuid().ToString("N")[..8];
        Assert.Equal(HttpStatusCode.Created, (await hub.Http.PutAsync($"/v1/queues/{queue}", Http.Json("{\"maxAttempts\": 1}"))).StatusCode);
        Assert.Equal(HttpStatusCode.Created, (await hub.Http.PostAsync($"/v1/queues/{queue}/messages", Http.Json("{\"payload\": {\"n\": 1}}"))).StatusCode);
        var received = await (await hub.Http.PostAsync($"/v1/queues/{queue}/receive?max=1", null)).ReadJsonAsync();
        var message = received.GetProperty("messages")[0];
        var nack = await hub.Http.PostAsync($"/v1/queues/{queue}/messages/{message.GetProperty("id").GetInt64()}/nack",
            Http.Json($"{{\"lease\": \"{message.GetProperty("lease").GetString()}\", \"error\": \"boom\"}}"));
        Assert.Equal(HttpStatusCode.OK, nack.StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await hub.Http.PostAsync($"/v1/queues/{queue}/dead-letters/redrive", null)).StatusCode);

        Assert.Equal(1, recorded.Sum("switchboard.queue.sent"));
        Assert.Equal(1, recorded.Sum("switchboard.queue.received"));
        Assert.Equal(1, recorded.Sum("switchboard.queue.nacked"));
        Assert.Equal(1, recorded.Sum("switchboard.queue.dead_lettered"));
        Assert.Equal(1, recorded.Sum("switchboard.queue.redriven"));

        // The stream's snapshots carry the totals and, once observed, the queue's depth (ready again after the redrive).
        using var stats = await OpenEventsAsync(hub, "/v1/sys/stats");
        var snapshot = await NextSnapshotAsync(stats, s => s.GetProperty("queues").EnumerateArray().Any(q => q.GetProperty("name").GetString() == queue));
        Assert.Equal(1, snapshot.GetProperty("totals").GetProperty("deadLettered").GetInt64());
        Assert.Equal(1, snapshot.GetProperty("totals").GetProperty("redriven").GetInt64());
        var depth = snapshot.GetProperty("queues").EnumerateArray().Single(q => q.GetProperty("name").GetString() == queue);
        Assert.Equal((1, 0), (depth.GetProperty("ready").GetInt64(), depth.GetProperty("dead").GetInt64()));
    }

    [Fact]
    public async Task The_stats_stream_pushes_a_snapshot_a_second_and_its_figures_follow_publishes()
    {
        await using var hub = await TestHub.StartAsync("memory");
        using var stats = await OpenEventsAsync(hub, "/v1/sys/stats");
        Assert.StartsWith("text/event-stream", stats.Response.Content.Headers.ContentType?.ToString(), StringComparison.Ordinal);
        Assert.True(stats.Response.Headers.CacheControl is { NoStore: true, NoCache: true, NoTransform: true }, $"Cache-Control: {stats.Response.Headers.CacheControl}");
        var first = await NextSnapshotAsync(stats, _ => true);
        var publishedBefore = first.GetProperty("totals").GetProperty("published").GetInt64();

        await hub.Http.PublishManyAsync(Names.Unique("stats"), 5);
        var moved = await NextSnapshotAsync(stats, s => s.GetProperty("totals").GetProperty("published").GetInt64() == publishedBefore + 5);
        Assert.Equal(publishedBefore + 5, moved.GetProperty("protocols").GetProperty("rest").GetProperty("published").GetInt64());
        // Successive snapshots are about a second apart (the hub's own timer, not the client's).
        var a = await NextSnapshotAsync(stats, _ => true);
        var b = await NextSnapshotAsync(stats, _ => true);
        var gap = b.GetProperty("time").GetDateTime() - a.GetProperty("time").GetDateTime();
        Assert.InRange(gap.TotalSeconds, 0.5, 3);

        // Without the stream header it is one JSON snapshot.
        var json = await hub.Http.GetJsonOkAsync("/v1/sys/stats");
        Assert.True(json.GetProperty("latency").TryGetProperty("latencyP99Ms", out _));
        Assert.Equal(6, json.GetProperty("protocols").EnumerateObject().Count());
    }

    [Fact]
    public async Task A_waiting_long_poll_counts_as_an_open_connection_until_it_is_answered_on_the_metrics_and_in_the_stats()
    {
        await using var hub = await TestHub.StartAsync("memory");
        var topic = Names.Unique("waiting");
        using var stats = await OpenEventsAsync(hub, "/v1/sys/stats");
        using var deadline = new CancellationTokenSource(Patience);

        await hub.Http.PublishOkAsync(topic, "{\"payload\": 0}"); // the topic exists: a poll of a missing one is answered 404 at once
        var poll = hub.Http.GetAsync($"/v1/topics/{topic}/messages?after=1&wait=30", deadline.Token);
        // The console's once-a-second figures say when the poll is waiting; then the scrape must say so too.
        var waiting = await NextSnapshotAsync(stats, s => s.GetProperty("protocols").GetProperty("longpoll").GetProperty("connections").GetInt64() == 1);
        Assert.Equal(1, waiting.GetProperty("totals").GetProperty("connections").GetInt64());
        Assert.False(poll.IsCompleted, "the long poll was answered before anything was published");
        var during = await PrometheusScrape.ReadAsync(hub.Http, deadline.Token);
        Assert.Equal(1, during["switchboard_connections{protocol=\"longpoll\"}"]);

        await hub.Http.PublishOkAsync(topic, "{\"payload\": 1}");
        using (var answered = await poll)
        {
            Assert.Equal(HttpStatusCode.OK, answered.StatusCode);
        }
        var after = await PrometheusScrape.ReadAsync(hub.Http, deadline.Token);
        Assert.True(after.Has("switchboard_connections{protocol=\"longpoll\"}"), after.Text);
        Assert.Equal(0, after["switchboard_connections{protocol=\"longpoll\"}"]);
        await NextSnapshotAsync(stats, s => s.GetProperty("protocols").GetProperty("longpoll").GetProperty("connections").GetInt64() == 0);
    }

    private static async Task<JsonElement> NextSnapshotAsync(EventStream stream, Func<JsonElement, bool> wanted)
    {
        while (true)
        {
            var text = await ReadUntilAsync(stream, t => t.Contains("event: stats\ndata: ", StringComparison.Ordinal) && t.IndexOf("\n\n", t.IndexOf("event: stats", StringComparison.Ordinal), StringComparison.Ordinal) > 0);
            var start = text.IndexOf("event: stats\ndata: ", StringComparison.Ordinal) + "event: stats\ndata: ".Length;
            var end = text.IndexOf("\n\n", start, StringComparison.Ordinal);
            stream.Consume(end + 2);
            var snapshot = JsonDocument.Parse(text[start..end]).RootElement.Clone();
            if (wanted(snapshot))
            {
                return snapshot;
            }
        }
    }

    private static int CountOf(string text, string what) => (text.Length - text.Replace(what, "", StringComparison.Ordinal).Length) / what.Length;

    private static async Task<EventStream> OpenEventsAsync(TestHub hub, string path)
    {
        var request = new HttpRequestMessage(HttpMethod.Get, path);
        request.Headers.Accept.ParseAdd("text/event-stream");
        var response = await hub.Http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return new EventStream(response, await response.Content.ReadAsStreamAsync());
    }

    /// <summary>Reads until the text so far satisfies <paramref name="done"/>, within <see cref="Patience"/>.</summary>
    private static async Task<string> ReadUntilAsync(EventStream stream, Func<string, bool> done)
    {
        using var timeout = new CancellationTokenSource(Patience);
        var buffer = new byte[8192];
        while (!done(stream.Text))
        {
            var read = await stream.Body.ReadAsync(buffer, timeout.Token);
            Assert.True(read > 0, "the stream ended");
            stream.Append(System.Text.Encoding.UTF8.GetString(buffer, 0, read));
        }
        return stream.Text;
    }

    private sealed class EventStream(HttpResponseMessage response, Stream body) : IDisposable
    {
        public HttpResponseMessage Response { get; } = response;
        public Stream Body { get; } = body;
        public string Text { get; private set; } = "";

        public void Append(string text) => Text += text;

        public void Consume(int length) => Text = Text[length..];

        public void Dispose()
        {
            Body.Dispose();
            Response.Dispose();
        }
    }

    /// <summary>Every measurement on the hub's meter, with its protocol tag.</summary>
    private sealed class Recorder : IDisposable
    {
        private readonly MeterListener _listener = new();
        private readonly List<(string Instrument, string? Protocol, double Value)> _seen = [];
        private readonly List<string> _tags = [];

        public Recorder(HubMeters meters)
        {
            _listener.InstrumentPublished = (instrument, listener) =>
            {
                if (ReferenceEquals(instrument.Meter, meters.Meter))
                {
                    listener.EnableMeasurementEvents(instrument);
                }
            };
            _listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) => Add(instrument, value, tags));
            _listener.SetMeasurementEventCallback<double>((instrument, value, tags, _) => Add(instrument, value, tags));
            _listener.Start();
        }

        public IReadOnlyList<string> Tags
        {
            get
            {
                lock (_seen)
                {
                    return [.. _tags];
                }
            }
        }

        public double Sum(string instrument, string? protocol = null)
        {
            lock (_seen)
            {
                return _seen.Where(s => s.Instrument == instrument && (protocol is null || s.Protocol == protocol)).Sum(s => s.Value);
            }
        }

        /// <summary>Reads the observable instruments (each reports its current value as one measurement).</summary>
        public void Observe() => _listener.RecordObservableInstruments();

        public IReadOnlyList<double> Values(string instrument, string protocol)
        {
            lock (_seen)
            {
                return [.. _seen.Where(s => s.Instrument == instrument && s.Protocol == protocol).Select(s => s.Value)];
            }
        }

        private void Add(Instrument instrument, double value, ReadOnlySpan<KeyValuePair<string, object?>> tags)
        {
            string? protocol = null;
            lock (_seen)
            {
                foreach (var tag in tags)
                {
                    _tags.Add($"{tag.Key}={tag.Value}");
                    if (tag.Key == "protocol")
                    {
                        protocol = tag.Value as string;
                    }
                }
                _seen.Add((instrument.Name, protocol, value));
            }
        }

        public void Dispose() => _listener.Dispose();
    }
}
