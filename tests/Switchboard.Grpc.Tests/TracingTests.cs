using System.Diagnostics;
using System.Net;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using Grpc.Core;
using Grpc.Net.Client;
using OpenTelemetry;
using OpenTelemetry.Trace;
using Switchboard.Core.Observability;
using Switchboard.Protocol.V1;
using static Switchboard.Protocol.V1.Switchboard;

namespace Switchboard.Grpc.Tests;

/// <summary>
/// End-to-end tracing: a caller's W3C traceparent (an HTTP header, or a message header on a WebSocket frame) is continued
/// by the publish, the engine's commit, and every delivery — SSE, gRPC, long poll, a queue fed by a binding — and the
/// messages carry it on. Spans are collected by OpenTelemetry's in-memory exporter, as an operator's collector would.
/// </summary>
/// <remarks>
/// Alone, not beside other tests: a tracer provider listens to the whole process, and while it does every hub in it
/// stamps its messages with trace context.
/// </remarks>
[Collection(nameof(TracingTests))]
public sealed class TracingTests
{
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task A_trace_started_by_a_rest_publish_is_continued_by_the_commit_sse_and_grpc_deliveries_and_a_queue_receive()
    {
        var spans = new List<Activity>();
        using var tracing = Sdk.CreateTracerProviderBuilder().AddSource(HubTracing.SourceName).AddInMemoryExporter(spans).Build()!;
        await using var hub = await TestHub.StartAsync(sqlite: true);
        using var http = new HttpClient { BaseAddress = hub.Address };
        using var timeout = new CancellationTokenSource(Limit);
        (await http.PutAsync("/v1/queues/trace-q/bindings/trace.orders", null)).EnsureSuccessStatusCode();

        // Both subscribers read from the start, so neither can miss the message however the start-up races.
        using var sse = await http.GetAsync("/v1/topics/trace.orders/events?after=0", HttpCompletionOption.ResponseHeadersRead, timeout.Token);
        using var channel = GrpcChannel.ForAddress(hub.Address);
        using var grpc = new SwitchboardClient(channel).Subscribe(new SubscribeRequest { Topics = { "trace.orders" }, AfterOffset = 0 }, cancellationToken: timeout.Token);

        var trace = ActivityTraceId.CreateRandom();
        var caller = ActivitySpanId.CreateRandom();
        using var publish = new HttpRequestMessage(HttpMethod.Post, "/v1/topics/trace.orders/messages") { Content = new StringContent("""{"payload":{"order":7}}""", Encoding.UTF8, "application/json") };
        publish.Headers.Add("traceparent", $"00-{trace}-{caller}-01");
        publish.Headers.Add("tracestate", "vendor=switchboard-test");
        Assert.Equal(HttpStatusCode.Created, (await http.SendAsync(publish, timeout.Token)).StatusCode);

        // The messages carry the trace on: an application receiving them can continue it too.
        var sseMessage = await FirstEventAsync(sse, timeout.Token);
        Assert.Contains(trace.ToString(), sseMessage.GetProperty("headers").GetProperty("traceparent").GetString(), StringComparison.Ordinal);
        Assert.True(await grpc.ResponseStream.MoveNext(timeout.Token));
        Assert.Contains(trace.ToString(), grpc.ResponseStream.Current.Headers["traceparent"], StringComparison.Ordinal);
        using var received = await http.PostAsync("/v1/queues/trace-q/receive?max=1&wait=5", null, timeout.Token);
        var leased = JsonDocument.Parse(await received.Content.ReadAsStringAsync(timeout.Token)).RootElement.GetProperty("messages");
        Assert.Equal(1, leased.GetArrayLength());
        Assert.Contains(trace.ToString(), leased[0].GetProperty("headers").GetProperty("traceparent").GetString(), StringComparison.Ordinal);

        tracing.ForceFlush();
        Activity[] ours;
        lock (spans)
        {
            ours = [.. spans.Where(s => s.TraceId == trace)];
        }
        var producer = Assert.Single(ours, s => s.DisplayName == "publish trace.orders");
        Assert.Equal(ActivityKind.Producer, producer.Kind);
        Assert.Equal(caller, producer.ParentSpanId); // a child of the caller's span, in the caller's trace
        Assert.Equal("vendor=switchboard-test", producer.TraceStateString);
        Assert.Equal("trace.orders", producer.GetTagItem("messaging.destination.name"));
        Assert.Equal(1L, producer.GetTagItem("messaging.message.id"));

        var commit = Assert.Single(ours, s => s.DisplayName == "commit");
        Assert.Equal(producer.SpanId, commit.ParentSpanId);
        Assert.Equal("sqlite", commit.GetTagItem("db.system.name"));

        var deliveries = ours.Where(s => s.DisplayName == "deliver trace.orders").ToList();
        Assert.Equal(["grpc", "sse"], deliveries.Select(d => (string)d.GetTagItem("network.protocol.name")!).Order());
        Assert.All(deliveries, d =>
        {
            Assert.Equal(ActivityKind.Consumer, d.Kind);
            Assert.Equal(producer.SpanId, d.ParentSpanId);
        });
        var receive = Assert.Single(ours, s => s.DisplayName == "receive trace-q");
        Assert.Equal(producer.SpanId, receive.ParentSpanId);
        Assert.Equal(1, receive.GetTagItem("messaging.message.delivery_attempt"));
    }

