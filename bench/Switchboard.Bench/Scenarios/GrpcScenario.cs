using System.Diagnostics;
using Google.Protobuf;
using Grpc.Core;
using Grpc.Net.Client;
using Switchboard.Bench.Harness;
using Switchboard.Protocol.V1;
using static Switchboard.Protocol.V1.Switchboard;

namespace Switchboard.Bench.Scenarios;

/// <summary>
/// gRPC: unary Publish at 1 and 64 concurrent callers, PublishStream (one client stream of single messages) and
/// Subscribe (server streaming of a 200,000-message history; quick 20,000), on the hub durable (SQLite, fsync) and in memory,
/// against a bare grpc-dotnet service that does the minimum for each call (the stack's ceiling). All three run
/// at once, each in its own process, with the runs interleaved; every client is a generated Grpc.Net.Client stub
/// on one HTTP/2 connection per server (h2c, the hub's own port).
/// </summary>
internal sealed class GrpcScenario : IScenario
{
    private const string Durable = "hub (sqlite, fsync)";
    private const string Memory = "hub (--memory)";
    private const string Bare = "bare grpc-dotnet";
    private int _history = 200_000; // quick: 20,000

    public string Name => "grpc";
    public string Description => "gRPC unary Publish (1, 64 callers), PublishStream, Subscribe: hub (sqlite, memory) vs a bare grpc-dotnet service";

    private static readonly ByteString Payload = ByteString.CopyFromUtf8(Load.Payload(256));

    public async Task RunAsync(Report report, BenchOptions options)
    {
        _history = options.Quick ? 20_000 : 200_000;
        using var data = new TempDirectory();
        // Started together (one waits on its JIT while another runs); if one fails, the bench stops the others at the scenario's end.
        var starting = (Durable: ServerProcess.StartHubAsync("--data", data.Path), Memory: ServerProcess.StartHubAsync("--memory"), Bare: ServerProcess.StartPeerAsync("grpc-baseline-server"));
        await using var durable = await starting.Durable;
        await using var memory = await starting.Memory;
        await using var bare = await starting.Bare;
        var servers = new (string Name, ServerProcess Process)[] { (Durable, durable), (Memory, memory), (Bare, bare) };
        var channels = servers.ToDictionary(s => s.Name, s => GrpcChannel.ForAddress(s.Process.Address, new GrpcChannelOptions { MaxReceiveMessageSize = 16 * 1024 * 1024 }));
        var clients = channels.ToDictionary(c => c.Key, c => new SwitchboardClient(c.Value));

        var shapes = new (string Name, string Unit, Func<SwitchboardClient, TimeSpan, Task<Throughput>> Run)[]
        {
            ("unary Publish, 1 caller", "calls/s", (client, length) => Load.RunAsync(1, length, () => PublishAsync(client, "g-1"))),
            ("unary Publish, 64 callers", "calls/s", (client, length) => Load.RunAsync(64, length, () => PublishAsync(client, "g-64"))),
            ("PublishStream, 1 stream", "messages/s", (client, length) => StreamAsync(client, "g-stream", length)),
            ("Subscribe, messages from history", "messages/s", (client, length) => SubscribeAsync(client, "g-history", length)),
        };
        var figures = new Dictionary<(string Server, string Shape), Measurement>();
        foreach (var (server, _) in servers)
        {
            if (server != Bare)
            {
                await FillAsync(clients[server], "g-history");
            }
            foreach (var shape in shapes)
            {
                figures[(server, shape.Name)] = report.Add(Name, server, shape.Name, shape.Unit, higherIsBetter: true, server == Bare ? Side.Peer : Side.Switchboard);
                if (!options.Quick)
                {
                    await shape.Run(clients[server], options.WarmUp); // warm-up: JIT, connection, topic
                }
            }
        }

        for (var run = 0; run < options.Runs; run++)
        {
            foreach (var shape in shapes)
            {
                foreach (var (server, _) in servers)
                {
                    var result = await shape.Run(clients[server], options.RunLength);
                    figures[(server, shape.Name)].Runs.Add(shape.Unit == "calls/s" ? result.OperationsPerSecond : result.UnitsPerSecond);
                    BenchOptions.Progress($"run {run + 1}, {server}, {shape.Name}: {(shape.Unit == "calls/s" ? result.OperationsPerSecond : result.UnitsPerSecond):N0} {shape.Unit}");
                }
            }
        }
        foreach (var channel in channels.Values)
        {
            channel.Dispose();
        }
    }

    private static async Task<int> PublishAsync(SwitchboardClient client, string topic)
    {
        var reply = await client.PublishAsync(new PublishRequest { Topic = topic, Payload = Payload });
        return reply.Offset > 0 ? 1 : throw new InvalidOperationException($"Publish answered offset {reply.Offset}");
    }

    /// <summary>One client stream of single-message requests for <paramref name="length"/>; the summary's count is checked.</summary>
    private static async Task<Throughput> StreamAsync(SwitchboardClient client, string topic, TimeSpan length)
    {
        var clock = Stopwatch.StartNew();
        using var call = client.PublishStream();
        long sent = 0;
        var request = new PublishRequest { Topic = topic, Payload = Payload };
        while (clock.Elapsed < length && sent < Load.MaxOperations)
        {
            await call.RequestStream.WriteAsync(request);
            sent++;
        }
        await call.RequestStream.CompleteAsync();
        var summary = await call.ResponseAsync;
        var elapsed = clock.Elapsed;
        return summary.Count == sent
            ? new Throughput(1, sent, elapsed)
            : throw new InvalidOperationException($"PublishStream sent {sent:N0} messages but the summary counts {summary.Count:N0}");
    }

    /// <summary>Subscribes from the start of a topic holding the history's messages and reads until all arrived or time is up.</summary>
    private async Task<Throughput> SubscribeAsync(SwitchboardClient client, string topic, TimeSpan length)
    {
        var clock = Stopwatch.StartNew();
        using var stop = new CancellationTokenSource(length);
        using var call = client.Subscribe(new SubscribeRequest { Topics = { topic }, AfterOffset = 0 }, cancellationToken: stop.Token);
        long received = 0, expected = 1;
        try
        {
            while (received < _history && await call.ResponseStream.MoveNext(stop.Token))
            {
                var message = call.ResponseStream.Current;
                if (message.Notice is not null)
                {
                    continue;
                }
                // The bare service numbers its own stream; the hub's must be the topic's offsets in order.
                if (message.Offset != expected)
                {
                    throw new InvalidOperationException($"Subscribe delivered offset {message.Offset} where {expected} was due");
                }
                expected++;
                received++;
            }
        }
        catch (RpcException) when (stop.IsCancellationRequested)
        {
            // time is up: cancelling a call mid-read ends it as CANCELLED or, racing the read, as an aborted request
        }
        catch (RpcException ex)
        {
            throw new InvalidOperationException($"Subscribe failed after {received:N0} messages in {clock.Elapsed.TotalSeconds:N2} s (time up: {stop.IsCancellationRequested}): {ex.Status}", ex);
        }
        return new Throughput(1, received, clock.Elapsed);
    }

    private async Task FillAsync(SwitchboardClient client, string topic)
    {
        for (var i = 0; i < _history / 1000; i++)
        {
            var request = new PublishRequest { Topic = topic };
            for (var m = 0; m < 1000; m++)
            {
                request.Messages.Add(new MessageDraft { Payload = Payload });
            }
            await client.PublishAsync(request);
        }
    }
}
