using System.Diagnostics;
using Google.Protobuf;
using Switchboard.Bench.Harness;
using Switchboard.Client;
using HubClient = Switchboard.Client.SwitchboardClient;

namespace Switchboard.Bench.Scenarios;

/// <summary>
/// The .NET client's overhead (issue 8): its publish and receive rates on each transport against the raw protocol
/// it speaks, in the same run, on one hub (<c>--memory</c>, so the hub's engine is not what is measured). Publish: 64
/// callers, each on its own topic (REST transports keep one topic's publishes in order, one at a time), for a fixed
/// time. Receive: a subscription from the start of a topic holding 50,000 messages (quick: 5,000), until all arrived.
/// </summary>
internal sealed class ClientScenario : IScenario
{
    private int _history = 50_000; // quick: 5,000
    private const int Callers = 64;
    private const string HistoryTopic = "cb.history";
    private static readonly string PayloadJson = Load.Payload(256);
    private static readonly ByteString PayloadBytes = ByteString.CopyFromUtf8(PayloadJson);

    public string Name => "client";
    public string Description => "the .NET client (Switchboard.Client) vs the raw protocol, per transport: publish rate (64 callers) and receive rate (50,000 from history)";

    public async Task RunAsync(Report report, BenchOptions options)
    {
        _history = options.Quick ? 5_000 : 50_000;
        await using var hub = await ServerProcess.StartHubAsync("--memory");
        using var http = Load.Client(hub.Address);
        await FillAsync(http);
        var transports = new[] { ClientTransport.WebSocket, ClientTransport.Grpc, ClientTransport.Sse, ClientTransport.LongPolling };
        var figures = new Dictionary<(ClientTransport, string, bool), Measurement>();
        foreach (var transport in transports)
        {
            foreach (var shape in new[] { "publish", "receive" })
            {
                foreach (var raw in new[] { false, true })
                {
                    const string unit = "messages/s";
                    figures[(transport, shape, raw)] = report.Add(Name, $"{Label(transport, raw)}: {shape}", unit, higherIsBetter: true);
                }
            }
        }
        var warmUp = options.WarmUp;
        foreach (var transport in transports)
        {
            await PublishAsync(hub.Address, http, transport, raw: false, warmUp);
            await PublishAsync(hub.Address, http, transport, raw: true, warmUp);
        }
        for (var run = 0; run < options.Runs; run++)
        {
            foreach (var transport in transports)
            {
                foreach (var raw in new[] { false, true })
                {
                    var published = await PublishAsync(hub.Address, http, transport, raw, options.RunLength);
                    figures[(transport, "publish", raw)].Runs.Add(published);
                    var received = await ReceiveAsync(hub.Address, http, transport, raw);
                    figures[(transport, "receive", raw)].Runs.Add(received);
                    BenchOptions.Progress($"run {run + 1}, {Label(transport, raw)}: publish {published:N0}/s, receive {received:N0}/s");
                }
            }
        }
        foreach (var transport in transports)
        {
            report.Ratio(Name, $"client / raw, {transport}, publish", figures[(transport, "publish", false)], figures[(transport, "publish", true)]);
            report.Ratio(Name, $"client / raw, {transport}, receive", figures[(transport, "receive", false)], figures[(transport, "receive", true)]);
        }
    }

    private static string Label(ClientTransport transport, bool raw) => raw ? $"raw {Raw(transport)}" : $"client over {transport}";

    private static string Raw(ClientTransport transport) => transport switch
    {
        ClientTransport.WebSocket => "WebSocket (/v1/ws frames)",
        ClientTransport.Grpc => "gRPC Connect",
        ClientTransport.Sse => "REST publish / SSE stream",
        _ => "REST publish / long poll",
    };

    private static Task<HubClient> ConnectAsync(Uri hub, ClientTransport transport)
        => HubClient.ConnectAsync(hub, new SwitchboardClientOptions { Transports = [transport] });