    [Fact]
    public async Task A_traceparent_in_a_websocket_publish_frame_is_continued_by_a_long_poll_and_a_bad_one_starts_a_new_trace()
    {
        var spans = new List<Activity>();
        using var tracing = Sdk.CreateTracerProviderBuilder().AddSource(HubTracing.SourceName).AddInMemoryExporter(spans).Build()!;
        await using var hub = await TestHub.StartAsync();
        using var http = new HttpClient { BaseAddress = hub.Address };
        using var timeout = new CancellationTokenSource(Limit);
        using var socket = new ClientWebSocket();
        await socket.ConnectAsync(new Uri(hub.Address.ToString().Replace("http", "ws", StringComparison.Ordinal) + "v1/ws"), timeout.Token);

        var trace = ActivityTraceId.CreateRandom();
        var caller = ActivitySpanId.CreateRandom();
        await SendAsync(socket, $$$$"""{"id":"p1","publish":{"topic":"trace.ws","payload":1,"headers":{"traceparent":"00-{{{{trace}}}}-{{{{caller}}}}-01","app":"kept"}}}""", timeout.Token);
        await SendAsync(socket, """{"id":"p2","publish":{"topic":"trace.ws","payload":2,"headers":{"traceparent":"not-a-trace-context"}}}""", timeout.Token);
        Assert.Contains("\"p1\"", await ReceiveAsync(socket, timeout.Token), StringComparison.Ordinal);
        Assert.Contains("\"p2\"", await ReceiveAsync(socket, timeout.Token), StringComparison.Ordinal);

        var page = JsonDocument.Parse(await http.GetStringAsync("/v1/topics/trace.ws/messages?after=0&wait=5", timeout.Token)).RootElement.GetProperty("messages");
        Assert.Equal(2, page.GetArrayLength());
        Assert.Equal("kept", page[0].GetProperty("headers").GetProperty("app").GetString());
        var secondParent = page[1].GetProperty("headers").GetProperty("traceparent").GetString()!;
        Assert.True(ActivityContext.TryParse(secondParent, null, out var second), secondParent); // replaced by a valid one

        tracing.ForceFlush();
        Activity[] all;
        lock (spans)
        {
            all = [.. spans];
        }
        var producer = Assert.Single(all, s => s.TraceId == trace && s.DisplayName == "publish trace.ws");
        Assert.Equal(caller, producer.ParentSpanId); // the frame's context, not the WebSocket upgrade request's
        var delivery = Assert.Single(all, s => s.TraceId == trace && s.DisplayName == "deliver trace.ws");
        Assert.Equal("longpoll", delivery.GetTagItem("network.protocol.name"));
        Assert.Equal(producer.SpanId, delivery.ParentSpanId);
        // The unparseable context started a trace of its own, rooted at the hub's publish span.
        var fresh = Assert.Single(all, s => s.TraceId == second.TraceId && s.DisplayName == "publish trace.ws");
        Assert.Equal(default, fresh.ParentSpanId);
    }

