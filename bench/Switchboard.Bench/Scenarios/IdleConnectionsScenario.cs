using System.Net.WebSockets;
using System.Text;
using Microsoft.AspNetCore.Http.Connections;
using Microsoft.AspNetCore.SignalR.Client;
using Switchboard.Bench.Harness;

namespace Switchboard.Bench.Scenarios;

/// <summary>
/// Server memory per idle WebSocket: 10,000 connections, each subscribed to a topic and otherwise silent,
/// Switchboard beside SignalR (WebSockets transport, one group). Resident memory growth / connections.
/// </summary>
internal sealed class IdleConnectionsScenario : IScenario
{
    public string Name => "idle";
    public string Description => "server memory per idle subscribed WebSocket at 10,000 connections, Switchboard vs SignalR";

    public async Task RunAsync(Report report, BenchOptions options)
    {
        // 10,000 stays well under the 20,000 open files each process may have (client and server hold one socket each).
        var count = options.Quick ? 2_000 : 10_000;
        var runs = Math.Min(options.Runs, 3); // each run leaves 10,000 sockets in TIME_WAIT; three runs stay inside the port range
        var ours = report.Add(Name, $"switchboard: server memory per idle WebSocket ({count:N0})", "KiB", higherIsBetter: false);
        var theirs = report.Add(Name, $"signalr: server memory per idle WebSocket ({count:N0})", "KiB", higherIsBetter: false);
        for (var run = 0; run < runs; run++)
        {
            // A fresh process per run, and the same GC for both: workstation GC with a small gen0 budget, so that
            // resident memory follows live memory rather than allocation budgets.
            await using (var hub = await ServerProcess.StartHubAsync(HubEnvironment, "--memory"))
            {
                using var http = Load.Client(hub.Address);
                await http.PutAsync("/v1/topics/idle", null);
                ours.Runs.Add(await MeasureAsync(hub, count, () => new SwitchboardIdle(hub.Address)));
                BenchOptions.Progress($"switchboard: {ours.Runs[^1]:0.0} KiB per connection");
            }
            await using (var signalR = await ServerProcess.StartPeerAsync("signalr-server", Gc))
            {
                theirs.Runs.Add(await MeasureAsync(signalR, count, () => new SignalRIdle(signalR.Address)));
                BenchOptions.Progress($"signalr: {theirs.Runs[^1]:0.0} KiB per connection");
            }
        }
        report.Ratio(Name, "switchboard / signalr: memory per idle WebSocket", ours, theirs);
    }

    private static readonly Dictionary<string, string> Gc = new() { ["DOTNET_gcServer"] = "0", ["DOTNET_GCgen0size"] = "0x200000" };

    // Every bench connection comes from 127.0.0.1: lift the per-address cap (10,000 by default) above the count.
    private static readonly Dictionary<string, string> HubEnvironment = new(Gc) { ["Switchboard__Connections__MaxPerAddress"] = "20000" };

    private static async Task<double> MeasureAsync(ServerProcess server, int count, Func<IIdleClient> create)
    {
        // Warm up (JIT, pools) with a few connections, so the measurement is of connections, not of first use.
        var warm = Enumerable.Range(0, 50).Select(_ => create()).ToList();
        await Task.WhenAll(warm.Select(c => c.ConnectAsync()));
        await Task.Delay(1000);
        var before = server.ResidentBytes();
        var clients = new List<IIdleClient>(count);
        foreach (var batch in Enumerable.Range(0, count).Chunk(200))
        {
            var created = batch.Select(_ => create()).ToList();
            await Task.WhenAll(created.Select(c => c.ConnectAsync()));
            clients.AddRange(created);
        }
        // Let the server settle (allocation bursts of the handshakes, GC) before reading its memory.
        await Task.Delay(3000);
        var after = server.ResidentBytes();
        foreach (var batch in clients.Concat(warm).Chunk(500))
        {
            await Task.WhenAll(batch.Select(c => c.DisposeAsync().AsTask()));
        }
        await Task.Delay(2000);
        return (after - before) / 1024.0 / count;
    }

    private interface IIdleClient : IAsyncDisposable
    {
        Task ConnectAsync();
    }

    private sealed class SwitchboardIdle(Uri hub) : IIdleClient
    {
        private readonly ClientWebSocket _socket = new();
        private Task _receiving = Task.CompletedTask;

        public async Task ConnectAsync()
        {
            _socket.Options.AddSubProtocol("switchboard.v1.json");
            await _socket.ConnectAsync(new Uri(new UriBuilder(hub) { Scheme = "ws" }.Uri, "/v1/ws"), CancellationToken.None);
            await _socket.SendAsync(Encoding.UTF8.GetBytes("{\"id\":\"s\",\"subscribe\":{\"topics\":[\"idle\"]}}"), WebSocketMessageType.Text, true, CancellationToken.None);
            // A pending receive answers the hub's keep-alive pings, as a live client would.
            _receiving = Task.Run(async () =>
            {
                var buffer = new byte[1024];
                try
                {
                    while ((await _socket.ReceiveAsync(buffer, CancellationToken.None)).MessageType != WebSocketMessageType.Close)
                    {
                    }
                }
                catch (WebSocketException)
                {
                }
            });
        }

        public async ValueTask DisposeAsync()
        {
            try
            {
                await _socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, "", CancellationToken.None);
                await _receiving.WaitAsync(TimeSpan.FromSeconds(10));
            }
            catch (Exception ex) when (ex is WebSocketException or TimeoutException)
            {
            }
            _socket.Dispose();
        }
    }

    private sealed class SignalRIdle(Uri server) : IIdleClient
    {
        private readonly HubConnection _connection = new HubConnectionBuilder()
            .WithUrl(new Uri(server, "/hub"), HttpTransportType.WebSockets, o => o.SkipNegotiation = true).Build();

        public async Task ConnectAsync()
        {
            await _connection.StartAsync();
            await _connection.InvokeAsync("Subscribe", "idle");
        }

        public ValueTask DisposeAsync() => _connection.DisposeAsync();
    }
}