    /// <summary>64 callers publish for <paramref name="length"/>, each to its own topic; returns confirmed messages per second.</summary>
    private static async Task<double> PublishAsync(Uri hub, HttpClient http, ClientTransport transport, bool raw, TimeSpan length)
    {
        var prefix = $"cb.pub.{transport}.{(raw ? "raw" : "client")}";
        Throughput result;
        if (!raw)
        {
            await using var client = await ConnectAsync(hub, transport);
            var payload = Payload.RawJson(System.Text.Encoding.UTF8.GetBytes(PayloadJson));
            result = await Load.RunAsync(Callers, length, async worker => { await client.PublishAsync($"{prefix}.{worker}", payload); return 1; });
        }
        else if (transport == ClientTransport.WebSocket)
        {
            await using var session = await ClientRaw.WebSocketSession.OpenAsync(hub);
            result = await Load.RunAsync(Callers, length, async worker => { await session.PublishAsync($"{prefix}.{worker}", PayloadJson); return 1; });
        }
        else if (transport == ClientTransport.Grpc)
        {
            await using var session = new ClientRaw.GrpcSession(hub);
            result = await Load.RunAsync(Callers, length, async worker => { await session.PublishAsync($"{prefix}.{worker}", PayloadBytes); return 1; });
        }
        else
        {
            var body = "{\"payload\":" + PayloadJson + "}";
            result = await Load.RunAsync(Callers, length, async worker => { await ClientRaw.PostAsync(http, $"{prefix}.{worker}", body); return 1; });
        }
        return result.UnitsPerSecond;
    }

    /// <summary>Reads the whole history topic from its start; returns messages per second (bounded: two minutes at most).</summary>
    private async Task<double> ReceiveAsync(Uri hub, HttpClient http, ClientTransport transport, bool raw)
    {
        using var stop = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        var clock = Stopwatch.StartNew();
        long received = 0;
        if (!raw)
        {
            await using var client = await ConnectAsync(hub, transport);
            clock.Restart();
            var subscription = client.Subscribe(HistoryTopic, new SubscribeOptions { After = "0" });
            await foreach (var message in subscription.WithCancellation(stop.Token))
            {
                if (++received == _history)
                {
                    break;
                }
            }
        }
        else if (transport is ClientTransport.WebSocket or ClientTransport.Grpc)
        {
            var session = transport == ClientTransport.WebSocket ? (IAsyncDisposable)await ClientRaw.WebSocketSession.OpenAsync(hub) : new ClientRaw.GrpcSession(hub);
            await using (session)
            {
                clock.Restart();
                Func<long> count = session is ClientRaw.WebSocketSession ws ? () => Interlocked.Read(ref ws.Received) : () => Interlocked.Read(ref ((ClientRaw.GrpcSession)session).Received);
                await (session is ClientRaw.WebSocketSession w ? w.SubscribeAsync(HistoryTopic) : ((ClientRaw.GrpcSession)session).SubscribeAsync(HistoryTopic));
                // Bounded wait on a counter the receive loop moves (no signal per message in a raw reader).
                while (count() < _history && !stop.IsCancellationRequested)
                {
                    await Task.Delay(1);
                }
                received = count();
            }
        }
        else
        {
            clock.Restart();
            received = transport == ClientTransport.Sse
                ? await ClientRaw.ReadSseAsync(http, HistoryTopic, _history, stop.Token)
                : await ClientRaw.ReadLongPollAsync(http, HistoryTopic, _history, stop.Token);
        }
        var elapsed = clock.Elapsed;
        return received == _history ? _history / elapsed.TotalSeconds : throw new InvalidOperationException($"{Label(transport, raw)} received {received:N0} of {_history:N0} messages in two minutes");
    }

    private async Task FillAsync(HttpClient http)
    {
        var batch = "{\"messages\":[" + string.Join(',', Enumerable.Repeat("{\"payload\":" + PayloadJson + "}", 500)) + "]}";
        for (var i = 0; i < _history / 500; i++)
        {
            await ClientRaw.PostAsync(http, HistoryTopic, batch);
        }
    }
}