    [Fact]
    public async Task Sampled_out_publishes_carry_no_invented_context_and_an_unsampled_one_gets_no_delivery_span()
    {
        // The hub's own sampler at 0%: parent-based, so a caller's sampled trace is still followed, and nothing else is.
        var spans = new List<Activity>();
        using var tracing = Sdk.CreateTracerProviderBuilder().AddSource(HubTracing.SourceName)
            .SetSampler(new ParentBasedSampler(new TraceIdRatioBasedSampler(0))).AddInMemoryExporter(spans).Build()!;
        await using var hub = await TestHub.StartAsync();
        using var http = new HttpClient { BaseAddress = hub.Address };
        using var timeout = new CancellationTokenSource(Limit);
        using var sse = await http.GetAsync("/v1/topics/trace.sampled/events?after=0", HttpCompletionOption.ResponseHeadersRead, timeout.Token);

        var sampled = $"00-{ActivityTraceId.CreateRandom()}-{ActivitySpanId.CreateRandom()}-01";
        var unsampled = $"00-{ActivityTraceId.CreateRandom()}-{ActivitySpanId.CreateRandom()}-00";
        // The first over WebSocket: a frame starts a trace of its own (a REST publish has the request's unsampled span as parent).
        using (var socket = new ClientWebSocket())
        {
            await socket.ConnectAsync(new Uri(hub.Address.ToString().Replace("http", "ws", StringComparison.Ordinal) + "v1/ws"), timeout.Token);
            await SendAsync(socket, """{"id":"p1","publish":{"topic":"trace.sampled","payload":1}}""", timeout.Token);
            Assert.Contains("\"published\"", await ReceiveAsync(socket, timeout.Token), StringComparison.Ordinal);
        }
        Assert.Equal(HttpStatusCode.Created, (await http.PostAsync("/v1/topics/trace.sampled/messages", Json($$$"""{"payload":2,"headers":{"traceparent":"{{{unsampled}}}"}}"""), timeout.Token)).StatusCode);
        Assert.Equal(HttpStatusCode.Created, (await http.PostAsync("/v1/topics/trace.sampled/messages", Json($$$"""{"payload":3,"headers":{"traceparent":"{{{sampled}}}"}}"""), timeout.Token)).StatusCode);
        using var events = new StreamReader(await sse.Content.ReadAsStreamAsync(timeout.Token));
        var delivered = new List<JsonElement>();
        for (var i = 0; i < 3; i++)
        {
            delivered.Add(await NextEventAsync(events, timeout.Token));
        }

        // A sampled-out publish invents no header (no bytes on every delivery for a trace nobody keeps); the caller's
        // unsampled context travels on as it was sent; the sampled one is replaced by the hub's recorded publish span.
        Assert.False(delivered[0].TryGetProperty("headers", out var none) && none.TryGetProperty("traceparent", out _), delivered[0].ToString());
        Assert.Equal(unsampled, delivered[1].GetProperty("headers").GetProperty("traceparent").GetString());
        Assert.True(ActivityContext.TryParse(delivered[2].GetProperty("headers").GetProperty("traceparent").GetString(), null, out var stamped));
        Assert.Equal(sampled[3..35], stamped.TraceId.ToString());

        tracing.ForceFlush();
        Activity[] all;
        lock (spans)
        {
            all = [.. spans.Where(s => s.Source.Name == HubTracing.SourceName)];
        }
        Assert.All(all, s => Assert.Equal(stamped.TraceId, s.TraceId)); // nothing recorded of the other two
        Assert.Contains(all, s => s.DisplayName == "publish trace.sampled" && s.SpanId == stamped.SpanId);
        var delivery = Assert.Single(all, s => s.DisplayName == "deliver trace.sampled");
        Assert.Equal(stamped.SpanId, delivery.ParentSpanId);
    }

    private static StringContent Json(string body) => new(body, Encoding.UTF8, "application/json");

    private static async Task<JsonElement> FirstEventAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync(cancellationToken));
        return await NextEventAsync(reader, cancellationToken);
    }

    private static async Task<JsonElement> NextEventAsync(StreamReader reader, CancellationToken cancellationToken)
    {
        while (await reader.ReadLineAsync(cancellationToken) is { } line)
        {
            if (line.StartsWith("data:", StringComparison.Ordinal))
            {
                return JsonDocument.Parse(line["data:".Length..]).RootElement;
            }
        }
        throw new InvalidOperationException("The event stream ended before a message.");
    }

    private static Task SendAsync(ClientWebSocket socket, string frame, CancellationToken cancellationToken)
        => socket.SendAsync(Encoding.UTF8.GetBytes(frame), WebSocketMessageType.Text, true, cancellationToken);

    private static async Task<string> ReceiveAsync(ClientWebSocket socket, CancellationToken cancellationToken)
    {
        var buffer = new byte[64 * 1024];
        var length = 0;
        while (true)
        {
            var result = await socket.ReceiveAsync(buffer.AsMemory(length), cancellationToken);
            length += result.Count;
            if (result.EndOfMessage)
            {
                return Encoding.UTF8.GetString(buffer, 0, length);
            }
        }
    }
}

/// <summary>Runs <see cref="TracingTests"/> with no other test class at the same time.</summary>
[CollectionDefinition(nameof(TracingTests), DisableParallelization = true)]
public sealed class TracingCollection;
